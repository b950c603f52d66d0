"""The clinic's opening hours: when an urgent answer can say "call the clinic now", and when it
must give the route that works out of hours (docs/clinical.md#already-followed)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True)
class OpeningHours:
    """Per weekday (Monday = 0), the local times the clinic answers its phone."""

    days: tuple[tuple[tuple[dt.time, dt.time], ...], ...]  # seven tuples of (start, end)

    @classmethod
    def parse(cls, text: str) -> OpeningHours:
        """`Mon-Fri 09:00-19:00, Sat 09:00-13:00` (days in English, 24-hour local times; a day
        may appear in several parts). ValueError naming the part that is wrong."""
        days: list[list[tuple[dt.time, dt.time]]] = [[] for _ in DAYS]
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise ValueError("no opening hours given (like Mon-Fri 09:00-19:00)")
        for part in parts:
            found = _PART.match(part.lower())
            if found is None:
                raise ValueError(f"{part!r} is not like Mon-Fri 09:00-19:00")
            first, last = found["first"], found["last"] or found["first"]
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"{part!r}: days are {', '.join(d.title() for d in DAYS)}")
            start, end = _time(found["start"], part), _time(found["end"], part)
            if end <= start:
                raise ValueError(f"{part!r}: the closing time must be after the opening time")
            for day in _span(DAYS.index(first), DAYS.index(last)):
                days[day].append((start, end))
        return cls(tuple(tuple(sorted(d)) for d in days))

    def is_open(self, at: dt.datetime, zone: ZoneInfo) -> bool:
        local = at.astimezone(zone)
        now = local.time().replace(tzinfo=None)
        return any(start <= now < end for start, end in self.days[local.weekday()])

    def next_opening(self, at: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
        """When the clinic next opens after `at` (aware, UTC); None if it never opens."""
        local = at.astimezone(zone)
        for ahead in range(8):
            day = local.date() + dt.timedelta(days=ahead)
            for start, _end in self.days[day.weekday()]:
                opening = dt.datetime.combine(day, start, tzinfo=zone)
                if opening > local:
                    return opening.astimezone(dt.UTC)
        return None


def _time(text: str, part: str) -> dt.time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours == 24 and minutes == 0:
        return dt.time(23, 59, 59)
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{part!r}: {text} is not a time of day")
    return dt.time(hours, minutes)


def _span(first: int, last: int) -> list[int]:
    """Mon-Fri, or a span over the week's end (Sat-Mon)."""
    return [(first + i) % 7 for i in range((last - first) % 7 + 1)]
