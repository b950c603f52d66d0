"""Planning: local wall-clock offsets across DST, windows, quiet hours and late registration."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot
from bot.domain.plan import (
    DEFAULT_QUIET_HOURS,
    REASON_AFTER_SESSION,
    REASON_QUIET_HOURS,
    REASON_TOO_LATE,
    PlannedMessage,
    PlanStatus,
    QuietHours,
    local_wall_time,
    next_allowed_time,
    plan_session,
    resolve_wall_time,
)
from bot.domain.protocol import (
    Protocol,
    Step,
    StepKind,
    parse_duration,
    parse_protocol,
    parse_window,
)

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
NO_QUIET = QuietHours(dt.time(0), dt.time(0))
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=UTC)


def _step(
    key: str = "step",
    offset: str = "1d",
    window: str | None = None,
    useful_for: str = "1d",
    kind: StepKind = StepKind.TIP,
) -> Step:
    return Step(
        key=key,
        kind=kind,
        offset=parse_duration(offset),
        window=parse_window(window) if window else None,
        useful_for=parse_duration(useful_for),
        text="Some advice.",
    )


def _protocol(*steps: Step) -> Protocol:
    return Protocol("face", "Mesotherapy: face", 3, steps, "test")


def _plan_one(
    step: Step,
    starts_at: dt.datetime,
    tz: ZoneInfo,
    quiet: QuietHours = NO_QUIET,
    now: dt.datetime = LONG_AGO,
) -> PlannedMessage:
    (message,) = plan_session(_protocol(step), starts_at, tz, quiet, now)
    return message


def _wall(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A naive wall-clock reading, the way plan.py reasons about local times."""
    return dt.datetime.combine(dt.date(year, month, day), dt.time(hour, minute))


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- DST: offsets are counted on the patient's wall clock ------------------------------------

DAILY_ACROSS_DST = [
    # (zone, session local, offset, planned UTC): the local hour stays 10:00 either side
    pytest.param(PARIS, _wall(2025, 3, 29, 10), "1d", _utc(2025, 3, 30, 8), id="paris-spring"),
    pytest.param(PARIS, _wall(2025, 3, 29, 10), "2d", _utc(2025, 3, 31, 8), id="paris-spring-2d"),
    pytest.param(PARIS, _wall(2025, 10, 25, 10), "1d", _utc(2025, 10, 26, 9), id="paris-autumn"),
    pytest.param(PARIS, _wall(2025, 4, 1, 10), "-3d", _utc(2025, 3, 29, 9), id="paris-before"),
    pytest.param(NEW_YORK, _wall(2025, 3, 8, 10), "1d", _utc(2025, 3, 9, 14), id="ny-spring"),
    pytest.param(NEW_YORK, _wall(2025, 11, 1, 10), "1d", _utc(2025, 11, 2, 15), id="ny-autumn"),
    pytest.param(NEW_YORK, _wall(2025, 11, 4, 10), "-3d", _utc(2025, 11, 1, 14), id="ny-before"),
    # southern hemisphere: summer time ends in April and starts in October
    pytest.param(SYDNEY, _wall(2025, 4, 5, 10), "1d", _utc(2025, 4, 6, 0), id="sydney-april"),
    pytest.param(SYDNEY, _wall(2025, 10, 4, 10), "1d", _utc(2025, 10, 4, 23), id="sydney-oct"),
]


@pytest.mark.parametrize(("tz", "session", "offset", "expected"), DAILY_ACROSS_DST)
def test_a_daily_step_keeps_the_local_hour_across_a_dst_change(
    tz: ZoneInfo, session: dt.datetime, offset: str, expected: dt.datetime
) -> None:
    message = _plan_one(_step(offset=offset), session.replace(tzinfo=tz), tz)

    assert message.due_at == expected
    assert local_wall_time(message.due_at, tz).time() == dt.time(10, 0)


SPRING_GAP = [
    # (zone, session local, offset, window, planned UTC): 02:30 does not exist, 03:30 does
    pytest.param(
        PARIS, _wall(2025, 3, 29, 2, 30), "1d", None, _utc(2025, 3, 30, 1, 30), id="paris"
    ),
    pytest.param(NEW_YORK, _wall(2025, 3, 8, 2, 30), "1d", None, _utc(2025, 3, 9, 7, 30), id="ny"),
    pytest.param(
        SYDNEY, _wall(2025, 10, 4, 2, 30), "1d", None, _utc(2025, 10, 4, 16, 30), id="syd"
    ),
    # a window start inside the gap moves forward the same way (02:15 → 03:15 CEST)
    pytest.param(
        PARIS,
        _wall(2025, 3, 30, 0, 30),
        "0m",
        "02:15-06:00",
        _utc(2025, 3, 30, 1, 15),
        id="window",
    ),
]


