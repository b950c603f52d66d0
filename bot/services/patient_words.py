"""What a linked patient sends (other than the answer to a check-in's question) reaches staff
within seconds: under their open alert, or as a "patient wrote" message that staff answer by
replying to it. Messages of one patient in a short window become one staff message; photos,
voice notes, videos and files are copied after it; the patient is told once a burst that the
clinic has their message.

Safe with several processes: the patient's row is locked (SQLite: every writer holds the
database's write lock) while a message is passed on, and words join a queued staff message only
by a conditional update that fails once a dispatcher has claimed it; then they start a new one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkin_queries, escalation_queries, queries
from bot.db.models import Escalation, MessageKind, Patient
from bot.domain.checkin import CheckinStage
from bot.i18n import N_
from bot.services import checkins, outbox
from bot.services.checkins import Screen
from bot.services.context import Context
from bot.services.escalations.wording import (
    _st,
    one_word,
    patient_message_head,
    patient_words_head,
    reply_hint,
    set_apart,
)
from bot.services.outbox import TEXT_LIMIT, Styled, units

# Messages of one patient within this time of the first become one staff message. Counted from
# the first, so that a long burst still reaches staff every few seconds (20 messages in 10 s
# make 3 staff messages) and a typed question is in the staff chat within 5 s.
GATHER_FOR = dt.timedelta(seconds=4)
# A patient who writes again within this time of being told that the clinic has their message
# is not told again.
TELL_AGAIN_AFTER = dt.timedelta(minutes=10)


class Media(enum.StrEnum):
    PHOTO = "photo"
    VOICE = "voice"
    VIDEO = "video"
    VIDEO_NOTE = "video_note"  # a round video message
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"


# What staff read in place of the media; all but stickers are copied after that text.
MEDIA_LABELS = {
    Media.PHOTO: ("📷", N_("a photo (copied below)")),
    Media.VOICE: ("🎤", N_("a voice note (copied below)")),
    Media.VIDEO: ("🎬", N_("a video (copied below)")),
    Media.VIDEO_NOTE: ("📹", N_("a video message (copied below)")),
    Media.AUDIO: ("🎵", N_("an audio file (copied below)")),
    Media.DOCUMENT: ("📎", N_("a file (copied below)")),
    Media.STICKER: ("", N_("a sticker: {emoji}")),
}
COPIED = frozenset(Media) - {Media.STICKER}


@dataclass(frozen=True)
class PatientMessage:
    """One message from a patient's chat: its words (text or caption) and what it carries."""

    chat_id: int
    message_id: int
    text: str | None = None
    media: Media | None = None
    photo_file_id: str | None = None  # the largest size, for a check-in's note
    emoji: str | None = None  # a sticker's


@dataclass(frozen=True)
class Passed:
    """`is_told`: the first message of a burst, the patient is told the clinic has it;
    `question`: then the open check-in's question, shown again."""

    is_told: bool
    question: Screen | None = None


async def pass_on(ctx: Context, telegram_user_id: int, message: PatientMessage) -> Passed | None:
    """Queues the message for the staff chat (joining the patient's staff message of the last
    few seconds when there is one) and a copy of its media. None: not a linked patient."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await escalation_queries.patient_writing(db, telegram_user_id)
        if patient is None:
            return None
        escalation = await escalation_queries.unresolved_for(db, patient.id)
        words_id, due_at, is_new = await _gather(db, ctx, patient, escalation, message, now)
        if message.media in COPIED:
            _queue_copy(db, ctx, patient, escalation, message, words_id, due_at, now)
        told = patient.words_acknowledged_at
        is_told = told is None or now - told >= TELL_AGAIN_AFTER
        if is_told:
            patient.words_acknowledged_at = now
        if escalation is not None:
            action, subject = "escalation.patient_wrote", f"escalation:{escalation.id}"
        else:
            action, subject = "patient.wrote", f"patient:{patient.id}"
        queries.add_audit(db, now, f"patient:{patient.id}", action, subject)
        question = await _open_question(db, ctx, patient) if is_told else None
    if is_new:
        ctx.wake()  # the scheduler learns when the new staff message is due
    return Passed(is_told, question)


def contact_line(ctx: Context, lang: str) -> str:
    """How to reach the clinic, and the emergency number: on every answer that matters."""
    clinic = ctx.clinic
    if clinic.phone:
        return ctx.i18n.t(
            lang,
            "If something worries you, call {clinic} on {phone}. "
            "In an emergency, call {emergency}.",
            clinic=clinic.name,
            phone=clinic.phone,
            emergency=clinic.emergency_number,
        )
    return ctx.i18n.t(
        lang,
        "If something worries you, contact {clinic}. In an emergency, call {emergency}.",
        clinic=clinic.name,
        emergency=clinic.emergency_number,
    )


def answer_expected(ctx: Context, patient: Patient, now: dt.datetime) -> str:
    """When the patient can expect an answer: by the clinic's opening hours when they are set
    (AFTERCARE_OPENING_HOURS), in the patient's own time zone."""
    clinic, lang = ctx.clinic, patient.language
    if clinic.opening_hours is None:
        return ctx.i18n.t(lang, "Someone from the clinic will reply here during opening hours.")
    if clinic.is_open(now):
        return ctx.i18n.t(
            lang, "The clinic is open now: someone will reply here as soon as they can."
        )
    opens = clinic.next_opening(now)
    if opens is None:
        return ctx.i18n.t(lang, "Someone from the clinic will reply here during opening hours.")
    return ctx.i18n.t(
        lang,
        "The clinic is closed now: someone will reply here when it opens again, {when}.",
        when=ctx.i18n.when(lang, opens, patient.timezone),
    )


