"""Planning: a protocol's steps turned into UTC due times for one session, in the patient's zone.

How one step is planned, in this order:

1. The offset is added on the patient's local wall clock, not to the UTC instant: "+1d" after a
   10:00 session is 10:00 the next local day even across a DST change, and "-3d" likewise.
2. The step's window, if any, is applied: a time before the window start moves to that day's
   start; a time after the window end moves to the next day's start. Both ends are inside.
3. The wall time becomes an instant. A time that does not exist (the spring-forward gap) moves
   forward by the length of the gap (02:30 becomes 03:30); an ambiguous autumn time takes its
   first occurrence (fold=0). This is the planned time.
4. `useful_until` is the planned wall time plus `useful_for`, also on the wall clock and resolved
   the same way. Advice meant for before the visit (a negative offset) is never useful after the
   session has started, so its `useful_until` is capped at the session start.
5. Quiet hours move the due time to the end of the quiet period (next_allowed_time).
6. A message may be sent at a time t only while t < useful_until, so the step is SKIPPED when:
   useful_until <= now (registered too late), or the planned time is already past useful_until
   (a pre-session step that falls after the session start), or quiet hours pushed the due time
   to useful_until or beyond. A step planned before `now` that is still useful is due at
   next_allowed_time(now).

A skipped message keeps its planned time as `due_at`, so staff can see when it was meant to go.
All datetimes returned are aware and in UTC.
"""

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from bot.domain.protocol import (
    Protocol,
    Step,
    StepKind,
    TimeWindow,
    format_time_of_day,
    parse_time_range,
)

REASON_TOO_LATE: Final = "registered too late: past its useful time"
REASON_QUIET_HOURS: Final = "quiet hours last past its useful time"
REASON_AFTER_SESSION: Final = "its time falls after the session has started"


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which no patient message goes out; may wrap midnight; start == end: none."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> "QuietHours":
        """`21:00-08:00` → QuietHours; `00:00-00:00` means no quiet hours."""
        try:
            start, end = parse_time_range(text.strip())
        except ValueError as exc:
            raise ValueError(
                f"quiet hours must look like 21:00-08:00 (local start-end), got {text!r}: {exc}"
            ) from None
        return cls(start, end)

    @property
    def is_off(self) -> bool:
        return self.start == self.end

    @property
    def wraps_midnight(self) -> bool:
        return self.start > self.end

    def contains(self, t: dt.time) -> bool:
        # the end is the first minute a message may go out again
        if self.is_off:
            return False
        if self.wraps_midnight:
            return t >= self.start or t < self.end
        return self.start <= t < self.end

    def __str__(self) -> str:
        return f"{format_time_of_day(self.start)}-{format_time_of_day(self.end)}"


DEFAULT_QUIET_HOURS: Final = QuietHours(dt.time(21, 0), dt.time(8, 0))


class PlanStatus(enum.StrEnum):
    PENDING = "pending"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class PlannedMessage:
    """One step planned for one session; `reason` says why it is skipped (staff-facing)."""

    step_key: str
    kind: StepKind
    due_at: dt.datetime
    useful_until: dt.datetime
    status: PlanStatus
    reason: str | None


def local_wall_time(at: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """What a clock in `tz` shows at the instant `at`, as a naive datetime."""
    _require_aware(at, "at")
    return at.astimezone(tz).replace(tzinfo=None)


def resolve_wall_time(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A naive wall-clock time in `tz` → the aware UTC instant (gap: forward; ambiguous: first)."""
    if wall.tzinfo is not None:
        raise ValueError(f"expected a naive wall-clock time, got {wall.isoformat()}")
    # fold=0 gives both rules at once (PEP 495): an ambiguous time takes its first occurrence,
    # and a time in the gap is read with the offset from before the change, so it lands later
    # by the length of the gap.
    return wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)


def next_allowed_time(at: dt.datetime, tz: ZoneInfo, quiet: QuietHours) -> dt.datetime:
    """`at` if it is outside the patient's quiet hours, else the end of that quiet period; UTC."""
    at_utc = _require_aware(at, "at").astimezone(dt.UTC)
    wall = local_wall_time(at, tz)
    if not quiet.contains(wall.time()):
        return at_utc
    end_day = wall.date()
    if quiet.wraps_midnight and wall.time() >= quiet.start:
        end_day += dt.timedelta(days=1)
    end_wall = dt.datetime.combine(end_day, quiet.end)
    end = resolve_wall_time(end_wall, tz)
    if end <= at_utc:
        # the quiet period ends inside a repeated autumn hour and `at` is already in its second
        # pass: the end that counts is the second occurrence
        end = end_wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    return end


def plan_session(
    protocol: Protocol,
    starts_at: dt.datetime,
    tz: ZoneInfo,
    quiet: QuietHours,
    now: dt.datetime,
) -> list[PlannedMessage]:
    """One PlannedMessage per step, sorted by due time (ties keep the file's order)."""
    _require_aware(starts_at, "starts_at")
    _require_aware(now, "now")
    planned = [_plan_step(step, starts_at, tz, quiet, now) for step in protocol.steps]
    return sorted(planned, key=lambda message: message.due_at)


def plan_after(
    step: Step, base: dt.datetime, tz: ZoneInfo, quiet: QuietHours, now: dt.datetime
) -> PlannedMessage:
    """One step planned from `base` instead of a session's start (the closer-watch check-in
    counts from the worrying report)."""
    _require_aware(base, "base")
    _require_aware(now, "now")
    return _plan_step(step, base, tz, quiet, now)


def _plan_step(
    step: Step, starts_at: dt.datetime, tz: ZoneInfo, quiet: QuietHours, now: dt.datetime
) -> PlannedMessage:
    wall = _apply_window(local_wall_time(starts_at, tz) + step.offset, step.window)
    planned_at = resolve_wall_time(wall, tz)
    useful_until = resolve_wall_time(wall + step.useful_for, tz)
    if step.offset < dt.timedelta(0):
        useful_until = min(useful_until, starts_at.astimezone(dt.UTC))

    def skipped(reason: str) -> PlannedMessage:
        return PlannedMessage(
            step.key, step.kind, planned_at, useful_until, PlanStatus.SKIPPED, reason
        )

    if useful_until <= now:
        return skipped(REASON_TOO_LATE)
    if useful_until <= planned_at:
        return skipped(REASON_AFTER_SESSION)
    due_at = next_allowed_time(max(planned_at, now), tz, quiet)
    if due_at >= useful_until:
        return skipped(REASON_QUIET_HOURS)
    return PlannedMessage(step.key, step.kind, due_at, useful_until, PlanStatus.PENDING, None)


def _apply_window(wall: dt.datetime, window: TimeWindow | None) -> dt.datetime:
    if window is None or window.contains(wall.time()):
        return wall
    day = wall.date() if wall.time() < window.start else wall.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, window.start)


def _require_aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value.isoformat()}")
    return value
