"""Opening hours: parsed with clear errors, open and next opening in the clinic's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.domain.hours import OpeningHours

PARIS = ZoneInfo("Europe/Paris")
HOURS = OpeningHours.parse("Mon-Fri 09:00-19:00, Sat 09:00-13:00")


def paris(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """2026-11-30 is a Monday; `day` 0..7 counts from it (7 is the next Monday)."""
    date = dt.date(2026, 11, 30) + dt.timedelta(days=day)
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=PARIS).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        (paris(0, 9), True),  # opening time is open
        (paris(0, 8, 59), False),
        (paris(0, 18, 59), True),
        (paris(0, 19), False),  # closing time is closed
        (paris(4, 12), True),  # Friday
        (paris(5, 12, 59), True),  # Saturday morning
        (paris(5, 13), False),
        (paris(6, 12), False),  # Sunday
        (paris(2, 22), False),  # an evening check-in
    ],
)
def test_open_in_the_clinics_zone(at: dt.datetime, is_open: bool) -> None:
    assert HOURS.is_open(at, PARIS) is is_open


@pytest.mark.parametrize(
    ("at", "opens"),
    [
        (paris(0, 20), paris(1, 9)),  # Monday evening → Tuesday morning
        (paris(0, 7), paris(0, 9)),  # before opening the same day
        (paris(5, 14), paris(7, 9)),  # Saturday afternoon → Monday
        (paris(6, 10), paris(7, 9)),
        (paris(0, 9), paris(1, 9)),  # open now: the next opening is tomorrow's
    ],
)
def test_next_opening(at: dt.datetime, opens: dt.datetime) -> None:
    assert HOURS.next_opening(at, PARIS) == opens


def test_a_span_over_the_weekend_and_several_parts_a_day() -> None:
    hours = OpeningHours.parse("sat-mon 10:00-12:00, Mon 14:00-18:00")
    assert hours.is_open(paris(6, 11), PARIS) and hours.is_open(paris(0, 15), PARIS)
    assert not hours.is_open(paris(1, 11), PARIS) and not hours.is_open(paris(0, 13), PARIS)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no opening hours"),
        ("Monday 09:00-19:00", "not like"),
        ("Mon-Fri 9-19", "not like"),
        ("Mon-Fri 19:00-09:00", "after the opening"),
        ("Mon-Xyz 09:00-19:00", "days are"),
        ("Mon 25:00-26:00", "not a time of day"),
    ],
)
def test_bad_hours_are_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        OpeningHours.parse(text)
