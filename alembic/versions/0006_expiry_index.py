"""an index for the expiry sweep of every wake-up

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `expire_overdue` runs on every wake-up: without this it reads every pending row
    op.create_index(
        "ix_scheduled_message_useful", "scheduled_message", ["status", "useful_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_scheduled_message_useful", table_name="scheduled_message")
