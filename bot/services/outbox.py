"""The outbox: every outgoing message, to a patient or to staff, is queued here as one row of
`scheduled_message`; the dispatcher sends it when it is due (DESIGN.md: the database is the
schedule)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.db.models import Audience, MessageKind, MessageStatus, ScheduledMessage
from bot.domain.plan import PlannedMessage, PlanStatus
from bot.services.ports import Buttons

# Staff messages that only make sense while nobody has acknowledged the alert.
CHASER_KINDS = frozenset(
    {
        MessageKind.ESCALATION_REMINDER,
        MessageKind.ESCALATION_DM,
        MessageKind.ESCALATION_UNANSWERED,
    }
)
# Staff are writing to the patient now: quiet hours do not hold these back.
INTERACTIVE_KINDS = frozenset({MessageKind.CLINIC_MESSAGE})
# Staff notices stay worth sending for a week: staff alerts are repeated, never dropped quietly.
NOTICE_USEFUL_FOR = dt.timedelta(days=7)

_TABLE = cast(Table, ScheduledMessage.__table__)


@dataclass(frozen=True)
class Outgoing:
    """One message to queue. `step_key` names it within its session (unique per session), or
    says what it is about (`alert:12`)."""

    kind: MessageKind
    audience: Audience
    step_key: str
    due_at: dt.datetime
    useful_until: dt.datetime
    patient_id: int | None = None
    session_id: int | None = None
    chat_id: int | None = None  # staff messages: the chat; patients' come from the patient
    body: str | None = None  # rendered when queued; protocol steps are rendered when sent
    buttons: Buttons | None = None
    photo_file_id: str | None = None
    checkin_id: int | None = None
    escalation_id: int | None = None
    status: MessageStatus = MessageStatus.PENDING
    last_error: str | None = None
    # a copy (copyMessage) of a message in another chat: that chat and the message's id
    copy_from_chat_id: int | None = None
    copy_message_id: int | None = None
    follows_id: int | None = None  # the row this one is sent after, as a reply to it


def to_patient(
    kind: MessageKind,
    patient_id: int,
    key: str,
    body: str,
    now: dt.datetime,
    useful_until: dt.datetime,
    *,
    buttons: Buttons | None = None,
    checkin_id: int | None = None,
    escalation_id: int | None = None,
) -> Outgoing:
    """A message written now for a patient, due at once."""
    return Outgoing(
        kind,
        Audience.PATIENT,
        key,
        now,
        useful_until,
        patient_id=patient_id,
        body=body,
        buttons=buttons,
        checkin_id=checkin_id,
        escalation_id=escalation_id,
    )


def to_staff(
    kind: MessageKind,
    chat_id: int | None,
    key: str,
    body: str,
    now: dt.datetime,
    *,
    patient_id: int | None = None,
    escalation_id: int | None = None,
    buttons: Buttons | None = None,
    photo_file_id: str | None = None,
) -> Outgoing:
    """A message for the staff chat (or one staff member), due at once, useful for a week."""
    return Outgoing(
        kind,
        Audience.STAFF,
        key,
        now,
        now + NOTICE_USEFUL_FOR,
        patient_id=patient_id,
        chat_id=chat_id,
        body=body,
        buttons=buttons,
        photo_file_id=photo_file_id,
        escalation_id=escalation_id,
    )


def planned(item: PlannedMessage, session_id: int, patient_id: int) -> Outgoing:
    """One protocol step planned for a session: rendered in the patient's language when sent."""
    skipped = item.status == PlanStatus.SKIPPED
    return Outgoing(
        MessageKind(item.kind),
        Audience.PATIENT,
        item.step_key,
        item.due_at,
        item.useful_until,
        patient_id=patient_id,
        session_id=session_id,
        status=MessageStatus.SKIPPED if skipped else MessageStatus.PENDING,
        last_error=item.reason if skipped else None,
    )


def columns(item: Outgoing, now: dt.datetime) -> dict[str, Any]:
    """The row's columns: the one place an outbox row is shaped. Unset optional columns are
    left out, so they are SQL NULL (a JSON column would otherwise store `null`)."""
    values: dict[str, Any] = {"attempts": 0, "created_at": now}
    for f in fields(item):
        value = getattr(item, f.name)
        if f.name == "buttons":
            value = encode_buttons(value)
        if value is not None:
            values[f.name] = value
    return values


def queue(db: AsyncSession, item: Outgoing, now: dt.datetime) -> ScheduledMessage:
    """Adds the message to the unit of work; it is sent once the transaction commits."""
    row = ScheduledMessage(**columns(item, now))
    db.add(row)
    return row


async def queue_many(
    connection: AsyncConnection, items: Sequence[Outgoing], now: dt.datetime
) -> None:
    """Many messages of one shape in one multi-row insert (a morning's CSV import)."""
    rows = [columns(item, now) for item in items]
    # one statement needs one set of columns: a column set in any row is given in all
    names = {name for row in rows for name in row}
    if rows:
        await connection.execute(
            insert(_TABLE), [{name: row.get(name) for name in names} for row in rows]
        )


def replan(row: ScheduledMessage, item: PlannedMessage) -> None:
    """An unsent row takes its step's new plan (the session moved, the patient resumed)."""
    again = planned(item, row.session_id or 0, row.patient_id or 0)
    row.kind, row.due_at, row.useful_until = again.kind, again.due_at, again.useful_until
    row.status, row.last_error = again.status, again.last_error


def cancel(row: ScheduledMessage, reason: str) -> None:
    """An unsent row that is not to be sent after all; the reason shows in `aftercare schedule`."""
    row.status, row.last_error = MessageStatus.CANCELLED, reason


def encode_buttons(buttons: Buttons | None) -> list[object] | None:
    """Buttons as stored in the row's JSON column: rows of [label, callback data]."""
    return [[[label, data] for label, data in row] for row in buttons] if buttons else None


def decode_buttons(stored: Iterable[Any] | None) -> Buttons | None:
    return [[(str(label), str(data)) for label, data in row] for row in stored] if stored else None
