"""outbox priority and references: alerts first, entities, (chat, message id) references

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:00:00.000000

Every column is added in place, nullable or with a server default: on SQLite a batch rebuild
would DROP the outbox table, and with foreign keys on that cascades. Rows still waiting to be
sent take the priority the outbox gives new rows of their kind.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("scheduled_message", "origin_message_id"),
    ("scheduled_message", "origin_chat_id"),
    ("scheduled_message", "entities"),
    ("scheduled_message", "priority"),
    ("escalation", "note_chat_id"),
)
_WAITING = "status IN ('pending', 'sending')"


def upgrade() -> None:
    op.add_column(
        "scheduled_message",
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("4"), nullable=False),
    )
    op.add_column("scheduled_message", sa.Column("entities", sa.JSON()))
    op.add_column("scheduled_message", sa.Column("origin_chat_id", sa.BigInteger()))
    op.add_column("scheduled_message", sa.Column("origin_message_id", sa.BigInteger()))
    op.add_column("escalation", sa.Column("note_chat_id", sa.BigInteger()))
    op.execute(
        "UPDATE scheduled_message SET priority = 3 "
        f"WHERE {_WAITING} AND (audience = 'staff' OR kind = 'clinic-message')"
    )
    op.execute(
        "UPDATE scheduled_message SET priority = CASE "
        "(SELECT level FROM escalation WHERE escalation.id = scheduled_message.escalation_id) "
        "WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END "
        f"WHERE {_WAITING} AND kind IN ('alert', 'alert-photo')"
    )
    op.create_index(
        "ix_scheduled_message_claim",
        "scheduled_message",
        ["status", "priority", "due_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_scheduled_message_claim", table_name="scheduled_message")
    # SQLite (3.35+) drops a column in place; a batch rebuild would cascade, as above
    for table, column in _COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
