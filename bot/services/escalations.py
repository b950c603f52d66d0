"""Escalations: the alert to staff, its reminders when nobody acknowledges, acknowledge and
resolve by authorised staff, and the conversation between staff and patient meanwhile."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.db.models import (
    Audience,
    Escalation,
    EscalationStatus,
    MessageStatus,
    Patient,
    Report,
    ScheduledMessage,
    StaffMember,
    TreatmentSession,
)
from bot.domain.triage import FLAGS, Level
from bot.i18n import N_
from bot.services.context import Context
from bot.services.notices import CHASER_KINDS, NOTICE_USEFUL_FOR, patient_ref
from bot.services.ports import Buttons
from bot.services.vocabulary import (
    FLAG_DESCRIPTIONS,
    LEVEL_ICONS,
    LEVEL_LABELS,
    reason_text,
    severity_name,
    symptom_name,
)

REMINDER_ROUNDS = 3
OUTCOMES = {
    "c": N_("called the patient"),
    "i": N_("asked the patient to come in"),
    "n": N_("no action needed"),
}


class Refusal(enum.StrEnum):
    NOT_STAFF = "not_staff"
    UNKNOWN = "unknown"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class StaffAction:
    """What a staff press led to: a line for the chat, or a refusal; and buttons to show."""

    text: str
    refusal: Refusal | None = None
    buttons: Buttons | None = None
    escalation_id: int | None = None


def _staff_lang(ctx: Context) -> str:
    return ctx.clinic.staff_language


def _st(ctx: Context, msgid: str, **params: object) -> str:
    return ctx.i18n.t(_staff_lang(ctx), msgid, **params)


def _level(name: str) -> Level:
    return Level[name.upper()]


# --- raising -----------------------------------------------------------------------------------
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
    existing = (
        await db.execute(
            select(Escalation).where(
                Escalation.patient_id == patient.id, Escalation.status != EscalationStatus.RESOLVED
            )
        )
    ).scalar_one_or_none()
    level = _level(report.level)
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
        queries.add_audit(
            db,
            now,
            "system",
            "escalation.open",
            f"escalation:{escalation.id}",
            level=report.level,
        )
    else:
        escalation = existing
        escalation.report_id, escalation.updated_at = report.id, now
        head = _st(ctx, "Update to alert #{id}: a new report from the patient.", id=escalation.id)
        if level > _level(escalation.level):
            escalation.level = report.level
            # a worse report needs someone to take it on again
            escalation.status = EscalationStatus.OPEN
            escalation.rounds = 0
            escalation.next_reminder_at = now + ctx.clinic.ack_timeout(report.level)
            head = _st(ctx, "Alert #{id} is now more serious.", id=escalation.id)
        queries.add_audit(
            db,
            now,
            "system",
            "escalation.update",
            f"escalation:{escalation.id}",
            level=escalation.level,
        )
    text = alert_text(ctx, escalation, patient, session, report, previous, now)
    if head:
        text = head + "\n" + text
    _queue(db, ctx, escalation, "alert", text, now, buttons=alert_buttons(ctx, escalation))
    if report.photo_file_id:
        caption = _st(
            ctx,
            "Photo from {name} ({ref}), alert #{id}",
            name=patient.name,
            ref=patient_ref(patient),
            id=escalation.id,
        )
        _queue(db, ctx, escalation, "alert-photo", caption, now, photo=report.photo_file_id)
    return escalation


def alert_buttons(ctx: Context, escalation: Escalation) -> Buttons:
    sign = ctx.signer.sign
    row = [(_st(ctx, "Resolve"), sign("er", escalation.id))]
    if escalation.status == EscalationStatus.OPEN:
        row.insert(0, (_st(ctx, "Acknowledge"), sign("ea", escalation.id)))
    return [row]


def alert_text(
    ctx: Context,
    escalation: Escalation,
    patient: Patient,
    session: TreatmentSession | None,
    report: Report,
    previous: Report | None,
    now: dt.datetime,
) -> str:
    lang = _staff_lang(ctx)
    i18n = ctx.i18n
    lines = [
        f"{LEVEL_ICONS.get(escalation.level, '')} {i18n.t(lang, LEVEL_LABELS[escalation.level])}"
        f" — " + _st(ctx, "alert #{id}", id=escalation.id),
        _st(ctx, "Patient: {name} ({ref})", name=patient.name, ref=patient_ref(patient)),
    ]
    if session is not None:
        hours = int((now - session.starts_at).total_seconds() // 3600)
        lines.append(
            _st(
                ctx,
                "Session: {treatment}, {area}, {date}, {ago}",
                treatment=session.treatment,
                area=session.area,
                date=i18n.when(lang, session.starts_at, ctx.clinic.timezone),
                ago=i18n.nt(lang, "{n} hour ago", "{n} hours ago", hours),
            )
        )
    before = previous.symptoms if previous is not None else {}
    symptoms = []
    for name, value in report.symptoms.items():
        now_name = severity_name(i18n, lang, value)
        if previous is None:
            trend = ""
        elif name in before:
            trend = " " + _st(
                ctx, "(was {severity})", severity=severity_name(i18n, lang, before[name])
            )
        else:
            trend = " " + _st(ctx, "(new)")
        symptoms.append(f"{symptom_name(i18n, lang, name)}: {now_name}{trend}")
    lines.append(_st(ctx, "Symptoms: {list}", list="; ".join(symptoms) or _st(ctx, "none")))
    if report.flags:
        flags = [i18n.t(lang, FLAG_DESCRIPTIONS[f]) for f in FLAGS if f in report.flags]
        lines.append(_st(ctx, "Red flags: {list}", list="; ".join(flags)))
    reasons = [reason_text(i18n, lang, r) for r in report.reasons]
    lines.append(_st(ctx, "Why: {list}", list="; ".join(reasons)))
    if report.note:
        # the patient's own words, shown as written
        lines.append(
            _st(
                ctx,
                "Patient wrote in {language}: «{text}»",
                language=ctx.i18n.name_of(patient.language, lang, title=False),
                text=report.note,
            )
        )
    if report.photo_file_id:
        lines.append(_st(ctx, "Photo below."))
    lines.append(_st(ctx, "Reply to this message to write to the patient."))
    return "\n".join(lines)


def _queue(
    db: AsyncSession,
    ctx: Context,
    escalation: Escalation,
    kind: str,
    text: str,
    now: dt.datetime,
    *,
    chat_id: int | None = None,
    buttons: Buttons | None = None,
    photo: str | None = None,
) -> None:
    db.add(
        ScheduledMessage(
            audience=Audience.STAFF,
            session_id=None,
            patient_id=escalation.patient_id,
            chat_id=chat_id if chat_id is not None else ctx.clinic.staff_chat_id,
            body=text,
            step_key=f"{kind}:{escalation.id}",
            kind=kind,
            due_at=now,
            useful_until=now + NOTICE_USEFUL_FOR,
            status=MessageStatus.PENDING,
            attempts=0,
            created_at=now,
            escalation_id=escalation.id,
            buttons=[[[label, data] for label, data in row] for row in buttons]
            if buttons
            else None,
            photo_file_id=photo,
        )
    )


# --- staff actions -----------------------------------------------------------------------------
async def _authorised(
    db: AsyncSession, ctx: Context, telegram_user_id: int, escalation_id: int, action: str
) -> tuple[StaffMember | None, Escalation | None, StaffAction | None]:
    now = ctx.now()
    member = await queries.staff_by_telegram(db, telegram_user_id)
    if member is None:
        queries.add_audit(
            db,
            now,
            f"telegram:{telegram_user_id}",
            f"escalation.{action}.refused",
            f"escalation:{escalation_id}",
            reason="not staff",
        )
        return (
            None,
            None,
            StaffAction(
                _st(ctx, "Not authorised: only registered staff can do this."), Refusal.NOT_STAFF
            ),
        )
    escalation = await db.get(Escalation, escalation_id)
    if escalation is None:
        return member, None, StaffAction(_st(ctx, "This alert no longer exists."), Refusal.UNKNOWN)
    if escalation.status == EscalationStatus.RESOLVED:
        return (
            member,
            escalation,
            StaffAction(
                _st(ctx, "Alert #{id} is already resolved.", id=escalation.id),
                Refusal.RESOLVED,
                escalation_id=escalation.id,
            ),
        )
    return member, escalation, None


async def acknowledge(ctx: Context, telegram_user_id: int, escalation_id: int) -> StaffAction:
    now = ctx.now()
    async with ctx.db.begin() as db:
        member, escalation, refusal = await _authorised(
            db, ctx, telegram_user_id, escalation_id, "acknowledge"
        )
        if refusal is not None:
            return refusal
        assert member is not None and escalation is not None
        if escalation.status == EscalationStatus.ACKNOWLEDGED:
            return StaffAction(
                _st(ctx, "Alert #{id} is already acknowledged.", id=escalation.id),
                buttons=alert_buttons(ctx, escalation),
                escalation_id=escalation.id,
            )
        escalation.status = EscalationStatus.ACKNOWLEDGED
        escalation.acknowledged_at, escalation.acknowledged_by = now, member.id
        escalation.next_reminder_at = None
        await _cancel_chasers(db, escalation.id)
        queries.add_audit(
            db, now, f"staff:{member.id}", "escalation.acknowledge", f"escalation:{escalation.id}"
        )
        return StaffAction(
            _st(ctx, "Alert #{id} acknowledged by {name}.", id=escalation.id, name=member.name),
            buttons=alert_buttons(ctx, escalation),
            escalation_id=escalation.id,
        )


async def _cancel_chasers(db: AsyncSession, escalation_id: int) -> None:
    await db.execute(
        update(ScheduledMessage)
        .where(
            ScheduledMessage.escalation_id == escalation_id,
            ScheduledMessage.kind.in_(CHASER_KINDS),
            ScheduledMessage.status == MessageStatus.PENDING,
        )
        .values(status=MessageStatus.CANCELLED, last_error="acknowledged")
        .execution_options(synchronize_session=False)
    )


async def ask_outcome(ctx: Context, telegram_user_id: int, escalation_id: int) -> StaffAction:
    """Resolve was pressed: which outcome?"""
    async with ctx.db.begin() as db:
        _member, escalation, refusal = await _authorised(
            db, ctx, telegram_user_id, escalation_id, "resolve"
        )
        if refusal is not None:
            return refusal
        assert escalation is not None
        buttons = [
            [(_st(ctx, label), ctx.signer.sign(f"eo.{code}", escalation.id))]
            for code, label in OUTCOMES.items()
        ]
        return StaffAction(
            _st(ctx, "How was alert #{id} resolved?", id=escalation.id),
            buttons=buttons,
            escalation_id=escalation.id,
        )


async def resolve(
    ctx: Context, telegram_user_id: int, escalation_id: int, outcome: str
) -> StaffAction:
    now = ctx.now()
    if outcome not in OUTCOMES:
        return StaffAction(_st(ctx, "This button no longer works."), Refusal.UNKNOWN)
    async with ctx.db.begin() as db:
        member, escalation, refusal = await _authorised(
            db, ctx, telegram_user_id, escalation_id, "resolve"
        )
        if refusal is not None:
            return refusal
        assert member is not None and escalation is not None
        escalation.status = EscalationStatus.RESOLVED
        escalation.resolved_at, escalation.resolved_by = now, member.id
        escalation.outcome = outcome
        escalation.next_reminder_at = None
        if escalation.acknowledged_at is None:
            escalation.acknowledged_at, escalation.acknowledged_by = now, member.id
        await _cancel_chasers(db, escalation.id)
        queries.add_audit(
            db,
            now,
            f"staff:{member.id}",
            "escalation.resolve",
            f"escalation:{escalation.id}",
            outcome=outcome,
        )
        return StaffAction(
            _st(
                ctx,
                "Alert #{id} resolved by {name}: {outcome}. Reply to this message to add a note.",
                id=escalation.id,
                name=member.name,
                outcome=_st(ctx, OUTCOMES[outcome]),
            ),
            escalation_id=escalation.id,
        )


async def attach_note_prompt(ctx: Context, escalation_id: int, message_id: int) -> None:
    async with ctx.db.begin() as db:
        escalation = await db.get(Escalation, escalation_id)
        if escalation is not None:
            escalation.note_message_id = message_id


async def staff_reply(
    ctx: Context, telegram_user_id: int, reply_to_message_id: int, text: str
) -> StaffAction | None:
    """A staff member replied in the staff chat: to an alert (it goes to the patient as a
    message from the clinic) or to a resolution (it is the note). None: not about an alert."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        noted = (
            await db.execute(
                select(Escalation).where(Escalation.note_message_id == reply_to_message_id)
            )
        ).scalar_one_or_none()
        alert = (
            (
                await db.execute(
                    select(ScheduledMessage).where(
                        ScheduledMessage.audience == Audience.STAFF,
                        ScheduledMessage.chat_id == ctx.clinic.staff_chat_id,
                        ScheduledMessage.telegram_message_id == reply_to_message_id,
                        ScheduledMessage.escalation_id.is_not(None),
                    )
                )
            )
            .scalars()
            .first()
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
            return StaffAction(
                _st(ctx, "Not authorised: only registered staff can do this."), Refusal.NOT_STAFF
            )
        if noted is not None:
            noted.note = text[:2000]
            queries.add_audit(
                db, now, f"staff:{member.id}", "escalation.note", f"escalation:{noted.id}"
            )
            return StaffAction(
                _st(ctx, "Note saved on alert #{id}.", id=noted.id), escalation_id=noted.id
            )
        assert alert is not None and alert.escalation_id is not None
        escalation = await db.get(Escalation, alert.escalation_id)
        assert escalation is not None
        patient = await db.get(Patient, escalation.patient_id)
        assert patient is not None
        body = ctx.i18n.t(patient.language, "Message from {clinic}:", clinic=ctx.clinic.name)
        db.add(
            ScheduledMessage(
                audience=Audience.PATIENT,
                session_id=None,
                patient_id=patient.id,
                step_key=f"clinic-message:{escalation.id}",
                kind="clinic-message",
                due_at=now,
                useful_until=now + NOTICE_USEFUL_FOR,
                status=MessageStatus.PENDING,
                attempts=0,
                created_at=now,
                body=f"{body}\n{text}",
                escalation_id=escalation.id,
            )
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
        escalation = (
            await db.execute(
                select(Escalation).where(
                    Escalation.patient_id == patient.id,
                    Escalation.status != EscalationStatus.RESOLVED,
                )
            )
        ).scalar_one_or_none()
        if escalation is None:
            return False
        head = _st(
            ctx,
            "{name} ({ref}) wrote in {language}, about alert #{id}:",
            language=ctx.i18n.name_of(patient.language, _staff_lang(ctx), title=False),
            name=patient.name,
            ref=patient_ref(patient),
            id=escalation.id,
        )
        words = f"«{text}»" if text else _st(ctx, "(a photo)")
        _queue(db, ctx, escalation, "patient-words", f"{head}\n{words}", now, photo=photo)
        queries.add_audit(
            db,
            now,
            f"patient:{patient.id}",
            "escalation.patient_wrote",
            f"escalation:{escalation.id}",
        )
    ctx.wake()
    return True


# --- time: reminders when nobody acknowledges ---------------------------------------------------
async def run_timers(ctx: Context) -> int:
    """Reminder rounds in the staff chat with a direct message to each on-call staff member;
    after the last round, a loud 'unanswered' summary."""
    now = ctx.now()
    count = 0
    async with ctx.db.begin() as db:
        due = (
            (
                await db.execute(
                    select(Escalation)
                    .where(
                        Escalation.status == EscalationStatus.OPEN,
                        Escalation.next_reminder_at <= now,
                    )
                    # two wake-ups (or two processes) at once: each round is taken once
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        staff = (
            (await db.execute(select(StaffMember).where(StaffMember.is_on_call.is_(True))))
            .scalars()
            .all()
        )
        for escalation in due:
            patient = await db.get(Patient, escalation.patient_id)
            assert patient is not None
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
    minutes = int((now - escalation.opened_at).total_seconds() // 60)
    level = ctx.i18n.t(_staff_lang(ctx), LEVEL_LABELS[escalation.level])
    who = {
        "name": patient.name,
        "ref": patient_ref(patient),
        "id": escalation.id,
        "level": level,
        "duration": ctx.i18n.nt(_staff_lang(ctx), "{n} minute", "{n} minutes", minutes),
    }
    if escalation.rounds <= REMINDER_ROUNDS:
        text = _st(
            ctx,
            "⏰ Reminder {round}/{rounds}: alert #{id} ({level}) for {name} ({ref}) "
            "has not been acknowledged for {duration}.",
            round=escalation.rounds,
            rounds=REMINDER_ROUNDS,
            **who,
        )
        kind, dm_kind = "escalation-reminder", "escalation-dm"
        escalation.next_reminder_at = now + ctx.clinic.ack_timeout(escalation.level)
    else:
        text = _st(
            ctx,
            "🚨 UNANSWERED: alert #{id} ({level}) for {name} ({ref}) has had no "
            "acknowledgement for {duration}, after {rounds} reminders. Someone must "
            "call the patient now.",
            rounds=REMINDER_ROUNDS,
            **who,
        )
        kind, dm_kind = "escalation-unanswered", "escalation-unanswered"
        escalation.next_reminder_at = None
    _queue(db, ctx, escalation, kind, text, now, buttons=alert_buttons(ctx, escalation))
    for member in staff:
        _queue(
            db,
            ctx,
            escalation,
            dm_kind,
            text,
            now,
            chat_id=member.telegram_user_id,
            buttons=alert_buttons(ctx, escalation),
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
        stmt = (
            select(Escalation.next_reminder_at)
            .where(
                Escalation.status == EscalationStatus.OPEN, Escalation.next_reminder_at.is_not(None)
            )
            .order_by(Escalation.next_reminder_at)
            .limit(1)
        )
        return (await db.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class OpenEscalation:
    escalation: Escalation
    patient: Patient
    report: Report


async def list_open(ctx: Context) -> list[OpenEscalation]:
    async with ctx.db() as db:
        stmt = (
            select(Escalation, Patient, Report)
            .join(Patient, Patient.id == Escalation.patient_id)
            .join(Report, Report.id == Escalation.report_id)
            .where(Escalation.status != EscalationStatus.RESOLVED)
            .order_by(Escalation.opened_at)
        )
        return [OpenEscalation(e, p, r) for e, p, r in (await db.execute(stmt)).all()]
