"""A 429 storm: Telegram's flood control refuses a burst of sends, again and again.

The bot runs in this process on a real-time clock against the stand-in, whose overall flood
limit is a third of the bot's pace (10 sends a second against 29), so the limits answer 429s
(retry after 1 s) all along; on top, two bursts of injected 429s announce longer waits (ten of
3 s at the start, six of 4 s a third of the way). Every request the stand-in receives is logged
with its arrival time and the time of its answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.models import MessageStatus
from telegram_standin import Exchange, Fault
from tests.bulk import add_due_messages
from tests.conftest import T0
from tests.faults.inprocess import rows, running_bot, sends, standin_on, wait_until_settled

MESSAGES = 60
CHATS = 60
FIRST_USER = 60_000
# A request already on its way when the 429 was answered cannot know of it: one that arrives
# this soon after the answer (real seconds, loopback, one event loop) was sent before it.
IN_FLIGHT = 0.1
BATCH = 8  # the dispatcher's claim batch at 29/s: at most this many sends in flight at once


def inside_windows(log: list[Exchange]) -> tuple[list[tuple[Exchange, Exchange]], list[int]]:
    """Sends that arrived inside an announced retry_after window, with the 429 that announced
    it; and for each 429, how many sends arrived too soon after it to have known of it."""
    refusals = [x for x in log if x.status == 429]
    violations: list[tuple[Exchange, Exchange]] = []
    in_flight = [0] * len(refusals)
    for later in log:
        for i, refusal in enumerate(refusals):
            assert refusal.answered is not None and refusal.retry_until is not None
            if not refusal.answered < later.arrived < refusal.retry_until:
                continue
            if later.arrived < refusal.answered + IN_FLIGHT:
                in_flight[i] += 1
            else:
                violations.append((refusal, later))
    return violations, in_flight


async def test_no_send_arrives_inside_an_announced_retry_after_and_all_arrive_once(
    settings: Settings,
) -> None:
    """Numbers: 0 sends arrive inside an announced retry_after window, over at least 20 429s
    (sends already in flight when a 429 was answered are not counted: those arriving within
    0.1 s of it, at most one claim batch of 8); 60 of 60 messages arrive, each exactly once,
    and every row ends sent."""
    clock = ScaledClock(1.0, start=T0)
    standin = standin_on(clock, limits_on_clock=False, global_limit=(10, 1.0))
    async with standin:
        standin.add_group(-1001)
        standin.fail_next("sendMessage", Fault.retry_after(3), count=10)
        async with running_bot(settings, standin, clock) as ctx:
            users = await add_due_messages(
                ctx, MESSAGES, CHATS, dt.timedelta(hours=1), first_user=FIRST_USER
            )
            for user in users:
                standin.add_user(user, f"P{user}")
            ctx.wake()
            await standin.wait_for(lambda: len(standin.messages) >= MESSAGES // 3, timeout=20)
            standin.fail_next("sendMessage", Fault.retry_after(4), count=6)
            await standin.wait_for(lambda: len(standin.messages) >= MESSAGES, timeout=25)
            await wait_until_settled(ctx, timeout=5)
            await asyncio.sleep(0.5)  # nothing more should come
            final = await rows(ctx)
    log = sends(standin)
    refusals = [x for x in log if x.status == 429]
    violations, in_flight = inside_windows(log)
    report = [
        f"{later.arrived - refusal.answered:.3f}s after a 429 of {refusal.retry_after}s"
        for refusal, later in violations
    ]
    assert violations == [], report
    assert len(refusals) >= 20, f"only {len(refusals)} 429s: the storm did not happen"
    assert {x.retry_after for x in refusals} >= {1, 3, 4}  # flood limits and both bursts
    assert max(in_flight) <= BATCH
    texts = [m.text for m in standin.messages]
    assert sorted(texts) == sorted(f"message {i}" for i in range(MESSAGES)), "lost or doubled"
    assert {r.status for r in final} == {MessageStatus.SENT}
    print(
        f"\n429 storm: {len(log)} sends, {len(refusals)} answered 429 ({standin.rate_limited} by"
        f" the flood limits), 0 inside a window, at most {max(in_flight)} in flight after a 429;"
        f" {len(texts)} messages delivered once each"
    )
