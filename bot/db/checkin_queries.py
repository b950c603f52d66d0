"""Queries about check-ins and their reports; each takes the session first and never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Checkin,
    CheckinStatus,
    MessageStatus,
    Patient,
    Report,
    ScheduledMessage,
    SessionStatus,
    TreatmentSession,
)


async def open_checkin(db: AsyncSession, patient_id: int) -> Checkin | None:
    """The patient's open check-in: there is at most one."""
    stmt = select(Checkin).where(
        Checkin.patient_id == patient_id, Checkin.status == CheckinStatus.OPEN
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def checkin_of_user(
    db: AsyncSession, checkin_id: int, telegram_user_id: int
) -> tuple[Checkin, Patient] | None:
    """The check-in and its patient in one query, when it is that Telegram user's: a press is
    the busiest path there is."""
    stmt = (
        select(Checkin, Patient)
        .join(Patient, Patient.id == Checkin.patient_id)
        .where(Checkin.id == checkin_id, Patient.telegram_user_id == telegram_user_id)
    )
    found = (await db.execute(stmt)).first()
    return (found[0], found[1]) if found is not None else None


async def report_of_checkin(db: AsyncSession, checkin_id: int) -> Report | None:
    """A check-in's report: written at the end, or earlier when a danger sign raised an alert."""
    stmt = select(Report).where(Report.checkin_id == checkin_id).order_by(Report.id).limit(1)
    return (await db.execute(stmt)).scalar_one_or_none()


async def previous_report(
    db: AsyncSession, patient_id: int, checkin_id: int | None = None
) -> Report | None:
    """The patient's latest report before this check-in's own, to compare the new one with."""
    stmt = (
        select(Report)
        .where(Report.patient_id == patient_id, Report.checkin_id != (checkin_id or -1))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def latest_session(
    db: AsyncSession, patient_id: int, now: dt.datetime
) -> TreatmentSession | None:
    """The patient's most recent planned session that has begun."""
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


async def due_timers(db: AsyncSession, now: dt.datetime) -> Sequence[Checkin]:
    """Open check-ins whose reminder or expiry is due, locked: two wake-ups (or two
    processes) at once each take a timer once."""
    stmt = (
        select(Checkin)
        .where(
            Checkin.status == CheckinStatus.OPEN,
            ((Checkin.remind_at <= now) & Checkin.reminded_at.is_(None))
            | (Checkin.expires_at <= now),
        )
        .with_for_update(skip_locked=True)
    )
    return (await db.execute(stmt)).scalars().all()


async def next_timer_at(db: AsyncSession) -> dt.datetime | None:
    """The earliest reminder or expiry of an open check-in."""
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


async def unanswered(db: AsyncSession) -> list[tuple[Checkin, Patient]]:
    """Check-ins closed without an answer, newest first, with their patients."""
    stmt = (
        select(Checkin, Patient)
        .join(Patient, Patient.id == Checkin.patient_id)
        .where(Checkin.status == CheckinStatus.UNANSWERED)
        .order_by(Checkin.closed_at.desc())
    )
    return [(c, p) for c, p in (await db.execute(stmt)).all()]


async def previous_report_in_course(
    db: AsyncSession,
    patient_id: int,
    course_id: int | None,
    *,
    session_id: int | None = None,
    checkin_id: int | None = None,
) -> Report | None:
    """The patient's latest report about a session of this course, before this check-in's own:
    "previous" never means an answer about an earlier course (docs/clinical.md#triage-rules). A
    session written without a course (`course_id` None) is a course of its own: then only the
    reports about `session_id` count, and with neither there is no previous report."""
    stmt = select(Report).where(
        Report.patient_id == patient_id, Report.checkin_id != (checkin_id or -1)
    )
    if course_id is not None:
        stmt = stmt.join(TreatmentSession, TreatmentSession.id == Report.session_id).where(
            TreatmentSession.course_id == course_id
        )
    elif session_id is not None:
        stmt = stmt.where(Report.session_id == session_id)
    else:
        return None
    stmt = stmt.order_by(Report.created_at.desc(), Report.id.desc()).limit(1)
    return (await db.execute(stmt)).scalar_one_or_none()


async def pending_closer_watch(
    db: AsyncSession, patient_id: int, key_prefix: str
) -> ScheduledMessage | None:
    """The patient's closer-watch check-in still to be sent, if any."""
    stmt = (
        select(ScheduledMessage)
        .where(
            ScheduledMessage.patient_id == patient_id,
            ScheduledMessage.step_key.startswith(key_prefix, autoescape=True),
            ScheduledMessage.status == MessageStatus.PENDING,
        )
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def close_open(db: AsyncSession, patient_id: int, now: dt.datetime, reason: str) -> None:
    """The patient's open check-in, if any, is closed with this reason (/stop, unlink)."""
    await db.execute(
        update(Checkin)
        .where(Checkin.patient_id == patient_id, Checkin.status == CheckinStatus.OPEN)
        .values(status=CheckinStatus.CLOSED, closed_at=now, close_reason=reason)
        .execution_options(synchronize_session=False)
    )
