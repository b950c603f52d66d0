"""Check-ins: the question, each button press as a step of a state machine in the database,
the report and its triage when the answers are complete, and what the patient is told."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.db.models import (
    Audience,
    Checkin,
    CheckinStage,
    CheckinStatus,
    MessageStatus,
    Patient,
    Report,
    ScheduledMessage,
    SessionStatus,
    TreatmentSession,
)
from bot.domain import triage
from bot.domain.protocol import Step as ProtocolStep
from bot.domain.triage import FLAGS, SYMPTOMS, Assessment, Level, Severity
from bot.i18n import N_
from bot.services import escalations
from bot.services.context import Context
from bot.services.ports import Buttons
from bot.services.protocols import step_text
from bot.services.vocabulary import (
    ADVICE,
    FLAG_DESCRIPTIONS,
    FLAG_LABELS,
    SEVERITY_LABELS,
    SYMPTOM_LABELS,
)

# A check-in the patient starts themselves stays open this long without an answer.
PATIENT_CHECKIN_TTL = dt.timedelta(hours=12)
DEFAULT_RESPOND_WITHIN = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Screen:
    """One message's content: what to show the patient, with its buttons."""

    text: str
    buttons: Buttons | None = None


@dataclass
class Step:
    """What a press or a message led to, for the handler to show."""

    notice: str | None = None  # a short toast on the pressed button
    edit: Screen | None = None  # new content for the message whose button was pressed
    send: list[Screen] = field(default_factory=list)  # new messages, in order
    checkin_id: int | None = None  # set when `send` starts a check-in question
    answered: bool = False  # what the patient wrote answered the open question
    # the press was applied before a restart: `send` only goes out when `edit` changed the
    # message, i.e. the first handling stopped before its edit (and so before its sends)
    replayed: bool = False


def _pt(ctx: Context, lang: str, msgid: str, **params: object) -> str:
    return ctx.i18n.t(lang, msgid, **params)


# --- the questions -----------------------------------------------------------------------------
def question(
    ctx: Context, checkin: Checkin, patient: Patient, step: ProtocolStep | None = None
) -> Screen:
    """The current question of an open check-in, with its buttons; `step` is the protocol step
    that asked it, for its wording of the first question."""
    lang, sign, ref = patient.language, ctx.signer.sign, checkin.id
    stage = checkin.stage
    if stage == CheckinStage.OVERALL:
        text = _overall_text(ctx, patient, step)
        return Screen(
            text,
            [
                [
                    (_pt(ctx, lang, "All good"), sign("co.g", ref)),
                    (_pt(ctx, lang, "I have symptoms"), sign("co.s", ref)),
                ]
            ],
        )
    if stage == CheckinStage.SYMPTOMS:
        chosen = set(checkin.symptoms)
        labels = [
            (
                ("✓ " if name in chosen else "") + _pt(ctx, lang, SYMPTOM_LABELS[name]),
                sign(f"cs.{i}", ref),
            )
            for i, name in enumerate(SYMPTOMS)
        ]
        rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
        rows.append([(_pt(ctx, lang, "Done"), sign("cs.d", ref))])
        text = _pt(ctx, lang, "Which of these do you notice? Tap all that apply, then Done.")
        return Screen(text, rows)
    if stage == CheckinStage.SEVERITY:
        symptom = _current_symptom(checkin)
        assert symptom is not None
        buttons = [
            (_pt(ctx, lang, label), sign(f"cv.{int(level)}", ref))
            for level, label in SEVERITY_LABELS.items()
        ]
        text = _pt(
            ctx,
            lang,
            "How strong is it now: {symptom}?",
            symptom=_pt(ctx, lang, SYMPTOM_LABELS[symptom]).lower(),
        )
        return Screen(text, [buttons[:3], buttons[3:]])
    if stage == CheckinStage.FLAGS:
        chosen = set(checkin.flags)
        lines = [_pt(ctx, lang, "Do you have any of these right now?")]
        lines += [f"• {_pt(ctx, lang, FLAG_DESCRIPTIONS[name])}" for name in FLAGS]
        labels = [
            (
                ("✓ " if name in chosen else "") + _pt(ctx, lang, FLAG_LABELS[name]),
                sign(f"cf.{i}", ref),
            )
            for i, name in enumerate(FLAGS)
        ]
        rows = [[label] for label in labels]
        rows.append(
            [
                (_pt(ctx, lang, "None of these"), sign("cf.n", ref)),
                (_pt(ctx, lang, "Done"), sign("cf.d", ref)),
            ]
        )
        lines.append(_pt(ctx, lang, "Tap all that apply, then Done."))
        return Screen("\n".join(lines), rows)
    if stage == CheckinStage.NOTE:
        text = _pt(
            ctx,
            lang,
            "Would you like to add a photo or a few words? Send them now, or tap Skip.",
        )
        return Screen(text, [[(_pt(ctx, lang, "Skip"), sign("cn.s", ref))]])
    raise ValueError(f"check-in {checkin.id} has no question at stage {stage}")


