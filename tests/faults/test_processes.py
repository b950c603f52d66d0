"""Three `aftercare run` processes on one PostgreSQL: 2,000 messages over 500 chats.

Numbers that must hold: 0 duplicates; every message sent; at most one message per second in
any chat (consecutive arrivals in a chat at least 1 s apart, however the three processes
interleave); 0 × 429 although each process alone would be allowed the whole overall rate
(they split it between the processes alive); all three processes took part.

The stand-in's overall limit is raised to 300/s (and AFTERCARE_SEND_RATE to 290) so the run
takes seconds: the per-chat limit, which is what processes can break by racing, stays
Telegram's. PostgreSQL only: SQLite serialises writers, and production chains run PostgreSQL.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import re
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.models import MessageStatus, ScheduledMessage
from telegram_standin import StandIn
from tests.bulk import add_due_messages
from tests.conftest import PG_URL, TOKEN, make_context
from tests.faults.botprocess import start_bot

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (AFTERCARE_TEST_DATABASE_URL)")

MESSAGES = 2000
CHATS = 500
PROCESSES = 3
FIRST_USER = 60_000


async def test_three_processes_share_the_work_within_telegrams_limits(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    ctx, engine = make_context(settings, ScaledClock())
    users = await add_due_messages(
        ctx, MESSAGES, CHATS, dt.timedelta(hours=1), first_user=FIRST_USER
    )
    logs = [tmp_path / f"bot{i}.log" for i in range(PROCESSES)]
    async with StandIn(token=TOKEN, global_limit=(300, 1.0)) as standin:
        for user in users:
            standin.add_user(user, f"P{user}")
        # all three are up before any message is due for them: the rows are due already, so
        # the first process starts sending at once and the others join it mid-burst
        processes = [
            await start_bot(standin, database_url, log=log, send_rate="290") for log in logs
        ]
        try:
            for _ in range(1200):
                async with ctx.db() as db:
                    left = (
                        await db.execute(
                            select(func.count()).where(
                                ScheduledMessage.status.in_(
                                    [MessageStatus.PENDING, MessageStatus.SENDING]
                                )
                            )
                        )
                    ).scalar_one()
                if left == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                await process.wait()
        async with ctx.db() as db:
            statuses = collections.Counter(
                (await db.execute(select(ScheduledMessage.status))).scalars().all()
            )
        arrived = list(standin.messages)
        rate_limited = standin.rate_limited
    await engine.dispose()  # type: ignore[attr-defined]

    assert statuses == {MessageStatus.SENT: MESSAGES}, statuses
    texts = [m.text for m in arrived]
    assert len(texts) == MESSAGES and len(set(texts)) == MESSAGES, "a message arrived twice"
    assert rate_limited == 0
    by_chat: dict[int, list[dt.datetime]] = collections.defaultdict(list)
    for message in arrived:
        by_chat[message.chat_id].append(message.at)
    assert len(by_chat) == CHATS
    closest = min(
        (b - a).total_seconds()
        for times in by_chat.values()
        for a, b in zip(sorted(times), sorted(times)[1:], strict=False)
    )
    assert closest >= 1.0, f"two messages {closest:.3f} s apart in one chat"
    # every process sent some: the work was shared, not drained by the first to start
    sent_by = [sum(int(n) for n in re.findall(rb"sent=(\d+)", log.read_bytes())) for log in logs]
    print(f"closest per-chat gap {closest:.3f} s; sent per process {sent_by}")
    assert all(n > 0 for n in sent_by), sent_by
    assert sum(sent_by) == MESSAGES
