"""The outbox: every outgoing message, to a patient or to staff, is queued here as rows of
`scheduled_message`; the dispatcher sends them when they are due (DESIGN.md: the database is
the schedule). A text longer than Telegram takes is queued as several rows, one a part.

Long texts are split here, when they are queued, rather than by the sender: each part is then a
row of its own, claimed, paced and written back like any message, so a part that must be tried
again never repeats the parts Telegram already has (there is no idempotency key), a staff reply
to any part of a long alert finds the alert, and a part that fails for good says which."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.db.models import Audience, MessageKind, MessageStatus, Priority, ScheduledMessage
from bot.domain.plan import PlannedMessage, PlanStatus
from bot.domain.triage import Level
from bot.services.ports import Buttons, Entity

# Staff messages that only make sense while nobody has acknowledged the alert.
CHASER_KINDS = frozenset(
    {
        MessageKind.ESCALATION_REMINDER,
        MessageKind.ESCALATION_DM,
        MessageKind.ESCALATION_UNANSWERED,
    }
)
# Staff are writing to the patient now, or the patient just wrote and is told their words did
# not reach the clinic: quiet hours do not hold these back.
INTERACTIVE_KINDS = frozenset({MessageKind.CLINIC_MESSAGE, MessageKind.DELIVERY_REPORT})
# Staff notices stay worth sending for a week: staff alerts are repeated, never dropped quietly.
NOTICE_USEFUL_FOR = dt.timedelta(days=7)
# Telegram's limits, in UTF-16 code units (never fewer than Telegram's own count)
TEXT_LIMIT = 4096  # a message's text
CAPTION_LIMIT = 1024  # a photo's caption
BLOCKQUOTE = "blockquote"

# Alerts take the staff chat's ~20 messages a minute first, by level; then what follows up on
# them and what people wrote; the plan's routine messages last.
ALERT_KINDS = frozenset({MessageKind.ALERT, MessageKind.ALERT_PHOTO})
_ALERT_PRIORITY = {Level.EMERGENCY: Priority.EMERGENCY, Level.URGENT: Priority.URGENT}

_TABLE = cast(Table, ScheduledMessage.__table__)


def units(text: str) -> int:
    """A text's length as Telegram counts it for its limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Styled:
    """A text and its entities (a patient's words set apart as a blockquote); `+` joins texts,
    moving the entities of what is added along."""

    text: str = ""
    entities: tuple[Entity, ...] = ()

    @classmethod
    def quote(cls, text: str) -> Styled:
        return cls(text, (Entity(BLOCKQUOTE, 0, units(text)),) if text else ())

    @classmethod
    def lines(cls, lines: Iterable[Styled | str]) -> Styled:
        joined = cls()
        for i, line in enumerate(lines):
            joined = (joined + "\n" if i else joined) + line
        return joined

    def __add__(self, other: Styled | str) -> Styled:
        if isinstance(other, str):
            return Styled(self.text + other, self.entities)
        shift = units(self.text)
        moved = tuple(dataclasses.replace(e, offset=e.offset + shift) for e in other.entities)
        return Styled(self.text + other.text, self.entities + moved)

    def __radd__(self, other: str) -> Styled:
        return Styled(other) + self

    def quoted(self) -> list[str]:
        """The texts of its blockquotes."""
        encoded = self.text.encode("utf-16-le")
        return [
            encoded[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le")
            for e in self.entities
            if e.type == BLOCKQUOTE
        ]


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
    entities: tuple[Entity, ...] = ()  # the body's
    level: Level | None = None  # an alert's: its priority
    reply_to_message_id: int | None = None  # in the chat it goes to
    # what it passes on (a staff member's reply, a patient's words): who is told how it went
    origin_chat_id: int | None = None
    origin_message_id: int | None = None


def to_patient(
    kind: MessageKind,
    patient_id: int,
    key: str,
    body: str | Styled,
    now: dt.datetime,
    useful_until: dt.datetime,
    *,
    buttons: Buttons | None = None,
    checkin_id: int | None = None,
    escalation_id: int | None = None,
    origin: tuple[int, int | None] | None = None,
    reply_to: int | None = None,
) -> Outgoing:
    """A message written now for a patient, due at once. `origin`: the chat (and message id,
    when known) of what it passes on, whose writer is told whether it was delivered."""
    return _written(
        Audience.PATIENT,
        kind,
        key,
        body,
        now,
        useful_until,
        origin,
        reply_to,
        patient_id=patient_id,
        buttons=buttons,
        checkin_id=checkin_id,
        escalation_id=escalation_id,
    )


def to_staff(
    kind: MessageKind,
    chat_id: int | None,
    key: str,
    body: str | Styled,
    now: dt.datetime,
    *,
    patient_id: int | None = None,
    escalation_id: int | None = None,
    buttons: Buttons | None = None,
    photo_file_id: str | None = None,
    level: Level | None = None,
    origin: tuple[int, int | None] | None = None,
    reply_to: int | None = None,
) -> Outgoing:
    """A message for the staff chat (or one staff member), due at once, useful for a week.
    `level`: an alert's, which decides how soon it goes; `origin`: as for `to_patient`."""
    return _written(
        Audience.STAFF,
        kind,
        key,
        body,
        now,
        now + NOTICE_USEFUL_FOR,
        origin,
        reply_to,
        patient_id=patient_id,
        chat_id=chat_id,
        buttons=buttons,
        photo_file_id=photo_file_id,
        escalation_id=escalation_id,
        level=level,
    )


def _written(
    audience: Audience,
    kind: MessageKind,
    key: str,
    body: str | Styled,
    now: dt.datetime,
    useful_until: dt.datetime,
    origin: tuple[int, int | None] | None,
    reply_to: int | None,
    **fields: Any,
) -> Outgoing:
    """A message written now (not a protocol step), due at once."""
    styled = Styled(body) if isinstance(body, str) else body
    return Outgoing(
        kind,
        audience,
        key,
        now,
        useful_until,
        body=styled.text,
        entities=styled.entities,
        reply_to_message_id=reply_to,
        origin_chat_id=origin[0] if origin else None,
        origin_message_id=origin[1] if origin else None,
        **fields,
    )


def priority(item: Outgoing) -> Priority:
    """Emergency, urgent, then unusual alerts; then staff follow-ups (reminders, what patients
    wrote, notices, staff writing to a patient); then the plan's tips and check-ins."""
    if item.kind in ALERT_KINDS:
        return _ALERT_PRIORITY.get(item.level or Level.UNUSUAL, Priority.UNUSUAL)
    if item.audience == Audience.STAFF or item.kind in INTERACTIVE_KINDS:
        return Priority.FOLLOW_UP
    return Priority.ROUTINE


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
    values: dict[str, Any] = {"attempts": 0, "created_at": now, "priority": priority(item)}
    for f in fields(item):
        value = getattr(item, f.name)
        if f.name == "level":
            continue  # only its priority is kept
        if f.name == "buttons":
            value = encode_buttons(value)
        if f.name == "entities":
            value = encode_entities(value)
        if value is not None:
            values[f.name] = value
    return values


def queue(db: AsyncSession, item: Outgoing, now: dt.datetime) -> ScheduledMessage:
    """Adds the message to the unit of work; it is sent once the transaction commits. A text
    over Telegram's limit becomes several rows, each following the one before; the last is
    returned (what comes after the message follows it)."""
    last: ScheduledMessage | None = None
    for part in parts(item):
        row = ScheduledMessage(**columns(part, now))
        if last is not None:
            row.follows = last  # its id is known only once the unit of work is flushed
        db.add(row)
        last = row
    assert last is not None
    return last


def parts(item: Outgoing) -> list[Outgoing]:
    """The message as Telegram takes it: one part, or a long text cut into several. A photo
    keeps the first part as its caption; buttons and the origin go with the last part (the
    message's end, and what settles it), a reply with the first."""
    if item.body is None:
        return [item]
    first = CAPTION_LIMIT if item.photo_file_id else TEXT_LIMIT
    pieces = split(Styled(item.body, item.entities), first)
    if len(pieces) == 1:
        return [item]
    result = []
    for i, piece in enumerate(pieces):
        is_first, is_last = i == 0, i == len(pieces) - 1
        result.append(
            dataclasses.replace(
                item,
                body=piece.text,
                entities=piece.entities,
                photo_file_id=item.photo_file_id if is_first else None,
                reply_to_message_id=item.reply_to_message_id if is_first else None,
                follows_id=item.follows_id if is_first else None,
                buttons=item.buttons if is_last else None,
                origin_chat_id=item.origin_chat_id if is_last else None,
                origin_message_id=item.origin_message_id if is_last else None,
            )
        )
    return result


# Where a long text is best cut, in this order: between paragraphs, between lines, after a
# sentence, between words; looked for in the second half of a part, so no part is tiny.
_BREAKS = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?…。！？؟])\s"),
    re.compile(r"\s"),
)


