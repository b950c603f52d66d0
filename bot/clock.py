"""The process clock: real UTC time, or a scaled one for demos and acceptance runs."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    """What services ask for the time; injected, never read from the system directly."""

    def now(self) -> dt.datetime: ...

    def real_seconds(self, simulated: float) -> float:
        """How many real seconds a span of simulated seconds takes on this clock."""
        ...

    def simulated_seconds(self, real: float) -> float:
        """How many simulated seconds pass in a span of real seconds."""
        ...


class ScaledClock:
    """UTC time that runs `speed` simulated seconds per real second from a chosen origin."""

    def __init__(self, speed: float = 1.0, start: dt.datetime | None = None) -> None:
        self.speed = speed
        self._origin_real = time.time()
        self._origin = start or dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        elapsed = (time.time() - self._origin_real) * self.speed
        return self._origin + dt.timedelta(seconds=elapsed)

    def real_seconds(self, simulated: float) -> float:
        return simulated / self.speed

    def simulated_seconds(self, real: float) -> float:
        return real * self.speed

    def set_speed(self, speed: float) -> None:
        """Changes pace from now on (the demo slows down while people are typing)."""
        self._origin, self._origin_real = self.now(), time.time()
        self.speed = speed

    def advance(self, delta: dt.timedelta) -> None:
        """Jumps ahead (tests walk through a plan this way); it keeps running from there."""
        self._origin += delta


class FrozenClock:
    """A clock that moves only when told to; for tests."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta

    def set(self, when: dt.datetime) -> None:
        self._now = when

    def real_seconds(self, simulated: float) -> float:
        return simulated

    def simulated_seconds(self, real: float) -> float:
        return real
