"""`aftercare run --webhook` settings: each missing or malformed one is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from tests.conftest import TOKEN

WEBHOOK_NAMES = ("WEBHOOK_URL", "WEBHOOK_LISTEN", "WEBHOOK_SECRET")


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no .env file
    for name in WEBHOOK_NAMES:
        monkeypatch.delenv(f"AFTERCARE_{name}", raising=False)
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", database_url)
    monkeypatch.setenv("AFTERCARE_BOT_TOKEN", TOKEN)
    return monkeypatch


def run_webhook(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", "--webhook"])
    return code, capsys.readouterr().err


def test_the_url_and_the_secret_are_needed(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_webhook(capsys)
    assert code == 2
    assert err.startswith("error: AFTERCARE_WEBHOOK_URL is not set") and err.count("\n") == 1

    env.setenv("AFTERCARE_WEBHOOK_URL", "https://bot.clinic.example/telegram")
    code, err = run_webhook(capsys)
    assert code == 2
    assert err.startswith("error: AFTERCARE_WEBHOOK_SECRET is not set") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOK_SECRET", "has spaces and !"),
        ("WEBHOOK_SECRET", "x" * 257),
        ("WEBHOOK_SECRET", "sécret"),
        ("WEBHOOK_URL", "ftp://bot.clinic.example/telegram"),
        ("WEBHOOK_URL", "bot.clinic.example/telegram"),
        ("WEBHOOK_LISTEN", "8443"),
        ("WEBHOOK_LISTEN", "0.0.0.0:70000"),
        ("WEBHOOK_LISTEN", "0.0.0.0:0"),
    ],
)
def test_a_malformed_setting_is_named_and_its_value_not_shown(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    env.setenv("AFTERCARE_WEBHOOK_URL", "https://bot.clinic.example/telegram")
    env.setenv("AFTERCARE_WEBHOOK_SECRET", "good_secret-1")
    env.setenv(f"AFTERCARE_{name}", value)

    code, err = run_webhook(capsys)

    assert code == 2
    assert err.startswith(f"error: AFTERCARE_{name}: ") and err.count("\n") == 1
    if name == "WEBHOOK_SECRET":
        assert value[:8] not in err


def test_good_settings_give_the_webhook(env: pytest.MonkeyPatch) -> None:
    env.setenv("AFTERCARE_WEBHOOK_URL", "https://bot.clinic.example:8443/telegram/hook")
    env.setenv("AFTERCARE_WEBHOOK_LISTEN", "[::]:8080")
    env.setenv("AFTERCARE_WEBHOOK_SECRET", "A-z_0-9" * 36)  # 252 characters

    webhook = load_settings().require_webhook()

    assert (webhook.host, webhook.port, webhook.path) == ("::", 8080, "/telegram/hook")
    assert webhook.url == "https://bot.clinic.example:8443/telegram/hook"
    assert webhook.secret not in repr(webhook)
    assert load_settings(webhook_listen="0.0.0.0:8443").require_webhook().path == "/telegram/hook"
