"""Danger words: what a patient writes that describes an emergency or urgent sign gets the
matching answer at once and an alert at that level, whether or not a check-in is open
(docs/clinical.md#danger-words). The words become the report's note, so staff read them in the
alert."""

from __future__ import annotations

import logging

from bot.db import checkin_queries, queries
from bot.domain.triage import FLAGS, Assessment, Severity
from bot.services.checkins.answering import complete, raise_now
from bot.services.checkins.opening import joined, open_started, past_limit
from bot.services.checkins.state import report_of
from bot.services.checkins.wording import Reply, Screen, advice
from bot.services.context import Context

log = logging.getLogger(__name__)

# a danger sign that is not a check-in flag, and the answer it stands for
_AS_SYMPTOM = {"severe_pain": ("pain", Severity.VERY_SEVERE)}


async def report_words(
    ctx: Context, telegram_user_id: int, text: str | None, photo: str | None
) -> Reply | None:
    """The answer when the words name a danger sign; None when they do not (or the writer is
    not a linked patient): then they go on to the clinic as usual."""
    if not text:
        return None
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None:
            return None
        found = ctx.safety.match(text, patient.language)
        if found is None:
            return None
        log.warning("patient %s wrote danger words: %s", patient.id, found.describe())
        checkin = await checkin_queries.open_checkin(db, patient.id)
        started = checkin is None
        if checkin is None:
            checkin = await open_started(db, patient, now)
        flags = [f for f in found.signs if f in FLAGS and f not in checkin.flags]
        checkin.flags = [*checkin.flags, *flags]
        for sign in found.signs:
            if sign in _AS_SYMPTOM:
                symptom, severity = _AS_SYMPTOM[sign]
                if symptom not in checkin.symptoms:
                    checkin.symptoms = [*checkin.symptoms, symptom]
                severities = {**checkin.severities}
                severities[symptom] = max(int(severity), int(severities.get(symptom, 0)))
                checkin.severities = severities
        cut = past_limit(ctx, patient, checkin.note, text)
        checkin.note = joined(checkin.note, text)
        checkin.photo_file_id = checkin.photo_file_id or photo
        queries.add_audit(
            db,
            now,
            f"patient:{patient.id}",
            "checkin.danger_words",
            f"checkin:{checkin.id}",
            level=found.level.name_key,
            signs=list(found.signs),
        )
        if started:
            # nothing else to ask first: the report is complete with what they wrote
            reply = await complete(db, ctx, checkin, patient, now, edit_question=False)
            reply.send += cut
            return reply
        told = await raise_now(db, ctx, checkin, patient, now)
        if told is None:
            # this level was alerted already; the answer is given again all the same: someone
            # writing it twice must read it twice
            assessment = Assessment(found.level, ())
            told = Screen(advice(ctx, patient.language, assessment, report_of(checkin)))
        return Reply(send=[told, *cut])
