"""What a patient sends reaches staff: gathered into few staff messages, media copied after
them, the patient told once a burst, and staff replies back to the patient."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from sqlalchemy import select, update

from bot.clock import FrozenClock
from bot.db.models import (
    Audience,
    AuditEvent,
    MessageKind,
    MessageStatus,
    Patient,
    Report,
    ScheduledMessage,
)
from bot.domain.hours import OpeningHours
from bot.domain.triage import Level
from bot.errors import TransientDeliveryError
from bot.services import checkins, escalations, patient_words, staff
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from bot.services.outbox import TEXT_LIMIT, styled, units
from bot.services.patient_words import GATHER_FOR, TELL_AGAIN_AFTER, Media, PatientMessage
from tests.conftest import T0
from tests.fakes import FakeSender
from tests.services.helpers import active_patient

USER, NURSE, OUTSIDER = 5101, 5201, 5301
STAFF_CHAT = -1001
_ids = itertools.count(1)


def said(text: str | None = None, media: Media | None = None, **extra: str) -> PatientMessage:
    """A message from the patient's chat, with its own message id."""
    return PatientMessage(USER, next(_ids), text, media, **extra)  # type: ignore[arg-type]


async def staff_rows(ctx: Context, *kinds: MessageKind) -> list[ScheduledMessage]:
    async with ctx.db() as db:
        stmt = (
            select(ScheduledMessage)
            .where(ScheduledMessage.audience == Audience.STAFF, ScheduledMessage.kind.in_(kinds))
            .order_by(ScheduledMessage.id)
        )
        return list((await db.execute(stmt)).scalars())


async def actions(ctx: Context) -> list[str]:
    async with ctx.db() as db:
        return [a.action for a in (await db.execute(select(AuditEvent))).scalars()]


async def send_all(ctx: Context, clock: FrozenClock, d: Dispatcher) -> None:
    """Moves the clock through every due time until nothing is left to send."""
    await d.dispatch_due()
    while (nxt := await d.next_due_at()) is not None:
        clock.set(max(nxt, clock.now()))
        await d.dispatch_due()


async def test_a_question_with_no_alert_open_is_a_patient_wrote_message_a_few_seconds_later(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER, name="Anna Smith")
    passed = await patient_words.pass_on(ctx, USER, said("Can I put make-up on tomorrow?"))
    assert passed is not None and passed.is_told and passed.question is None
    [row] = await staff_rows(ctx, MessageKind.PATIENT_MESSAGE)
    assert (row.chat_id, row.patient_id, row.escalation_id) == (STAFF_CHAT, patient.id, None)
    assert row.due_at == T0 + GATHER_FOR <= T0 + dt.timedelta(seconds=5)
    assert row.body == (
        f"💬 Anna Smith (P{patient.id:04d}) wrote in English:\n"
        "Can I put make-up on tomorrow?\n"
        "Reply to this message to write to the patient."
    )
    assert styled(row).quoted() == ["Can I put make-up on tomorrow?"]
    assert "patient.wrote" in await actions(ctx)
    sender = FakeSender()
    await send_all(ctx, clock, Dispatcher(ctx, sender))
    [sent] = sender.to(STAFF_CHAT)
    assert sent.text == row.body and clock.now() == T0 + GATHER_FOR
    assert sent.quoted() == ["Can I put make-up on tomorrow?"]


async def test_twenty_messages_in_ten_seconds_make_three_staff_messages_with_every_word(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, USER)
    sender = FakeSender()
    d = Dispatcher(ctx, sender)
    told = []
    for i in range(20):
        passed = await patient_words.pass_on(ctx, USER, said(f"word{i:02d}"))
        assert passed is not None
        told.append(passed.is_told)
        clock.advance(dt.timedelta(seconds=0.5))
        await d.dispatch_due()
    await send_all(ctx, clock, d)
    texts = [s.text for s in sender.to(STAFF_CHAT)]
    assert len(texts) == 3
    quoted = [s.quoted() for s in sender.to(STAFF_CHAT)]
    assert all(sum(f"word{i:02d}" in q for q in quoted) == 1 for i in range(20))
    # in the order written, and the patient was told once
    assert "".join(texts).index("word00") < "".join(texts).index("word19")
    assert told == [True] + [False] * 19


