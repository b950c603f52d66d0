"""Queries about courses of sessions; each takes the session first and never commits."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Course, Patient, ScheduledMessage, SessionStatus, TreatmentSession


async def lock_patient(db: AsyncSession, patient_id: int) -> None:
    """Holds the patient's row until the transaction ends, so that two transactions never place
    or plan the same patient's sessions at once (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    lets one writer at a time)."""
    await db.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())


async def planned_sessions(
    db: AsyncSession, patient_id: int, treatment: str
) -> Sequence[TreatmentSession]:
    """The patient's planned sessions of one treatment, by start: the candidates for a course."""
    stmt = (
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient_id,
            TreatmentSession.treatment == treatment,
            TreatmentSession.status == SessionStatus.PLANNED,
        )
        .order_by(TreatmentSession.starts_at, TreatmentSession.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def planned_sessions_of_course(
    db: AsyncSession, course_id: int
) -> Sequence[TreatmentSession]:
    stmt = (
        select(TreatmentSession)
        .where(
            TreatmentSession.course_id == course_id,
            TreatmentSession.status == SessionStatus.PLANNED,
        )
        .order_by(TreatmentSession.starts_at, TreatmentSession.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def course_members(db: AsyncSession, course_ids: Collection[int]) -> dict[int, list[int]]:
    """The planned sessions of each course, by start: {course id: [session id, …]}."""
    members: dict[int, list[int]] = defaultdict(list)
    if not course_ids:
        return members
    stmt = (
        select(TreatmentSession.course_id, TreatmentSession.id)
        .where(
            TreatmentSession.course_id.in_(sorted(course_ids)),
            TreatmentSession.status == SessionStatus.PLANNED,
        )
        .order_by(TreatmentSession.starts_at, TreatmentSession.id)
    )
    for course_id, session_id in (await db.execute(stmt)).all():
        if course_id is not None:
            members[course_id].append(session_id)
    return members


async def sessions_by_id(
    db: AsyncSession, session_ids: Collection[int]
) -> dict[int, TreatmentSession]:
    if not session_ids:
        return {}
    stmt = select(TreatmentSession).where(TreatmentSession.id.in_(sorted(session_ids)))
    return {s.id: s for s in (await db.execute(stmt)).scalars().all()}


async def messages_for_sessions(
    db: AsyncSession, session_ids: Collection[int]
) -> Sequence[ScheduledMessage]:
    if not session_ids:
        return []
    stmt = (
        select(ScheduledMessage)
        .where(ScheduledMessage.session_id.in_(sorted(session_ids)))
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def add_course(db: AsyncSession, patient_id: int, treatment: str, now: dt.datetime) -> Course:
    course = Course(patient_id=patient_id, treatment=treatment, created_at=now)
    db.add(course)
    await db.flush()
    return course


async def has_other_sessions(db: AsyncSession, course_id: int, session_id: int) -> bool:
    """Whether a session other than this one belongs (or belonged: cancelled) to the course."""
    stmt = (
        select(TreatmentSession.id)
        .where(TreatmentSession.course_id == course_id, TreatmentSession.id != session_id)
        .limit(1)
    )
    return (await db.execute(stmt)).first() is not None


async def delete_course_if_empty(db: AsyncSession, course_id: int) -> None:
    """A course no session belongs to any more (its only session joined another)."""
    used = select(TreatmentSession.id).where(TreatmentSession.course_id == course_id).exists()
    await db.execute(
        delete(Course)
        .where(Course.id == course_id, ~used)
        .execution_options(synchronize_session=False)
    )
