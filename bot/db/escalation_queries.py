"""Queries about escalations and the staff messages about them; each takes the session first
and never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Audience,
    Escalation,
    EscalationStatus,
    MessageKind,
    MessageStatus,
    Patient,
    Report,
    ScheduledMessage,
    StaffMember,
)


async def unresolved_for(db: AsyncSession, patient_id: int) -> Escalation | None:
    """The patient's unresolved escalation: there is at most one."""
    stmt = select(Escalation).where(
        Escalation.patient_id == patient_id, Escalation.status != EscalationStatus.RESOLVED
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def cancel_pending(
    db: AsyncSession, escalation_id: int, kinds: Collection[MessageKind], reason: str
) -> None:
    """Staff messages of these kinds about the escalation that are not sent yet are dropped."""
    await db.execute(
        update(ScheduledMessage)
        .where(
            ScheduledMessage.escalation_id == escalation_id,
            ScheduledMessage.kind.in_(kinds),
            ScheduledMessage.status == MessageStatus.PENDING,
        )
        .values(status=MessageStatus.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False)
    )


async def with_note_prompt(db: AsyncSession, chat_id: int, message_id: int) -> Escalation | None:
    """The escalation whose "add a note" prompt is this message of this chat (message ids are
    per chat: the same id in another chat is another message)."""
    stmt = select(Escalation).where(
        Escalation.note_chat_id == chat_id, Escalation.note_message_id == message_id
    )
    return (await db.execute(stmt)).scalars().first()


async def staff_message_about_alert(
    db: AsyncSession, chat_id: int | None, message_id: int
) -> ScheduledMessage | None:
    """A staff message we sent about an escalation, by its Telegram id in that chat."""
    stmt = select(ScheduledMessage).where(
        ScheduledMessage.audience == Audience.STAFF,
        ScheduledMessage.chat_id == chat_id,
        ScheduledMessage.telegram_message_id == message_id,
        ScheduledMessage.escalation_id.is_not(None),
    )
    return (await db.execute(stmt)).scalars().first()


async def due_reminders(db: AsyncSession, now: dt.datetime) -> Sequence[Escalation]:
    """Unacknowledged escalations whose next reminder is due, locked: two wake-ups (or two
    processes) at once each take a round once."""
    stmt = (
        select(Escalation)
        .where(Escalation.status == EscalationStatus.OPEN, Escalation.next_reminder_at <= now)
        .with_for_update(skip_locked=True)
    )
    return (await db.execute(stmt)).scalars().all()


async def on_call_staff(db: AsyncSession) -> Sequence[StaffMember]:
    stmt = select(StaffMember).where(StaffMember.is_on_call.is_(True))
    return (await db.execute(stmt)).scalars().all()


async def next_reminder_at(db: AsyncSession) -> dt.datetime | None:
    stmt = (
        select(Escalation.next_reminder_at)
        .where(Escalation.status == EscalationStatus.OPEN, Escalation.next_reminder_at.is_not(None))
        .order_by(Escalation.next_reminder_at)
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def unresolved(db: AsyncSession) -> list[tuple[Escalation, Patient, Report]]:
    """Every unresolved escalation, oldest first, with its patient and latest report."""
    stmt = (
        select(Escalation, Patient, Report)
        .join(Patient, Patient.id == Escalation.patient_id)
        .join(Report, Report.id == Escalation.report_id)
        .where(Escalation.status != EscalationStatus.RESOLVED)
        .order_by(Escalation.opened_at)
    )
    return [(e, p, r) for e, p, r in (await db.execute(stmt)).all()]


async def cancel_patient_checkins(
    db: AsyncSession, patient_id: int, key_prefix: str, reason: str
) -> None:
    """The patient's check-ins still to come whose key starts so are dropped (a closer watch
    once staff found nothing to do)."""
    await db.execute(
        update(ScheduledMessage)
        .where(
            ScheduledMessage.patient_id == patient_id,
            ScheduledMessage.kind == MessageKind.CHECKIN,
            ScheduledMessage.step_key.startswith(key_prefix, autoescape=True),
            ScheduledMessage.status == MessageStatus.PENDING,
        )
        .values(status=MessageStatus.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False)
    )


async def patient_writing(db: AsyncSession, telegram_user_id: int) -> Patient | None:
    """The patient, locked until the transaction ends: one message of theirs is passed on at a
    time, whichever process took it (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    stmt = select(Patient).where(Patient.telegram_user_id == telegram_user_id).with_for_update()
    return (await db.execute(stmt)).scalar_one_or_none()


async def words_to_join(
    db: AsyncSession,
    patient_id: int,
    kind: MessageKind,
    escalation_id: int | None,
    since: dt.datetime,
) -> ScheduledMessage | None:
    """The patient's staff message of this kind queued after `since` and never tried yet: more
    words may still join it."""
    stmt = (
        select(ScheduledMessage)
        .where(
            ScheduledMessage.patient_id == patient_id,
            ScheduledMessage.kind == kind,
            ScheduledMessage.escalation_id == escalation_id
            if escalation_id is not None
            else ScheduledMessage.escalation_id.is_(None),
            ScheduledMessage.status == MessageStatus.PENDING,
            ScheduledMessage.attempts == 0,
            ScheduledMessage.created_at > since,
        )
        .order_by(ScheduledMessage.id.desc())
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def join_words(
    db: AsyncSession, row_id: int, before: str, after: str, entities: list[Any] | None
) -> bool:
    """Rewrites a queued staff message's text and entities, only if it is still pending and its
    text unchanged: a dispatcher that claimed it meanwhile (any process) wins, and the words go
    in a new one."""
    stmt = (
        update(ScheduledMessage)
        .where(
            ScheduledMessage.id == row_id,
            ScheduledMessage.status == MessageStatus.PENDING,
            ScheduledMessage.attempts == 0,
            ScheduledMessage.body == before,
        )
        .values(body=after, entities=entities if entities is not None else null())
        .returning(ScheduledMessage.id)
        .execution_options(synchronize_session=False)
    )
    return (await db.execute(stmt)).scalar_one_or_none() is not None


async def staff_message_about_patient(
    db: AsyncSession, chat_id: int | None, message_id: int
) -> ScheduledMessage | None:
    """A "patient wrote" message (or a copy of what they sent) we put in that chat, by its
    Telegram id."""
    stmt = select(ScheduledMessage).where(
        ScheduledMessage.audience == Audience.STAFF,
        ScheduledMessage.chat_id == chat_id,
        ScheduledMessage.telegram_message_id == message_id,
        ScheduledMessage.kind.in_((MessageKind.PATIENT_MESSAGE, MessageKind.PATIENT_COPY)),
        ScheduledMessage.patient_id.is_not(None),
    )
    return (await db.execute(stmt)).scalars().first()
