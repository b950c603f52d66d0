"""Treatment sessions and their plans: add, move, cancel, show, and re-plan what is unsent;
each change plans the session's course again (services.courses, services.planning)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.db.models import MessageStatus, Patient, ScheduledMessage, SessionStatus, TreatmentSession
from bot.errors import BadInput, NotFound
from bot.services import courses, outbox
from bot.services.context import Context
from bot.services.courses import CoursePlace
from bot.services.inputs import check_date
from bot.services.patients import find_patient
from bot.services.planning import plan_course

STOPPED_REASON = "patient stopped"
CANCELLED_REASON = "session cancelled"


@dataclass(frozen=True)
class SessionPlan:
    session: TreatmentSession
    messages: Sequence[ScheduledMessage]
    # its place in its course ("session 2 of the course"); None: written without a course
    course: CoursePlace | None = None


def parse_local_time(text: str, zone: str) -> dt.datetime:
    """`2026-03-01 10:30` (the patient's local time) or an ISO time with an offset → aware UTC."""
    try:
        when = check_date(dt.datetime.fromisoformat(text.strip()), text)
    except ValueError:
        raise BadInput(f"{text[:40]!r} is not a date and time like 2026-03-01 10:30") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    return when.astimezone(dt.UTC)


async def add_session(
    ctx: Context,
    patient_ref: str,
    treatment: str,
    starts_at: str | dt.datetime,
    area: str = "",
    *,
    course: int | None = None,
    new_course: bool = False,
) -> SessionPlan:
    """Registers a session and plans it. It joins a course by the protocol's rule, or the
    course of session `course`, or (`new_course`) starts one; a session it follows in the course
    is planned again, cut where this one starts."""
    protocol = ctx.protocol(treatment)
    patient = await find_patient(ctx, patient_ref)
    start = (
        starts_at
        if isinstance(starts_at, dt.datetime)
        else parse_local_time(starts_at, patient.timezone)
    )
    now = ctx.now()
    async with ctx.db.begin() as db:
        session = TreatmentSession(
            patient_id=patient.id,
            treatment=protocol.treatment,
            area=(area.strip() or protocol.title)[:120],
            starts_at=start,
            status=SessionStatus.PLANNED,
            created_at=now,
        )
        db.add(session)
        await db.flush()
        await courses.assign_course(db, ctx, session, now, join=course, new=new_course)
        messages = await _plan(db, ctx, session, now)
        place = await courses.course_place(db, session)
        queries.add_audit(
            db,
            now,
            "cli",
            "session.add",
            f"session:{session.id}",
            patient=patient.id,
            course=session.course_id,
        )
    ctx.wake()
    return SessionPlan(session, messages, place)


async def _plan(
    db: AsyncSession, ctx: Context, session: TreatmentSession, now: dt.datetime
) -> list[ScheduledMessage]:
    """Plans the session's course with this session as the one that changed; its rows."""
    assert session.course_id is not None
    return (await plan_course(db, ctx, session.course_id, now, subjects={session.id}))[session.id]


async def _load_session(db: AsyncSession, session_id: int) -> tuple[TreatmentSession, Patient]:
    session = await db.get(TreatmentSession, session_id)
    if session is None:
        raise NotFound(f"no session with id {session_id}")
    patient = await db.get(Patient, session.patient_id)
    assert patient is not None
    return session, patient


async def move_session(
    ctx: Context,
    session_id: int,
    starts_at: str,
    *,
    course: int | None = None,
    new_course: bool = False,
) -> SessionPlan:
    """Moves a session and plans again what is unsent. It stays in its course while another
    session of it is within the course interval; moved further, it joins a course by the rule
    (or as `course` / `new_course` say), and the course it left is planned again (what it had
    superseded there comes back while still useful)."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        session, patient = await _load_session(db, session_id)
        if session.status == SessionStatus.CANCELLED:
            raise BadInput(f"session {session_id} is cancelled; add a new one instead")
        session.starts_at = parse_local_time(starts_at, patient.timezone)
        await courses.ensure_course(db, session, now)
        left = await courses.assign_course(
            db, ctx, session, now, join=course, new=new_course, keep=True
        )
        if left is not None:
            await plan_course(db, ctx, left, now)
        messages = await _plan(db, ctx, session, now)
        place = await courses.course_place(db, session)
        queries.add_audit(
            db, now, "cli", "session.move", f"session:{session.id}", course=session.course_id
        )
    ctx.wake()
    return SessionPlan(session, messages, place)


async def cancel_session(ctx: Context, session_id: int) -> SessionPlan:
    """Cancels a session and what is unsent of it; the rest of its course is planned again, so
    what it had superseded comes back while still useful."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        session, _patient = await _load_session(db, session_id)
        if session.status == SessionStatus.CANCELLED:
            raise BadInput(f"session {session_id} is already cancelled")
        session.status = SessionStatus.CANCELLED
        messages = list(await queries.messages_for_session(db, session.id))
        for row in messages:
            if row.status == MessageStatus.PENDING:
                outbox.cancel(row, CANCELLED_REASON)
        if session.course_id is not None:
            await db.flush()
            await plan_course(db, ctx, session.course_id, now)
        place = await courses.course_place(db, session)
        queries.add_audit(db, now, "cli", "session.cancel", f"session:{session.id}")
    ctx.wake()
    return SessionPlan(session, messages, place)


async def show_session(ctx: Context, session_id: int) -> SessionPlan:
    """A session, its messages and its place in its course."""
    async with ctx.db() as db:
        session, _patient = await _load_session(db, session_id)
        messages = list(await queries.messages_for_session(db, session.id))
        place = await courses.course_place(db, session)
    return SessionPlan(session, messages, place)
