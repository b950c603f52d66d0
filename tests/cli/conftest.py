"""The command line run in-process, on a migrated database and settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

ENV_NAMES = (
    "DATABASE_URL",
    "BOT_TOKEN",
    "BOT_API_URL",
    "STAFF_CHAT_ID",
    "TIMEZONE",
    "CLINIC_NAME",
    "CLINIC_PHONE",
    "EMERGENCY_NUMBER",
    "QUIET_HOURS",
    "PROTOCOLS_DIR",
    "CLOCK_SPEED",
)


@pytest.fixture
def cli_env(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)
    for name in ENV_NAMES:
        monkeypatch.delenv(f"AFTERCARE_{name}", raising=False)
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", database_url)
    monkeypatch.setenv("AFTERCARE_TIMEZONE", "Europe/Paris")
    return monkeypatch


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
