"""Leases, heartbeats, status and the watchdog."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import Audience, ScheduledMessage
from bot.services import health
from bot.services.context import Context
from tests.conftest import T0
from tests.services.helpers import active_patient, with_session


async def test_one_holder_at_a_time_and_take_over_when_it_lapses(
    ctx: Context, clock: FrozenClock
) -> None:
    assert await health.take_lease(ctx, "poller", "a", 30)
    assert not await health.take_lease(ctx, "poller", "b", 30)
    assert await health.take_lease(ctx, "poller", "a", 30)  # renewal
    clock.advance(dt.timedelta(seconds=31))  # a died: its lease runs out
    assert await health.take_lease(ctx, "poller", "b", 30)
    assert not await health.take_lease(ctx, "poller", "a", 30)
    await health.release_lease(ctx, "poller", "b")
    assert await health.take_lease(ctx, "poller", "a", 30)


async def test_falling_behind_is_unhealthy_and_staff_are_told_once_an_hour(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, 7101)
    await with_session(ctx, patient, T0 - dt.timedelta(minutes=40))
    assert (await health.check(ctx)).healthy  # due now, not late yet
    clock.advance(dt.timedelta(minutes=6))
    found = await health.check(ctx)
    assert not found.healthy and found.backlog >= 1
    assert any("late" in p for p in found.problems)
    assert any("dispatcher has not run" in p for p in found.problems)
    await health.watchdog(ctx)
    await health.watchdog(ctx)
    async with ctx.db() as db:
        notices = (
            (
                await db.execute(
                    select(ScheduledMessage).where(ScheduledMessage.audience == Audience.STAFF)
                )
            )
            .scalars()
            .all()
        )
    assert len(notices) == 1 and "falling behind" in (notices[0].body or "")
    await health.beat(ctx, "dispatcher", sent=0)
    assert (await health.check(ctx)).last_dispatch_at == clock.now()
