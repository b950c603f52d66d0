"""The dispatcher's wake-ups: set from the schedule in the database, and never lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from telegram.ext import JobQueue

import jobs.dispatch
from bot import app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.models import MessageStatus, ScheduledMessage
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from tests.bulk import add_due_messages
from tests.conftest import TOKEN


@pytest.fixture
async def wiring(
    settings: Settings, ctx: Context
) -> AsyncIterator[tuple[JobQueue[object], Dispatcher]]:
    application = app.build_application(settings, TOKEN, ctx)
    queue = application.job_queue
    assert queue is not None
    dispatcher = application.bot_data.dispatcher
    assert isinstance(dispatcher, Dispatcher)
    await queue.start()
    yield queue, dispatcher
    await queue.stop(wait=False)


def wake_ups(queue: JobQueue[object]) -> list[float]:
    """Seconds from now to each pending wake-up, soonest first."""
    now = dt.datetime.now(dt.UTC)
    times = [job.next_t for job in queue.get_jobs_by_name(jobs.dispatch.WAKE)]
    return sorted((t - now).total_seconds() for t in times if t is not None)


async def test_a_sooner_wake_up_replaces_a_later_one(
    wiring: tuple[JobQueue[object], Dispatcher], ctx: Context, clock: FrozenClock
) -> None:
    queue, dispatcher = wiring
    await add_due_messages(
        ctx, 1, 1, dt.timedelta(hours=1), first_due=clock.now() + dt.timedelta(seconds=20)
    )
    await jobs.dispatch.schedule_next(queue, dispatcher)
    assert [round(s) for s in wake_ups(queue)] == [20]
    await add_due_messages(
        ctx, 1, 1, dt.timedelta(hours=1), 200_000, first_due=clock.now() + dt.timedelta(seconds=5)
    )
    await jobs.dispatch.schedule_next(queue, dispatcher)
    assert [round(s) for s in wake_ups(queue)] == [5]


async def test_a_stale_look_at_the_schedule_never_cancels_a_wake_up(
    wiring: tuple[JobQueue[object], Dispatcher], ctx: Context, clock: FrozenClock
) -> None:
    queue, dispatcher = wiring
    # a wake-up set after work was queued...
    await add_due_messages(
        ctx, 1, 1, dt.timedelta(hours=1), first_due=clock.now() + dt.timedelta(seconds=5)
    )
    await jobs.dispatch.schedule_next(queue, dispatcher)
    # ...and a dispatch run that looked at the schedule before that work was there: here, the
    # row is gone from its view (nothing pending), as it was when that run read the schedule
    async with ctx.db.begin() as db:
        row = await db.get(ScheduledMessage, 1)
        assert row is not None
        row.status = MessageStatus.SENT
    await jobs.dispatch.schedule_next(queue, dispatcher)
    assert [round(s) for s in wake_ups(queue)] == [5]
