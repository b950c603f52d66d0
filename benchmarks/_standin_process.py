"""The loopback stand-in in a process of its own, as Telegram would be: for benchmarks where the
stand-in's own work should not be counted against the bot's CPU.

    python benchmarks/_standin_process.py FIRST_USER COUNT [--limits on|off]

Prints its base URL on one line, serves until its stdin closes, then prints a JSON line with
what arrived: {"delivered": N, "distinct": N, "rate_limited": N}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import TOKEN, UNLIMITED
from telegram_standin import StandIn


async def serve(first_user: int, count: int, limits: str) -> None:
    kwargs = (
        {}
        if limits == "on"
        else {"global_limit": UNLIMITED, "chat_burst": 1_000_000, "chat_rate": 1_000_000.0}
    )
    async with StandIn(token=TOKEN, **kwargs) as standin:  # type: ignore[arg-type]
        for user in range(first_user, first_user + count):
            standin.add_user(user, f"P{user}")
        print(standin.base_url, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark closes it
        texts = [m.text for m in standin.messages]
        result = {
            "delivered": len(texts),
            "distinct": len(set(texts)),
            "rate_limited": standin.rate_limited,
        }
        print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("first_user", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--limits", choices=("on", "off"), default="off")
    args = parser.parse_args()
    asyncio.run(serve(args.first_user, args.count, args.limits))


if __name__ == "__main__":
    main()
