"""Ambiguous sends: Telegram took the message but the bot never heard so.

The bot runs in this process against the stand-in, on a clock 10 times faster than real time
(the send timeout and the slow answers are real seconds). Of 40 messages due at once (one per
patient), 5 are accepted and delivered, then the connection is dropped before the answer;
5 are delivered but answered after the bot's send timeout (1 s); 5 more meet a 502 first,
which is not ambiguous (Telegram answered and took nothing).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt

from sqlalchemy import select

from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.models import MessageStatus, Patient
from telegram_standin import Fault
from tests.bulk import add_due_messages
from tests.conftest import T0
from tests.faults.inprocess import STAFF_CHAT, rows, running_bot, sends, standin_on
from tests.faults.inprocess import wait_until_settled as settled

MESSAGES = 40
FIRST_USER = 80_000
SEND_TIMEOUT = 1.0


async def test_uncertain_count_equals_the_injected_ambiguous_sends_and_none_is_resent(
    settings: Settings,
) -> None:
    """Numbers: exactly 10 messages end uncertain, the 10 injected (5 dropped after delivery,
    5 answered after the timeout), each sent once and never again, even hours later while
    still useful; the other 30 are sent, each arriving once (the 5 after a 502 on the second
    try); 40 of 40 arrived once."""
    users = [FIRST_USER + i for i in range(MESSAGES)]
    dropped, slow, refused = users[2::8], users[5::8], users[7::8]
    clock = ScaledClock(10.0, start=T0)  # the retry after the 502 comes 1 real second later
    async with standin_on(clock) as standin:
        standin.add_group(STAFF_CHAT)
        for user in users:
            standin.add_user(user, f"P{user}")
        for user in dropped:
            standin.fail_next("sendMessage", Fault.deliver_then_drop(), chat_id=user)
        for user in slow:
            standin.fail_next("sendMessage", Fault.slow(SEND_TIMEOUT + 1.5), chat_id=user)
        for user in refused:
            standin.fail_next("sendMessage", Fault.server_error(502), chat_id=user)
        async with running_bot(settings, standin, clock, send_timeout=SEND_TIMEOUT) as ctx:
            await add_due_messages(ctx, MESSAGES, MESSAGES, dt.timedelta(hours=3), FIRST_USER)
            ctx.wake()
            await settled(ctx, timeout=20)
            # two hours on, everything still useful: nothing is tried again
            clock.advance(dt.timedelta(hours=2))
            ctx.wake()
            await asyncio.sleep(0.5)
            await settled(ctx, timeout=5)
            final = await rows(ctx)
            async with ctx.db() as db:
                found = (await db.execute(select(Patient))).scalars()
                patients = {p.id: p.telegram_user_id for p in found}
    by_chat = {patients[r.patient_id]: r for r in final if r.patient_id is not None}
    uncertain = sorted(chat for chat, r in by_chat.items() if r.status == MessageStatus.UNCERTAIN)
    assert uncertain == sorted(dropped + slow)
    assert len(uncertain) == 10
    assert {r.status for c, r in by_chat.items() if c not in uncertain} == {MessageStatus.SENT}
    tries = collections.Counter(x.chat_id for x in sends(standin))
    assert all(tries[chat] == 1 for chat in uncertain), "an uncertain message was sent again"
    assert all(tries[chat] == 2 for chat in refused)
    assert all(by_chat[chat].attempts == 2 for chat in refused)
    arrived = collections.Counter(m.chat_id for m in standin.messages)
    assert arrived == collections.Counter(users), "a message lost or doubled"
    print(
        f"\nambiguous: {len(uncertain)} uncertain for 10 injected, each tried once; "
        f"{sum(arrived.values())} of {MESSAGES} arrived once"
    )
