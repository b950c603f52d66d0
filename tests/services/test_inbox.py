"""The inbox hands each stored update to one claimer, oldest first, and takes back a claim only
once its process must have died."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.models import InboundUpdate, UpdateStatus
from bot.services import inbox
from bot.services.context import Context
from tests.conftest import make_context

LEASE = dt.timedelta(minutes=5)


def update(update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": update_id, "text": "hello"}}


async def test_updates_are_claimed_oldest_first_and_each_once(ctx: Context) -> None:
    assert await inbox.store(ctx, [update(3), update(1), update(2), update(1)]) == 3

    claimed = [await inbox.claim_next(ctx, LEASE) for _ in range(4)]

    assert [c.update_id if c else None for c in claimed] == [1, 2, 3, None]
    assert all(c is None or c.payload == update(c.update_id) for c in claimed)


async def test_a_claim_is_taken_again_only_after_the_lease(
    ctx: Context, clock: FrozenClock
) -> None:
    await inbox.store(ctx, [update(1)])
    assert await inbox.claim_next(ctx, LEASE) is not None

    clock.advance(LEASE)
    assert await inbox.claim_next(ctx, LEASE) is None  # its process may still be at it
    clock.advance(dt.timedelta(seconds=1))
    again = await inbox.claim_next(ctx, LEASE)

    assert again is not None and again.update_id == 1 and again.processed_at == clock.now()


async def test_a_finished_update_keeps_only_its_id(ctx: Context, clock: FrozenClock) -> None:
    await inbox.store(ctx, [update(1), update(2)])
    for ok in (True, False):
        claimed = await inbox.claim_next(ctx, LEASE)
        assert claimed is not None
        await inbox.finish(ctx, claimed.update_id, ok)
    clock.advance(LEASE * 10)

    assert await inbox.claim_next(ctx, LEASE) is None
    assert await inbox.store(ctx, [update(1)]) == 0  # Telegram sending it again changes nothing
    async with ctx.db() as db:
        rows = (await db.execute(select(InboundUpdate))).scalars().all()
    assert [(r.update_id, r.status, r.payload) for r in rows] == [
        (1, UpdateStatus.DONE, None),
        (2, UpdateStatus.FAILED, None),
    ]


async def test_concurrent_claimers_on_separate_connections_share_without_overlap(
    settings: Settings, clock: FrozenClock, ctx: Context
) -> None:
    await inbox.store(ctx, [update(n) for n in range(1, 61)])
    # four "processes", each with its own engine, claiming as fast as they can
    workers = [make_context(settings, clock) for _ in range(4)]

    async def drain(worker: Context) -> list[int]:
        taken: list[int] = []
        while (row := await inbox.claim_next(worker, LEASE)) is not None:
            taken.append(row.update_id)
            await asyncio.sleep(0)
        return taken

    try:
        results = await asyncio.gather(*(drain(w) for w, _ in workers))
    finally:
        for _, engine in workers:
            await engine.dispose()  # type: ignore[attr-defined]

    every = [n for taken in results for n in taken]
    assert sorted(every) == list(range(1, 61))  # each exactly once
    assert all(taken == sorted(taken) for taken in results)  # each claimer oldest first


async def test_handled_updates_are_forgotten_after_two_days(
    ctx: Context, clock: FrozenClock
) -> None:
    await inbox.store(ctx, [update(1), update(2), update(3), update(4)])
    for update_id in (1, 2, 3):
        await inbox.finish(ctx, update_id, ok=update_id != 2)
    clock.advance(dt.timedelta(days=1))
    assert await inbox.prune(ctx) == 0  # Telegram could still send them again
    await inbox.finish(ctx, 4, ok=True)
    clock.advance(dt.timedelta(days=1, seconds=1))
    # 1, 2 and 3 (done, failed, done) are over two days old; 4 is not
    assert await inbox.prune(ctx) == 3
    async with ctx.db() as db:
        left = (await db.execute(select(InboundUpdate.update_id))).scalars().all()
    assert left == [4]  # the newest stays: polling resumes after it
    assert await inbox.last_update_id(ctx) == 4
    # an update not yet handled is never forgotten, however old
    await inbox.store(ctx, [update(5)])
    clock.advance(dt.timedelta(days=5))
    assert await inbox.prune(ctx) == 1  # 4, no longer the newest
    async with ctx.db() as db:
        left = (await db.execute(select(InboundUpdate.update_id))).scalars().all()
    assert left == [5]
