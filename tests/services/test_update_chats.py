"""The inbox hands out chats side by side, each chat's updates one at a time and in order, known
senders' before strangers'; also to several claimers on their own connections at once."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.models import InboundUpdate
from bot.services import inbox, staff
from bot.services.context import Context
from tests.conftest import make_context
from tests.services.helpers import active_patient

LEASE = dt.timedelta(minutes=5)
STAFF_CHAT = -1001  # the settings fixture's


def text(update_id: int, chat: int, sender: int | None = None) -> dict[str, Any]:
    sender = chat if sender is None else sender
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
            "from": {"id": sender, "is_bot": False, "first_name": "P"},
            "text": "hello",
        },
    }


def press(update_id: int, chat: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": {"id": chat, "is_bot": False, "first_name": "P"},
            "message": {"message_id": 1, "date": 0, "chat": {"id": chat, "type": "private"}},
            "chat_instance": "1",
            "data": "x",
        },
    }


async def claimed_ids(ctx: Context, *, strangers: bool = True) -> list[int]:
    """Claims until nothing is left to take (finishing nothing)."""
    taken = []
    while (row := await inbox.claim_next(ctx, LEASE, strangers=strangers)) is not None:
        taken.append(row.update_id)
    return taken


@pytest.mark.parametrize(
    ("payload", "chat", "sender"),
    [
        (text(1, 5), 5, 5),
        (text(1, STAFF_CHAT, sender=7), STAFF_CHAT, 7),
        (press(1, 6), 6, 6),
        ({"update_id": 1, "edited_message": text(1, 8)["message"]}, 8, 8),
        ({"update_id": 1, "my_chat_member": {"chat": {"id": -5}, "from": {"id": 9}}}, -5, 9),
        ({"update_id": 1, "poll_answer": {"poll_id": "p", "user": {"id": 4}}}, 4, 4),
        ({"update_id": 1, "poll": {"id": "p"}}, None, None),
        ({"update_id": 1}, None, None),
    ],
)
def test_each_update_kind_names_its_chat_and_sender(
    payload: dict[str, Any], chat: int | None, sender: int | None
) -> None:
    assert inbox.chat_of(payload) == chat
    assert inbox.sender_of(payload) == sender


async def test_one_chats_updates_are_handed_out_one_at_a_time_and_in_order(
    ctx: Context,
) -> None:
    await active_patient(ctx, 100)
    await active_patient(ctx, 200, name="Ben")
    await inbox.store(ctx, [text(1, 100), text(2, 100), text(3, 200), press(4, 100), text(5, 200)])

    # one of each chat; the rest wait behind the one being handled
    assert await claimed_ids(ctx) == [1, 3]
    await inbox.finish(ctx, 3, ok=True)
    assert await claimed_ids(ctx) == [5]
    # finishing one and claiming the next in one transaction takes the chat's next
    following = await inbox.finish(ctx, 1, ok=False, then_claim=LEASE)
    assert following is not None and following.update_id == 2
    assert await claimed_ids(ctx) == []
    await inbox.finish(ctx, 2, ok=True)
    assert await claimed_ids(ctx) == [4]


async def test_a_chat_stays_held_by_a_dead_process_until_the_lease_and_resumes_in_order(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, 100)
    await inbox.store(ctx, [text(1, 100), text(2, 100)])
    assert await claimed_ids(ctx) == [1]  # its process dies while handling it

    clock.advance(LEASE)
    assert await claimed_ids(ctx) == []
    clock.advance(dt.timedelta(seconds=1))
    # taken again, before the chat's next one
    assert await claimed_ids(ctx) == [1]


async def test_an_earlier_update_arriving_late_waits_for_the_one_being_handled(
    ctx: Context,
) -> None:
    """A webhook may bring a chat's updates out of order: never two of one chat at once."""
    await inbox.store(ctx, [text(5, 100)])
    assert await claimed_ids(ctx) == [5]
    await inbox.store(ctx, [text(4, 100)])
    assert await claimed_ids(ctx) == []
    await inbox.finish(ctx, 5, ok=True)
    assert await claimed_ids(ctx) == [4]


async def test_updates_without_a_chat_are_handed_out_freely(ctx: Context) -> None:
    await inbox.store(ctx, [{"update_id": 1, "poll": {"id": "p"}}, {"update_id": 2}])
    assert await claimed_ids(ctx) == [1, 2]


async def test_strangers_updates_come_after_patients_and_staff_and_only_when_room(
    ctx: Context,
) -> None:
    await active_patient(ctx, 100)
    await staff.add_staff(ctx, 300, "Nurse Joy", "nurse")
    await inbox.store(
        ctx,
        [
            text(1, 900),  # a stranger
            text(2, 901),  # another
            text(3, 100),  # a patient
            text(4, STAFF_CHAT, sender=902),  # anyone in the staff chat: the staff chat's
            text(5, 300),  # staff writing to the bot
        ],
    )
    async with ctx.db() as db:
        marked = dict(
            (await db.execute(select(InboundUpdate.update_id, InboundUpdate.is_stranger))).all()
        )
    assert marked == {1: True, 2: True, 3: False, 4: False, 5: False}

    assert await claimed_ids(ctx, strangers=False) == [3, 4, 5]
    assert await claimed_ids(ctx) == [1, 2]


async def test_several_claimers_never_hold_two_updates_of_one_chat_and_keep_its_order(
    settings: Settings, clock: FrozenClock, ctx: Context
) -> None:
    chats = [100 + n for n in range(6)]
    for chat in chats:
        await active_patient(ctx, chat, name=f"P{chat}")
    rng = random.Random(11)
    order = [rng.choice(chats) for _ in range(90)]
    await inbox.store(ctx, [text(n, chat) for n, chat in enumerate(order, start=1)])
    # four "processes", each with its own engine, each handling two updates at a time
    workers = [make_context(settings, clock) for _ in range(4)]
    holding: dict[int, int] = {}
    handled: dict[int, list[int]] = collections.defaultdict(list)
    overlaps: list[tuple[int, int, int]] = []

    async def runner(worker: Context) -> None:
        row = await inbox.claim_next(worker, LEASE)
        while row is not None:
            chat = row.chat_id
            assert chat is not None
            if chat in holding:
                overlaps.append((chat, holding[chat], row.update_id))
            holding[chat] = row.update_id
            handled[chat].append(row.update_id)
            await asyncio.sleep(rng.random() / 200)  # handling it
            del holding[chat]
            row = await inbox.finish(worker, row.update_id, True, then_claim=LEASE)

    async def process(worker: Context) -> None:
        # as UpdateWorker does: a runner per free place while something can be taken
        await asyncio.gather(runner(worker), runner(worker))

    try:
        for _ in range(200):  # runners stop when nothing is free for a moment: start again
            if sum(len(taken) for taken in handled.values()) == len(order):
                break
            await asyncio.gather(*(process(w) for w, _ in workers))
    finally:
        for _, engine in workers:
            await engine.dispose()  # type: ignore[attr-defined]

    assert overlaps == []
    for chat in chats:
        expected = [n for n, c in enumerate(order, start=1) if c == chat]
        assert handled[chat] == expected
