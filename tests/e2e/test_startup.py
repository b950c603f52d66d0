"""Start-up when the Bot API cannot be reached (issue 11, item 9): `aftercare run` keeps trying,
one log line a try, and starts once the API answers; only a token Telegram refuses stops it,
with one line and exit code 2."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot import app
from bot.clock import ScaledClock
from bot.config import Settings
from bot.errors import ConfigError
from telegram_standin import Fault, StandIn
from tests.conftest import T0, TOKEN

CANNOT_REACH = "the Bot API cannot be reached at getMe"


def free_port() -> int:
    """A port nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def bot_process(
    database_url: str, api_url: str, token: str = TOKEN
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "AFTERCARE_DATABASE_URL": database_url,
        "AFTERCARE_BOT_TOKEN": token,
        "AFTERCARE_BOT_API_URL": api_url,
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
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def lines_until(
    process: asyncio.subprocess.Process, wanted: str, count: int, timeout: float = 30
) -> list[str]:
    """stderr's lines until `count` of them contain `wanted`."""
    assert process.stderr is not None
    seen: list[str] = []

    async def read() -> None:
        assert process.stderr is not None
        while sum(wanted in line for line in seen) < count:
            raw = await process.stderr.readline()
            if not raw:
                raise AssertionError("the process ended:\n" + "\n".join(seen[-20:]))
            seen.append(raw.decode().rstrip())

    await asyncio.wait_for(read(), timeout)
    return seen


async def test_run_keeps_trying_a_closed_port_and_starts_once_the_api_answers(
    database_url: str,
) -> None:
    port = free_port()
    async with bot_process(database_url, f"http://127.0.0.1:{port}") as process:
        seen = await lines_until(process, CANNOT_REACH, 2)
        tries = [line for line in seen if CANNOT_REACH in line]
        assert "try 1 failed, trying again in 1 s" in tries[0]
        assert "try 2 failed, trying again in 2 s" in tries[1]  # backing off
        standin = StandIn(token=TOKEN)
        await standin.start(port)
        try:
            standin.add_user(31337, "Anna")
            await standin.wait_for(lambda: bool(standin.calls("getUpdates")), timeout=30)
            assert standin.commands_for(), "the command menu is set once Telegram answers"
            standin.send_text(31337, "/start")
            await standin.wait_for_messages(31337, 1, timeout=15)  # it runs
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
            await standin.stop()
    assert process.returncode == 0, err.decode()[-2000:]
    assert TOKEN.split(":")[1] not in "\n".join(seen) + err.decode()
    assert "Traceback" not in err.decode()


async def test_a_signal_while_waiting_for_the_api_stops_cleanly(database_url: str) -> None:
    async with bot_process(database_url, f"http://127.0.0.1:{free_port()}") as process:
        await lines_until(process, CANNOT_REACH, 1)
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()[-2000:]
    assert "Traceback" not in err.decode()


async def test_a_token_telegram_refuses_stops_with_one_line(database_url: str) -> None:
    async with StandIn(token=TOKEN) as standin:
        wrong = TOKEN.split(":")[0] + ":NOT-THE-TOKEN"
        async with bot_process(database_url, standin.base_url, token=wrong) as process:
            _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    text = err.decode()
    assert "Traceback" not in text and "NOT-THE-TOKEN" not in text
    errors = [line for line in text.splitlines() if not line[:4].isdigit()]  # not a log line
    assert errors == [
        "error: AFTERCARE_BOT_TOKEN: Telegram refused the token (401/404): check it with "
        "@BotFather, or AFTERCARE_BOT_API_URL"
    ]


async def test_start_up_rides_out_server_errors_timeouts_and_429(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The same loop in-process, with faults the stand-in injects, on a short first pause."""
    monkeypatch.setattr(app, "STARTUP_RETRY_FIRST", 0.01)
    clock = ScaledClock(1.0, start=T0)
    async with StandIn(token=TOKEN, clock=clock.now) as standin:
        standin.fail_next("getMe", Fault.server_error(502))
        standin.fail_next("getMe", Fault.drop_connection())
        # the pacer waits out two 429s itself; the third reaches the start-up loop
        standin.fail_next("setMyCommands", Fault.retry_after(1), count=3)
        standin.fail_next("deleteWebhook", Fault.server_error(500))
        live = settings.model_copy(update={"bot_api_url": standin.base_url})
        async with app.open_context(live, clock) as ctx:
            runtime = app.Runtime(app.build_application(live, TOKEN, ctx), ctx)
            try:
                await runtime.start()
                await standin.wait_for(lambda: bool(standin.calls("getUpdates")))
            finally:
                await runtime.stop()
    assert len(standin.calls("getMe")) == 3
    warnings = [r.getMessage() for r in caplog.records if "cannot be reached" in r.getMessage()]
    assert len(warnings) == 4, warnings
    assert "429" in warnings[2] and "deleteWebhook" in warnings[3]


async def test_an_invalid_token_is_a_config_error_in_process(settings: Settings) -> None:
    async with StandIn(token="123456:SOMETHING-ELSE") as standin:
        live = settings.model_copy(update={"bot_api_url": standin.base_url})
        async with app.open_context(live) as ctx:
            runtime = app.Runtime(app.build_application(live, TOKEN, ctx), ctx)
            try:
                with pytest.raises(ConfigError, match="Telegram refused the token"):
                    await runtime.start()  # at once: it is not tried again
            finally:
                await runtime.stop()
