"""Migration 0010 on SQLite: rows still waiting take the priority the outbox gives their kind
(an alert by its escalation's level), and neither way loses a row of the outbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alembic import command
from bot.db.migrate import alembic_config, upgrade
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's own ALTER TABLE path")

AT = "2026-03-02 09:00:00.000000"
ROWS = [
    # audience, kind, escalation, status
    ("staff", "alert", 1, "pending"),
    ("staff", "alert-photo", 1, "sending"),
    ("staff", "alert", 2, "pending"),
    ("staff", "escalation-reminder", 1, "pending"),
    ("staff", "notice", None, "pending"),
    ("patient", "clinic-message", None, "pending"),
    ("patient", "tip", None, "pending"),
    ("staff", "alert", 1, "sent"),
]


def fill(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO patient (id, name, language, is_language_set, timezone, status, "
            f"created_at) VALUES (1, 'Anna', 'en', 0, 'Europe/Paris', 'active', '{AT}')"
        )
        for eid, level, status in ((1, "emergency", "open"), (2, "unusual", "resolved")):
            db.execute(
                "INSERT INTO escalation (id, patient_id, report_id, level, status, opened_at, "
                "updated_at, rounds) VALUES (?, 1, ?, ?, ?, ?, ?, 0)",
                (eid, eid, level, status, AT, AT),
            )
        for i, (audience, kind, escalation, status) in enumerate(ROWS):
            db.execute(
                "INSERT INTO scheduled_message (audience, patient_id, step_key, kind, due_at, "
                "useful_until, status, attempts, created_at, escalation_id) VALUES "
                f"(?, 1, 'k{i}', ?, '{AT}', '{AT}', ?, 0, '{AT}', ?)",
                (audience, kind, status, escalation),
            )


def test_waiting_rows_take_their_priority_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0009")
    fill(path)
    upgrade(url, "0010")
    with sqlite3.connect(path) as db:
        priorities = [
            p for (p,) in db.execute("SELECT priority FROM scheduled_message ORDER BY id")
        ]
        assert priorities == [0, 0, 2, 3, 3, 3, 4, 4]  # a sent row keeps the default
        assert db.execute("SELECT note_chat_id FROM escalation").fetchall() == [(None,), (None,)]
    upgrade(url, "head")
    command.downgrade(alembic_config(url), "0009")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM scheduled_message").fetchone() == (len(ROWS),)
        columns = [c[1] for c in db.execute("PRAGMA table_info(scheduled_message)")]
        assert "priority" not in columns and "entities" not in columns
