"""update chats: each chat's updates in order, chats side by side; senders' limits

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00.000000

Plain columns, added in place on SQLite too (as in 0008). Updates waiting when the database
is upgraded get their chat from their payload, so they too are handled in order.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "status IN ('received', 'handling')"


def _chat_of(payload: Any) -> int | None:
    # as bot.services.inbox.chat_of, frozen here as it was when this migration was written
    if not isinstance(payload, dict):
        return None
    for key, content in payload.items():
        if key == "update_id" or not isinstance(content, dict):
            continue
        for holder in (content, content.get("message")):
            chat = holder.get("chat") if isinstance(holder, dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
        for name in ("from", "user"):
            user = content.get(name)
            if isinstance(user, dict) and isinstance(user.get("id"), int):
                return int(user["id"])
        return None
    return None


def upgrade() -> None:
    op.add_column("inbound_update", sa.Column("chat_id", sa.BigInteger()))
    op.add_column(
        "inbound_update",
        sa.Column("is_stranger", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("inbound_update", sa.Column("intake", sa.String(length=24)))
    table = sa.table(
        "inbound_update",
        sa.column("update_id", sa.BigInteger()),
        sa.column("status", sa.String()),
        sa.column("payload", sa.JSON()),
        sa.column("chat_id", sa.BigInteger()),
    )
    bind = op.get_bind()
    waiting = bind.execute(
        sa.select(table.c.update_id, table.c.payload).where(
            table.c.status.in_(["received", "handling"])
        )
    ).all()
    for update_id, payload in waiting:
        chat = _chat_of(payload)
        if chat is not None:
            bind.execute(
                sa.update(table).where(table.c.update_id == update_id).values(chat_id=chat)
            )
    op.create_index(
        "ix_inbound_update_waiting",
        "inbound_update",
        ["is_stranger", "update_id"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )
    op.create_index(
        "ix_inbound_update_chat_waiting",
        "inbound_update",
        ["chat_id", "update_id"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )
    op.create_index(
        "ix_inbound_update_chat_intake",
        "inbound_update",
        ["chat_id", "update_id"],
        sqlite_where=sa.text("intake IS NOT NULL"),
        postgresql_where=sa.text("intake IS NOT NULL"),
    )
    op.create_index(
        "ix_inbound_update_intake",
        "inbound_update",
        ["intake", "received_at"],
        sqlite_where=sa.text("intake IS NOT NULL"),
        postgresql_where=sa.text("intake IS NOT NULL"),
    )


def downgrade() -> None:
    for index in (
        "ix_inbound_update_intake",
        "ix_inbound_update_chat_intake",
        "ix_inbound_update_chat_waiting",
        "ix_inbound_update_waiting",
    ):
        op.drop_index(index, table_name="inbound_update")
    # SQLite (3.35+) drops a column in place; a batch rebuild would cascade, as in 0008
    for column in ("intake", "is_stranger", "chat_id"):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE inbound_update DROP COLUMN {column}")
        else:
            op.drop_column("inbound_update", column)