async def test_words_go_in_a_new_message_once_a_dispatcher_has_claimed_the_first(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, USER)
    await patient_words.pass_on(ctx, USER, said("first"))
    # another process claims it, as its due time comes
    async with ctx.db.begin() as db:
        await db.execute(update(ScheduledMessage).values(status=MessageStatus.SENDING))
    clock.advance(dt.timedelta(seconds=1))
    await patient_words.pass_on(ctx, USER, said("second"))
    first, second = await staff_rows(ctx, MessageKind.PATIENT_MESSAGE)
    assert styled(first).quoted() == ["first"] and "second" not in (first.body or "")
    assert styled(second).quoted() == ["second"] and second.status == MessageStatus.PENDING


async def test_the_window_is_counted_from_the_first_message(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, USER)
    for text in ("one", "two", "three"):
        await patient_words.pass_on(ctx, USER, said(text))
        clock.advance(GATHER_FOR / 2)
    first, second = await staff_rows(ctx, MessageKind.PATIENT_MESSAGE)
    assert styled(first).quoted() == ["one", "two"] and styled(second).quoted() == ["three"]


async def test_the_patient_is_told_again_only_after_a_quiet_while(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, USER)
    told = []
    for gap in (dt.timedelta(0), dt.timedelta(minutes=3), TELL_AGAIN_AFTER, dt.timedelta(1)):
        clock.advance(gap)
        passed = await patient_words.pass_on(ctx, USER, said("hello"))
        assert passed is not None
        told.append(passed.is_told)
    assert told == [True, False, True, True]


async def test_a_voice_note_is_copied_after_the_words_that_introduce_it_as_a_reply(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, USER)
    await patient_words.pass_on(ctx, USER, said("listen to this"))
    voice = said(None, Media.VOICE)
    await patient_words.pass_on(ctx, USER, voice)
    await patient_words.pass_on(ctx, USER, said("and this", Media.VIDEO_NOTE))
    await patient_words.pass_on(ctx, USER, said(None, Media.STICKER, emoji="👍"))
    [words] = await staff_rows(ctx, MessageKind.PATIENT_MESSAGE)
    copies = await staff_rows(ctx, MessageKind.PATIENT_COPY)
    assert [(c.copy_from_chat_id, c.follows_id) for c in copies] == [(USER, words.id)] * 2
    assert copies[0].copy_message_id == voice.message_id
    assert words.body is not None and words.body.splitlines()[1:-1] == [
        "listen to this",
        "🎤 a voice note (copied below)",
        "📹 a video message (copied below)",
        "and this",
        "a sticker: 👍",
    ]
    assert styled(words).quoted() == ["listen to this", "and this"]
    # the staff chat fails for the words a while: the copies wait for them
    down = True
    sender = FakeSender(
        fail=lambda chat, text: TransientDeliveryError("502") if down and text else None
    )
    d = Dispatcher(ctx, sender)
    clock.advance(GATHER_FOR)
    for _ in range(3):
        await d.dispatch_due()
        clock.advance(dt.timedelta(seconds=5))
    assert sender.sent == []
    down = False
    await send_all(ctx, clock, d)
    text, *copied = sender.to(STAFF_CHAT)
    assert text.copy_of is None and text.text == words.body
    assert [c.copy_of for c in copied] == [(USER, c.copy_message_id) for c in copies]
    assert [c.reply_to for c in copied] == [text.message_id] * 2


async def test_under_an_open_alert_words_and_copies_are_threaded_under_it(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER, name="Anna Smith")
    await open_alert(ctx, patient)
    sender = FakeSender()
    d = Dispatcher(ctx, sender)
    await send_all(ctx, clock, d)
    [alert] = [s for s in sender.to(STAFF_CHAT) if s.buttons]
    await patient_words.pass_on(ctx, USER, said("It is getting worse"))
    await patient_words.pass_on(ctx, USER, said(None, Media.PHOTO, photo_file_id="ph-1"))
    [words] = await staff_rows(ctx, MessageKind.PATIENT_WORDS)
    assert words.escalation_id is not None
    assert words.body == (
        f"Anna Smith (P{patient.id:04d}) wrote in English, about alert #{words.escalation_id}:\n"
        "It is getting worse\n📷 a photo (copied below)"
    )
    assert styled(words).quoted() == ["It is getting worse"]
    before = len(sender.sent)
    await send_all(ctx, clock, d)
    relayed, photo = sender.sent[before:]
    assert relayed.reply_to == alert.message_id and relayed.text == words.body
    assert photo.copy_of is not None and photo.reply_to == relayed.message_id
    assert "escalation.patient_wrote" in await actions(ctx)


async def open_alert(ctx: Context, patient: Patient) -> None:
    """An urgent report, raised as an alert the way a completed check-in raises it."""
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    async with ctx.db.begin() as db:
        report = Report(
            checkin_id=started.checkin_id,
            patient_id=patient.id,
            symptoms={"pain": 4},
            flags=[],
            level=Level.URGENT,
            reasons=[],
            created_at=ctx.now(),
        )
        db.add(report)
        await db.flush()
        await escalations.raise_for(db, ctx, patient, None, report, None, ctx.now())