@pytest.mark.parametrize(("tz", "session", "offset", "window", "expected"), SPRING_GAP)
def test_a_step_landing_in_the_spring_gap_moves_forward_by_the_gap(
    tz: ZoneInfo, session: dt.datetime, offset: str, window: str | None, expected: dt.datetime
) -> None:
    message = _plan_one(_step(offset=offset, window=window), session.replace(tzinfo=tz), tz)

    assert message.due_at == expected
    assert local_wall_time(message.due_at, tz).time() == (
        dt.time(3, 30) if window is None else dt.time(3, 15)
    )


AUTUMN_REPEAT = [
    # (zone, session local, planned UTC): the repeated hour is taken at its first occurrence
    pytest.param(PARIS, _wall(2025, 10, 25, 2, 30), _utc(2025, 10, 26, 0, 30), id="paris"),
    pytest.param(NEW_YORK, _wall(2025, 11, 1, 1, 30), _utc(2025, 11, 2, 5, 30), id="ny"),
    pytest.param(SYDNEY, _wall(2025, 4, 5, 2, 30), _utc(2025, 4, 5, 15, 30), id="sydney"),
]


@pytest.mark.parametrize(("tz", "session", "expected"), AUTUMN_REPEAT)
def test_an_ambiguous_autumn_time_takes_its_first_occurrence(
    tz: ZoneInfo, session: dt.datetime, expected: dt.datetime
) -> None:
    message = _plan_one(_step(offset="1d"), session.replace(tzinfo=tz), tz)

    assert message.due_at == expected
    # one hour later the wall clock shows the same time again: that is the second occurrence
    later = (expected + dt.timedelta(hours=1)).astimezone(tz)
    assert later.replace(tzinfo=None) == session + dt.timedelta(days=1)


def test_useful_for_is_counted_on_the_wall_clock_too() -> None:
    session = dt.datetime(2025, 3, 29, 10, tzinfo=PARIS)

    message = _plan_one(_step(offset="0m", useful_for="1d"), session, PARIS)

    # the spring night is 23 hours long, yet "1d" still ends at 10:00 local
    assert message.useful_until == _utc(2025, 3, 30, 8)


@pytest.mark.parametrize(
    ("wall", "tz", "expected"),
    [
        (_wall(2025, 6, 10, 10), PARIS, _utc(2025, 6, 10, 8)),
        (_wall(2025, 3, 30, 2, 0), PARIS, _utc(2025, 3, 30, 1, 0)),
        (_wall(2025, 10, 26, 2, 0), PARIS, _utc(2025, 10, 26, 0, 0)),
        (_wall(2025, 1, 15, 10), SYDNEY, _utc(2025, 1, 14, 23)),
    ],
)
def test_resolve_wall_time_gives_utc(
    wall: dt.datetime, tz: ZoneInfo, expected: dt.datetime
) -> None:
    resolved = resolve_wall_time(wall, tz)

    assert resolved == expected
    assert resolved.tzinfo is UTC


# --- windows ----------------------------------------------------------------------------------

WINDOWS = [
    # (session local time, offset, window, planned local): the day is 2025-06-10 in Paris
    pytest.param(dt.time(10), "10h", "08:00-11:00", _wall(2025, 6, 11, 8), id="after-end"),
    pytest.param(dt.time(15), "10h", "08:00-11:00", _wall(2025, 6, 11, 8), id="before-start"),
    pytest.param(dt.time(23, 30), "10h", "08:00-11:00", _wall(2025, 6, 11, 9, 30), id="inside"),
    pytest.param(dt.time(1), "10h", "08:00-11:00", _wall(2025, 6, 10, 11), id="at-the-end"),
    pytest.param(dt.time(6), "0m", "08:00-11:00", _wall(2025, 6, 10, 8), id="same-day-start"),
    pytest.param(dt.time(19), "1h", "18:00-20:30", _wall(2025, 6, 10, 20), id="evening-inside"),
    pytest.param(dt.time(20), "1h", "18:00-20:30", _wall(2025, 6, 11, 18), id="evening-late"),
    pytest.param(dt.time(10), "-1d", "09:00-20:00", _wall(2025, 6, 9, 10), id="day-before"),
]


