"""Every command that takes a treatment refuses an unknown one in the same line as the services."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FrozenClock
from bot.config import Settings
from bot.errors import BadInput
from tests.cli.conftest import run
from tests.conftest import make_context

COMMANDS = [
    ("session", "add", "1", "--treatment", "nose", "--at", "2030-01-01 10:00"),
    ("protocol", "show", "nose"),
    ("triage", "--treatment", "nose", "--hours-since", "5"),
    ("triage", "--treatment", "nose", "--hours-since", "5", "--json"),
    ("demo", "--treatment", "nose", "--speed", "100000"),
]


def refusal(settings: Settings, clock: FrozenClock) -> str:
    """What Context.protocol, the services' one lookup by name, says about 'nose'."""
    ctx, _engine = make_context(settings, clock)
    with pytest.raises(BadInput) as refused:
        ctx.protocol("nose")
    return str(refused.value)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_an_unknown_treatment_is_one_line_from_context_protocol(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    clock: FrozenClock,
    args: tuple[str, ...],
) -> None:
    assert main(["patient", "add", "Anna"]) == 0
    capsys.readouterr()
    code, out, err = run(capsys, *args)
    assert (code, out) == (1, "")
    assert err == f"error: {refusal(settings, clock)}\n"
    assert err == "error: unknown treatment 'nose' (known: body, eye-area, face, scalp)\n"


def test_a_clinics_own_protocol_is_known_to_every_command(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    own = tmp_path / "protocols"
    own.mkdir()
    (own / "lips.toml").write_text(
        'treatment = "lips"\ntitle = "Lips"\nrestriction_days = 2\n'
        '[[step]]\nkey = "sun"\nkind = "tip"\noffset = "1d"\nuseful_for = "1d"\ntext = "Hi"\n'
    )
    cli_env.setenv("AFTERCARE_PROTOCOLS_DIR", str(own))
    assert main(["patient", "add", "Anna"]) == 0
    capsys.readouterr()
    errors = {run(capsys, *args)[2] for args in COMMANDS}
    assert errors == {
        "error: unknown treatment 'nose' (known: body, eye-area, face, lips, scalp)\n"
    }
