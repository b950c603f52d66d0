"""Telegram-like flood limits on sends: sliding windows (global, per group), per-chat buckets."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most `limit` hits in any `period` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._hits: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more hit would fit (0 when it fits now)."""
        while self._hits and self._hits[0] <= now - self.period:
            self._hits.popleft()
        if len(self._hits) < self.limit:
            return 0.0
        return self._hits[0] + self.period - now

    def hit(self, now: float) -> None:
        self._hits.append(now)


class TokenBucket:
    """Bursts up to `capacity`, then `rate` tokens per second."""

    def __init__(self, capacity: int, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self._tokens = float(capacity)
        self._stamp = now

    def wait(self, now: float) -> float:
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def hit(self, now: float) -> None:
        self._tokens -= 1.0


class RateLimiter:
    """Decides at request arrival whether a send is allowed; only delivered sends count."""

    def __init__(
        self,
        *,
        global_limit: tuple[int, float],
        chat_burst: int,
        chat_rate: float,
        group_limit: tuple[int, float],
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._now = now
        self._global = SlidingWindow(*global_limit)
        self._chat_burst = chat_burst
        self._chat_rate = chat_rate
        self._group_limit = group_limit
        self._private: dict[int, TokenBucket] = {}
        self._groups: dict[int, SlidingWindow] = {}

    def check(self, chat_id: int | None) -> int | None:
        """None when a send to the chat may go ahead now, else the retry_after to answer."""
        now = self._now()
        wait = max(limit.wait(now) for limit in self._limits(chat_id, now))
        return max(1, math.ceil(wait)) if wait > 0 else None

    def record(self, chat_id: int | None) -> None:
        """Counts a delivered send; refused or failed sends are never counted."""
        now = self._now()
        for limit in self._limits(chat_id, now):
            limit.hit(now)

    def _limits(self, chat_id: int | None, now: float) -> list[SlidingWindow | TokenBucket]:
        limits: list[SlidingWindow | TokenBucket] = [self._global]
        if chat_id is not None and chat_id < 0:
            limits.append(self._groups.setdefault(chat_id, SlidingWindow(*self._group_limit)))
        elif chat_id is not None:
            bucket = self._private.get(chat_id)
            if bucket is None:
                bucket = self._private[chat_id] = TokenBucket(
                    self._chat_burst, self._chat_rate, now
                )
            limits.append(bucket)
        return limits