@pytest.mark.parametrize(("session_time", "offset", "window", "expected"), WINDOWS)
def test_a_window_moves_the_step_to_its_start(
    session_time: dt.time, offset: str, window: str, expected: dt.datetime
) -> None:
    session = dt.datetime.combine(dt.date(2025, 6, 10), session_time, tzinfo=PARIS)

    message = _plan_one(_step(offset=offset, window=window), session, PARIS)

    assert local_wall_time(message.due_at, PARIS) == expected


# --- quiet hours ------------------------------------------------------------------------------

QUIET_MOVES = [
    # (zone, session local, offset, quiet, due local)
    pytest.param(
        PARIS,
        _wall(2025, 6, 10, 21, 30),
        "30m",
        DEFAULT_QUIET_HOURS,
        _wall(2025, 6, 11, 8),
        id="22:00-to-08:00-next-day",
    ),
    pytest.param(
        NEW_YORK,
        _wall(2025, 3, 8, 21, 30),
        "30m",
        DEFAULT_QUIET_HOURS,
        _wall(2025, 3, 9, 8),
        id="over-the-spring-change",
    ),
    pytest.param(
        SYDNEY,
        _wall(2025, 6, 10, 21, 30),
        "30m",
        DEFAULT_QUIET_HOURS,
        _wall(2025, 6, 11, 8),
        id="sydney",
    ),
    pytest.param(
        PARIS,
        _wall(2025, 6, 10, 0, 30),
        "1h30m",
        DEFAULT_QUIET_HOURS,
        _wall(2025, 6, 10, 8),
        id="after-midnight-same-morning",
    ),
    pytest.param(
        PARIS,
        _wall(2025, 6, 10, 12, 30),
        "30m",
        QuietHours(dt.time(12), dt.time(14)),
        _wall(2025, 6, 10, 14),
        id="non-wrapping-lunch-break",
    ),
    pytest.param(
        PARIS,
        _wall(2025, 6, 10, 21, 30),
        "30m",
        NO_QUIET,
        _wall(2025, 6, 10, 22),
        id="no-quiet-hours",
    ),
]


@pytest.mark.parametrize(("tz", "session", "offset", "quiet", "expected"), QUIET_MOVES)
def test_quiet_hours_move_a_step_to_their_end(
    tz: ZoneInfo, session: dt.datetime, offset: str, quiet: QuietHours, expected: dt.datetime
) -> None:
    message = _plan_one(
        _step(offset=offset, useful_for="1d"), session.replace(tzinfo=tz), tz, quiet
    )

    assert message.status is PlanStatus.PENDING
    assert local_wall_time(message.due_at, tz) == expected


@pytest.mark.parametrize(
    ("useful_for", "status"),
    [
        ("4h", PlanStatus.SKIPPED),
        ("10h", PlanStatus.SKIPPED),  # useful until exactly 08:00: not any more at 08:00
        ("10h1m", PlanStatus.PENDING),
    ],
)
def test_quiet_hours_past_the_useful_time_skip_the_step(
    useful_for: str, status: PlanStatus
) -> None:
    session = dt.datetime(2025, 6, 10, 21, 30, tzinfo=PARIS)

    message = _plan_one(
        _step(offset="30m", useful_for=useful_for), session, PARIS, DEFAULT_QUIET_HOURS
    )

    assert message.status is status
    if status is PlanStatus.SKIPPED:
        assert message.reason == REASON_QUIET_HOURS
        assert "quiet hours" in message.reason
        # a skipped message keeps the time it was meant for
        assert local_wall_time(message.due_at, PARIS) == _wall(2025, 6, 10, 22)
    else:
        assert message.reason is None


