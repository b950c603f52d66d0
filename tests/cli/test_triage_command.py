"""`aftercare triage`: the review's rules tried from the command line, in the same output."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import run


def _triage(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    code, out, err = run(capsys, "triage", "--json", *args)
    assert (code, err) == (0, ""), err
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(
    ("args", "level", "words"),
    [
        # the split allergy flag
        (("--hours-since", "1", "--flag", "faint"), "emergency", "feeling faint, or fainting"),
        (("--hours-since", "1", "--flag", "hives"), "urgent", "hives or an itchy rash"),
        # new symptoms, and the late lump's reason naming what to rule out
        (
            ("--hours-since", "500", "--symptom", "lump=mild", "--symptom", "pain=mild"),
            "urgent",
            "atypical (non-tuberculous) mycobacterial infection must be ruled out",
        ),
        (("--hours-since", "30", "--symptom", "sore=mild"), "urgent", "sore (mild)"),
        # a rise of one level after day 2, from --previous
        (
            ("--hours-since", "60", "--symptom", "redness=moderate", "--previous", "redness=mild"),
            "urgent",
            "redness is still increasing 60 hours after the session (mild → moderate)",
        ),
        # nothing is expected from four weeks on
        (("--hours-since", "672", "--symptom", "other=mild"), "unusual", "on day 28"),
    ],
)
def test_triage_takes_the_new_flags_symptoms_and_previous_report(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    level: str,
    words: str,
) -> None:
    result = _triage(capsys, "--treatment", "face", *args)

    assert result["level"] == level
    reasons = result["reasons"]
    assert isinstance(reasons, list) and any(words in reason for reason in reasons), reasons


def test_a_rise_inside_the_first_48_hours_is_the_normal_peak(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--treatment", "face", "--symptom", "swelling=moderate", "--previous", "swelling=none")

    assert _triage(capsys, "--hours-since", "48", *args) == {"level": "expected", "reasons": []}
    assert _triage(capsys, "--hours-since", "49", *args)["level"] == "unusual"


def test_body_swelling_on_day_7_is_expected(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _triage(
        capsys, "--treatment", "body", "--hours-since", "168", "--symptom", "swelling=mild"
    )

    assert result == {"level": "expected", "reasons": []}


def test_the_text_output_keeps_its_format(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "triage",
        "--treatment",
        "face",
        "--hours-since",
        "10",
        "--symptom",
        "darkening=mild",
        "--symptom",
        "pain=mild",
    )

    assert code == 0
    assert out == (
        "level: urgent\n"
        "  - darkening with pain within a day of the session: "
        "blocked blood flow must be ruled out\n"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--flag", "allergy"), "the 'allergy' flag was split into faint and hives"),
        (("--flag", "faints"), "unknown flag 'faints' (known: breathing, faint, vision, hives"),
        (("--symptom", "lumps=mild"), "unknown symptom 'lumps'"),
        (("--previous", "sore=oozing"), "unknown severity 'oozing'"),
    ],
)
def test_triage_mistakes_are_named_in_one_line(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    says: str,
) -> None:
    code, out, err = run(capsys, "triage", "--treatment", "face", "--hours-since", "5", *args)

    assert (code, out) == (1, "")
    assert len(err.strip().splitlines()) == 1 and says in err
