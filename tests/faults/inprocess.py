"""The real bot in this process against the stand-in, on a clock the fault tests choose.

Like tests/e2e, but the clock may run fast (a 2-minute outage in a few real seconds) and the
stand-in's flood limits may be set; the bot talks to the stand-in over real HTTP with
python-telegram-bot, nothing patched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from sqlalchemy import func, select

from bot import app
from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.models import MessageStatus, ScheduledMessage
from bot.services.context import Context
from telegram_standin import StandIn
from telegram_standin.botapi import SEND_METHODS
from telegram_standin.models import Exchange
from tests.conftest import TOKEN

STAFF_CHAT = -1001
OPEN = (MessageStatus.PENDING, MessageStatus.SENDING)


def standin_on(clock: ScaledClock, *, limits_on_clock: bool = True, **limits: Any) -> StandIn:
    """A stand-in whose dates are the clock's; its flood limits count on the clock too (as the
    bot's pacing does) unless `limits_on_clock` is False (real seconds, as Telegram counts)."""
    limit_clock: Callable[[], float] | None = (
        (lambda: clock.now().timestamp()) if limits_on_clock else None
    )
    return StandIn(token=TOKEN, clock=clock.now, limit_clock=limit_clock, **limits)


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, standin: StandIn, clock: ScaledClock, **changes: Any
) -> AsyncIterator[Context]:
    """`aftercare run` in this process: polling, the dispatcher and its jobs, until the exit."""
    live = settings.model_copy(
        update={"bot_api_url": standin.base_url, "send_timeout": 1.0, **changes}
    )
    async with app.open_context(live, clock) as ctx:
        runtime = app.Runtime(app.build_application(live, TOKEN, ctx), ctx)
        await runtime.start()
        try:
            yield ctx
        finally:
            await runtime.stop()


async def rows(ctx: Context) -> Sequence[ScheduledMessage]:
    async with ctx.db() as db:
        stmt = select(ScheduledMessage).order_by(ScheduledMessage.id)
        return (await db.execute(stmt)).scalars().all()


async def open_rows(ctx: Context) -> int:
    async with ctx.db() as db:
        stmt = select(func.count()).where(ScheduledMessage.status.in_(OPEN))
        return int((await db.execute(stmt)).scalar_one())


async def wait_until_settled(ctx: Context, timeout: float) -> None:
    """Until no message is waiting or mid-send (real seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := await open_rows(ctx)) > 0:
        if loop.time() > deadline:
            raise TimeoutError(f"{left} messages still pending or mid-send after {timeout}s")
        await asyncio.sleep(0.05)


def sends(standin: StandIn) -> list[Exchange]:
    """The requests that post a message into a chat, in order of arrival."""
    return [x for x in standin.exchanges if x.method in SEND_METHODS]
