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
from bot.services.checkins.opening import joined, start_for, step_of
from bot.services.checkins.state import answers_of, report_of, store, stored_report
from bot.services.checkins.wording import (
    REFUSALS,
    Reply,
    Screen,
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
            return await _replay(db, ctx, checkin, patient, update_id)
        if isinstance(button, buttons.NewCheckin):
            return await start_for(db, ctx, patient, now)
        if checkin.status != CheckinStatus.OPEN:
            return closed(ctx, lang, checkin.id)
        checkin.last_update_id = update_id if update_id is not None else checkin.last_update_id
        moved = advance(answers_of(checkin), button.event())
        if isinstance(moved, Refusal):
            return Reply(notice=ctx.i18n.t(lang, REFUSALS[moved]))
        store(checkin, moved)
        if checkin.stage == CheckinStage.DONE:
            return await complete(db, ctx, checkin, patient, now, edit_question=True)
        return Reply(edit=question(ctx, checkin, patient))


async def _replay(
    db: AsyncSession, ctx: Context, checkin: Checkin, patient: Patient, update_id: int
) -> Reply:
    """What a press applied before a restart shows: the question as it stands now (editing a
    message to what it already says changes nothing). The press that completed the check-in
    shows the summary and, only if the summary was not shown yet, the advice: the first
    handling edited before it sent, so an edit already made means the advice may have gone."""
    if checkin.status == CheckinStatus.OPEN:
        asked = await step_of(db, ctx, checkin) if checkin.stage == CheckinStage.OVERALL else None
        return Reply(edit=question(ctx, checkin, patient, asked), replayed=True)
    if checkin.status != CheckinStatus.COMPLETE or checkin.last_update_id != update_id:
        return Reply(replayed=True)
    level = await checkin_queries.report_level(db, checkin.id)
    if level is None:
        return Reply(replayed=True)
    current = report_of(checkin)
    lang = patient.language
    return Reply(
        edit=Screen(summary(ctx, lang, current)),
        send=[Screen(advice(ctx, lang, Assessment(level, ()), current))],
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
        if checkin.stage != CheckinStage.NOTE:
            if checkin.stage == CheckinStage.OVERALL and checkin.step_key is None:
                # they wrote first and we asked: keep their words with the report
                checkin.note = joined(checkin.note, text)
                checkin.photo_file_id = checkin.photo_file_id or photo
            asked = await step_of(db, ctx, checkin)
            return Reply(
                send=[nudge(ctx, patient.language), question(ctx, checkin, patient, asked)]
            )
        checkin.note = joined(checkin.note, text)
        checkin.photo_file_id = checkin.photo_file_id or photo
        checkin.stage = CheckinStage.DONE
        reply = await complete(db, ctx, checkin, patient, now, edit_question=False)
        reply.answered = True
        return reply


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
    session = await db.get(TreatmentSession, checkin.session_id) if checkin.session_id else None
    if session is None:
        session = await checkin_queries.latest_session(db, patient.id, now)
    current = report_of(checkin)
    previous_row = await checkin_queries.previous_report(db, patient.id)
    previous = stored_report(previous_row) if previous_row is not None else None
    hours = (now - session.starts_at).total_seconds() / 3600 if session else 0.0
    assessment = triage.assess(current, previous, max(hours, 0.0), _rules(ctx, session))
    report = Report(
        checkin_id=checkin.id,
        patient_id=patient.id,
        session_id=session.id if session else None,
        symptoms={k: int(v) for k, v in current.symptoms.items()},
        flags=sorted(current.flags),
        note=checkin.note,
        photo_file_id=checkin.photo_file_id,
        hours_since=round(hours, 1) if session else None,
        level=assessment.level,
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
        level=report.level.name_key,
    )
    if assessment.level >= Level.UNUSUAL:
        await escalations.raise_for(db, ctx, patient, session, report, previous_row, now)
        ctx.wake()  # the alert is queued: the dispatcher need not wait for its next tick
    lang = patient.language
    return Reply(
        edit=Screen(summary(ctx, lang, current)) if edit_question else None,
        send=[Screen(advice(ctx, lang, assessment, current))],
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
