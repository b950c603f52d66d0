"""Raising an alert: a report that needs staff opens an escalation, or updates the patient's
unresolved one, and queues the alert for the staff chat."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import escalation_queries, queries
from bot.db.models import (
    Escalation,
    EscalationStatus,
    MessageKind,
    Patient,
    Report,
    TreatmentSession,
)
from bot.services import courses, outbox
from bot.services.context import Context
from bot.services.escalations.wording import alert_buttons, alert_text, photo_caption, update_head
from bot.services.outbox import Styled
from bot.services.ports import Buttons


def queue_to_staff(
    db: AsyncSession,
    ctx: Context,
    escalation: Escalation,
    kind: MessageKind,
    text: str | Styled,
    now: dt.datetime,
    *,
    chat_id: int | None = None,
    buttons: Buttons | None = None,
    photo: str | None = None,
) -> None:
    """A message about the escalation, to the staff chat unless `chat_id` says whom; an alert
    goes before other messages by its level."""
    outbox.queue(
        db,
        outbox.to_staff(
            kind,
            chat_id if chat_id is not None else ctx.clinic.staff_chat_id,
            f"{kind}:{escalation.id}",
            text,
            now,
            patient_id=escalation.patient_id,
            escalation_id=escalation.id,
            buttons=buttons,
            photo_file_id=photo,
            level=escalation.level,
        ),
        now,
    )


async def raise_for(
    db: AsyncSession,
    ctx: Context,
    patient: Patient,
    session: TreatmentSession | None,
    report: Report,
    previous: Report | None,
    now: dt.datetime,
) -> Escalation:
    """Opens an escalation for an unusual report, or updates the patient's unresolved one
    (raising its level if this report is worse) instead of a second alert."""
    existing = await escalation_queries.unresolved_for(db, patient.id)
    if existing is None:
        escalation = Escalation(
            patient_id=patient.id,
            report_id=report.id,
            level=report.level,
            status=EscalationStatus.OPEN,
            opened_at=now,
            updated_at=now,
            rounds=0,
            next_reminder_at=now + ctx.clinic.ack_timeout(report.level),
        )
        db.add(escalation)
        await db.flush()
        head = None
        action = "escalation.open"
    else:
        escalation = existing
        escalation.report_id, escalation.updated_at = report.id, now
        is_worse = report.level > escalation.level
        if is_worse:
            escalation.level = report.level
            # a worse report needs someone to take it on again
            escalation.status = EscalationStatus.OPEN
            escalation.rounds = 0
            escalation.next_reminder_at = now + ctx.clinic.ack_timeout(report.level)
        head = update_head(ctx, escalation, is_worse=is_worse)
        action = "escalation.update"
    queries.add_audit(
        db, now, "system", action, f"escalation:{escalation.id}", level=escalation.level.name_key
    )
    place = await courses.course_place(db, session) if session is not None else None
    course = courses.course_label(ctx.i18n, ctx.clinic.staff_language, place)
    text = alert_text(ctx, escalation, patient, session, report, previous, now, course)
    if head:
        text = head + "\n" + text
    queue_to_staff(
        db, ctx, escalation, MessageKind.ALERT, text, now, buttons=alert_buttons(ctx, escalation)
    )
    if report.photo_file_id:
        caption = photo_caption(ctx, escalation, patient)
        queue_to_staff(
            db, ctx, escalation, MessageKind.ALERT_PHOTO, caption, now, photo=report.photo_file_id
        )
    return escalation
