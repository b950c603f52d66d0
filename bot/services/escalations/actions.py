"""Staff acting on an alert: acknowledge, resolve with an outcome, and the resolution note.
Only registered staff change anything; every action and refusal is audited."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import escalation_queries, queries
from bot.db.models import Escalation, EscalationOutcome, EscalationStatus, StaffMember
from bot.domain.protocol import CLOSER_WATCH_KEY
from bot.services.context import Context
from bot.services.escalations.wording import (
    _st,
    alert_buttons,
    outcome_buttons,
    outcome_name,
)
from bot.services.outbox import CHASER_KINDS
from bot.services.ports import Buttons


class Refusal(enum.StrEnum):
    NOT_STAFF = "not_staff"
    UNKNOWN = "unknown"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class StaffAction:
    """What a staff press led to: a line for the chat ("" when the answer comes later, through
    the outbox), or a refusal; and buttons to show."""

    text: str
    refusal: Refusal | None = None
    buttons: Buttons | None = None
    escalation_id: int | None = None


def not_staff(ctx: Context) -> StaffAction:
    return StaffAction(
        _st(ctx, "Not authorised: only registered staff can do this."), Refusal.NOT_STAFF
    )


@dataclass(frozen=True)
class _Allowed:
    member: StaffMember
    escalation: Escalation


async def _authorised(
    db: AsyncSession, ctx: Context, telegram_user_id: int, escalation_id: int, action: str
) -> _Allowed | StaffAction:
    """The staff member and the unresolved escalation, or the refusal to show."""
    member = await queries.staff_by_telegram(db, telegram_user_id)
    if member is None:
        queries.add_audit(
            db,
            ctx.now(),
            f"telegram:{telegram_user_id}",
            f"escalation.{action}.refused",
            f"escalation:{escalation_id}",
            reason="not staff",
        )
        return not_staff(ctx)
    escalation = await db.get(Escalation, escalation_id)
    if escalation is None:
        return StaffAction(_st(ctx, "This alert no longer exists."), Refusal.UNKNOWN)
    if escalation.status == EscalationStatus.RESOLVED:
        return StaffAction(
            _st(ctx, "Alert #{id} is already resolved.", id=escalation.id),
            Refusal.RESOLVED,
            escalation_id=escalation.id,
        )
    return _Allowed(member, escalation)


async def acknowledge(ctx: Context, telegram_user_id: int, escalation_id: int) -> StaffAction:
    now = ctx.now()
    async with ctx.db.begin() as db:
        allowed = await _authorised(db, ctx, telegram_user_id, escalation_id, "acknowledge")
        if isinstance(allowed, StaffAction):
            return allowed
        member, escalation = allowed.member, allowed.escalation
        if escalation.status == EscalationStatus.ACKNOWLEDGED:
            return StaffAction(
                _st(ctx, "Alert #{id} is already acknowledged.", id=escalation.id),
                buttons=alert_buttons(ctx, escalation),
                escalation_id=escalation.id,
            )
        escalation.status = EscalationStatus.ACKNOWLEDGED
        escalation.acknowledged_at, escalation.acknowledged_by = now, member.id
        escalation.next_reminder_at = None
        await escalation_queries.cancel_pending(db, escalation.id, CHASER_KINDS, "acknowledged")
        queries.add_audit(
            db, now, f"staff:{member.id}", "escalation.acknowledge", f"escalation:{escalation.id}"
        )
        return StaffAction(
            _st(ctx, "Alert #{id} acknowledged by {name}.", id=escalation.id, name=member.name),
            buttons=alert_buttons(ctx, escalation),
            escalation_id=escalation.id,
        )


async def ask_outcome(ctx: Context, telegram_user_id: int, escalation_id: int) -> StaffAction:
    """Resolve was pressed: which outcome?"""
    async with ctx.db.begin() as db:
        allowed = await _authorised(db, ctx, telegram_user_id, escalation_id, "resolve")
        if isinstance(allowed, StaffAction):
            return allowed
        escalation = allowed.escalation
        return StaffAction(
            _st(ctx, "How was alert #{id} resolved?", id=escalation.id),
            buttons=outcome_buttons(ctx, escalation),
            escalation_id=escalation.id,
        )


async def resolve(
    ctx: Context, telegram_user_id: int, escalation_id: int, outcome: EscalationOutcome
) -> StaffAction:
    now = ctx.now()
    async with ctx.db.begin() as db:
        allowed = await _authorised(db, ctx, telegram_user_id, escalation_id, "resolve")
        if isinstance(allowed, StaffAction):
            return allowed
        member, escalation = allowed.member, allowed.escalation
        escalation.status = EscalationStatus.RESOLVED
        escalation.resolved_at, escalation.resolved_by = now, member.id
        escalation.outcome = outcome
        escalation.next_reminder_at = None
        if escalation.acknowledged_at is None:
            escalation.acknowledged_at, escalation.acknowledged_by = now, member.id
        await escalation_queries.cancel_pending(db, escalation.id, CHASER_KINDS, "acknowledged")
        if outcome == EscalationOutcome.NO_ACTION:
            # staff found nothing to do: the closer watch the report asked for is not needed
            await escalation_queries.cancel_patient_checkins(
                db, escalation.patient_id, f"{CLOSER_WATCH_KEY}:", "resolved: no action needed"
            )
        queries.add_audit(
            db,
            now,
            f"staff:{member.id}",
            "escalation.resolve",
            f"escalation:{escalation.id}",
            outcome=str(outcome),
        )
        return StaffAction(
            _st(
                ctx,
                "Alert #{id} resolved by {name}: {outcome}. Reply to this message to add a note.",
                id=escalation.id,
                name=member.name,
                outcome=outcome_name(ctx, outcome),
            ),
            escalation_id=escalation.id,
        )


async def attach_note_prompt(
    ctx: Context, escalation_id: int, chat_id: int, message_id: int
) -> None:
    """The message asking for the resolution note, in the staff chat or a staff member's
    private chat: a reply to it (that message of that chat) is the note."""
    async with ctx.db.begin() as db:
        escalation = await db.get(Escalation, escalation_id)
        if escalation is not None:
            escalation.note_chat_id, escalation.note_message_id = chat_id, message_id
