"""Courses on the command line: `session add/move/show` say which session of the course it is,
`--course` and `--new-course` decide, `schedule` shows what was superseded, and the CSV import
takes a `course` column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run


def ok(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run(capsys, *args)
    assert (code, err) == (0, ""), err
    return out


def ok_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    data = json.loads(ok(capsys, *args, "--json"))
    assert isinstance(data, dict)
    return data


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run(capsys, *args)
    assert (code, out) == (1, "")
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one clear line
    return lines[0]


@pytest.fixture
def anna(cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "patient", "add", "Anna")
    ok(capsys, "patient", "add", "Ben")


def test_the_second_session_says_so_and_the_schedule_shows_what_it_superseded(
    anna: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ok(capsys, "session", "add", "1", "--treatment", "face", "--at", "2030-03-05 10:00")
    assert "Session 1 of the course (course 1: sessions 1)." in out.splitlines()
    out = ok(capsys, "session", "add", "1", "--treatment", "face", "--at", "2030-03-12 10:00")
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID",
        "PATIENT",
        "TREATMENT",
        "AREA",
        "STARTS_AT",
        "STATUS",
        "COURSE",
    ]
    assert "Session 2 of the course (course 1: sessions 1, 2)." in lines
    schedule = ok(capsys, "schedule", "1")
    superseded = [line for line in schedule.splitlines() if "superseded by session 2" in line]
    assert any(" checkin-day7 " in line and " cancelled " in line for line in superseded)
    assert any(" next-session " in line for line in superseded)
    assert ok(capsys, "session", "show", "1").splitlines()[2] == (
        "Session 1 of the course (course 1: sessions 1, 2)."
    )
    shown = ok_json(capsys, "session", "show", "2")
    assert (shown["course"], shown["course_number"], shown["course_sessions"]) == (1, 2, [1, 2])
    statuses = {m["step"]: m["status"] for m in shown["messages"]}  # type: ignore[attr-defined]
    assert set(statuses.values()) == {"pending"}


def test_new_course_and_course_decide_and_a_move_can_change_the_course(
    anna: None, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(capsys, "session", "add", "1", "--treatment", "face", "--at", "2030-03-05 10:00")
    apart = ok_json(
        capsys,
        "session",
        "add",
        "1",
        "--treatment",
        "face",
        "--at",
        "2030-03-12 10:00",
        "--new-course",
    )
    assert (apart["course"], apart["course_number"]) == (2, 1)
    joined = ok_json(
        capsys,
        "session",
        "add",
        "1",
        "--treatment",
        "face",
        "--at",
        "2030-06-01 10:00",
        "--course",
        "1",
    )
    assert (joined["course"], joined["course_number"], joined["course_sessions"]) == (
        1,
        2,
        [1, 3],
    )
    moved = ok_json(capsys, "session", "move", "2", "--at", "2030-03-13 10:00", "--course", "1")
    assert (moved["course"], moved["course_number"], moved["course_sessions"]) == (1, 2, [1, 2, 3])
    away = ok_json(capsys, "session", "move", "2", "--at", "2030-03-13 11:00", "--new-course")
    assert away["course"] != 1 and away["course_number"] == 1
    cancelled = ok_json(capsys, "session", "cancel", "3")
    assert cancelled["course_sessions"] == [1]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ("session", "add", "2", "--treatment", "face", "--at", "2030-03-12 10:00"),
            "error: --course 1: session 1 is patient 1's: a course holds one patient's sessions",
        ),
        (
            ("session", "add", "1", "--treatment", "scalp", "--at", "2030-03-12 10:00"),
            "error: --course 1: session 1 is a face session, not scalp: "
            "a course holds sessions of one treatment",
        ),
        (
            (
                "session",
                "add",
                "1",
                "--treatment",
                "face",
                "--at",
                "2030-03-12 10:00",
                "--new-course",
            ),
            "error: give --course or --new-course, not both",
        ),
        (
            ("session", "move", "1", "--at", "2030-03-06 10:00"),
            "error: no session with id 9 (--course)",
        ),
    ],
)
def test_a_course_of_another_patient_or_treatment_is_refused_in_one_line(
    anna: None, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    ok(capsys, "session", "add", "1", "--treatment", "face", "--at", "2030-03-05 10:00")
    course = "9" if args[1] == "move" else "1"
    assert refused(capsys, *args, "--course", course) == says


def test_the_import_takes_a_course_column(
    anna: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ok(capsys, "session", "add", "1", "--treatment", "face", "--at", "2030-03-05 10:00")
    good = tmp_path / "good.csv"
    good.write_text(
        "patient_id,treatment,starts_at,course\n"
        "1,face,2030-03-12 10:00,\n"
        "1,face,2030-06-01 10:00,1\n"
        "2,face,2030-03-12 10:00,\n"
    )
    assert ok_json(capsys, "import", "sessions", str(good))["sessions"] == 3
    shown = [ok_json(capsys, "session", "show", str(i)) for i in (2, 3, 4)]
    places = {(s["patient"], s["starts_at"]): (s["course"], s["course_number"]) for s in shown}
    assert places[1, "2030-03-12T09:00:00Z"] == (1, 2)
    assert places[1, "2030-06-01T08:00:00Z"] == (1, 3)  # beyond the interval, but joined
    bens_course, bens_number = places[2, "2030-03-12T09:00:00Z"]
    assert bens_number == 1 and bens_course not in (1, None)
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,treatment,starts_at,course\n2,face,2030-03-19 10:00,1\n")
    code, out, err = run(capsys, "import", "sessions", str(bad))
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "error: line 2: course: session 1 is patient 1's: a course holds one patient's sessions"
    )
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("patient_id,treatment,starts_at,series\n1,face,2030-03-19 10:00,1\n")
    code, _, err = run(capsys, "import", "sessions", str(unknown))
    assert code == 1 and "course)" in err
