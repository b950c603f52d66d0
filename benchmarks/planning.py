"""Planning: sessions planned per second, through `aftercare import sessions` (CSV).

python benchmarks/planning.py --sessions 5000 [--runs 3] [--database postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import database, median
from bot import app
from bot.config import Settings
from bot.services import imports


def csv_text(count: int) -> str:
    start = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)  # written as local time below
    lines = ["patient,language,timezone,treatment,starts_at,area"]
    zones = ("Europe/Paris", "America/New_York", "Asia/Dubai", "Europe/Moscow")
    treatments = ("face", "eye-area", "scalp", "body")
    for i in range(count):
        when = start + dt.timedelta(minutes=30 * i)
        lines.append(f"P{i},en,{zones[i % 4]},{treatments[i % 4]},{when:%Y-%m-%d %H:%M},")
    return "\n".join(lines) + "\n"


async def one_run(args: argparse.Namespace) -> tuple[float, int]:
    text = csv_text(args.sessions)
    async with database(args.database) as url:
        settings = Settings(database_url=url, timezone="UTC", _env_file=None)
        async with app.open_context(settings) as ctx:
            started = time.perf_counter()
            result = await imports.import_sessions(ctx, text)
            elapsed = time.perf_counter() - started
    return result.sessions / elapsed, result.messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    results = [asyncio.run(one_run(args)) for _ in range(args.runs)]
    rates = [r for r, _ in results]
    db = "postgresql" if args.database else "sqlite"
    print(f"planning: {args.sessions} sessions from CSV ({results[0][1]} messages), {db}")
    print(
        f"  sessions/s median {median(rates):.0f}   runs: " + ", ".join(f"{r:.0f}" for r in rates)
    )


if __name__ == "__main__":
    main()
