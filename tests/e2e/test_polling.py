"""Polling under load: while every place the bot handles updates in is taken, the next ones wait
at Telegram and come in as one batch, stored at once, instead of one getUpdates and one store
each."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.db.models import InboundUpdate
from bot.services import staff
from telegram_standin import Fault
from tests.e2e.conftest import Harness

FIRST = 9200


async def test_updates_arriving_while_the_bot_is_busy_are_fetched_as_one_batch(
    harness: Harness,
) -> None:
    h = harness
    places = h.runtime.updates.concurrency
    busy = [FIRST + i for i in range(places)]
    users = [FIRST + places + i for i in range(10)]
    for user in busy + users:
        h.standin.add_user(user, f"U{user}")
        # staff: known to the bot, so not in the strangers' few places
        await staff.add_staff(h.ctx, user, f"Nurse {user}", "nurse")
    # the replies in as many chats as the bot handles at once are answered late (within the
    # bot's send timeout): every place is taken meanwhile
    for user in busy:
        h.standin.fail_next("sendMessage", Fault.slow(0.8), chat_id=user)
        h.standin.send_text(user, "/help")
    await h.standin.wait_for(lambda: h.runtime.updates.in_hand == places)
    later = []
    for user in users:
        later.append(h.standin.send_text(user, "/help"))
        await asyncio.sleep(0.02)  # one by one, as people write
    await h.standin.wait_for(lambda: all(h.standin.sent_to(u) for u in busy + users))
    async with h.ctx.db() as db:
        rows = {
            row.update_id: row for row in (await db.execute(select(InboundUpdate))).scalars().all()
        }
    assert set(later) <= set(rows)
    for_later = {rows[u].received_at for u in later}
    # the first of them may have been fetched while the bot was still free; the rest waited
    assert len(for_later) <= 2, sorted(for_later)