@pytest.mark.parametrize(
    ("quiet", "t", "inside"),
    [
        (DEFAULT_QUIET_HOURS, dt.time(20, 59), False),
        (DEFAULT_QUIET_HOURS, dt.time(21, 0), True),
        (DEFAULT_QUIET_HOURS, dt.time(23, 59), True),
        (DEFAULT_QUIET_HOURS, dt.time(0, 0), True),
        (DEFAULT_QUIET_HOURS, dt.time(7, 59, 59), True),
        (DEFAULT_QUIET_HOURS, dt.time(8, 0), False),
        (QuietHours(dt.time(12), dt.time(14)), dt.time(11, 59), False),
        (QuietHours(dt.time(12), dt.time(14)), dt.time(12, 0), True),
        (QuietHours(dt.time(12), dt.time(14)), dt.time(14, 0), False),
        (QuietHours(dt.time(0), dt.time(6)), dt.time(0, 0), True),
        (NO_QUIET, dt.time(0, 0), False),
        (NO_QUIET, dt.time(3, 0), False),
    ],
)
def test_quiet_hours_contain_their_start_but_not_their_end(
    quiet: QuietHours, t: dt.time, inside: bool
) -> None:
    assert quiet.contains(t) is inside


@pytest.mark.parametrize(
    ("text", "quiet"),
    [
        ("21:00-08:00", QuietHours(dt.time(21), dt.time(8))),
        (" 22:30-07:15 ", QuietHours(dt.time(22, 30), dt.time(7, 15))),
        ("12:00-14:00", QuietHours(dt.time(12), dt.time(14))),
        ("00:00-00:00", NO_QUIET),
    ],
)
def test_quiet_hours_parse_from_text(text: str, quiet: QuietHours) -> None:
    parsed = QuietHours.parse(text)

    assert parsed == quiet
    assert str(parsed) == text.strip()


@pytest.mark.parametrize("text", ["", "21-8", "21:00", "25:00-08:00", "21:00 08:00", "9:00-17:00"])
def test_malformed_quiet_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="quiet hours must look like 21:00-08:00"):
        QuietHours.parse(text)


NEXT_ALLOWED = [
    # (at, quiet, expected)
    pytest.param(
        dt.datetime(2025, 6, 10, 20, 59, tzinfo=PARIS),
        DEFAULT_QUIET_HOURS,
        dt.datetime(2025, 6, 10, 20, 59, tzinfo=PARIS),
        id="before-quiet",
    ),
    pytest.param(
        dt.datetime(2025, 6, 10, 21, 0, tzinfo=PARIS),
        DEFAULT_QUIET_HOURS,
        dt.datetime(2025, 6, 11, 8, 0, tzinfo=PARIS),
        id="quiet-starts",
    ),
    pytest.param(
        dt.datetime(2025, 6, 11, 3, 0, tzinfo=PARIS),
        DEFAULT_QUIET_HOURS,
        dt.datetime(2025, 6, 11, 8, 0, tzinfo=PARIS),
        id="after-midnight",
    ),
    pytest.param(
        dt.datetime(2025, 6, 11, 8, 0, tzinfo=PARIS),
        DEFAULT_QUIET_HOURS,
        dt.datetime(2025, 6, 11, 8, 0, tzinfo=PARIS),
        id="quiet-ends",
    ),
    pytest.param(
        _utc(2025, 6, 10, 20),  # 22:00 in Paris
        DEFAULT_QUIET_HOURS,
        dt.datetime(2025, 6, 11, 8, 0, tzinfo=PARIS),
        id="given-in-utc",
    ),
    pytest.param(
        dt.datetime(2025, 6, 10, 13, 0, tzinfo=PARIS),
        QuietHours(dt.time(12), dt.time(14)),
        dt.datetime(2025, 6, 10, 14, 0, tzinfo=PARIS),
        id="non-wrapping",
    ),
    pytest.param(
        dt.datetime(2025, 6, 10, 23, 0, tzinfo=PARIS),
        NO_QUIET,
        dt.datetime(2025, 6, 10, 23, 0, tzinfo=PARIS),
        id="none",
    ),
    pytest.param(
        dt.datetime(2025, 3, 8, 23, 0, tzinfo=NEW_YORK),
        DEFAULT_QUIET_HOURS,
        dt.datetime(2025, 3, 9, 8, 0, tzinfo=NEW_YORK),
        id="night-of-the-spring-change",
    ),
    pytest.param(
        dt.datetime(2025, 3, 30, 1, 30, tzinfo=PARIS),
        QuietHours(dt.time(1), dt.time(2, 30)),
        dt.datetime(2025, 3, 30, 3, 30, tzinfo=PARIS),
        id="quiet-ends-in-the-gap",
    ),
    pytest.param(
        dt.datetime(2025, 10, 26, 2, 15, tzinfo=PARIS),
        QuietHours(dt.time(0), dt.time(2, 30)),
        dt.datetime(2025, 10, 26, 2, 30, tzinfo=PARIS),
        id="repeated-hour-first-pass",
    ),
    pytest.param(
        dt.datetime(2025, 10, 26, 2, 15, fold=1, tzinfo=PARIS),
        QuietHours(dt.time(0), dt.time(2, 30)),
        dt.datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=PARIS),
        id="repeated-hour-second-pass",
    ),
]


