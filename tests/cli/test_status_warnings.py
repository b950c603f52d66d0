"""`aftercare status` shows the staff chat's warning without failing monitoring for it."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.clock import ScaledClock
from bot.config import Settings
from bot.services import health
from tests.cli.conftest import run
from tests.conftest import make_context


async def _counted(settings: Settings, members: int) -> None:
    ctx, engine = make_context(settings, ScaledClock())

    async def count(_chat_id: int) -> int:
        return members

    await health.check_staff_chat(ctx, count)
    await engine.dispose()  # type: ignore[attr-defined]


def test_status_warns_of_a_crowded_staff_chat(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    cli_env.setenv("AFTERCARE_STAFF_CHAT_ID", "-1001")
    asyncio.run(_counted(settings, 5))
    code, out, _err = run(capsys, "status")
    assert code == 0
    warning = "the staff chat has 5 members but 0 registered staff and the bot"
    assert any(line.startswith("warnings") and warning in line for line in out.splitlines())
    code, out, _err = run(capsys, "status", "--json")
    assert code == 0 and json.loads(out)["warnings"][0].startswith(warning)
