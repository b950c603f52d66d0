"""Migration 0007 (courses) on SQLite: every existing session becomes a course of its own, and
neither way loses a row of the outbox (a table rebuild's DROP would cascade to it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alembic import command
from bot.db.migrate import alembic_config, upgrade
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's own ALTER TABLE path")

AT = "2026-03-02 09:00:00.000000"


def fill(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO patient (id, name, language, is_language_set, timezone, status, "
            f"created_at) VALUES (1, 'Anna', 'en', 0, 'Europe/Paris', 'active', '{AT}')"
        )
        for sid, start in ((1, "2026-03-03 09:00:00.000000"), (2, "2026-03-10 09:00:00.000000")):
            db.execute(
                "INSERT INTO treatment_session (id, patient_id, treatment, area, starts_at, "
                f"status, created_at) VALUES ({sid}, 1, 'face', 'face', '{start}', 'planned', "
                f"'{AT}')"
            )
            db.execute(
                "INSERT INTO scheduled_message (audience, session_id, patient_id, step_key, "
                "kind, due_at, useful_until, status, attempts, created_at) VALUES "
                f"('patient', {sid}, 1, 'right-after', 'tip', '{start}', '{start}', 'pending', "
                f"0, '{AT}')"
            )


def test_existing_sessions_become_courses_of_their_own_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0006")
    fill(path)
    upgrade(url, "0007")
    with sqlite3.connect(path) as db:
        assert db.execute(
            "SELECT id, patient_id, treatment FROM course ORDER BY id"
        ).fetchall() == [
            (1, 1, "face"),
            (2, 1, "face"),
        ]
        assert db.execute(
            "SELECT id, course_id, course_number FROM treatment_session ORDER BY id"
        ).fetchall() == [(1, 1, 1), (2, 2, 1)]
        assert db.execute("SELECT count(*) FROM scheduled_message").fetchone() == (2,)
        db.execute(
            f"INSERT INTO course (patient_id, treatment, created_at) VALUES (1, 'face', '{AT}')"
        )
        assert db.execute("SELECT max(id) FROM course").fetchone() == (3,)
    checked = sqlite3.connect(path, isolation_level=None)
    checked.execute("PRAGMA foreign_keys=ON")
    with pytest.raises(sqlite3.IntegrityError):
        checked.execute("UPDATE treatment_session SET course_id = 99 WHERE id = 1")
    checked.close()
    command.downgrade(alembic_config(url), "0006")
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(treatment_session)")}
        assert not {"course_id", "course_number"} & columns
        assert db.execute("SELECT count(*) FROM treatment_session").fetchone() == (2,)
        assert db.execute("SELECT count(*) FROM scheduled_message").fetchone() == (2,)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "course" not in tables
    upgrade(url, "0007")  # and up again