@pytest.mark.parametrize(("at", "quiet", "expected"), NEXT_ALLOWED)
def test_next_allowed_time(at: dt.datetime, quiet: QuietHours, expected: dt.datetime) -> None:
    tz = at.tzinfo if isinstance(at.tzinfo, ZoneInfo) else PARIS

    allowed = next_allowed_time(at, tz, quiet)

    # in UTC: an aware time inside a repeated hour never equals one in another zone (PEP 495)
    assert allowed == expected.astimezone(UTC)
    assert allowed >= at
    assert allowed.tzinfo is UTC


# --- late registration ------------------------------------------------------------------------

LATE_PROTOCOL = _protocol(
    _step("avoid-before", offset="-3d", window="09:00-20:00", useful_for="3d"),
    _step("right-after", offset="30m", useful_for="12h"),
    _step("same-evening", offset="1h", window="18:00-20:30", useful_for="4h"),
    _step("sun-morning", offset="10h", window="08:00-11:00", useful_for="1d"),
)
SESSION = dt.datetime(2025, 6, 10, 10, 0, tzinfo=PARIS)

LATE = [
    # (now local on 2025-06-10, step, status, due local time or None, reason)
    pytest.param(dt.time(15), "avoid-before", PlanStatus.SKIPPED, None, REASON_TOO_LATE, id="past"),
    pytest.param(dt.time(15), "right-after", PlanStatus.PENDING, dt.time(15), None, id="sent-now"),
    pytest.param(dt.time(15), "same-evening", PlanStatus.PENDING, dt.time(18), None, id="ahead"),
    pytest.param(dt.time(23), "right-after", PlanStatus.SKIPPED, None, REASON_TOO_LATE, id="gone"),
    pytest.param(
        dt.time(23), "same-evening", PlanStatus.SKIPPED, None, REASON_TOO_LATE, id="gone2"
    ),
    pytest.param(dt.time(23), "sun-morning", PlanStatus.PENDING, dt.time(8), None, id="tomorrow"),
    pytest.param(
        dt.time(22),
        "right-after",
        PlanStatus.SKIPPED,
        None,
        REASON_QUIET_HOURS,
        id="useful-but-quiet",
    ),
    pytest.param(
        dt.time(8), "avoid-before", PlanStatus.PENDING, dt.time(8), None, id="before-session-now"
    ),
    pytest.param(
        dt.time(7), "avoid-before", PlanStatus.PENDING, dt.time(8), None, id="before-session-quiet"
    ),
]


@pytest.mark.parametrize(("now_time", "key", "status", "due_time", "reason"), LATE)
def test_late_registration_skips_what_is_past_and_sends_what_is_still_useful_now(
    now_time: dt.time,
    key: str,
    status: PlanStatus,
    due_time: dt.time | None,
    reason: str | None,
) -> None:
    now = dt.datetime.combine(dt.date(2025, 6, 10), now_time, tzinfo=PARIS)

    plan = plan_session(LATE_PROTOCOL, SESSION, PARIS, DEFAULT_QUIET_HOURS, now)
    (message,) = [m for m in plan if m.step_key == key]

    assert (message.status, message.reason) == (status, reason)
    if due_time is not None:
        assert message.due_at >= now
        assert local_wall_time(message.due_at, PARIS).time() == due_time


def test_advice_for_before_the_visit_is_useful_only_until_it_starts() -> None:
    message = _plan_one(_step(offset="-3d", useful_for="5d"), SESSION, PARIS)

    assert message.useful_until == SESSION


def test_a_pre_session_step_whose_window_falls_after_the_start_is_skipped() -> None:
    session = dt.datetime(2025, 6, 10, 8, 30, tzinfo=PARIS)

    message = _plan_one(_step(offset="-1h", window="09:00-20:00"), session, PARIS)

    assert (message.status, message.reason) == (PlanStatus.SKIPPED, REASON_AFTER_SESSION)


# --- the plan as a whole ----------------------------------------------------------------------


