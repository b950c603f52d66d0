"""Courses of sessions: which course a session joins (by the protocol's `course_interval`, or as
the clinic says), its place in the course, and how that place is named to patients and staff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import course_queries
from bot.db.models import TreatmentSession
from bot.domain.course import Neighbour, session_to_follow
from bot.errors import BadInput, NotFound
from bot.i18n import I18n
from bot.services.context import Context


@dataclass(frozen=True)
class CoursePlace:
    """Where a session stands in its course."""

    course_id: int
    number: int  # 1, 2, … by start among the planned sessions (a cancelled one: its last)
    sessions: tuple[int, ...]  # the course's planned sessions, by start

    @property
    def is_worth_saying(self) -> bool:
        """A course of one session is just a session: nothing to say about it."""
        return len(self.sessions) > 1


def course_label(i18n: I18n, lang: str, place: CoursePlace | None) -> str | None:
    """The session's place in words ("session 2 of the course") in `lang`; None when it is
    alone in its course, where that would say nothing."""
    if place is None or not place.is_worth_saying:
        return None
    return i18n.t(lang, "session {number} of the course", number=place.number)


async def places_in(
    db: AsyncSession, sessions: Collection[TreatmentSession]
) -> dict[int, CoursePlace]:
    """{session id: its place} for sessions that have a course."""
    members = await course_queries.course_members(
        db, {s.course_id for s in sessions if s.course_id is not None}
    )
    return {
        s.id: CoursePlace(s.course_id, s.course_number, tuple(members.get(s.course_id, ())))
        for s in sessions
        if s.course_id is not None
    }


async def course_place(db: AsyncSession, session: TreatmentSession) -> CoursePlace | None:
    """The session's place in its course (None: a session written without a course)."""
    return (await places_in(db, [session])).get(session.id)


async def places(ctx: Context, session_ids: Collection[int]) -> dict[int, CoursePlace]:
    """{session id: its place} for the sessions messages are about (the patient's /schedule)."""
    async with ctx.db() as db:
        found = await course_queries.sessions_by_id(db, session_ids)
        return await places_in(db, list(found.values()))


def refusal(target: TreatmentSession, patient_id: int | None, treatment: str) -> str | None:
    """Why a session of this patient and treatment cannot join the course of `target`."""
    if target.patient_id != patient_id:
        return (
            f"session {target.id} is patient {target.patient_id}'s: "
            "a course holds one patient's sessions"
        )
    if target.treatment != treatment:
        return (
            f"session {target.id} is a {target.treatment} session, not {treatment}: "
            "a course holds sessions of one treatment"
        )
    return None


async def assign_course(
    db: AsyncSession,
    ctx: Context,
    session: TreatmentSession,
    now: dt.datetime,
    *,
    join: int | None = None,
    new: bool = False,
    keep: bool = False,
) -> int | None:
    """Puts a flushed session in a course and returns the course it left, if any (its other
    sessions are to be planned again). `join`: the id of a session whose course it joins;
    `new`: a course of its own; otherwise the rule: the course of the planned session of the
    same patient and treatment it follows within the protocol's `course_interval`
    (domain.course.session_to_follow), else a new one. `keep` (a move): it stays in its
    course while another planned session of it is within the interval."""
    if join is not None and new:
        raise BadInput("give --course or --new-course, not both")
    await course_queries.lock_patient(db, session.patient_id)
    was = session.course_id
    if join is not None:
        course_id = await _course_of_session(db, session, join, now)
    elif new:
        course_id = await _own_course(db, session, now)
    else:
        course_id = await _course_by_rule(db, ctx, session, now, keep=keep)
    session.course_id = course_id
    if was is None or was == course_id:
        return None
    await db.flush()
    await course_queries.delete_course_if_empty(db, was)
    return was


async def _course_of_session(
    db: AsyncSession, session: TreatmentSession, join: int, now: dt.datetime
) -> int:
    target = await db.get(TreatmentSession, join)
    if target is None:
        raise NotFound(f"no session with id {join} (--course)")
    problem = refusal(target, session.patient_id, session.treatment)
    if problem:
        raise BadInput(f"--course {join}: {problem}")
    if target.id == session.id:
        return await _own_course(db, session, now)
    return await ensure_course(db, target, now)


async def _course_by_rule(
    db: AsyncSession, ctx: Context, session: TreatmentSession, now: dt.datetime, *, keep: bool
) -> int:
    interval = ctx.protocol(session.treatment).course_interval
    others = [
        s
        for s in await course_queries.planned_sessions(db, session.patient_id, session.treatment)
        if s.id != session.id
    ]
    if keep and session.course_id is not None:
        mates = [s for s in others if s.course_id == session.course_id]
        if any(abs(s.starts_at - session.starts_at) <= interval for s in mates):
            return session.course_id
    by_id = {s.id: s for s in others}
    found = session_to_follow(
        session.starts_at, [Neighbour(s.id, s.starts_at) for s in others], interval
    )
    if found is None:
        return await _own_course(db, session, now)
    return await ensure_course(db, by_id[found.session_id], now)


async def _own_course(db: AsyncSession, session: TreatmentSession, now: dt.datetime) -> int:
    """The session's course when no other session belongs to it, else a new one."""
    if session.course_id is not None and not await course_queries.has_other_sessions(
        db, session.course_id, session.id
    ):
        return session.course_id
    course = await course_queries.add_course(db, session.patient_id, session.treatment, now)
    return course.id


async def ensure_course(db: AsyncSession, session: TreatmentSession, now: dt.datetime) -> int:
    """The session's course; one is made for a session written without a course."""
    if session.course_id is None:
        course = await course_queries.add_course(db, session.patient_id, session.treatment, now)
        session.course_id, session.course_number = course.id, 1
    return session.course_id
