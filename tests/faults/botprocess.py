"""`aftercare run` as a process of its own against the stand-in, for the tests that kill it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from telegram_standin import StandIn
from tests.conftest import TOKEN

STAFF_CHAT = -1001


async def start_bot(
    standin: StandIn, database_url: str, *, log: Path | None = None, **settings: str
) -> asyncio.subprocess.Process:
    """Starts `python -m bot run`; `settings` are more AFTERCARE_ variables (claim_lease="2"
    becomes AFTERCARE_CLAIM_LEASE=2). Its output is appended to `log`, or dropped."""
    env = {
        **os.environ,
        "AFTERCARE_DATABASE_URL": database_url,
        "AFTERCARE_BOT_TOKEN": TOKEN,
        "AFTERCARE_BOT_API_URL": standin.base_url,
        "AFTERCARE_STAFF_CHAT_ID": str(STAFF_CHAT),
        "AFTERCARE_QUIET_HOURS": "00:00-00:00",
        **{f"AFTERCARE_{name.upper()}": value for name, value in settings.items()},
    }
    if log is None:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stdout=out, stderr=out
        )
