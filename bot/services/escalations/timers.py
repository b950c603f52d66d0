"""Time in an escalation: reminder rounds while nobody acknowledges, in the staff chat with a
direct message to each on-call staff member; after the last round, a loud 'unanswered'."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import escalation_queries, queries
from bot.db.models import Escalation, MessageKind, Patient, Report, StaffMember
from bot.services.context import Context
from bot.services.escalations.alerts import queue_to_staff
from bot.services.escalations.wording import REMINDER_ROUNDS, alert_buttons, chase_text


async def run_timers(ctx: Context) -> int:
    """Sends every reminder round that is due; returns how many escalations were chased."""
    now = ctx.now()
    count = 0
    async with ctx.db.begin() as db:
        due = await escalation_queries.due_reminders(db, now)
        staff = await escalation_queries.on_call_staff(db)
        for escalation in due:
            patient = await db.get(Patient, escalation.patient_id)
            if patient is None:
                continue  # erased meanwhile: its escalations go with it
            count += 1
            _chase(db, ctx, escalation, patient, staff, now)
    if count:
        ctx.wake()
    return count


def _chase(
    db: AsyncSession,
    ctx: Context,
    escalation: Escalation,
    patient: Patient,
    staff: Sequence[StaffMember],
    now: dt.datetime,
) -> None:
    escalation.rounds += 1
    text = chase_text(ctx, escalation, patient, now)
    if escalation.rounds <= REMINDER_ROUNDS:
        kind, dm_kind = MessageKind.ESCALATION_REMINDER, MessageKind.ESCALATION_DM
        escalation.next_reminder_at = now + ctx.clinic.ack_timeout(escalation.level)
    else:
        kind = dm_kind = MessageKind.ESCALATION_UNANSWERED
        escalation.next_reminder_at = None
    buttons = alert_buttons(ctx, escalation)
    queue_to_staff(db, ctx, escalation, kind, text, now, buttons=buttons)
    for member in staff:
        queue_to_staff(
            db,
            ctx,
            escalation,
            dm_kind,
            text,
            now,
            chat_id=member.telegram_user_id,
            buttons=buttons,
        )
    queries.add_audit(
        db,
        now,
        "system",
        "escalation.reminder",
        f"escalation:{escalation.id}",
        round=escalation.rounds,
    )


async def next_timer_at(ctx: Context) -> dt.datetime | None:
    async with ctx.db() as db:
        return await escalation_queries.next_reminder_at(db)


@dataclass(frozen=True)
class OpenEscalation:
    escalation: Escalation
    patient: Patient
    report: Report


async def list_open(ctx: Context) -> list[OpenEscalation]:
    async with ctx.db() as db:
        return [OpenEscalation(e, p, r) for e, p, r in await escalation_queries.unresolved(db)]
