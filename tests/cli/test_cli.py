"""The command line: JSON shapes, tables, and one clear line for every error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.services.protocols import load_protocols
from tests.cli.conftest import run


def ok_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    code, out, err = run(capsys, *args, "--json")
    assert (code, err) == (0, "")
    return json.loads(out)


def test_a_clinics_day_with_json_output(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    patient = ok_json(capsys, "patient", "add", "Anna Smith", "--timezone", "America/New_York")
    assert isinstance(patient, dict) and patient["id"] == 1 and patient["status"] == "invited"
    invite = ok_json(capsys, "invite", "1")
    assert isinstance(invite, dict)
    assert invite["link"].startswith("https://t.me/") and "?start=" in invite["link"]
    assert invite["expires_at"].endswith("Z")
    session = ok_json(
        capsys, "session", "add", "1", "--treatment", "face", "--at", "2030-03-10 10:00"
    )
    assert isinstance(session, dict) and session["id"] == 1
    steps = len(load_protocols(None)["face"].steps)
    assert len(session["messages"]) == steps
    schedule = ok_json(capsys, "schedule", "1")
    assert isinstance(schedule, list) and len(schedule) == steps
    assert {"step", "kind", "due_at", "status"} <= set(schedule[0])
    assert schedule[0]["status"] == "pending"
    moved = ok_json(capsys, "session", "move", "1", "--at", "2030-03-12 10:00")
    assert isinstance(moved, dict) and moved["starts_at"] == "2030-03-12T14:00:00Z"
    cancelled = ok_json(capsys, "session", "cancel", "1")
    assert isinstance(cancelled, dict)
    assert {m["status"] for m in cancelled["messages"]} == {"cancelled"}
    shown = ok_json(capsys, "patient", "show", "1")
    assert isinstance(shown, dict) and len(shown["sessions"]) == 1
    assert len(ok_json(capsys, "patient", "list")) == 1  # type: ignore[arg-type]
    staff = ok_json(capsys, "staff", "add", "555", "--name", "Nurse Joy", "--role", "nurse")
    assert isinstance(staff, dict) and staff["telegram_user_id"] == 555
    assert ok_json(capsys, "staff", "list") == [staff]
    assert ok_json(capsys, "staff", "remove", "555") == staff
    assert ok_json(capsys, "staff", "list") == []


def test_tables_are_the_default(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "patient", "add", "Ben")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["ID", "NAME", "LANGUAGE"]
    code, out, _ = run(capsys, "protocol", "list")
    assert code == 0 and {"face", "eye-area", "scalp", "body"} <= {
        line.split()[0] for line in out.splitlines()[1:]
    }
    code, out, _ = run(capsys, "protocol", "show", "body")
    assert code == 0 and "restrictions-end" in out


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("frobnicate",), 2, "No such command"),
        (("patient", "add"), 2, "Missing argument"),
        (("patient", "add", "X", "--timezone", "Mars/Base"), 1, "unknown time zone"),
        (("patient", "add", "X", "--language", "tlh"), 1, "not shipped"),
        (("patient", "show", "42"), 1, "no patient with id 42"),
        (("patient", "show", "abc"), 1, "not a patient id"),
        (("invite", "42"), 1, "no patient"),
        (
            ("session", "add", "1", "--treatment", "nose", "--at", "2030-01-01 10:00"),
            1,
            "unknown treatment",
        ),
        (("session", "add", "1", "--treatment", "face", "--at", "soon"), 1, "not a date and time"),
        (("session", "add", "1", "--at", "2030-01-01 10:00"), 2, "Missing option"),
        (("session", "move", "99", "--at", "2030-01-01 10:00"), 1, "no session with id 99"),
        (("session", "cancel", "x"), 2, "not a valid integer"),
        (("schedule", "9"), 1, "no patient"),
        (("staff", "add", "5", "--name", "X", "--role", "janitor"), 1, "unknown role"),
        (("staff", "remove", "5"), 1, "no staff member"),
        (("protocol", "show", "nose"), 1, "unknown treatment"),
        (("protocol", "check", "missing.toml"), 1, "missing.toml"),
        (("demo", "--language", "tlh"), 1, "not shipped"),
    ],
)
def test_every_error_is_one_line_and_a_non_zero_exit(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    code: int,
    says: str,
) -> None:
    assert run(capsys, "patient", "add", "Anna")[0] == 0
    got, out, err = run(capsys, *args)
    assert got == code
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and says in err


def test_a_session_cancelled_twice_and_an_invite_for_a_linked_patient_are_refused(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "patient", "add", "Anna")
    run(capsys, "session", "add", "1", "--treatment", "face", "--at", "2030-01-01 10:00")
    assert run(capsys, "session", "cancel", "1")[0] == 0
    code, _, err = run(capsys, "session", "cancel", "1")
    assert code == 1 and "already cancelled" in err
    code, _, err = run(capsys, "staff", "add", "7", "--name", "A")
    code, _, err = run(capsys, "staff", "add", "7", "--name", "B")
    assert code == 1 and "already registered" in err


def test_a_protocol_file_with_a_mistake_is_named(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "lips.toml"
    bad.write_text(
        'treatment = "lips"\ntitle = "Lips"\nrestriction_days = 2\n'
        '[[step]]\nkey = "sun"\nkind = "tip"\noffset = "3x"\nuseful_for = "1d"\ntext = "Hi"\n'
    )
    code, out, err = run(capsys, "protocol", "check", str(bad))
    assert code == 1 and out == ""
    assert "lips.toml" in err and "step 'sun'" in err and "field 'offset'" in err
    good = tmp_path / "good.toml"
    good.write_text(bad.read_text().replace('"3x"', '"1d"'))
    code, out, _ = run(capsys, "protocol", "check", str(good))
    assert code == 0 and "ok" in out


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DATABASE_URL", "mysql://x/y", "AFTERCARE_DATABASE_URL"),
        ("TIMEZONE", "Mars/Base", "AFTERCARE_TIMEZONE"),
        ("QUIET_HOURS", "late", "AFTERCARE_QUIET_HOURS"),
        ("CLOCK_SPEED", "-3", "AFTERCARE_CLOCK_SPEED"),
        ("STAFF_CHAT_ID", "staff", "AFTERCARE_STAFF_CHAT_ID"),
        ("BOT_API_URL", "ftp://x", "AFTERCARE_BOT_API_URL"),
        ("PROTOCOLS_DIR", "/no/such/dir", "AFTERCARE_PROTOCOLS_DIR"),
    ],
)
def test_a_malformed_setting_stops_with_one_line_naming_it(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    says: str,
) -> None:
    cli_env.setenv(f"AFTERCARE_{name}", value)
    code, out, err = run(capsys, "patient", "list")
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and says in err


def test_settings_come_from_a_dot_env_file(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cli_env.delenv("AFTERCARE_TIMEZONE")
    (tmp_path / ".env").write_text("AFTERCARE_TIMEZONE=Asia/Tokyo\n")
    patient = ok_json(capsys, "patient", "add", "Kenji")
    assert isinstance(patient, dict) and patient["timezone"] == "Asia/Tokyo"


def test_run_without_a_token_says_which_setting(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "run")
    assert (code, out) == (2, "")
    assert (
        err.strip() == "error: AFTERCARE_BOT_TOKEN is not set: give the bot token from @BotFather"
    )
    cli_env.setenv("AFTERCARE_BOT_TOKEN", "not a token")
    code, _, err = run(capsys, "run")
    assert code == 2 and "AFTERCARE_BOT_TOKEN is malformed" in err


def test_an_unmigrated_database_is_named_and_db_upgrade_creates_it(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cli_env.setenv("AFTERCARE_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    code, _, err = run(capsys, "patient", "list")
    assert code == 2 and "aftercare db upgrade" in err
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "db", "upgrade")[0] == 0  # again: nothing to do, no error
    assert run(capsys, "patient", "list")[0] == 0


def test_triage_can_be_tried_without_telegram(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ok_json(
        capsys,
        "triage",
        "--treatment",
        "face",
        "--hours-since",
        # after the 48-hour peak, when a rise counts as worse (docs/clinical.md#triage-rules)
        "50",
        "--symptom",
        "swelling=severe",
        "--symptom",
        "redness=mild",
        "--flag",
        "fever",
        "--previous",
        "swelling=mild",
    )
    assert isinstance(result, dict) and result["level"] == "urgent"
    assert "fever or chills" in result["reasons"]
    assert "swelling is severe" in result["reasons"]
    assert any("worse than at the last check-in" in r for r in result["reasons"])
    calm = ok_json(
        capsys, "triage", "--treatment", "body", "--hours-since", "80", "--symptom", "swelling=mild"
    )
    assert calm == {"level": "expected", "reasons": []}  # body swelling lasts longer
    code, out, _ = run(
        capsys,
        "triage",
        "--treatment",
        "face",
        "--hours-since",
        "80",
        "--symptom",
        "redness=moderate",
    )
    assert code == 0 and "level: unusual" in out and "80 hours" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--symptom", "redness=loud"), "unknown severity 'loud'"),
        (("--symptom", "sneezing=mild"), "unknown symptom 'sneezing'"),
        (("--symptom", "redness"), "must look like swelling=severe"),
        (("--flag", "sneeze"), "unknown flag 'sneeze'"),
        (("--previous", "redness=x"), "unknown severity"),
    ],
)
def test_triage_input_mistakes_are_named(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    says: str,
) -> None:
    code, out, err = run(capsys, "triage", "--treatment", "face", "--hours-since", "5", *args)
    assert (code, out) == (1, "")
    assert len(err.strip().splitlines()) == 1 and says in err


def test_escalations_and_unanswered_checkins_are_listed(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ok_json(capsys, "escalations") == []
    assert ok_json(capsys, "checkins") == []
    code, out, _ = run(capsys, "escalations")
    assert code == 0 and "(none)" in out
    member = ok_json(
        capsys, "staff", "add", "9", "--name", "Dr Who", "--role", "clinician", "--not-on-call"
    )
    assert isinstance(member, dict) and member["on_call"] is False


def test_status_is_healthy_on_an_empty_database(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ok_json(capsys, "status")
    assert isinstance(data, dict) and data["healthy"] is True and data["backlog"] == 0


def test_sessions_import_from_csv_all_or_nothing(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "patient,language,timezone,treatment,starts_at,area\n"
        "Anna,fr,Europe/Paris,face,2030-01-10 10:00,cheeks\n"
        "Ben,,America/New_York,body,2030-01-11 09:30,\n"
    )
    result = ok_json(capsys, "import", "sessions", str(good))
    assert result == {
        "patients": 2,
        "sessions": 2,
        "messages": len(load_protocols(None)["face"].steps)
        + len(load_protocols(None)["body"].steps),
    }
    people = ok_json(capsys, "patient", "list")
    assert isinstance(people, list)
    anna = next(p for p in people if p["name"] == "Anna")
    plan = ok_json(capsys, "schedule", str(anna["id"]))
    assert isinstance(plan, list) and len(plan) == len(load_protocols(None)["face"].steps)
    assert {m["status"] for m in plan} <= {"pending", "skipped"}
    assert plan == sorted(plan, key=lambda m: m["due_at"])
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "patient,patient_id,treatment,starts_at\n"
        "Cleo,,face,2030-01-10 10:00\n"
        ",,nose,soon\n"
        ",99,face,2030-01-10 10:00\n"
    )
    code, out, err = run(capsys, "import", "sessions", str(bad))
    assert (code, out) == (1, "")
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: line 3: a new patient needs a name in the patient column",
        "error: line 4: no patient with id 99",
        "error: 2 rows have mistakes; nothing was imported",
    ]
    assert len(ok_json(capsys, "patient", "list")) == 2  # type: ignore[arg-type]
    header = tmp_path / "header.csv"
    header.write_text("name,when\nAnna,2030-01-10 10:00\n")
    code, _, err = run(capsys, "import", "sessions", str(header))
    assert code == 1 and "needs the columns treatment, starts_at" in err
