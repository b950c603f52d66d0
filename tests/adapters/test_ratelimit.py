"""The pacer keeps Telegram's limits however requests overlap (properties, not timings)."""

from __future__ import annotations

import asyncio
import itertools

from bot.adapters.ratelimit import RateLimiter


async def _send(
    limiter: RateLimiter, chat: int, hold: float, starts: list[tuple[float, int]]
) -> None:
    loop = asyncio.get_running_loop()
    async with limiter.slot(chat):
        starts.append((loop.time(), chat))
        await asyncio.sleep(hold)


def _most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


async def test_no_more_than_the_overall_limit_in_any_second() -> None:
    limiter = RateLimiter(per_second=5, per_chat_interval=0.0)
    starts: list[tuple[float, int]] = []
    await asyncio.gather(*(_send(limiter, chat, 0.05, starts) for chat in range(12)))
    assert len(starts) == 12
    assert _most_in_any_window([t for t, _ in starts], 1.0) <= 5


async def test_requests_in_flight_count_against_the_limit() -> None:
    # slow answers: a request still waiting for Telegram holds its place in the second
    limiter = RateLimiter(per_second=3, per_chat_interval=0.0)
    starts: list[tuple[float, int]] = []
    await asyncio.gather(*(_send(limiter, chat, 0.3, starts) for chat in range(6)))
    times = sorted(t for t, _ in starts)
    assert times[3] - times[0] >= 0.3  # the fourth waited for the first to finish


async def test_one_chat_gets_one_message_per_interval() -> None:
    limiter = RateLimiter(per_second=100, per_chat_interval=0.2)
    starts: list[tuple[float, int]] = []
    await asyncio.gather(*(_send(limiter, 7, 0.0, starts) for _ in range(4)))
    times = sorted(t for t, _ in starts)
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(times))


async def test_a_retry_after_pauses_everyone() -> None:
    limiter = RateLimiter(per_second=100, per_chat_interval=0.0)
    loop = asyncio.get_running_loop()
    paused_at = loop.time()
    limiter.pause(0.3)
    starts: list[tuple[float, int]] = []
    await asyncio.gather(*(_send(limiter, chat, 0.0, starts) for chat in range(3)))
    assert min(t for t, _ in starts) - paused_at >= 0.29