def _overall_text(ctx: Context, patient: Patient, step: ProtocolStep | None) -> str:
    if step is not None:
        return step_text(ctx.i18n, step, patient.language, ctx.clinic.default_language)
    return _pt(
        ctx,
        patient.language,
        "Let's check on your skin. Since your treatment, how is the treated area?",
    )


async def step_of(db: AsyncSession, ctx: Context, checkin: Checkin) -> ProtocolStep | None:
    """The protocol step that asked this check-in (None when the patient started it)."""
    if checkin.step_key is None or checkin.session_id is None:
        return None
    session = await db.get(TreatmentSession, checkin.session_id)
    protocol = ctx.protocols.get(session.treatment) if session else None
    if protocol is None:
        return None
    return next((s for s in protocol.steps if s.key == checkin.step_key), None)


def _current_symptom(checkin: Checkin) -> str | None:
    return next((s for s in checkin.symptoms if s not in checkin.severities), None)


# --- opening -----------------------------------------------------------------------------------
async def open_for_step(
    db: AsyncSession, ctx: Context, row: ScheduledMessage, patient: Patient, now: dt.datetime
) -> Screen:
    """A scheduled check-in is about to be sent: its state row is opened with it."""
    respond_within = DEFAULT_RESPOND_WITHIN
    session = await db.get(TreatmentSession, row.session_id) if row.session_id else None
    step = None
    if session is not None:
        protocol = ctx.protocols.get(session.treatment)
        if protocol is not None:
            step = next((s for s in protocol.steps if s.key == row.step_key), None)
            if step is not None and step.respond_within is not None:
                respond_within = step.respond_within
    checkin = await _open(
        db,
        patient,
        now,
        session_id=row.session_id,
        step_key=row.step_key,
        remind_at=now + respond_within,
        expires_at=now + 2 * respond_within,
    )
    row.checkin_id = checkin.id
    return question(ctx, checkin, patient, step)


async def _open(
    db: AsyncSession,
    patient: Patient,
    now: dt.datetime,
    *,
    session_id: int | None,
    step_key: str | None,
    remind_at: dt.datetime | None,
    expires_at: dt.datetime,
) -> Checkin:
    previous = await _open_checkin(db, patient.id)
    if previous is not None:
        # one open check-in per patient: a newer question replaces an untouched older one
        previous.status = CheckinStatus.CLOSED
        previous.closed_at = now
        previous.close_reason = "replaced by a newer check-in"
        await db.flush()
    checkin = Checkin(
        patient_id=patient.id,
        session_id=session_id,
        step_key=step_key,
        status=CheckinStatus.OPEN,
        stage=CheckinStage.OVERALL,
        symptoms=[],
        severities={},
        flags=[],
        opened_at=now,
        remind_at=remind_at,
        expires_at=expires_at,
    )
    db.add(checkin)
    await db.flush()
    queries.add_audit(db, now, f"patient:{patient.id}", "checkin.open", f"checkin:{checkin.id}")
    return checkin