def split(body: Styled, first: int = TEXT_LIMIT, limit: int = TEXT_LIMIT) -> list[Styled]:
    """The text in parts of at most `first` (the first part) and `limit` UTF-16 code units,
    cut where a reader would pause; entities are cut with their text. A word longer than a
    part is cut where it must be."""
    text = body.text
    pieces: list[Styled] = []
    start, room = 0, first
    while units(text[start:]) > room:
        end = start + _fitting(text[start:], room)
        cut = resume = end
        middle = start + (end - start) // 2
        for pattern in _BREAKS:
            found = [m for m in pattern.finditer(text, middle, end) if m.start() > start]
            if found:
                cut, resume = found[-1].start(), found[-1].end()
                break
        # the break and the spaces around it go: Telegram would trim them anyway
        while resume < len(text) and text[resume].isspace():
            resume += 1
        while cut > start + 1 and text[cut - 1].isspace():
            cut -= 1
        pieces.append(_slice(body, start, cut))
        start, room = resume, limit
    pieces.append(_slice(body, start, len(text)))
    return pieces


def _fitting(text: str, room: int) -> int:
    """How many characters of the text fit in `room` code units."""
    # a surrogate pair cut in half is dropped by the decoder
    return len(text.encode("utf-16-le")[: 2 * room].decode("utf-16-le", errors="ignore"))


def _slice(body: Styled, start: int, end: int) -> Styled:
    before = units(body.text[:start])
    text = body.text[start:end]
    after = before + units(text)
    kept = []
    for e in body.entities:
        head, tail = max(e.offset, before), min(e.offset + e.length, after)
        if tail > head:
            kept.append(Entity(e.type, head - before, tail - head))
    return Styled(text, tuple(kept))


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


def encode_entities(entities: Sequence[Entity]) -> list[object] | None:
    """Entities as stored in the row's JSON column: [type, offset, length]."""
    return [[e.type, e.offset, e.length] for e in entities] or None


def decode_entities(stored: Iterable[Any] | None) -> tuple[Entity, ...]:
    return tuple(Entity(str(t), int(o), int(n)) for t, o, n in stored or ())


def styled(row: ScheduledMessage) -> Styled:
    """A queued row's text with its entities."""
    return Styled(row.body or "", decode_entities(row.entities))
