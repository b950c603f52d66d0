"""Benchmark set-up: a database with N due messages, and the bot over the stand-in."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

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


def add_bot_process_options(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark that runs `aftercare run` as its own process."""
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--log", default=None, help="the bot's log (default: a temporary file)")
    parser.add_argument(
        "--profile", default=None, help="run the bot under cProfile, its statistics to this file"
    )


def run_each(
    args: argparse.Namespace,
    one_run: Callable[[argparse.Namespace, Path], Coroutine[Any, Any, dict[str, float]]],
) -> list[dict[str, float]]:
    """`--runs` runs, each on a fresh database, the bot's log in `--log` or a temporary file."""
    with contextlib.ExitStack() as stack:
        if args.log:
            log = Path(args.log)
        else:
            log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "bot.log"
        return [asyncio.run(one_run(args, log)) for _ in range(args.runs)]


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
