"""Pacing of outgoing messages within Telegram's limits.

Telegram allows about 30 messages a second overall, one a second per chat, and 20 a minute per
group. We stay just under them (29/s by default), and count a request against the second from
when it leaves until a second after its answer, so however the network bunches requests up,
Telegram never sees more than that in a second. Times are the process clock's (the whole
process runs on one clock): on a fast demo clock the limits are simulated seconds too; without
a clock, the event loop's monotonic time.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator

from bot.clock import Clock


class RateLimiter:
    """Hands out send slots; hold one for the whole request (`async with limiter.slot(chat)`).

    The overall limit counts requests in flight plus those answered within the last second: any
    request Telegram saw in the last second is one of those, however the network bunched them up
    on the way, so Telegram never counts more than `per_second` in a second.
    """

    def __init__(
        self,
        per_second: int = 29,
        per_chat_interval: float = 1.05,
        group_per_minute: int = 18,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock
        self.per_second = per_second
        self.per_chat_interval = per_chat_interval
        self.group_per_minute = group_per_minute
        self._in_flight = 0
        self._done: collections.deque[float] = collections.deque()
        self._chat_next: dict[int, float] = {}
        self._group_sent: dict[int, collections.deque[float]] = {}
        self._paused_until = 0.0
        self._changed = asyncio.Condition()

    def _now(self) -> float:
        if self._clock is None:
            return asyncio.get_running_loop().time()
        return self._clock.now().timestamp()

    def real_seconds(self, seconds: float) -> float:
        return self._clock.real_seconds(seconds) if self._clock else seconds

    def pause(self, seconds: float) -> None:
        """Telegram said retry_after: nobody sends until then."""
        self._paused_until = max(self._paused_until, self._now() + seconds)

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int) -> AsyncIterator[None]:
        await self._acquire(chat_id)
        try:
            yield
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._done.append(self._now())
                self._changed.notify_all()

    async def _acquire(self, chat_id: int) -> None:
        # The per-chat slot is reserved first, outside the shared lock, so one busy chat never
        # holds up sends to the others.
        now = self._now()
        slot = max(now, self._chat_next.get(chat_id, 0.0))
        self._chat_next[chat_id] = slot + self.per_chat_interval
        if slot > now:
            await asyncio.sleep(self.real_seconds(slot - now))
        async with self._changed:
            while (wait := self._wait(chat_id)) != 0.0:
                timeout = None if wait is None else self.real_seconds(wait)
                # woken early when a request finishes; otherwise when the window frees up
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
            self._in_flight += 1
            if chat_id < 0:
                self._group_sent.setdefault(chat_id, collections.deque()).append(self._now())
        if len(self._chat_next) > 10_000:
            self._forget_idle_chats(self._now())

    def _wait(self, chat_id: int) -> float | None:
        """Seconds until a send to `chat_id` may start: 0 now, None until a request finishes."""
        now = self._now()
        wait = max(self._paused_until - now, 0.0)
        while self._done and self._done[0] <= now - 1.0:
            self._done.popleft()
        if self._in_flight + len(self._done) >= self.per_second:
            if not self._done:
                return None
            wait = max(wait, self._done[0] + 1.0 - now)
        group = self._group_sent.get(chat_id)
        if group is not None:
            while group and group[0] <= now - 60.0:
                group.popleft()
            if len(group) >= self.group_per_minute:
                wait = max(wait, group[0] + 60.0 - now)
        return wait

    def _forget_idle_chats(self, now: float) -> None:
        for chat, next_at in list(self._chat_next.items()):
            if next_at < now:
                del self._chat_next[chat]
