"""Staff and patient talking while an alert is open: a staff reply under an alert goes to the
patient, a reply to the resolution prompt is the note, and what the patient writes goes to the
staff chat under the alert."""

from __future__ import annotations

from bot.db import escalation_queries, queries
from bot.db.models import Escalation, MessageKind, Patient
from bot.services import outbox
from bot.services.context import Context
from bot.services.escalations.actions import StaffAction, not_staff
from bot.services.escalations.alerts import queue_to_staff
from bot.services.escalations.wording import _st, patient_words


async def staff_reply(
    ctx: Context, telegram_user_id: int, reply_to_message_id: int, text: str
) -> StaffAction | None:
    """A staff member replied in the staff chat: to an alert (it goes to the patient as a
    message from the clinic) or to a resolution (it is the note). None: not about an alert."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        noted = await escalation_queries.with_note_prompt(db, reply_to_message_id)
        alert = await escalation_queries.staff_message_about_alert(
            db, ctx.clinic.staff_chat_id, reply_to_message_id
        )
        if noted is None and alert is None:
            return None
        member = await queries.staff_by_telegram(db, telegram_user_id)
        target = noted.id if noted else (alert.escalation_id if alert else 0)
        if member is None:
            queries.add_audit(
                db,
                now,
                f"telegram:{telegram_user_id}",
                "escalation.reply.refused",
                f"escalation:{target}",
                reason="not staff",
            )
            return not_staff(ctx)
        if noted is not None:
            noted.note = text[:2000]
            queries.add_audit(
                db, now, f"staff:{member.id}", "escalation.note", f"escalation:{noted.id}"
            )
            return StaffAction(
                _st(ctx, "Note saved on alert #{id}.", id=noted.id), escalation_id=noted.id
            )
        escalation = await db.get(Escalation, target)
        patient = await db.get(Patient, escalation.patient_id) if escalation else None
        if escalation is None or patient is None:
            return None
        body = ctx.i18n.t(patient.language, "Message from {clinic}:", clinic=ctx.clinic.name)
        outbox.queue(
            db,
            outbox.to_patient(
                MessageKind.CLINIC_MESSAGE,
                patient.id,
                f"clinic-message:{escalation.id}",
                f"{body}\n{text}",
                now,
                now + outbox.NOTICE_USEFUL_FOR,
                escalation_id=escalation.id,
            ),
            now,
        )
        queries.add_audit(
            db,
            now,
            f"staff:{member.id}",
            "escalation.message_patient",
            f"escalation:{escalation.id}",
        )
    ctx.wake()
    return StaffAction(_st(ctx, "Sent to {name}.", name=patient.name), escalation_id=escalation.id)


async def patient_wrote(
    ctx: Context, telegram_user_id: int, text: str | None, photo: str | None
) -> bool:
    """While an escalation is unresolved, what the patient writes goes to the staff chat,
    under the alert. False when there is no such escalation."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None:
            return False
        escalation = await escalation_queries.unresolved_for(db, patient.id)
        if escalation is None:
            return False
        words = patient_words(ctx, escalation, patient, text)
        queue_to_staff(db, ctx, escalation, MessageKind.PATIENT_WORDS, words, now, photo=photo)
        queries.add_audit(
            db,
            now,
            f"patient:{patient.id}",
            "escalation.patient_wrote",
            f"escalation:{escalation.id}",
        )
    ctx.wake()
    return True