async def test_a_long_or_tricky_text_is_cleaned_and_kept_whole_in_parts(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, USER)
    long = "🙂" + "x" * 5_000 + " end"
    await patient_words.pass_on(ctx, USER, said("evil\u202eright-to-left\u200b\x00 text"))
    await patient_words.pass_on(ctx, USER, said(long))
    first, *parts = await staff_rows(ctx, MessageKind.PATIENT_MESSAGE)
    assert styled(first).quoted() == ["evilright-to-left text"]
    # the long one does not fit with the first: a message of its own, in two parts
    assert len(parts) == 2 and parts[1].follows_id == parts[0].id
    assert all(units(p.body or "") <= TEXT_LIMIT for p in parts)
    assert "".join(q for p in parts for q in styled(p).quoted()) == long
    sender = FakeSender()
    await send_all(ctx, clock, Dispatcher(ctx, sender))
    sent = sender.to(STAFF_CHAT)
    assert len(sent) == 3 and sent[2].reply_to == sent[1].message_id
    assert sent[2].text.endswith("Reply to this message to write to the patient.")


async def test_an_open_question_is_shown_again_with_the_acknowledgement(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, USER)
    started = await checkins.start(ctx, USER)
    assert started is not None
    passed = await patient_words.pass_on(ctx, USER, said("not sure what to press"))
    assert passed is not None and passed.question is not None
    assert passed.question.text == started.send[-1].text
    clock.advance(dt.timedelta(minutes=1))
    again = await patient_words.pass_on(ctx, USER, said("hello?"))
    assert again is not None and not again.is_told and again.question is None


async def test_a_staff_reply_to_a_patient_wrote_message_goes_to_the_patient_and_is_audited(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER, name="Anna Smith")
    await staff.add_staff(ctx, NURSE, "Joy", "nurse")
    await patient_words.pass_on(ctx, USER, said("Can I swim?", Media.VOICE))
    sender = FakeSender()
    d = Dispatcher(ctx, sender)
    await send_all(ctx, clock, d)
    text, copy = sender.to(STAFF_CHAT)
    refused = await escalations.staff_reply(ctx, OUTSIDER, text.message_id, "hi")
    assert refused is not None and refused.refusal is not None
    assert await escalations.staff_reply(ctx, NURSE, 424242, "to nothing") is None
    for replied, words in ((text, "Not for a week."), (copy, "Nor the sauna.")):
        done = await escalations.staff_reply(ctx, NURSE, replied.message_id, words)
        # told once it was sent
        assert done is not None and done.text == "" and done.refusal is None
        await send_all(ctx, clock, d)
        assert sender.to(USER)[-1].text == f"Message from Clinique Test:\n{words}"
        assert sender.to(STAFF_CHAT)[-1].text == "Sent to Anna Smith."
    done_actions = await actions(ctx)
    assert done_actions.count("patient.reply") == 2 and "patient.reply.refused" in done_actions
    async with ctx.db() as db:
        row = await db.get(Patient, patient.id)
    assert row is not None and row.words_acknowledged_at == T0


async def test_someone_who_is_not_a_linked_patient_passes_nothing_on(ctx: Context) -> None:
    assert await patient_words.pass_on(ctx, OUTSIDER, said("hello")) is None
    assert await staff_rows(ctx, MessageKind.PATIENT_MESSAGE) == []


@pytest.mark.parametrize(
    ("hours", "later", "expected"),
    [
        (None, dt.timedelta(hours=12), "Someone from the clinic will reply here during opening"),
        ("Mon-Fri 09:00-19:00", dt.timedelta(0), "The clinic is open now: someone will reply"),
        # Monday 21:00 in Paris; the patient is in New York
        ("Mon-Fri 09:00-19:00", dt.timedelta(hours=11), "when it opens again, Tue 3 Mar, 03:00."),
    ],
)
async def test_the_patient_is_told_when_to_expect_an_answer(
    ctx: Context, clock: FrozenClock, hours: str | None, later: dt.timedelta, expected: str
) -> None:
    ctx.clinic = dataclasses.replace(
        ctx.clinic, opening_hours=OpeningHours.parse(hours) if hours else None
    )
    patient = await active_patient(ctx, USER, timezone="America/New_York")
    clock.advance(later)
    assert expected in patient_words.answer_expected(ctx, patient, clock.now())
