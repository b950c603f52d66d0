"""courses of sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 19:00:00.000000

Every existing session becomes a course of its own, number 1 (the course takes the session's id):
which sessions form a course depends on each protocol's `course_interval`, and a clinic's own
protocol files are not known to a migration. The plans already written are left as they are;
`aftercare session move SID --course OTHER` joins a session to another's course afterwards.
"""

from collections.abc import Sequence

import sqlalchemy as sa

import bot.db.types
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_treatment_session_course_id_course"


def upgrade() -> None:
    op.create_table(
        "course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("treatment", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_course_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course")),
    )
    op.create_index("ix_course_patient_treatment", "course", ["patient_id", "treatment"])
    if op.get_bind().dialect.name == "sqlite":
        # A plain ADD COLUMN: SQLite takes a REFERENCES clause on a nullable column, while a
        # batch rebuild would DROP the table, and with foreign keys on that deletes (cascades
        # to) every outbox row of every session.
        op.execute(
            "ALTER TABLE treatment_session ADD COLUMN course_id INTEGER "
            f"CONSTRAINT {FK} REFERENCES course (id)"
        )
    else:
        op.add_column("treatment_session", sa.Column("course_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "treatment_session", "course", ["course_id"], ["id"])
    op.add_column(
        "treatment_session",
        sa.Column("course_number", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    op.execute(
        "INSERT INTO course (id, patient_id, treatment, created_at) "
        "SELECT id, patient_id, treatment, created_at FROM treatment_session"
    )
    op.execute("UPDATE treatment_session SET course_id = id")
    if op.get_bind().dialect.name == "postgresql":
        # the ids were given explicitly: the sequence starts after them
        op.execute(
            "SELECT setval(pg_get_serial_sequence('course', 'id'), "
            "COALESCE((SELECT MAX(id) FROM course), 0) + 1, false)"
        )
    op.create_index("ix_treatment_session_course", "treatment_session", ["course_id", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_treatment_session_course", table_name="treatment_session")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite (3.35+) drops a column in place; a batch rebuild would cascade, as above
        op.execute("ALTER TABLE treatment_session DROP COLUMN course_number")
        op.execute("ALTER TABLE treatment_session DROP COLUMN course_id")
    else:
        op.drop_constraint(FK, "treatment_session", type_="foreignkey")
        op.drop_column("treatment_session", "course_number")
        op.drop_column("treatment_session", "course_id")
    op.drop_index("ix_course_patient_treatment", table_name="course")
    op.drop_table("course")
