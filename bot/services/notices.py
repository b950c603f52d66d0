"""Notices to the clinic's staff chat (a patient stopped, blocked the bot, …), queued in the
outbox like every other message."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import MessageKind, Patient, ScheduledMessage
from bot.services import outbox
from bot.services.context import Context


def queue_staff_notice(
    db: AsyncSession,
    ctx: Context,
    patient: Patient | None,
    topic: str,
    text: str,
    now: dt.datetime,
) -> ScheduledMessage:
    """`topic` names the notice (`stopped`, `unreachable`) in its step key."""
    return outbox.queue(
        db,
        outbox.to_staff(
            MessageKind.NOTICE,
            ctx.clinic.staff_chat_id,
            f"staff:{topic}",
            text,
            now,
            patient_id=patient.id if patient else None,
        ),
        now,
    )


def patient_ref(patient: Patient) -> str:
    return f"P{patient.id:04d}"
