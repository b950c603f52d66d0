"""per-chat pacing shared by every process

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import bot.db.types
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_pace",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("busy_until", bot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_chat_pace")),
    )
    op.create_index(op.f("ix_chat_pace_busy_until"), "chat_pace", ["busy_until"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_pace_busy_until"), table_name="chat_pace")
    op.drop_table("chat_pace")
