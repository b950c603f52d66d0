"""How a scheduled message is shown: its due time in UTC and in the patient's own zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.cli.output import Columns, Row, iso
from bot.db.models import ScheduledMessage

MESSAGE_COLUMNS: Columns = (
    "id",
    "session",
    "step",
    "kind",
    "local",
    "status",
    "attempts",
    "last_error",
)


def message_row(row: ScheduledMessage, zone: str) -> Row:
    return {
        "id": row.id,
        "session": row.session_id,
        "audience": str(row.audience),
        "step": row.step_key,
        "kind": row.kind,
        "due_at": iso(row.due_at),
        "local": row.due_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z"),
        "useful_until": iso(row.useful_until),
        "status": str(row.status),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "telegram_message_id": row.telegram_message_id,
        "sent_at": iso(row.sent_at),
    }
