"""Staff writing to a patient from the staff chat: a reply under an alert, or under what the
patient wrote, goes to the patient as a message from the clinic; a reply to the resolution
prompt is the note. (What the patient writes reaches staff through services.patient_words.)"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import escalation_queries, queries
from bot.db.models import Escalation, MessageKind, Patient, PatientStatus
from bot.services import outbox
from bot.services.context import Context
from bot.services.escalations.actions import StaffAction, not_staff
from bot.services.escalations.wording import _st


async def staff_reply(
    ctx: Context,
    telegram_user_id: int,
    reply_to_message_id: int,
    text: str,
    *,
    chat_id: int | None = None,
    message_id: int | None = None,
) -> StaffAction | None:
    """A staff member replied, in `chat_id` (the staff chat unless said), to message
    `reply_to_message_id` of that chat: to an alert or to what a patient wrote (it goes to the
    patient as a message from the clinic), or to a resolution prompt (it is the note). Messages
    are matched by chat and id: ids are per chat. None: not about an alert or a patient.

    A message to the patient is queued: the staff member is told in the outbox's time whether
    it was delivered ("Sent to …", or why not), as a reply to their message `message_id`."""
    now = ctx.now()
    chat = ctx.clinic.staff_chat_id if chat_id is None else chat_id
    if chat is None:
        return None
    async with ctx.db.begin() as db:
        noted = await escalation_queries.with_note_prompt(db, chat, reply_to_message_id)
        alert = await escalation_queries.staff_message_about_alert(db, chat, reply_to_message_id)
        wrote = None
        if noted is None and alert is None:
            wrote = await escalation_queries.staff_message_about_patient(
                db, chat, reply_to_message_id
            )
            if wrote is None:
                return None
        member = await queries.staff_by_telegram(db, telegram_user_id)
        if member is None:
            if wrote is not None:
                subject, action = f"patient:{wrote.patient_id}", "patient.reply.refused"
            else:
                target = noted.id if noted else (alert.escalation_id if alert else 0)
                subject, action = f"escalation:{target}", "escalation.reply.refused"
            queries.add_audit(
                db, now, f"telegram:{telegram_user_id}", action, subject, reason="not staff"
            )
            return not_staff(ctx)
        if noted is not None:
            noted.note = text
            queries.add_audit(
                db, now, f"staff:{member.id}", "escalation.note", f"escalation:{noted.id}"
            )
            return StaffAction(
                _st(ctx, "Note saved on alert #{id}.", id=noted.id), escalation_id=noted.id
            )
        escalation = await db.get(Escalation, alert.escalation_id) if alert else None
        patient_id = escalation.patient_id if escalation else (wrote.patient_id if wrote else None)
        patient = await db.get(Patient, patient_id) if patient_id is not None else None
        if patient is None:
            return None
        _to_patient(db, ctx, patient, escalation, text, now, (chat, message_id))
        if escalation is not None:
            action, subject = "escalation.message_patient", f"escalation:{escalation.id}"
        else:
            action, subject = "patient.reply", f"patient:{patient.id}"
        queries.add_audit(db, now, f"staff:{member.id}", action, subject)
    ctx.wake()
    held = ""
    if patient.status != PatientStatus.ACTIVE:
        # stopped, paused or blocked the bot: their messages wait, and so would "Sent to"
        held = _st(
            ctx,
            "{name} cannot receive messages now (stopped, paused or blocked the bot): yours "
            "is kept and goes out if they come back.",
            name=patient.name,
        )
    # "Sent to …" only once it was: the dispatcher tells them (bot.services.dispatch)
    return StaffAction(held, escalation_id=escalation.id if escalation else None)


def _to_patient(
    db: AsyncSession,
    ctx: Context,
    patient: Patient,
    escalation: Escalation | None,
    text: str,
    now: dt.datetime,
    origin: tuple[int, int | None],
) -> None:
    """Staff words to the patient, headed as a message from the clinic; in parts when longer
    than Telegram takes."""
    body = ctx.i18n.t(patient.language, "Message from {clinic}:", clinic=ctx.clinic.name)
    about = f"{escalation.id}" if escalation is not None else f"patient:{patient.id}"
    outbox.queue(
        db,
        outbox.to_patient(
            MessageKind.CLINIC_MESSAGE,
            patient.id,
            f"clinic-message:{about}",
            f"{body}\n{text}",
            now,
            now + outbox.NOTICE_USEFUL_FOR,
            escalation_id=escalation.id if escalation else None,
            origin=origin,
        ),
        now,
    )