async def _open_checkin(db: AsyncSession, patient_id: int) -> Checkin | None:
    stmt = select(Checkin).where(
        Checkin.patient_id == patient_id, Checkin.status == CheckinStatus.OPEN
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def start(
    ctx: Context, telegram_user_id: int, note: str | None = None, photo: str | None = None
) -> Step | None:
    """`/checkin`, or the patient wrote to us (their words kept for the report): the same
    questions, started by them. None when the user is not a linked patient."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None:
            return None
        return await _start_for(db, ctx, patient, now, note, photo)


async def attach_message(ctx: Context, checkin_id: int, message_id: int) -> None:
    async with ctx.db.begin() as db:
        checkin = await db.get(Checkin, checkin_id)
        if checkin is not None:
            checkin.message_id = message_id


# --- answering ---------------------------------------------------------------------------------
_STAGE_OF = {
    "co": CheckinStage.OVERALL,
    "cs": CheckinStage.SYMPTOMS,
    "cv": CheckinStage.SEVERITY,
    "cf": CheckinStage.FLAGS,
    "cn": CheckinStage.NOTE,
}


async def press(
    ctx: Context,
    telegram_user_id: int,
    action: str,
    checkin_id: int,
    update_id: int | None = None,
) -> Step:
    """One button press. Checked against who pressed it and the check-in's current state: a
    press from someone else, on a closed check-in, or for a question already answered changes
    nothing."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        # the check-in and its patient in one query: a press is the busiest path there is
        stmt = (
            select(Checkin, Patient)
            .join(Patient, Patient.id == Checkin.patient_id)
            .where(Checkin.id == checkin_id, Patient.telegram_user_id == telegram_user_id)
        )
        found = (await db.execute(stmt)).first()
        if found is None:
            patient = await queries.patient_by_telegram(db, telegram_user_id)
            return Step(notice=_pt(ctx, _lang(patient, ctx), "This button is not for you."))
        checkin, patient = found
        lang = patient.language
        if update_id is not None and (checkin.last_update_id or -1) >= update_id:
            # this very press was applied before a restart (killed before the update was
            # marked done): nothing is applied again, but the patient may not have seen its
            # outcome, so it is shown again
            return await _replay(db, ctx, checkin, patient, update_id)
        if action == "cx":
            return await _start_for(db, ctx, patient, now)
        if checkin.status != CheckinStatus.OPEN:
            return Step(
                notice=_pt(ctx, lang, "This check-in is closed."),
                send=[
                    Screen(
                        _pt(
                            ctx, lang, "This check-in is closed. Would you like to start a new one?"
                        ),
                        [
                            [
                                (
                                    _pt(ctx, lang, "Start a new check-in"),
                                    ctx.signer.sign("cx", checkin.id),
                                )
                            ]
                        ],
                    )
                ],
            )
        checkin.last_update_id = update_id if update_id is not None else checkin.last_update_id
        prefix, _, value = action.partition(".")
        if _STAGE_OF.get(prefix) != checkin.stage:
            return Step(notice=_pt(ctx, lang, "That question has already been answered."))
        result = _apply(checkin, prefix, value)
        if result is not None:
            return Step(notice=_pt(ctx, lang, result))
        if checkin.stage == CheckinStage.DONE:
            return await _complete(db, ctx, checkin, patient, now, edit_question=True)
        return Step(edit=question(ctx, checkin, patient))


async def _replay(
    db: AsyncSession, ctx: Context, checkin: Checkin, patient: Patient, update_id: int
) -> Step:
    """What a press applied before a restart shows: the question as it stands now (editing a
    message to what it already says changes nothing). The press that completed the check-in
    shows the summary and, only if the summary was not shown yet, the advice: the first
    handling edited before it sent, so an edit already made means the advice may have gone."""
    if checkin.status == CheckinStatus.OPEN:
        asked = await step_of(db, ctx, checkin) if checkin.stage == CheckinStage.OVERALL else None
        return Step(edit=question(ctx, checkin, patient, asked), replayed=True)
    if checkin.status != CheckinStatus.COMPLETE or checkin.last_update_id != update_id:
        return Step(replayed=True)
    stmt = select(Report.level).where(Report.checkin_id == checkin.id).limit(1)
    level = (await db.execute(stmt)).scalar_one_or_none()
    if level is None:
        return Step(replayed=True)
    current = _answers(checkin)
    lang = patient.language
    return Step(
        edit=Screen(_summary(ctx, lang, current)),
        send=[Screen(advice(ctx, lang, Assessment(Level[level.upper()], ()), current))],
        replayed=True,
    )


def _answers(checkin: Checkin) -> triage.Report:
    return triage.Report(
        symptoms={name: Severity(checkin.severities.get(name, 0)) for name in checkin.symptoms},
        flags=frozenset(checkin.flags),
    )


def _apply(checkin: Checkin, prefix: str, value: str) -> str | None:
    """Moves the state machine one press on; returns a notice msgid when the press is refused."""
    if prefix == "co":
        checkin.stage = CheckinStage.DONE if value == "g" else CheckinStage.SYMPTOMS
    elif prefix == "cs":
        if value == "d":
            if not checkin.symptoms:
                return N_("Tap at least one symptom first, or go back with All good.")
            checkin.stage = CheckinStage.SEVERITY
        elif value.isdigit() and int(value) < len(SYMPTOMS):
            name = SYMPTOMS[int(value)]
            # JSON columns are replaced, not mutated, so the change is seen and saved
            chosen = [s for s in checkin.symptoms if s != name]
            checkin.symptoms = chosen if name in checkin.symptoms else [*checkin.symptoms, name]
        else:
            return N_("This button no longer works.")
    elif prefix == "cv":
        symptom = _current_symptom(checkin)
        if symptom is None or not value.isdigit() or int(value) > Severity.VERY_SEVERE:
            return N_("This button no longer works.")
        checkin.severities = {**checkin.severities, symptom: int(value)}
        if _current_symptom(checkin) is None:
            checkin.stage = CheckinStage.FLAGS
    elif prefix == "cf":
        if value in ("d", "n"):
            if value == "n":
                checkin.flags = []
            checkin.stage = CheckinStage.NOTE
        elif value.isdigit() and int(value) < len(FLAGS):
            name = FLAGS[int(value)]
            chosen = [f for f in checkin.flags if f != name]
            checkin.flags = chosen if name in checkin.flags else [*checkin.flags, name]
        else:
            return N_("This button no longer works.")
    elif prefix == "cn":
        checkin.stage = CheckinStage.DONE
    return None


async def _start_for(
    db: AsyncSession,
    ctx: Context,
    patient: Patient,
    now: dt.datetime,
    note: str | None = None,
    photo: str | None = None,
) -> Step:
    """A check-in the patient starts, about their latest session."""
    latest = await _latest_session(db, patient.id, now)
    checkin = await _open(
        db,
        patient,
        now,
        session_id=latest.id if latest else None,
        step_key=None,
        remind_at=None,
        expires_at=now + PATIENT_CHECKIN_TTL,
    )
    checkin.note, checkin.photo_file_id = _joined(None, note), photo
    return Step(send=[question(ctx, checkin, patient)], checkin_id=checkin.id)


async def write(
    ctx: Context, telegram_user_id: int, text: str | None, photo: str | None
) -> Step | None:
    """Words or a photo from a patient with an open check-in: the answer to the last question
    (the note), or a nudge back to the buttons. None when no check-in is open."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None:
            return None
        checkin = await _open_checkin(db, patient.id)
        if checkin is None:
            return None
        if checkin.stage != CheckinStage.NOTE:
            if checkin.stage == CheckinStage.OVERALL and checkin.step_key is None:
                # they wrote first and we asked: keep their words with the report
                checkin.note = _joined(checkin.note, text)
                checkin.photo_file_id = checkin.photo_file_id or photo
            lang = patient.language
            nudge = _pt(ctx, lang, "Please answer with the buttons of the question, here again:")
            asked = await step_of(db, ctx, checkin)
            return Step(send=[Screen(nudge), question(ctx, checkin, patient, asked)])
        checkin.note = _joined(checkin.note, text)
        checkin.photo_file_id = checkin.photo_file_id or photo
        checkin.stage = CheckinStage.DONE
        step = await _complete(db, ctx, checkin, patient, now, edit_question=False)
        step.answered = True
        return step


def _joined(old: str | None, new: str | None) -> str | None:
    if not new:
        return old
    # long texts are kept, within reason: a note is read by a nurse, not archived
    return (f"{old}\n{new}" if old else new)[:2000]


# --- completing --------------------------------------------------------------------------------
async def _complete(
    db: AsyncSession,
    ctx: Context,
    checkin: Checkin,
    patient: Patient,
    now: dt.datetime,
    *,
    edit_question: bool,
) -> Step:
    """The answers are in: triage, the report, the escalation if needed, the advice. One
    transaction: the escalation row exists exactly when the report says it must."""
    session = await db.get(TreatmentSession, checkin.session_id) if checkin.session_id else None
    if session is None:
        session = await _latest_session(db, patient.id, now)
    rules = _rules(ctx, session)
    current = _answers(checkin)
    previous_row = await _previous_report(db, patient.id)
    previous = None
    if previous_row is not None:
        previous = triage.Report(
            symptoms={k: Severity(v) for k, v in previous_row.symptoms.items()},
            flags=frozenset(previous_row.flags),
        )
    hours = (now - session.starts_at).total_seconds() / 3600 if session else 0.0
    assessment = triage.assess(current, previous, max(hours, 0.0), rules)
    report = Report(
        checkin_id=checkin.id,
        patient_id=patient.id,
        session_id=session.id if session else None,
        symptoms={k: int(v) for k, v in current.symptoms.items()},
        flags=sorted(current.flags),
        note=checkin.note,
        photo_file_id=checkin.photo_file_id,
        hours_since=round(hours, 1) if session else None,
        level=assessment.level.name.lower(),
        reasons=[_reason_json(r) for r in assessment.reasons],
        created_at=now,
    )
    db.add(report)
    await db.flush()
    checkin.status, checkin.stage, checkin.closed_at = (
        CheckinStatus.COMPLETE,
        CheckinStage.DONE,
        now,
    )
    queries.add_audit(
        db,
        now,
        f"patient:{patient.id}",
        "checkin.complete",
        f"checkin:{checkin.id}",
        level=report.level,
    )
    if assessment.level >= Level.UNUSUAL:
        await escalations.raise_for(db, ctx, patient, session, report, previous_row, now)
        ctx.wake()  # the alert is queued: the dispatcher need not wait for its next tick
    lang = patient.language
    summary = Screen(_summary(ctx, lang, current))
    return Step(
        edit=summary if edit_question else None,
        send=[Screen(advice(ctx, lang, assessment, current))],
    )


def _rules(ctx: Context, session: TreatmentSession | None) -> triage.TriageRules:
    protocol = ctx.protocols.get(session.treatment) if session else None
    if protocol is None or protocol.triage is None:
        protocol = ctx.protocols["face"]
    assert protocol.triage is not None
    return protocol.triage


def _reason_json(reason: triage.Reason) -> dict[str, object]:
    return {
        "code": reason.code,
        "level": reason.level.name.lower(),
        "message": reason.message,
        "symptom": reason.symptom,
        "flag": reason.flag,
        "params": dict(reason.params),
    }


async def _previous_report(db: AsyncSession, patient_id: int) -> Report | None:
    stmt = (
        select(Report)
        .where(Report.patient_id == patient_id)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def _latest_session(
    db: AsyncSession, patient_id: int, now: dt.datetime
) -> TreatmentSession | None:
    stmt = (
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient_id,
            TreatmentSession.status == SessionStatus.PLANNED,
            TreatmentSession.starts_at <= now,
        )
        .order_by(TreatmentSession.starts_at.desc())
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


def _summary(ctx: Context, lang: str, report: triage.Report) -> str:
    if not report.symptoms and not report.flags:
        return _pt(ctx, lang, "Thank you! You answered: all good.")
    parts = [
        f"{_pt(ctx, lang, SYMPTOM_LABELS[name])}: {_pt(ctx, lang, SEVERITY_LABELS[sev]).lower()}"
        for name, sev in report.symptoms.items()
    ]
    parts += [_pt(ctx, lang, FLAG_LABELS[name]) for name in FLAGS if name in report.flags]
    return _pt(ctx, lang, "Thank you! You answered: {answers}.", answers="; ".join(parts))


def advice(ctx: Context, lang: str, assessment: Assessment, report: triage.Report) -> str:
    """What the patient is told, by level. An emergency starts with the emergency number."""
    clinic = ctx.clinic
    phone = clinic.phone or clinic.name
    if assessment.level == Level.EMERGENCY:
        return _pt(
            ctx,
            lang,
            "Please call {emergency} now: what you describe can be a serious reaction that "
            "needs help at once. Do this first, before anything else. We have also alerted "
            "{clinic}.",
            emergency=clinic.emergency_number,
            clinic=clinic.name,
        )
    if assessment.level == Level.URGENT:
        return _pt(
            ctx,
            lang,
            "Please call {clinic} now on {phone}: this needs to be looked at today. We have "
            "alerted the clinic's staff too. If you feel very unwell or it gets worse quickly, "
            "call {emergency}.",
            clinic=clinic.name,
            phone=phone,
            emergency=clinic.emergency_number,
        )
    care = [
        _pt(ctx, lang, ADVICE[name])
        for name, sev in report.symptoms.items()
        if sev > Severity.NONE and name in ADVICE
    ]
    if assessment.level == Level.UNUSUAL:
        head = _pt(
            ctx,
            lang,
            "Thank you for telling us. This is a little outside what we usually expect, so "
            "{clinic} will be in touch. Meanwhile:",
            clinic=clinic.name,
        )
        tail = _pt(
            ctx,
            lang,
            "If it gets worse, call {phone}; in an emergency, call {emergency}.",
            phone=phone,
            emergency=clinic.emergency_number,
        )
        return "\n".join([head, *(f"• {c}" for c in care), tail])
    if not care:
        head = _pt(ctx, lang, "Good to hear, thank you! Keep following your aftercare tips.")
    else:
        head = _pt(
            ctx,
            lang,
            "Thank you. What you describe is expected after this treatment and "
            "should settle on its own. What helps:",
        )
    tail = _pt(
        ctx,
        lang,
        "Write to me with /checkin whenever something changes, or if it is not better in a "
        "day or two. Worried? Call {phone}; in an emergency, call {emergency}.",
        phone=phone,
        emergency=clinic.emergency_number,
    )
    return "\n".join([head, *(f"• {c}" for c in care), tail])


def _lang(patient: Patient | None, ctx: Context) -> str:
    return patient.language if patient else ctx.clinic.default_language


# --- time: reminders and unanswered check-ins ---------------------------------------------------
async def run_timers(ctx: Context) -> int:
    """One reminder when a check-in is not answered in time; after as long again, the
    check-in is closed as unanswered (staff see the list) or, if partly answered, completed."""
    now = ctx.now()
    changed = 0
    async with ctx.db.begin() as db:
        stmt = (
            select(Checkin)
            .where(
                Checkin.status == CheckinStatus.OPEN,
                ((Checkin.remind_at <= now) & Checkin.reminded_at.is_(None))
                | (Checkin.expires_at <= now),
            )
            # two wake-ups (or two processes) at once: each timer fires once
            .with_for_update(skip_locked=True)
        )
        for checkin in (await db.execute(stmt)).scalars().all():
            patient = await db.get(Patient, checkin.patient_id)
            assert patient is not None
            changed += 1
            if checkin.expires_at <= now:
                await _expire(db, ctx, checkin, patient, now)
            elif checkin.stage == CheckinStage.OVERALL:
                await _queue_reminder(db, ctx, checkin, patient, now)
            else:
                checkin.reminded_at = now  # they are answering: no reminder needed
    if changed:
        ctx.wake()
    return changed


async def _queue_reminder(
    db: AsyncSession, ctx: Context, checkin: Checkin, patient: Patient, now: dt.datetime
) -> None:
    checkin.reminded_at = now
    screen = question(ctx, checkin, patient, await step_of(db, ctx, checkin))
    text = _pt(ctx, patient.language, "A gentle reminder: how is your skin doing?")
    db.add(
        ScheduledMessage(
            audience=Audience.PATIENT,
            session_id=None,
            patient_id=patient.id,
            step_key=f"checkin-reminder:{checkin.id}",
            kind="checkin-reminder",
            due_at=now,
            useful_until=checkin.expires_at,
            status=MessageStatus.PENDING,
            attempts=0,
            created_at=now,
            body=text + "\n\n" + screen.text,
            buttons=_json_buttons(screen.buttons),
            checkin_id=checkin.id,
        )
    )


def _json_buttons(buttons: Buttons | None) -> list[object] | None:
    return [[[label, data] for label, data in row] for row in buttons] if buttons else None


async def _expire(
    db: AsyncSession, ctx: Context, checkin: Checkin, patient: Patient, now: dt.datetime
) -> None:
    if checkin.severities or checkin.flags:
        # a half-finished answer may still hold something staff must see
        await _complete(db, ctx, checkin, patient, now, edit_question=False)
        return
    checkin.closed_at = now
    if checkin.step_key is not None:
        checkin.status = CheckinStatus.UNANSWERED
        checkin.close_reason = "no answer after a reminder"
    else:
        checkin.status = CheckinStatus.CLOSED
        checkin.close_reason = "left unfinished"
    queries.add_audit(db, now, "system", f"checkin.{checkin.status}", f"checkin:{checkin.id}")


async def next_timer_at(ctx: Context) -> dt.datetime | None:
    async with ctx.db() as db:
        reminders = (
            select(Checkin.remind_at)
            .where(
                Checkin.status == CheckinStatus.OPEN,
                Checkin.reminded_at.is_(None),
                Checkin.remind_at.is_not(None),
            )
            .order_by(Checkin.remind_at)
            .limit(1)
        )
        expiries = (
            select(Checkin.expires_at)
            .where(Checkin.status == CheckinStatus.OPEN)
            .order_by(Checkin.expires_at)
            .limit(1)
        )
        found = [
            (await db.execute(reminders)).scalar_one_or_none(),
            (await db.execute(expiries)).scalar_one_or_none(),
        ]
    times = [t for t in found if t is not None]
    return min(times) if times else None


async def unanswered(ctx: Context) -> list[tuple[Checkin, Patient]]:
    async with ctx.db() as db:
        stmt = (
            select(Checkin, Patient)
            .join(Patient, Patient.id == Checkin.patient_id)
            .where(Checkin.status == CheckinStatus.UNANSWERED)
            .order_by(Checkin.closed_at.desc())
        )
        return [(c, p) for c, p in (await db.execute(stmt)).all()]
