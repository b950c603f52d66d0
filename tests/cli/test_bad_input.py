"""Bad input to the command line and the import is one line with its exit code, never a
traceback (issue 11, item 7); one check for names everywhere; the CSV is read as a stream."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import run

LONG_NAME = "x" * 10_000


def one_error(err: str) -> str:
    """The single line a failed command writes (no traceback, no second line)."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("error: ")
    return lines[0]


def refused_import(
    capsys: pytest.CaptureFixture[str], path: Path, *args: str
) -> tuple[list[str], str]:
    """An import refused: its lines, the last of which is the summary; exit code 1."""
    code, out, err = run(capsys, "import", "sessions", str(path), *args)
    assert (code, out) == (1, ""), err[-2000:]
    assert "Traceback" not in err
    lines = err.splitlines()
    assert all(line.startswith("error: ") for line in lines), err[-2000:]
    return lines, lines[-1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("patient", "add", LONG_NAME), "a patient needs a name of 1 to 200 characters"),
        (("patient", "add", "Anna\nSmith"), "control character (U+000A)"),
        (("patient", "add", "Anna\x00"), "control character (U+0000)"),
        (("patient", "add", "Anna\u202eevil"), "control character (U+202E)"),
        (("patient", "add", "Anna", "--timezone", "x" * 5000), "unknown time zone"),
        (("staff", "add", "1234", "--name", LONG_NAME), "a staff member needs a name of 1 to"),
        (("staff", "add", "1234", "--name", "Joy\r\nResolved"), "control character"),
        (
            ("staff", "add", "99999999999999999999999", "--name", "Joy"),
            "99999999999999999999999 is not a Telegram user id",
        ),
        (("staff", "remove", "99999999999999999999999"), "is not a Telegram user id"),
        (("patient", "show", "P99999999999999999999999"), "no patient with id"),
    ],
    ids=[
        "long-name",
        "line-break",
        "nul",
        "bidi",
        "long-zone",
        "long-staff-name",
        "staff-line-break",
        "huge-telegram-id",
        "huge-telegram-id-remove",
        "huge-patient-id",
    ],
)
def test_people_and_ids_are_checked_in_one_line(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    expected: str,
) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out) == (1, "")
    assert expected in one_error(err)


@pytest.mark.parametrize("when", ["9999-12-31 23:59", "0001-01-01", "1999-12-31 10:00"])
def test_dates_outside_a_sane_range_are_refused(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], when: str
) -> None:
    assert run(capsys, "patient", "add", "Anna")[0] == 0
    code, out, err = run(capsys, "session", "add", "1", "--treatment", "face", "--at", when)
    assert (code, out) == (1, "")
    assert f"'{when}' is outside the range 2000-01-01 to 2100-12-31" in one_error(err)


def test_an_area_on_more_than_one_line_is_refused(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "patient", "add", "Anna")[0] == 0
    code, out, err = run(
        capsys,
        "session",
        "add",
        "1",
        "--treatment",
        "face",
        "--at",
        "2030-01-10 10:00",
        "--area",
        "cheeks\nWhy: none",
    )
    assert (code, out) == (1, "")
    assert one_error(err) == "error: the area has a control character (U+000A)"


def test_a_session_id_no_row_can_have_is_a_usage_error(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "session", "show", "99999999999999999999")
    assert code == 2 and "is not in the range" in one_error(err)


def test_a_latin_1_file_is_named_by_row_and_column(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    latin = tmp_path / "latin.csv"
    text = "patient,treatment,starts_at\nAnna,face,2030-01-10 10:00\nRené,face,2030-01-10 11:00\n"
    latin.write_bytes(text.encode("latin-1"))
    lines, summary = refused_import(capsys, latin)
    assert lines[0] == ("error: line 3: not UTF-8 at column 1 (patient): save the file as UTF-8")
    assert summary == "error: 1 rows have mistakes; nothing was imported"
    code, out, _ = run(capsys, "patient", "list", "--json")
    assert (code, out.strip()) == (0, "[]")  # all or nothing


def test_a_huge_field_is_refused_with_its_row_and_column(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    huge = tmp_path / "huge.csv"
    huge.write_text(
        "treatment,starts_at,patient\nface,2030-01-10 10:00,Anna\n"
        f'face,2030-01-10 11:00,"{"y" * 300_000}"\n'
    )
    lines, _ = refused_import(capsys, huge)
    assert lines == [
        "error: line 3, column 3: a row longer than 4,096 characters; nothing was imported"
    ]


def test_names_in_an_import_get_the_same_check_as_patient_add(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    names = tmp_path / "names.csv"
    names.write_text(
        "patient,treatment,starts_at\n"
        f"{'z' * 1000},face,2030-01-10 10:00\n"
        '"Anna\nSmith",face,2030-01-10 10:00\n'
        "Ben\u202e,face,2030-01-10 10:00\n"
        "Cleo\x00,face,2030-01-10 10:00\n"
        "Dora,face,2030-01-10 10:00\n"
    )
    lines, summary = refused_import(capsys, names)
    assert lines[:-1] == [
        "error: line 2: a patient needs a name of 1 to 200 characters (got 1,000)",
        "error: line 3: the name has a control character (U+000A): no line breaks, tabs or "
        "invisible formatting",
        "error: line 5: the name has a control character (U+202E): no line breaks, tabs or "
        "invisible formatting",
        "error: line 6: the name has a control character (U+0000): no line breaks, tabs or "
        "invisible formatting",
    ]
    assert summary == "error: 4 rows have mistakes; nothing was imported"


def test_a_duplicate_header_is_refused(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    twice = tmp_path / "twice.csv"
    twice.write_text("patient,treatment,starts_at,patient\nAnna,face,2030-01-10 10:00,Ben\n")
    code, _out, err = run(capsys, "import", "sessions", str(twice))
    assert code == 1
    assert one_error(err) == "error: the column 'patient' appears twice in the header"


def test_a_file_over_the_size_limit_is_refused(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cli_env.setenv("AFTERCARE_IMPORT_MAX_BYTES", "2048")
    big = tmp_path / "big.csv"
    big.write_text(
        "patient,treatment,starts_at\n"
        + "".join(f"P{i},face,2030-01-10 10:00\n" for i in range(200))
    )
    code, _out, err = run(capsys, "import", "sessions", str(big))
    assert code == 1
    assert one_error(err) == (
        "error: the file is larger than 2,048 bytes (AFTERCARE_IMPORT_MAX_BYTES): split it, or "
        "raise the setting"
    )


def test_many_mistakes_are_listed_up_to_a_hundred_and_counted(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "patient,treatment,starts_at\n" + "".join(f"P{i},nose,2030-01-10\n" for i in range(250))
    )
    lines, summary = refused_import(capsys, bad)
    assert len(lines) == 102  # a hundred rows, the count of the rest, the summary
    assert lines[100] == "error: … and 150 more rows with mistakes"
    assert summary == "error: 250 rows have mistakes; nothing was imported"


def test_an_import_from_standard_input_is_read_as_a_stream(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A pipe cannot be read twice: it is copied aside (within the size limit) first."""
    read, write = os.pipe()
    os.write(write, b"patient,treatment,starts_at\nAnna,face,2030-01-10 10:00\n")
    os.close(write)
    with os.fdopen(read, "r") as pipe:
        assert not pipe.buffer.seekable()
        cli_env.setattr(sys, "stdin", pipe)
        code, out, err = run(capsys, "import", "sessions", "-", "--json")
    assert code == 0, err
    assert '"sessions": 1' in out
