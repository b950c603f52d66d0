"""copied messages: what a patient sends reaches staff, media copied

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 21:00:00.000000

Plain nullable columns, added in place on SQLite too: a batch rebuild would DROP the outbox
table, and with foreign keys on that cascades.
"""

from collections.abc import Sequence

import sqlalchemy as sa

import bot.db.types
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("scheduled_message", sa.Column("copy_from_chat_id", sa.BigInteger()))
    op.add_column("scheduled_message", sa.Column("copy_message_id", sa.BigInteger()))
    op.add_column("scheduled_message", sa.Column("follows_id", sa.Integer()))
    op.add_column(
        "patient",
        sa.Column("words_acknowledged_at", bot.db.types.UtcDateTime(timezone=True)),
    )


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place; a batch rebuild would cascade, as above
    for table, column in (
        ("patient", "words_acknowledged_at"),
        ("scheduled_message", "follows_id"),
        ("scheduled_message", "copy_message_id"),
        ("scheduled_message", "copy_from_chat_id"),
    ):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
