"""An urgent answer gives the route that works at that hour (docs/clinical.md#out-of-hours)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.clock import FrozenClock
from bot.config import Settings
from bot.domain.hours import OpeningHours
from bot.services.checkins.wording import urgent_advice
from bot.services.context import Context

# T0 (tests/conftest.py) is Monday 2 March 2026, 10:00 in Paris
HOURS = OpeningHours.parse("Mon-Fri 09:00-19:00")


def with_hours(ctx: Context, out_of_hours_phone: str = "") -> None:
    ctx.clinic = dataclasses.replace(
        ctx.clinic, opening_hours=HOURS, out_of_hours_phone=out_of_hours_phone
    )


def test_without_opening_hours_the_clinic_is_called(ctx: Context, clock: FrozenClock) -> None:
    clock.advance(dt.timedelta(hours=12))  # 22:00: no hours set, so no "closed"
    assert urgent_advice(ctx, "en").startswith("Please call Clinique Test now")


def test_open_hours_call_the_clinic(ctx: Context) -> None:
    with_hours(ctx, "+33 6 00 00 00 00")
    assert urgent_advice(ctx, "en").startswith("Please call Clinique Test now")


def test_closed_with_an_out_of_hours_line_gives_that_line(ctx: Context, clock: FrozenClock) -> None:
    with_hours(ctx, "+33 6 00 00 00 00")
    clock.advance(dt.timedelta(hours=11))  # 21:00 in Paris
    text = urgent_advice(ctx, "en")
    assert "closed now" in text and "+33 6 00 00 00 00" in text and "112" in text
    assert "Please call Clinique Test now" not in text


def test_closed_without_a_line_says_when_it_opens_and_where_to_go(
    ctx: Context, clock: FrozenClock
) -> None:
    with_hours(ctx)
    clock.advance(dt.timedelta(days=5))  # Saturday
    text = urgent_advice(ctx, "en")
    assert "closed now" in text and "Mon 9 Mar, 09:00" in text and "urgent-care" in text
    assert "112" in text


@pytest.mark.parametrize(
    ("value", "error"),
    [("Mon-Fri 19:00-09:00", "after the opening"), ("weekdays", "not like")],
)
def test_a_malformed_setting_is_refused(value: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Settings(opening_hours=value, _env_file=None)  # type: ignore[call-arg]
