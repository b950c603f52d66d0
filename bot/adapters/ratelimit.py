"""Pacing of outgoing messages within Telegram's limits.

Telegram allows about 30 messages a second overall, one a second per chat, and 20 a minute per
group. We stay under them (25/s by default) so that clock skew between us and Telegram never
turns into a 429. Times are the process clock's (DESIGN: the whole process runs on one clock): on
a fast demo clock the limits are simulated seconds too; without a clock, the loop's monotonic time.
"""

from __future__ import annotations

import asyncio
import collections

from bot.clock import Clock


class RateLimiter:
    def __init__(
        self,
        per_second: int = 25,
        per_chat_interval: float = 1.05,
        group_per_minute: int = 18,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock
        self.per_second = per_second
        self.per_chat_interval = per_chat_interval
        self.group_per_minute = group_per_minute
        self._sent: collections.deque[float] = collections.deque()
        self._chat_next: dict[int, float] = {}
        self._group_sent: dict[int, collections.deque[float]] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def _now(self) -> float:
        if self._clock is None:
            return asyncio.get_running_loop().time()
        return self._clock.now().timestamp()

    def real_seconds(self, seconds: float) -> float:
        return self._clock.real_seconds(seconds) if self._clock else seconds

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(seconds))

    def pause(self, seconds: float) -> None:
        """Telegram said retry_after: nobody sends until then."""
        self._paused_until = max(self._paused_until, self._now() + seconds)

    async def acquire(self, chat_id: int) -> None:
        # The per-chat slot is reserved first, without the lock, so one busy chat never holds up
        # sends to the others.
        now = self._now()
        slot = max(now, self._chat_next.get(chat_id, 0.0))
        self._chat_next[chat_id] = slot + self.per_chat_interval
        if slot > now:
            await self._sleep(slot - now)
        async with self._lock:
            while True:
                now = self._now()
                wait = self._paused_until - now
                while self._sent and self._sent[0] <= now - 1.0:
                    self._sent.popleft()
                if len(self._sent) >= self.per_second:
                    wait = max(wait, self._sent[0] + 1.0 - now)
                if chat_id < 0:
                    group = self._group_sent.setdefault(chat_id, collections.deque())
                    while group and group[0] <= now - 60.0:
                        group.popleft()
                    if len(group) >= self.group_per_minute:
                        wait = max(wait, group[0] + 60.0 - now)
                if wait <= 0:
                    break
                await self._sleep(wait)
            self._sent.append(now)
            if chat_id < 0:
                self._group_sent[chat_id].append(now)
        if len(self._chat_next) > 10_000:
            self._forget_idle_chats(now)

    def _forget_idle_chats(self, now: float) -> None:
        for chat, next_at in list(self._chat_next.items()):
            if next_at < now:
                del self._chat_next[chat]
