"""Benchmark set-up: a database with N due messages, and the bot over the stand-in."""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from bot import app
from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.migrate import upgrade_async
from bot.services.context import Context
from telegram_standin import StandIn
from tests.bulk import add_due_messages

__all__ = ["add_due_messages"]

TOKEN = "123456:BENCHMARK"
FIRST_USER = 100_000
UNLIMITED = (1_000_000, 1.0)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextlib.asynccontextmanager
async def database(url: str | None, scratch: str = "bench") -> AsyncIterator[str]:
    """A fresh, migrated database: a temporary SQLite file unless a URL is given. On PostgreSQL
    it is a scratch database next to the one named (`<name>_<scratch>`), created afresh and
    dropped afterwards, so a benchmark never touches the test suite's tables there."""
    if url:
        from sqlalchemy import make_url, text

        from bot.config import normalise_database_url
        from bot.db.engine import make_engine

        url = normalise_database_url(url)
        target = make_url(url)
        target = target.set(database=f"{target.database}_{scratch}")
        name = target.database
        scratch_url = target.render_as_string(hide_password=False)
        admin = make_engine(url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()  # no idle connection left in the named database meanwhile
        try:
            await upgrade_async(scratch_url)
            yield scratch_url
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()
        return
    with tempfile.TemporaryDirectory(prefix="aftercare-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade_async(url)
        yield url


@contextlib.asynccontextmanager
async def running_bot(
    url: str, standin: StandIn, send_rate: int, clock: ScaledClock | None = None
) -> AsyncIterator[Context]:
    settings = Settings(
        database_url=url,
        bot_token=TOKEN,
        bot_api_url=standin.base_url,
        staff_chat_id=-1,
        timezone="UTC",
        quiet_hours="00:00-00:00",
        send_rate=send_rate,
        _env_file=None,
    )
    async with app.open_context(settings, clock or ScaledClock()) as ctx:
        runtime = app.Runtime(app.build_application(settings, TOKEN, ctx), ctx)
        await runtime.start()
        try:
            yield ctx
        finally:
            await runtime.stop()
