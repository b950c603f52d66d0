"""Notices to the clinic's staff chat, queued in the outbox like every other message."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Audience, MessageStatus, Patient, ScheduledMessage
from bot.services.context import Context

# Staff messages that only make sense while nobody has acknowledged the alert.
CHASER_KINDS = frozenset({"escalation-reminder", "escalation-dm", "escalation-unanswered"})
# Staff notices stay worth sending for a week: staff alerts are repeated, never dropped quietly.
NOTICE_USEFUL_FOR = dt.timedelta(days=7)


def queue_staff_notice(
    db: AsyncSession,
    ctx: Context,
    patient: Patient | None,
    kind: str,
    text: str,
    now: dt.datetime,
) -> ScheduledMessage:
    row = ScheduledMessage(
        audience=Audience.STAFF,
        session_id=None,
        patient_id=patient.id if patient else None,
        chat_id=ctx.clinic.staff_chat_id,
        body=text,
        step_key=f"staff:{kind}",
        kind="notice",
        due_at=now,
        useful_until=now + NOTICE_USEFUL_FOR,
        status=MessageStatus.PENDING,
        attempts=0,
        created_at=now,
    )
    db.add(row)
    return row


def patient_ref(patient: Patient) -> str:
    return f"P{patient.id:04d}"
