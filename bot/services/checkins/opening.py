"""Opening a check-in: the scheduled question of a protocol step, or one the patient starts
(`/checkin`, or words written out of the blue)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkin_queries, queries
from bot.db.models import Checkin, CheckinStatus, Patient, ScheduledMessage, TreatmentSession
from bot.domain.checkin import CheckinStage
from bot.domain.protocol import Step
from bot.services.checkins.closer import step_for
from bot.services.checkins.wording import Reply, Screen, question
from bot.services.context import Context

# A patient's words kept with a check-in's report, whole up to this many characters (a message
# is at most 4,096: five long ones); the alert carries them all, in several staff messages if
# need be. Past it the rest is left out and the patient is told.
NOTE_LIMIT = 20_000
# A check-in the patient starts themselves stays open this long without an answer
# (docs/clinical.md#check-in-answer-times).
PATIENT_CHECKIN_TTL = dt.timedelta(hours=12)
DEFAULT_RESPOND_WITHIN = dt.timedelta(hours=12)


async def step_of(db: AsyncSession, ctx: Context, checkin: Checkin) -> Step | None:
    """The protocol step that asked this check-in (None when the patient started it)."""
    if checkin.step_key is None or checkin.session_id is None:
        return None
    session = await db.get(TreatmentSession, checkin.session_id)
    protocol = ctx.protocols.get(session.treatment) if session else None
    if protocol is None:
        return None
    return step_for(protocol, checkin.step_key)


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
            step = step_for(protocol, row.step_key)
            if step is not None and step.respond_within is not None:
                respond_within = step.respond_within
    checkin = await open_checkin(
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


async def open_checkin(
    db: AsyncSession,
    patient: Patient,
    now: dt.datetime,
    *,
    session_id: int | None,
    step_key: str | None,
    remind_at: dt.datetime | None,
    expires_at: dt.datetime,
) -> Checkin:
    previous = await checkin_queries.open_checkin(db, patient.id)
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


async def start(
    ctx: Context, telegram_user_id: int, note: str | None = None, photo: str | None = None
) -> Reply | None:
    """`/checkin`, or the patient wrote to us (their words kept for the report): the same
    questions, started by them. None when the user is not a linked patient."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None:
            return None
        return await start_for(db, ctx, patient, now, note, photo)


async def start_for(
    db: AsyncSession,
    ctx: Context,
    patient: Patient,
    now: dt.datetime,
    note: str | None = None,
    photo: str | None = None,
) -> Reply:
    """A check-in the patient starts, about their latest session."""
    checkin = await open_started(db, patient, now)
    checkin.note, checkin.photo_file_id = joined(None, note), photo
    cut = past_limit(ctx, patient, None, note)
    return Reply(send=[*cut, question(ctx, checkin, patient)], checkin_id=checkin.id)


async def open_started(db: AsyncSession, patient: Patient, now: dt.datetime) -> Checkin:
    """A check-in the patient starts (or their words start), about their latest session: no
    reminder, open for PATIENT_CHECKIN_TTL."""
    latest = await checkin_queries.latest_session(db, patient.id, now)
    return await open_checkin(
        db,
        patient,
        now,
        session_id=latest.id if latest else None,
        step_key=None,
        remind_at=None,
        expires_at=now + PATIENT_CHECKIN_TTL,
    )


async def attach_message(ctx: Context, checkin_id: int, message_id: int) -> None:
    """The Telegram message now carrying the check-in's question."""
    async with ctx.db.begin() as db:
        checkin = await db.get(Checkin, checkin_id)
        if checkin is not None:
            checkin.message_id = message_id


def joined(old: str | None, new: str | None) -> str | None:
    """The check-in's note with the patient's new words after the earlier ones, every word
    kept up to NOTE_LIMIT characters."""
    if not new:
        return old
    return (f"{old}\n{new}" if old else new)[:NOTE_LIMIT]


def past_limit(ctx: Context, patient: Patient, old: str | None, new: str | None) -> list[Screen]:
    """What the patient is told when their new words do not all fit in the note (`joined`
    keeps the beginning); nothing when they fit."""
    if not new or len(f"{old}\n{new}" if old else new) <= NOTE_LIMIT:
        return []
    text = ctx.i18n.t(
        patient.language,
        "This is more than I can keep with one check-in, so {clinic} will read only the "
        "beginning. If the rest matters, please send it again once the check-in is done, or "
        "call the clinic.",
        clinic=ctx.clinic.name,
    )
    return [Screen(text)]
