"""Answering a check-in: each press moves its state machine (bot.domain.checkin) one step in
the database; words or a photo answer the last question; complete answers are triaged, written
as a report, escalated when needed and answered with advice, in one transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkin_queries, queries
from bot.db.models import Checkin, CheckinStatus, Patient, Report, TreatmentSession
from bot.domain import triage
from bot.domain.checkin import CheckinStage, Refusal, advance
from bot.domain.triage import Assessment, Level
from bot.services import buttons, escalations
from bot.services.checkins.closer import queue_closer_watch
from bot.services.checkins.opening import joined, past_limit, start_for, step_of
from bot.services.checkins.state import answers_of, report_of, store, stored_report
from bot.services.checkins.wording import (
    REFUSALS,
    Reply,
    Screen,
    added_to_alert,
    advice,
    closed,
    nudge,
    question,
    summary,
)
from bot.services.context import Context


async def press(
    ctx: Context,
    telegram_user_id: int,
    button: buttons.CheckinButton | buttons.NewCheckin,
    update_id: int | None = None,
) -> Reply:
    """One button press. Checked against who pressed it and the check-in's current state: a
    press from someone else, on a closed check-in, or for a question already answered changes
    nothing."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        found = await checkin_queries.checkin_of_user(db, button.checkin_id, telegram_user_id)
        if found is None:
            patient = await queries.patient_by_telegram(db, telegram_user_id)
            lang = patient.language if patient else ctx.clinic.default_language
            return Reply(notice=ctx.i18n.t(lang, "This button is not for you."))
        checkin, patient = found
        lang = patient.language
        if update_id is not None and (checkin.last_update_id or -1) >= update_id:
            # this very press was applied before a restart (killed before the update was
            # marked done): nothing is applied again, but the patient may not have seen its
            # outcome, so it is shown again
            return await _replay(db, ctx, checkin, patient, update_id, button)
        if isinstance(button, buttons.NewCheckin):
            return await start_for(db, ctx, patient, now)
        if checkin.status != CheckinStatus.OPEN:
            return closed(ctx, lang, checkin.id)
        checkin.last_update_id = update_id if update_id is not None else checkin.last_update_id
        before = answers_of(checkin)
        moved = advance(before, button.event())
        if isinstance(moved, Refusal):
            return Reply(notice=ctx.i18n.t(lang, REFUSALS[moved]))
        store(checkin, moved)
        if checkin.stage == CheckinStage.DONE:
            return await complete(db, ctx, checkin, patient, now, edit_question=True)
        asked = question(ctx, checkin, patient)
        advised = (
            await raise_now(db, ctx, checkin, patient, now) if moved.added_flags(before) else None
        )
        if advised is None:
            return Reply(edit=asked)
        # a danger sign is heard at once: staff are alerted before any further question, the
        # advice is the next thing the patient reads, and the questions go on below it
        told = Screen(summary(ctx, lang, report_of(checkin)))
        return Reply(edit=told, send=[advised, asked], checkin_id=checkin.id)


async def _replay(
    db: AsyncSession,
    ctx: Context,
    checkin: Checkin,
    patient: Patient,
    update_id: int,
    button: buttons.CheckinButton | buttons.NewCheckin,
) -> Reply:
    """What a press applied before a restart shows: the question as it stands now (editing a
    message to what it already says changes nothing). The press that completed the check-in
    shows the summary and, only if the summary was not shown yet, the advice: the first
    handling edited before it sent, so an edit already made means the advice may have gone."""
    if checkin.status == CheckinStatus.OPEN:
        asked = await step_of(db, ctx, checkin) if checkin.stage == CheckinStage.OVERALL else None
        reply = Reply(edit=question(ctx, checkin, patient, asked), replayed=True)
        raised = isinstance(button, buttons.ToggleFlag) and checkin.last_update_id == update_id
        report = await checkin_queries.report_of_checkin(db, checkin.id) if raised else None
        if report is not None and report.level >= Level.URGENT:
            # this press reported a danger sign: its advice goes out again if the first
            # handling stopped before its edit (and so before sending the advice)
            assessment = Assessment(report.level, ())
            reply.send.append(Screen(advice(ctx, patient.language, assessment, report_of(checkin))))
        return reply
    if checkin.status != CheckinStatus.COMPLETE or checkin.last_update_id != update_id:
        return Reply(replayed=True)
    report = await checkin_queries.report_of_checkin(db, checkin.id)
    if report is None:
        return Reply(replayed=True)
    current = report_of(checkin)
    lang = patient.language
    return Reply(
        edit=Screen(summary(ctx, lang, current)),
        send=[Screen(advice(ctx, lang, Assessment(report.level, ()), current))],
        replayed=True,
    )