async def _gather(
    db: AsyncSession,
    ctx: Context,
    patient: Patient,
    escalation: Escalation | None,
    message: PatientMessage,
    now: dt.datetime,
) -> tuple[int, dt.datetime, bool]:
    """The staff message these words go in: the one queued in the last GATHER_FOR if they still
    fit in one message, or a new one due GATHER_FOR from now (in parts, if even alone they are
    longer than Telegram takes). Returns its id, its due time, and whether it is new."""
    if escalation is not None:
        kind = MessageKind.PATIENT_WORDS
        head, tail = patient_words_head(ctx, escalation, patient), ""
    else:
        kind = MessageKind.PATIENT_MESSAGE
        head, tail = patient_message_head(ctx, patient), "\n" + reply_hint(ctx)
    line = _line(ctx, message)
    escalation_id = escalation.id if escalation is not None else None
    queued = await escalation_queries.words_to_join(
        db, patient.id, kind, escalation_id, now - GATHER_FOR
    )
    if queued is not None and queued.body is not None and queued.body.endswith(tail):
        before = outbox.styled(queued)
        kept = Styled(before.text[: len(before.text) - len(tail)], before.entities)
        joined = kept + "\n" + line + tail
        if units(joined.text) <= TEXT_LIMIT and await escalation_queries.join_words(
            db, queued.id, queued.body, joined.text, outbox.encode_entities(joined.entities)
        ):
            return queued.id, queued.due_at, False
    about = f"{escalation.id}" if escalation is not None else f"{patient.id}"
    item = outbox.to_staff(
        kind,
        ctx.clinic.staff_chat_id,
        f"{kind}:{about}",
        head + "\n" + line + tail,
        now,
        patient_id=patient.id,
        escalation_id=escalation_id,
        # should it never reach the staff chat, the patient is told
        origin=(message.chat_id, message.message_id),
    )
    row = outbox.queue(db, dataclasses.replace(item, due_at=now + GATHER_FOR), now)
    await db.flush()
    return row.id, row.due_at, True


def _line(ctx: Context, message: PatientMessage) -> Styled:
    """One message as staff read it: what it carries, then its words set apart."""
    lines: list[Styled | str] = []
    if message.media is not None:
        icon, label = MEDIA_LABELS[message.media]
        said = _st(ctx, label, emoji=one_word(message.emoji or "?"))
        lines.append(f"{icon} {said}".strip())
    if message.text or not lines:
        lines.append(set_apart(message.text or ""))
    return Styled.lines(lines)


def _queue_copy(
    db: AsyncSession,
    ctx: Context,
    patient: Patient,
    escalation: Escalation | None,
    message: PatientMessage,
    words_id: int,
    due_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """The media itself, copied from the patient's chat after the words that introduce it."""
    item = outbox.to_staff(
        MessageKind.PATIENT_COPY,
        ctx.clinic.staff_chat_id,
        f"{MessageKind.PATIENT_COPY}:{patient.id}",
        "",
        now,
        patient_id=patient.id,
        escalation_id=escalation.id if escalation is not None else None,
        origin=(message.chat_id, message.message_id),
    )
    copy = dataclasses.replace(
        item,
        due_at=due_at,
        body=None,
        copy_from_chat_id=message.chat_id,
        copy_message_id=message.message_id,
        follows_id=words_id,
    )
    outbox.queue(db, copy, now)


async def _open_question(db: AsyncSession, ctx: Context, patient: Patient) -> Screen | None:
    """The question an open check-in waits for, to show again after the acknowledgement."""
    checkin = await checkin_queries.open_checkin(db, patient.id)
    if checkin is None or checkin.stage == CheckinStage.DONE:
        return None
    step = await checkins.step_of(db, ctx, checkin)
    return checkins.question(ctx, checkin, patient, step)
