"""`aftercare run` as its own process: it talks to Telegram over HTTP and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot.clock import ScaledClock
from bot.config import Settings
from bot.handlers.menu import COMMANDS
from bot.services import patients
from telegram_standin import StandIn
from tests.conftest import TOKEN, make_context

USER = 31337


async def test_the_main_job_enrols_a_patient_and_stops_cleanly(
    settings: Settings, database_url: str
) -> None:
    # the process runs on real time, so the invite is made on real time too
    ctx, engine = make_context(settings, ScaledClock())
    patient = await patients.add_patient(ctx, "Anna", "en", "Europe/Paris")
    link = await patients.create_invite(ctx, str(patient.id))
    await engine.dispose()  # type: ignore[attr-defined]
    async with StandIn(token=TOKEN) as standin:
        standin.add_user(USER, "Anna")
        env = {
            **os.environ,
            "AFTERCARE_DATABASE_URL": database_url,
            "AFTERCARE_BOT_TOKEN": TOKEN,
            "AFTERCARE_BOT_API_URL": standin.base_url,
            "AFTERCARE_STAFF_CHAT_ID": "-1001",
            "AFTERCARE_TIMEZONE": "Europe/Paris",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            standin.send_text(USER, f"/start {link.token}")
            consent = (await standin.wait_for_messages(USER, 1, timeout=30))[0]
            assert consent.buttons, consent.text
            standin.press(USER, consent.message_id, consent.buttons[0]["callback_data"])
            done = (await standin.wait_for_messages(USER, 2, timeout=10))[-1]
            assert "all set" in done.text
            assert [c["command"] for c in standin.commands_for()] == [c.name for c in COMMANDS]
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, err.decode()[-2000:]
        assert TOKEN.split(":")[1] not in err.decode()
