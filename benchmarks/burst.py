"""Burst: N messages due at once, end to end through the bot and the loopback Telegram stand-in.

    python benchmarks/burst.py --messages 10000 --limits off      # messages per second
    python benchmarks/burst.py --messages 3000 --limits on         # share of 30/s, 429s
    python benchmarks/burst.py --messages 1000 --baseline          # one JobQueue job a message
    python benchmarks/burst.py --messages 10000 --standin process   # Telegram's work elsewhere

Prints the median of --runs runs. --database postgresql://… runs on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import func, select

from benchmarks._common import (
    FIRST_USER,
    TOKEN,
    UNLIMITED,
    add_due_messages,
    database,
    median,
    running_bot,
)
from bot.db.models import MessageStatus, ScheduledMessage
from bot.services.context import Context
from telegram_standin import StandIn


async def one_run(args: argparse.Namespace) -> dict[str, float]:
    if args.standin == "process":
        return await one_run_apart(args)
    limits_on = args.limits == "on"
    kwargs = (
        {}
        if limits_on
        else {
            "global_limit": UNLIMITED,
            "chat_burst": 1_000_000,
            "chat_rate": 1_000_000.0,
        }
    )
    async with database(args.database) as url, StandIn(token=TOKEN, **kwargs) as standin:
        send_rate = args.send_rate if limits_on else 100_000
        async with running_bot(url, standin, send_rate) as ctx:
            users = await add_due_messages(
                ctx, args.messages, args.chats or args.messages, dt.timedelta(hours=1)
            )
            for user in users:
                standin.add_user(user, f"P{user}")
            started = time.perf_counter()
            ctx.wake()
            await standin.wait_for(lambda: len(standin.messages) >= args.messages, timeout=900)
            elapsed = time.perf_counter() - started
    delivered = len(standin.messages)
    return {
        "seconds": elapsed,
        "per_second": delivered / elapsed,
        "delivered": delivered,
        "duplicates": delivered - len({m.text for m in standin.messages}),
        "rate_limited": standin.rate_limited,
    }


@dataclass
class _Remote:
    """Where the stand-in in the other process listens (all the bot needs of it)."""

    base_url: str


async def one_run_apart(args: argparse.Namespace) -> dict[str, float]:
    """The same burst with the stand-in in its own process: only the bot's work on this one."""
    chats = args.chats or args.messages
    helper = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("_standin_process.py")),
        str(FIRST_USER),
        str(chats),
        "--limits",
        args.limits,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert helper.stdin is not None and helper.stdout is not None
    base_url = (await helper.stdout.readline()).decode().strip()
    send_rate = args.send_rate if args.limits == "on" else 100_000
    try:
        async with database(args.database) as url:
            remote = cast(StandIn, _Remote(base_url))
            async with running_bot(url, remote, send_rate) as ctx:
                await add_due_messages(ctx, args.messages, chats, dt.timedelta(hours=1))
                started = time.perf_counter()
                ctx.wake()
                while True:  # the bot's own record of what Telegram answered
                    if await _sent(ctx) >= args.messages:
                        break
                    await asyncio.sleep(0.05)
                elapsed = time.perf_counter() - started
    finally:
        helper.stdin.close()
        report = json.loads((await helper.stdout.readline()).decode() or "{}")
        await helper.wait()
    delivered = float(report.get("delivered", 0))
    return {
        "seconds": elapsed,
        "per_second": delivered / elapsed,
        "delivered": delivered,
        "duplicates": delivered - float(report.get("distinct", 0)),
        "rate_limited": float(report.get("rate_limited", 0)),
    }


async def _sent(ctx: Context) -> int:
    async with ctx.db() as db:
        stmt = select(func.count()).where(ScheduledMessage.status == MessageStatus.SENT)
        return int((await db.execute(stmt)).scalar_one())


async def baseline_run(args: argparse.Namespace) -> dict[str, float]:
    """The usual python-telegram-bot pattern: one in-memory JobQueue job per message."""
    from telegram.ext import ApplicationBuilder, CallbackContext

    async with StandIn(token=TOKEN) as standin:
        for i in range(args.messages):
            standin.add_user(100_000 + i, f"P{i}")
        application = ApplicationBuilder().token(TOKEN).base_url(f"{standin.base_url}/bot").build()

        async def send(context: CallbackContext) -> None:  # type: ignore[type-arg]
            assert context.job is not None
            chat, text = context.job.data  # type: ignore[misc]
            await context.bot.send_message(chat, text)

        async with application:
            await application.start()
            assert application.job_queue is not None
            started = time.perf_counter()
            for i in range(args.messages):
                application.job_queue.run_once(
                    send, when=0.5, data=(100_000 + i, f"benchmark message {i}")
                )
            with __import__("contextlib").suppress(TimeoutError):
                await standin.wait_for(
                    lambda: len(standin.messages) >= args.messages, timeout=args.baseline_wait
                )
            elapsed = time.perf_counter() - started
            await application.stop()
    delivered = len(standin.messages)
    return {
        "seconds": elapsed,
        "per_second": delivered / elapsed,
        "delivered": delivered,
        "duplicates": delivered - len({m.text for m in standin.messages}),
        "rate_limited": standin.rate_limited,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=0, help="default: one chat per message")
    parser.add_argument("--limits", choices=("on", "off"), default="off")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--send-rate", type=int, default=29, help="AFTERCARE_SEND_RATE with limits on"
    )
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument(
        "--standin",
        choices=("inline", "process"),
        default="inline",
        help="the stand-in in the bot's process, or in its own (as Telegram would be)",
    )
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--baseline-wait", type=float, default=60.0)
    args = parser.parse_args()
    runner = baseline_run if args.baseline else one_run
    results = [asyncio.run(runner(args)) for _ in range(args.runs)]
    label = "baseline (one JobQueue job per message)" if args.baseline else "aftercare"
    db = "postgresql" if args.database else "sqlite"
    print(
        f"burst {label}: {args.messages} messages, limits {args.limits}, {db}, "
        f"stand-in {args.standin}, {args.runs} runs"
    )
    for key in ("seconds", "per_second", "delivered", "duplicates", "rate_limited"):
        values = [r[key] for r in results]
        print(
            f"  {key:13} median {median(values):10.2f}   runs: "
            + ", ".join(f"{v:.2f}" for v in values)
        )
    if args.limits == "on" and not args.baseline:
        print(f"  share of Telegram's 30/s: {median([r['per_second'] for r in results]) / 30:.0%}")


if __name__ == "__main__":
    main()
