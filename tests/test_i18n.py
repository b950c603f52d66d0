"""Words: every string extracted, every shipped catalog complete, a missing one stops start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.errors import ConfigError
from bot.i18n import LOCALES_DIR, I18n

ROOT = Path(__file__).resolve().parents[1]


def test_the_template_holds_every_string_in_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "t:2",
            "-k",
            "nt:2,3",
            "-k",
            "N_",
            "-k",
            "_pt:3",
            "-k",
            "_st:2",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with (LOCALES_DIR / "messages.pot").open("rb") as fh:
        shipped = {m.id for m in read_po(fh) if m.id}
    assert wanted - shipped == set(), "run: python tools/i18n.py update"


def test_every_shipped_catalog_is_complete() -> None:
    result = subprocess.run(
        [sys.executable, "tools/i18n.py", "check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_every_protocol_text_is_translatable() -> None:
    from bot.services.protocols import load_protocols

    i18n = I18n.shipped("en")
    with (LOCALES_DIR / "messages.pot").open("rb") as fh:
        shipped = {m.id for m in read_po(fh) if m.id}
    for protocol in load_protocols(None).values():
        for step in protocol.steps:
            assert step.text in shipped, f"{protocol.treatment}/{step.key}"
            assert i18n.t("en", step.text) == step.text


def test_a_missing_catalog_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no translation catalogs"):
        I18n.shipped("en", root=tmp_path)
    with pytest.raises(ConfigError, match="not shipped"):
        I18n.shipped("de")


def test_a_language_code_falls_back_to_the_clinics() -> None:
    i18n = I18n.shipped("en")
    assert i18n.language("en-GB") == "en"
    assert i18n.language("xx") == "en"
    assert i18n.language(None) == "en"
