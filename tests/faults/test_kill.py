"""SIGKILL in the middle of sending, then a restart: no patient message twice, none lost.

`aftercare run` runs as its own process against the stand-in (real HTTP, Telegram's limits in
real time) and is killed with SIGKILL mid-burst, three times at different moments; a fresh
process then finishes the work. Every message must end sent (and have arrived exactly once) or
uncertain (arrived at most once): nothing is silently lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal

from sqlalchemy import select

from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.models import MessageStatus, ScheduledMessage
from telegram_standin import StandIn
from tests.bulk import add_due_messages
from tests.conftest import TOKEN, make_context
from tests.faults.botprocess import start_bot

MESSAGES = 150
# a claim left by a killed process is settled after 2 s instead of 5 minutes
LEASE = "2"
FIRST_USER = 40_000


async def test_sigkill_mid_burst_then_restart_loses_and_doubles_nothing(
    settings: Settings, database_url: str
) -> None:
    ctx, engine = make_context(settings, ScaledClock())
    users = await add_due_messages(
        ctx, MESSAGES, MESSAGES, dt.timedelta(hours=1), first_user=FIRST_USER
    )
    async with StandIn(token=TOKEN) as standin:
        for user in users:
            standin.add_user(user, f"P{user}")
        for arrived_before_kill in (10, 40, 80):
            process = await start_bot(standin, database_url, claim_lease=LEASE)
            await standin.wait_for(lambda n=arrived_before_kill: len(standin.messages) >= n, 60)
            process.send_signal(signal.SIGKILL)
            await process.wait()
        await asyncio.sleep(2.5)  # the killed processes' claims are now past their lease
        process = await start_bot(standin, database_url, claim_lease=LEASE)
        try:
            for _ in range(600):
                async with ctx.db() as db:
                    open_rows = (
                        await db.execute(
                            select(ScheduledMessage.id).where(
                                ScheduledMessage.status.in_(
                                    [MessageStatus.PENDING, MessageStatus.SENDING]
                                )
                            )
                        )
                    ).all()
                if not open_rows:
                    break
                await asyncio.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
        async with ctx.db() as db:
            rows = (await db.execute(select(ScheduledMessage))).scalars().all()
    await engine.dispose()  # type: ignore[attr-defined]
    arrived = [m.text for m in standin.messages]
    assert len(arrived) == len(set(arrived)), "a patient got a message twice"
    by_text = {r.body: r for r in rows}
    statuses = {r.status for r in rows}
    assert statuses <= {MessageStatus.SENT, MessageStatus.UNCERTAIN}, statuses
    sent = [r for r in rows if r.status == MessageStatus.SENT]
    # every message marked sent arrived; every arrival is a sent or an uncertain row
    assert {r.body for r in sent} <= set(arrived)
    assert all(
        by_text[text].status in (MessageStatus.SENT, MessageStatus.UNCERTAIN) for text in arrived
    )
    uncertain = [r for r in rows if r.status == MessageStatus.UNCERTAIN]
    # only what was in flight when a process died can be uncertain: at most a batch per kill
    assert len(uncertain) <= 3 * 64
    assert len(sent) + len(uncertain) == MESSAGES
