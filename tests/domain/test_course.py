"""Course rules as tables: which session a new one follows, and how the next session cuts a plan."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.domain.course import (
    Following,
    Neighbour,
    is_course_reason,
    session_to_follow,
    within_course,
)
from bot.domain.plan import PlannedMessage, PlanStatus
from bot.domain.protocol import StepKind

DAY = dt.timedelta(days=1)
T = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
INTERVAL = 21 * DAY


@pytest.mark.parametrize(
    ("others", "start", "follows"),
    [
        ([], 7, None),  # the first session: a course of its own
        ([(1, 0)], 7, 1),  # a week after the previous one
        ([(1, 0)], 21, 1),  # exactly the interval: still the same course
        ([(1, 0)], 22, None),  # a day more: a new course
        ([(1, 0), (2, 14)], 20, 2),  # the latest before it, not the first
        ([(1, 0), (2, 55)], 30, None),  # too far after one, too far before the other
        ([(2, 14)], 0, 2),  # registered after a session that follows it
        ([(2, 14), (3, 20)], 0, 2),  # the earliest after it
        ([(1, 0), (2, 7)], 7, 2),  # the same start counts as before: the later id
        ([(1, -30), (2, 10)], 0, 2),  # the previous one is too far: the next one within
    ],
)
def test_the_session_a_new_one_follows(
    others: list[tuple[int, int]], start: int, follows: int | None
) -> None:
    neighbours = [Neighbour(sid, T + days * DAY) for sid, days in others]
    found = session_to_follow(T + start * DAY, neighbours, INTERVAL)
    assert (found.session_id if found else None) == follows


def planned(key: str, days: float, useful: float = 1, skipped: bool = False) -> PlannedMessage:
    due = T + dt.timedelta(days=days)
    return PlannedMessage(
        key,
        StepKind.TIP,
        due,
        due + dt.timedelta(days=useful),
        PlanStatus.SKIPPED if skipped else PlanStatus.PENDING,
        "registered too late: past its useful time" if skipped else None,
    )


def test_the_next_session_cuts_the_plan_at_its_start() -> None:
    plan = [
        planned("before", 1, useful=10),
        planned("too-late", 8, skipped=True),
        planned("at-start", 7),
        planned("after", 9),
        planned("book", 5),
    ]
    cut = within_course(plan, Following(T + 7 * DAY, 2), {"book"})
    by_key = {step.planned.step_key: step for step in cut}
    assert by_key["before"].cancelled is None
    assert by_key["before"].planned.useful_until == T + 7 * DAY  # never sent after it starts
    assert by_key["too-late"].cancelled is None  # skipped at planning keeps its own reason
    assert by_key["at-start"].cancelled == "superseded by session 2"
    assert by_key["after"].cancelled == "superseded by session 2"
    assert by_key["book"].cancelled == "not needed: session 2 of the course is already booked"
    assert all(is_course_reason(step.cancelled) for step in cut if step.cancelled)
    assert [step.planned for step in within_course(plan, None, {"book"})] == plan


@pytest.mark.parametrize(
    ("reason", "is_course"),
    [
        ("superseded by session 3", True),
        ("not needed: session 2 of the course is already booked", True),
        ("session cancelled", False),
        ("patient stopped", False),
        (None, False),
    ],
)
def test_course_reasons_are_told_apart(reason: str | None, is_course: bool) -> None:
    assert is_course_reason(reason) is is_course
