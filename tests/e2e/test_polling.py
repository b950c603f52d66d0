"""Polling under load: while the bot is busy with an update, the next ones wait at Telegram and
come in as one batch, stored at once, instead of one getUpdates and one store each."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.db.models import InboundUpdate
from telegram_standin import Fault
from tests.e2e.conftest import Harness

FIRST = 9200


async def test_updates_arriving_while_the_bot_is_busy_are_fetched_as_one_batch(
    harness: Harness,
) -> None:
    h = harness
    users = [FIRST + i for i in range(11)]
    for user in users:
        h.standin.add_user(user, f"U{user}")
    # the reply to the first message is answered late (within the bot's send timeout): the
    # bot is busy meanwhile
    h.standin.fail_next("sendMessage", Fault.slow(0.8), chat_id=users[0])
    first = h.standin.send_text(users[0], "/help")
    await h.standin.wait_for(lambda: bool(h.standin.sent_to(users[0])))
    later = []
    for user in users[1:]:
        later.append(h.standin.send_text(user, "/help"))
        await asyncio.sleep(0.02)  # one by one, as people write
    await h.standin.wait_for(lambda: all(h.standin.sent_to(u) for u in users))
    async with h.ctx.db() as db:
        rows = {
            row.update_id: row for row in (await db.execute(select(InboundUpdate))).scalars().all()
        }
    assert sorted(rows) == [first, *later]
    for_later = {rows[u].received_at for u in later}
    # the first of them may have been fetched while the bot was still free; the rest waited
    assert len(for_later) <= 2, sorted(for_later)
