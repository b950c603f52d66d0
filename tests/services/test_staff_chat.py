"""Who reads the staff chat (issue 11, item 12): its members are counted against the registered
staff; when there are more, staff are told in the chat and `aftercare status` warns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import ScheduledMessage
from bot.services import health, staff
from bot.services.context import Context

STAFF_CHAT = -1001


class Members:
    """A stand-in for getChatMemberCount: the count it is set to, and the chats asked."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.asked: list[int] = []

    async def __call__(self, chat_id: int) -> int:
        self.asked.append(chat_id)
        return self.count


async def crowd_notices(ctx: Context) -> list[ScheduledMessage]:
    async with ctx.db() as db:
        stmt = select(ScheduledMessage).where(ScheduledMessage.step_key == "staff:staff-chat-crowd")
        return list((await db.execute(stmt)).scalars())


async def test_more_members_than_staff_warns_the_chat_and_the_status(ctx: Context) -> None:
    await staff.add_staff(ctx, 11, "Joy", "nurse")
    members = Members(4)  # Joy, the bot, and two more
    assert await health.check_staff_chat(ctx, members) == 4
    assert members.asked == [STAFF_CHAT]
    [notice] = await crowd_notices(ctx)
    assert notice.chat_id == STAFF_CHAT
    assert "Everyone in this chat reads every alert" in (notice.body or "")
    assert "Members of this chat: 4 (the bot included); registered staff: 1" in (notice.body or "")
    found = await health.check(ctx)
    assert found.warnings == [
        "the staff chat has 4 members but 1 registered staff and the bot: everyone in it reads "
        "every alert"
    ]
    assert found.healthy  # a warning, not a fault: monitoring is not paged for it


async def test_the_chat_hears_of_it_daily_or_when_more_join(
    ctx: Context, clock: FrozenClock
) -> None:
    members = Members(3)
    await health.check_staff_chat(ctx, members)
    clock.advance(dt.timedelta(hours=1))
    await health.check_staff_chat(ctx, members)  # a restart: not again
    assert len(await crowd_notices(ctx)) == 1
    members.count = 5
    await health.check_staff_chat(ctx, members)  # more joined: at once
    assert len(await crowd_notices(ctx)) == 2
    clock.advance(health.CROWD_EVERY)
    await health.check_staff_chat(ctx, members)  # the daily check
    assert len(await crowd_notices(ctx)) == 3


async def test_staff_and_the_bot_alone_raise_nothing(ctx: Context) -> None:
    await staff.add_staff(ctx, 11, "Joy", "nurse")
    await staff.add_staff(ctx, 12, "Max", "clinician")
    await health.check_staff_chat(ctx, Members(3))
    assert await crowd_notices(ctx) == []
    assert (await health.check(ctx)).warnings == []


async def test_registering_the_others_clears_the_warning(ctx: Context) -> None:
    await health.check_staff_chat(ctx, Members(3))
    assert (await health.check(ctx)).warnings
    await staff.add_staff(ctx, 11, "Joy", "nurse")
    await staff.add_staff(ctx, 12, "Max", "clinician")
    assert (await health.check(ctx)).warnings == []