async def write(
    ctx: Context, telegram_user_id: int, text: str | None, photo: str | None
) -> Reply | None:
    """Words or a photo from a patient with an open check-in: the answer to the last question
    (the note), or a nudge back to the buttons. None when no check-in is open."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None:
            return None
        checkin = await checkin_queries.open_checkin(db, patient.id)
        if checkin is None:
            return None
        cut = past_limit(ctx, patient, checkin.note, text)
        if checkin.stage != CheckinStage.NOTE:
            if checkin.stage == CheckinStage.OVERALL and checkin.step_key is None:
                # they wrote first and we asked: keep their words with the report
                checkin.note = joined(checkin.note, text)
                checkin.photo_file_id = checkin.photo_file_id or photo
            else:
                cut = []
            asked = await step_of(db, ctx, checkin)
            return Reply(
                send=[*cut, nudge(ctx, patient.language), question(ctx, checkin, patient, asked)]
            )
        checkin.note = joined(checkin.note, text)
        checkin.photo_file_id = checkin.photo_file_id or photo
        checkin.stage = CheckinStage.DONE
        reply = await complete(db, ctx, checkin, patient, now, edit_question=False)
        reply.answered = True
        reply.send += cut
        return reply


async def _judge(
    db: AsyncSession, ctx: Context, checkin: Checkin, patient: Patient, now: dt.datetime
) -> tuple[TreatmentSession | None, Report | None, Assessment, float]:
    """Triage of the answers so far: the session, the report to compare with, the assessment
    and the hours since the session."""
    session = await db.get(TreatmentSession, checkin.session_id) if checkin.session_id else None
    if session is None:
        session = await checkin_queries.latest_session(db, patient.id, now)
    # "previous" is about the same course, never an earlier, finished one
    previous_row = (
        await checkin_queries.previous_report_in_course(
            db, patient.id, session.course_id, session_id=session.id, checkin_id=checkin.id
        )
        if session is not None
        else await checkin_queries.previous_report(db, patient.id, checkin.id)
    )
    previous = stored_report(previous_row) if previous_row is not None else None
    hours = (now - session.starts_at).total_seconds() / 3600 if session else 0.0
    assessment = triage.assess(report_of(checkin), previous, max(hours, 0.0), _rules(ctx, session))
    return session, previous_row, assessment, hours


def _past_course(
    ctx: Context, session: TreatmentSession | None, checkin: Checkin, hours: float
) -> list[str]:
    """The reported symptoms whose usual course is over: their advice says so."""
    rules = _rules(ctx, session)
    return [
        name
        for name in checkin.symptoms
        if name in rules.usual_course and not triage.within_usual_course(rules, name, hours)
    ]


async def _write_report(
    db: AsyncSession,
    checkin: Checkin,
    patient: Patient,
    session: TreatmentSession | None,
    assessment: Assessment,
    hours: float,
    now: dt.datetime,
) -> Report:
    """The check-in's one report: written when a danger sign raised an alert before the end,
    then completed with the rest of the answers."""
    current = report_of(checkin)
    report = await checkin_queries.report_of_checkin(db, checkin.id)
    if report is None:
        report = Report(checkin_id=checkin.id, patient_id=patient.id)
        db.add(report)
    report.session_id = session.id if session else None
    report.symptoms = {k: int(v) for k, v in current.symptoms.items()}
    report.flags = sorted(current.flags)
    report.note, report.photo_file_id = checkin.note, checkin.photo_file_id
    report.hours_since = round(hours, 1) if session else None
    report.level = assessment.level
    report.reasons = [_reason_json(r) for r in assessment.reasons]
    report.created_at = now
    await db.flush()
    return report


async def raise_now(
    db: AsyncSession, ctx: Context, checkin: Checkin, patient: Patient, now: dt.datetime
) -> Screen | None:
    """A danger sign was just reported in an open check-in: when the answers so far are
    urgent or worse, staff are alerted now (the rest of the answers update the same alert) and
    the advice to show at once is returned."""
    session, previous, assessment, hours = await _judge(db, ctx, checkin, patient, now)
    if assessment.level < Level.URGENT:
        return None
    already = await checkin_queries.report_of_checkin(db, checkin.id)
    if already is not None and already.level >= assessment.level:
        return None  # this level was alerted and advised already
    report = await _write_report(db, checkin, patient, session, assessment, hours, now)
    queries.add_audit(
        db,
        now,
        f"patient:{patient.id}",
        "checkin.danger_sign",
        f"checkin:{checkin.id}",
        level=report.level.name_key,
    )
    await escalations.raise_for(db, ctx, patient, session, report, previous, now)
    await queue_closer_watch(db, ctx, patient, session, report, now)
    ctx.wake()  # the alert is queued: the dispatcher need not wait for its next tick
    past = _past_course(ctx, session, checkin, hours)
    return Screen(advice(ctx, patient.language, assessment, report_of(checkin), past))


async def complete(
    db: AsyncSession,
    ctx: Context,
    checkin: Checkin,
    patient: Patient,
    now: dt.datetime,
    *,
    edit_question: bool,
) -> Reply:
    """The answers are in: triage, the report, the escalation if needed, the advice. One
    transaction: the escalation row exists exactly when the report says it must."""
    interim = await checkin_queries.report_of_checkin(db, checkin.id)
    advised = interim.level if interim is not None else None
    session, previous_row, assessment, hours = await _judge(db, ctx, checkin, patient, now)
    report = await _write_report(db, checkin, patient, session, assessment, hours, now)
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
        level=report.level.name_key,
    )
    if assessment.level >= Level.UNUSUAL:
        await escalations.raise_for(db, ctx, patient, session, report, previous_row, now)
        await queue_closer_watch(db, ctx, patient, session, report, now)
        ctx.wake()  # the alert is queued: the dispatcher need not wait for its next tick
    lang = patient.language
    current = report_of(checkin)
    if advised is not None and assessment.level <= advised:
        # the advice for this level was shown when the danger sign was reported
        told = Screen(added_to_alert(ctx, lang))
    else:
        past = _past_course(ctx, session, checkin, hours)
        told = Screen(advice(ctx, lang, assessment, current, past))
    return Reply(
        edit=Screen(summary(ctx, lang, current)) if edit_question else None,
        send=[told],
    )


def _rules(ctx: Context, session: TreatmentSession | None) -> triage.TriageRules:
    protocol = ctx.protocols.get(session.treatment) if session else None
    if protocol is None or protocol.triage is None:
        protocol = ctx.protocols["face"]
    if protocol.triage is None:
        raise LookupError("the shipped face protocol has no triage rules")
    return protocol.triage


def _reason_json(reason: triage.Reason) -> dict[str, object]:
    return {
        "code": reason.code,
        "level": reason.level.name_key,
        "message": reason.message,
        "symptom": reason.symptom,
        "flag": reason.flag,
        "params": dict(reason.params),
    }