def test_the_plan_has_one_message_per_step_sorted_by_due_time() -> None:
    steps = [_step(f"day-{n}", offset=f"{n}d") for n in (3, 1, 2)]

    plan = plan_session(_protocol(*steps), SESSION, PARIS, DEFAULT_QUIET_HOURS, LONG_AGO)

    assert [m.step_key for m in plan] == ["day-1", "day-2", "day-3"]
    assert [m.kind for m in plan] == [StepKind.TIP] * 3


FACE = parse_protocol(
    (Path(bot.__file__).parent / "protocols" / "face.toml").read_text(encoding="utf-8"),
    "face.toml",
)
ZONES = [
    PARIS,
    NEW_YORK,
    SYDNEY,
    ZoneInfo("UTC"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Pacific/Chatham"),
]


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize("day", [dt.date(2025, 3, 29), dt.date(2025, 10, 25), dt.date(2025, 11, 1)])
def test_every_planned_time_is_aware_utc_and_outside_quiet_hours(
    tz: ZoneInfo, day: dt.date
) -> None:
    for half_hours in range(48):
        start = dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(
            minutes=30 * half_hours
        )
        now = start - dt.timedelta(days=1)

        plan = plan_session(FACE, start, tz, DEFAULT_QUIET_HOURS, now)

        assert len(plan) == len(FACE.steps)
        assert [m.due_at for m in plan] == sorted(m.due_at for m in plan)
        for message in plan:
            assert message.due_at.tzinfo is UTC
            assert message.useful_until.tzinfo is UTC
            if message.status is PlanStatus.PENDING:
                assert now <= message.due_at < message.useful_until
                assert not DEFAULT_QUIET_HOURS.contains(local_wall_time(message.due_at, tz).time())


@pytest.mark.parametrize(
    ("starts_at", "now"),
    [
        (_wall(2025, 6, 10, 10), LONG_AGO),  # naive: the point of the test
        (SESSION, _wall(2025, 6, 1, 0)),  # naive: the point of the test
    ],
)
def test_naive_datetimes_are_refused(starts_at: dt.datetime, now: dt.datetime) -> None:
    with pytest.raises(ValueError, match="aware"):
        plan_session(LATE_PROTOCOL, starts_at, PARIS, DEFAULT_QUIET_HOURS, now)


def test_next_allowed_time_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_allowed_time(_wall(2025, 6, 10, 22), PARIS, DEFAULT_QUIET_HOURS)


# --- check-ins are planned like tips ----------------------------------------------------------


def test_a_check_in_is_planned_on_the_evening_of_its_day() -> None:
    session = dt.datetime(2025, 6, 10, 10, 0, tzinfo=PARIS)

    plan = plan_session(FACE, session, PARIS, DEFAULT_QUIET_HOURS, LONG_AGO)

    checkins = [m for m in plan if m.kind is StepKind.CHECKIN]
    assert [(m.step_key, local_wall_time(m.due_at, PARIS)) for m in checkins] == [
        ("checkin-day1", _wall(2025, 6, 11, 18)),
        ("checkin-day3", _wall(2025, 6, 13, 18)),
        ("checkin-day7", _wall(2025, 6, 17, 18)),
        # late complications (docs/clinical.md#late-complications)
        ("checkin-day14", _wall(2025, 6, 24, 18)),
        ("checkin-day21", _wall(2025, 7, 1, 18)),
        ("checkin-day42", _wall(2025, 7, 22, 18)),
    ]
    assert all(m.status is PlanStatus.PENDING for m in checkins)
    assert checkins[0].useful_until == resolve_wall_time(_wall(2025, 6, 12, 18), PARIS)


def test_a_check_in_after_a_late_session_waits_for_the_next_evening() -> None:
    # +1d from a 21:00 session is past the 18:00-20:30 window: the next day's evening
    session = dt.datetime(2025, 6, 10, 21, 0, tzinfo=PARIS)
    step = Step(
        key="checkin-day1",
        kind=StepKind.CHECKIN,
        offset=parse_duration("1d"),
        window=parse_window("18:00-20:30"),
        useful_for=parse_duration("1d"),
        text="How is your skin doing since your treatment?",
        respond_within=parse_duration("12h"),
    )

    message = _plan_one(step, session, PARIS, DEFAULT_QUIET_HOURS)

    assert message.kind is StepKind.CHECKIN
    assert local_wall_time(message.due_at, PARIS) == _wall(2025, 6, 12, 18)
