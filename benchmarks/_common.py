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
from tests.bulk import add_due_messages
from tests.standin import StandIn

__all__ = ["add_due_messages"]

TOKEN = "123456:BENCHMARK"
FIRST_USER = 100_000
UNLIMITED = (1_000_000, 1.0)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextlib.asynccontextmanager
async def database(url: str | None) -> AsyncIterator[str]:
    """A fresh, migrated database: a temporary SQLite file unless a URL is given."""
    if url:
        from sqlalchemy import text

        from bot.config import normalise_database_url
        from bot.db.engine import make_engine

        url = normalise_database_url(url)
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
        await upgrade_async(url)
        yield url
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
