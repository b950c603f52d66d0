"""A session's plan in the outbox: the protocol's steps written as rows, re-planned when the
session moves or the patient's zone or status changes, and cut where the next session of its
course starts (bot/domain/course.py)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import course_queries, queries
from bot.db.models import (
    UNSENT,
    Course,
    MessageStatus,
    Patient,
    ScheduledMessage,
    SessionStatus,
    TreatmentSession,
)
from bot.domain.course import CourseStep, Following, is_course_reason, within_course
from bot.domain.plan import PlanStatus, plan_session
from bot.services import outbox
from bot.services.context import Context


async def replan_patient(
    db: AsyncSession, ctx: Context, patient: Patient, now: dt.datetime
) -> None:
    """After /resume or a new zone: the patient's planned sessions get their unsent steps
    planned again, course by course."""
    planned = [
        s
        for s in await queries.sessions_for_patient(db, patient.id)
        if s.status == SessionStatus.PLANNED
    ]
    ids = {s.id for s in planned}
    for course_id in sorted({s.course_id for s in planned if s.course_id is not None}):
        await plan_course(db, ctx, course_id, now, subjects=ids, patient=patient)
    for session in planned:
        if session.course_id is None:  # written without a course: a course of its own
            existing = list(await queries.messages_for_session(db, session.id))
            apply_plan(db, session, patient, existing, ctx, now)


async def plan_course(
    db: AsyncSession,
    ctx: Context,
    course_id: int,
    now: dt.datetime,
    *,
    subjects: Collection[int] = (),
    patient: Patient | None = None,
) -> dict[int, list[ScheduledMessage]]:
    """Numbers the course's planned sessions by start and writes each one's plan, cut where the
    next one starts; returns each session's rows. The `subjects` (sessions just added, moved or
    re-planned) have every unsent row planned again; the others only the rows the course
    changes: pending ones (superseded, or sent only until the next session), and those it had
    cancelled (back when they are still useful)."""
    course = await db.get(Course, course_id)
    if course is None:
        return {}
    await course_queries.lock_patient(db, course.patient_id)
    sessions = list(await course_queries.planned_sessions_of_course(db, course_id))
    if not sessions:
        return {}
    if patient is None:
        patient = await db.get(Patient, sessions[0].patient_id)
        assert patient is not None
    for number, session in enumerate(sessions, start=1):
        session.course_number = number
    rows: dict[int, list[ScheduledMessage]] = defaultdict(list)
    for row in await course_queries.messages_for_sessions(db, [s.id for s in sessions]):
        if row.session_id is not None:
            rows[row.session_id].append(row)
    planned: dict[int, list[ScheduledMessage]] = {}
    for session, after in zip(sessions, [*sessions[1:], None], strict=True):
        following = Following(after.starts_at, after.course_number) if after else None
        planned[session.id] = apply_plan(
            db,
            session,
            patient,
            rows[session.id],
            ctx,
            now,
            following=following,
            is_subject=session.id in subjects,
        )
    return planned


def apply_plan(
    db: AsyncSession,
    session: TreatmentSession,
    patient: Patient,
    existing: list[ScheduledMessage],
    ctx: Context,
    now: dt.datetime,
    *,
    following: Following | None = None,
    is_subject: bool = True,
) -> list[ScheduledMessage]:
    """Writes the protocol's plan as outbox rows, cut at the start of the `following` session
    of the course: a subject gets new steps added and every unsent row rewritten; another
    session only its pending rows and those its course had cancelled."""
    protocol = ctx.protocol(session.treatment)
    plan = plan_session(
        protocol, session.starts_at, ZoneInfo(patient.timezone), ctx.clinic.quiet, now
    )
    booked = {step.key for step in protocol.steps if step.skip_when_next_booked}
    by_step = {row.step_key: row for row in existing}
    for step in within_course(plan, following, booked):
        item = step.planned
        row = by_step.get(item.step_key)
        if row is None:
            if not is_subject:
                continue  # another session's change adds no step to this one
            row = by_step[item.step_key] = outbox.queue(
                db, outbox.planned(item, session.id, patient.id), now
            )
        elif _left_alone(row, step, is_subject):
            continue
        else:
            outbox.replan(row, item)
        if step.cancelled is not None:
            outbox.cancel(row, step.cancelled)
    return sorted(by_step.values(), key=lambda r: (r.due_at, r.step_key))


def _left_alone(row: ScheduledMessage, step: CourseStep, is_subject: bool) -> bool:
    if row.status not in UNSENT:
        return True  # sent, or it may have been
    by_course = _by_course(row)
    if not is_subject and row.status != MessageStatus.PENDING and not by_course:
        return True  # cancelled or skipped for reasons of its own session
    # A row whose time has now passed: one the course cancelled keeps the reason it was not
    # sent (superseded then, not registered too late); another session's pending row is left
    # for the expiry sweep, as if nothing had changed.
    passed = step.cancelled is None and step.planned.status == PlanStatus.SKIPPED
    return passed and (by_course or not is_subject)


def _by_course(row: ScheduledMessage) -> bool:
    return row.status == MessageStatus.CANCELLED and is_course_reason(row.last_error)
