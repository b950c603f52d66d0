"""invites: a newer invite revokes the earlier ones

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:00:00.000000

One plain nullable column, added in place on SQLite too (no table rebuild). The hold on a link
opened by someone (services.enrolment.HOLD) counts from the existing `opened_at`; wrong tokens
are forgotten and pruned by their existing `last_failed_at` and `blocked_until`.
"""

from collections.abc import Sequence

import sqlalchemy as sa

import bot.db.types
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("invite", sa.Column("revoked_at", bot.db.types.UtcDateTime(timezone=True)))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place; a batch rebuild would cascade to what refers to it
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE invite DROP COLUMN revoked_at")
    else:
        op.drop_column("invite", "revoked_at")
