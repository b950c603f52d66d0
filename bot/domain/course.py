"""Courses of sessions as rules: which course a session continues, and what the next session of a
course does to the plan of the one before it (docs/clinical.md#aftercare-plan-steps).

A course is a patient's sessions of one treatment that follow each other within the protocol's
`course_interval`, start to start. Its sessions are numbered 1, 2, … by start. The next session
supersedes what is left of the one before: a step of session N due at or after the start of
session N+1 is not sent ("superseded by session N+1"), a step due before it is sent only until
then, and a step marked `skip_when_next_booked` (the "book your next visit" reminder) is not
sent at all once session N+1 is booked.
"""

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

from bot.domain.plan import PlannedMessage, PlanStatus

REASON_SUPERSEDED: Final = "superseded by session {number}"
REASON_NEXT_BOOKED: Final = "not needed: session {number} of the course is already booked"
_PREFIXES: Final = tuple(reason.split("{")[0] for reason in (REASON_SUPERSEDED, REASON_NEXT_BOOKED))


@dataclass(frozen=True)
class Neighbour:
    """Another planned session of the same patient and treatment."""

    session_id: int
    starts_at: dt.datetime


def session_to_follow(
    starts_at: dt.datetime, others: Sequence[Neighbour], interval: dt.timedelta
) -> Neighbour | None:
    """The session whose course a session starting at `starts_at` joins: the latest one starting
    before it (or at the same time) when it is within `interval`; failing that, the earliest one
    starting after it, within `interval` (a session registered after one that follows it).
    None: the session starts a course of its own."""
    before = [n for n in others if n.starts_at <= starts_at]
    if before:
        previous = max(before, key=lambda n: (n.starts_at, n.session_id))
        if starts_at - previous.starts_at <= interval:
            return previous
    after = [n for n in others if n.starts_at > starts_at]
    if after:
        following = min(after, key=lambda n: (n.starts_at, n.session_id))
        if following.starts_at - starts_at <= interval:
            return following
    return None


@dataclass(frozen=True)
class Following:
    """The next planned session of the course: when it starts and its number in the course."""

    starts_at: dt.datetime
    number: int


@dataclass(frozen=True)
class CourseStep:
    """One planned step of a session within its course: `cancelled` says why the next session
    makes it unnecessary (staff-facing); otherwise `planned` is sent, and never after the next
    session starts (its useful time ends there)."""

    planned: PlannedMessage
    cancelled: str | None = None


def within_course(
    plan: Sequence[PlannedMessage],
    following: Following | None,
    skip_when_next_booked: Collection[str] = (),
) -> list[CourseStep]:
    """A session's plan (`plan_session`) cut at the start of the next session of its course.
    A step already skipped at planning keeps its own reason."""
    if following is None:
        return [CourseStep(item) for item in plan]
    cut = following.starts_at
    steps = []
    for item in plan:
        if item.status == PlanStatus.SKIPPED:
            steps.append(CourseStep(item))
        elif item.due_at >= cut:
            steps.append(CourseStep(item, REASON_SUPERSEDED.format(number=following.number)))
        elif item.step_key in skip_when_next_booked:
            steps.append(CourseStep(item, REASON_NEXT_BOOKED.format(number=following.number)))
        else:
            capped = dataclasses.replace(item, useful_until=min(item.useful_until, cut))
            steps.append(CourseStep(capped))
    return steps


def is_course_reason(reason: str | None) -> bool:
    """Whether a cancelled row was cancelled by its course (and may come back when the course
    changes), rather than by staff or the patient."""
    return reason is not None and reason.startswith(_PREFIXES)
