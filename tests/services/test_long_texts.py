"""Long texts: cut at Telegram's limits where a reader would pause, queued as parts that follow
each other; whoever wrote a message that cannot be delivered is told (issue 11, item 4)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import (
    MessageKind,
    MessageStatus,
    Patient,
    PatientStatus,
    Report,
    ScheduledMessage,
)
from bot.domain.triage import Level
from bot.errors import DeliveryError, PermanentDeliveryError, UncertainDelivery
from bot.services import checkins, escalations, outbox, patient_words, staff
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from bot.services.outbox import CAPTION_LIMIT, TEXT_LIMIT, Styled, split, units
from bot.services.patient_words import PatientMessage
from bot.services.ports import Entity
from tests.fakes import FakeSender
from tests.services.helpers import active_patient

ANNA, JOY = 5701, 5801
STAFF_CHAT = -1001
HEADER = "Message from Clinique Test:\n"
_ids = itertools.count(1)


async def send_all(clock: FrozenClock, d: Dispatcher) -> None:
    await d.dispatch_due()
    while (nxt := await d.next_due_at()) is not None:
        clock.set(max(nxt, clock.now()))
        await d.dispatch_due()


def joined_back(parts: list[Styled], separators: list[str]) -> str:
    """The parts with what was cut away between them put back."""
    return "".join(p.text + s for p, s in zip(parts, [*separators, ""], strict=True))


@pytest.mark.parametrize(
    ("text", "cut_after"),
    [
        # a paragraph break is taken over a sentence's end in the same stretch
        ("a" * 2500 + ". " + "b" * 1000 + "\n\n" + "c" * 3000, "b" * 1000),
        # then a line break
        ("a" * 2500 + ". " + "b" * 1000 + "\n" + "c" * 3000, "b" * 1000),
        # then a sentence's end
        ("word " * 500 + "end. " + "x" * 3000, "end."),
        # then a space
        ("a" * 3000 + " " + "b" * 3000, "a" * 3000),
    ],
)
def test_a_long_text_is_cut_where_a_reader_would_pause(text: str, cut_after: str) -> None:
    first, second = split(Styled(text))
    assert first.text.endswith(cut_after)
    assert text.startswith(first.text) and text.endswith(second.text)
    assert text[len(first.text) :].strip() == second.text  # only the break itself is dropped


def test_a_word_longer_than_a_message_is_cut_where_it_must_be_and_nothing_is_lost() -> None:
    text = "🙂" * 5000  # two UTF-16 code units each
    parts = split(Styled(text))
    assert [units(p.text) for p in parts] == [4096, 4096, 1808]
    assert "".join(p.text for p in parts) == text  # no surrogate pair cut in half


def test_entities_are_cut_with_their_text_in_utf16_units() -> None:
    head = "💬 Anna wrote:\n"
    words = "x" * 3000 + " " + "y" * 3000
    body = head + Styled.quote(words)
    first, second = split(body)
    assert first.entities == (Entity("blockquote", units(head), units(first.text) - units(head)),)
    assert second.entities == (Entity("blockquote", 0, units(second.text)),)
    assert first.quoted() + second.quoted() == ["x" * 3000, "y" * 3000]


def test_a_caption_takes_the_first_part_within_its_own_limit() -> None:
    item = outbox.to_staff(
        MessageKind.ALERT_PHOTO, STAFF_CHAT, "p", "word " * 400, dt.datetime.now(dt.UTC)
    )
    photo, text = outbox.parts(dataclass_with_photo(item))
    assert units(photo.body or "") <= CAPTION_LIMIT and photo.photo_file_id == "ph"
    assert units(text.body or "") <= TEXT_LIMIT and text.photo_file_id is None


def dataclass_with_photo(item: outbox.Outgoing) -> outbox.Outgoing:
    import dataclasses

    return dataclasses.replace(item, photo_file_id="ph")


async def patient_wrote(ctx: Context, clock: FrozenClock, d: Dispatcher, sender: FakeSender) -> int:
    """Anna wrote to the clinic; the staff chat has it: its message id."""
    await patient_words.pass_on(ctx, ANNA, PatientMessage(ANNA, next(_ids), "Can I swim?"))
    await send_all(clock, d)
    return sender.to(STAFF_CHAT)[-1].message_id


async def test_a_long_staff_reply_reaches_the_patient_whole_and_the_nurse_is_told_once_sent(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, ANNA, name="Anna Smith")
    await staff.add_staff(ctx, JOY, "Joy", "nurse")
    sender = FakeSender()
    d = Dispatcher(ctx, sender)
    question = await patient_wrote(ctx, clock, d, sender)
    advice = " ".join(["Keep the area clean and dry."] * 5)
    answer = "\n\n".join(f"Point {i}: {advice}" for i in range(40))
    assert len(answer) > 4096
    action = await escalations.staff_reply(
        ctx, JOY, question, answer, chat_id=STAFF_CHAT, message_id=77
    )
    assert action is not None and action.refusal is None and action.text == ""
    # nothing said yet: it has not been sent
    assert all(s.text != "Sent to Anna Smith." for s in sender.sent)
    await send_all(clock, d)
    parts = sender.to(ANNA)
    assert len(parts) == 2 and all(units(p.text) <= TEXT_LIMIT for p in parts)
    assert parts[0].text.startswith(HEADER) and parts[0].text.endswith(".")
    assert joined_back([Styled(p.text) for p in parts], ["\n\n"]) == HEADER + answer
    told = [s for s in sender.to(STAFF_CHAT) if s.text.startswith("Sent to")]
    assert [(t.text, t.reply_to) for t in told] == [("Sent to Anna Smith.", 77)]
    assert sender.sent.index(told[0]) > sender.sent.index(parts[-1])


async def test_a_staff_reply_refused_for_good_is_reported_to_the_nurse(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, ANNA, name="Anna Smith")
    await staff.add_staff(ctx, JOY, "Joy", "nurse")

    def refuse(chat: int, _text: str) -> DeliveryError | None:
        return PermanentDeliveryError("400 Bad Request: chat not found") if chat == ANNA else None

    sender = FakeSender(fail=refuse)
    d = Dispatcher(ctx, sender)
    question = await patient_wrote(ctx, clock, d, sender)
    await escalations.staff_reply(ctx, JOY, question, "Yes, after a week.", message_id=78)
    await send_all(clock, d)
    [told] = [s for s in sender.to(STAFF_CHAT) if s.reply_to == 78]
    assert told.text == "Could not deliver to Anna Smith: 400 Bad Request: chat not found"
    assert not any(s.text.startswith("Sent to") for s in sender.sent)


async def test_when_a_part_fails_for_good_the_rest_is_not_sent_and_the_nurse_is_told_once(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, ANNA, name="Anna Smith")
    await staff.add_staff(ctx, JOY, "Joy", "nurse")

    def refuse_first(chat: int, text: str) -> DeliveryError | None:
        if chat == ANNA and text.startswith(HEADER):
            return PermanentDeliveryError("400 Bad Request: message is too long")
        return None

    sender = FakeSender(fail=refuse_first)
    d = Dispatcher(ctx, sender)
    question = await patient_wrote(ctx, clock, d, sender)
    long = "Rest. " * 1000
    await escalations.staff_reply(ctx, JOY, question, long, message_id=79)
    await send_all(clock, d)
    assert sender.to(ANNA) == []
    async with ctx.db() as db:
        rows = (
            await db.execute(
                select(ScheduledMessage)
                .where(ScheduledMessage.kind == MessageKind.CLINIC_MESSAGE)
                .order_by(ScheduledMessage.id)
            )
        ).scalars()
        statuses = [(r.status, r.last_error) for r in rows]
    reason = "400 Bad Request: message is too long"
    assert statuses == [(MessageStatus.FAILED, reason), (MessageStatus.CANCELLED, reason)]
    told = [s.text for s in sender.to(STAFF_CHAT) if s.reply_to == 79]
    assert told == [f"Could not deliver to Anna Smith: {reason}"]


async def test_a_staff_reply_that_may_not_have_arrived_says_so(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, ANNA, name="Anna Smith")
    await staff.add_staff(ctx, JOY, "Joy", "nurse")

    def time_out(chat: int, _text: str) -> DeliveryError | None:
        return UncertainDelivery("timed out after the request left") if chat == ANNA else None

    sender = FakeSender(fail=time_out)
    d = Dispatcher(ctx, sender)
    question = await patient_wrote(ctx, clock, d, sender)
    await escalations.staff_reply(ctx, JOY, question, "Yes.", message_id=80)
    await send_all(clock, d)
    told = [s.text for s in sender.to(STAFF_CHAT) if s.reply_to == 80]
    assert told == ["Not sure this reached Anna Smith: timed out after the request left"]


async def test_words_that_never_reach_the_staff_chat_are_reported_to_the_patient(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, ANNA, name="Anna Smith")

    def refuse(chat: int, _text: str) -> DeliveryError | None:
        return PermanentDeliveryError("400 Bad Request: chat not found") if chat < 0 else None

    sender = FakeSender(fail=refuse)
    d = Dispatcher(ctx, sender)
    first = next(_ids)
    await patient_words.pass_on(ctx, ANNA, PatientMessage(ANNA, first, "Is this normal?"))
    await patient_words.pass_on(ctx, ANNA, PatientMessage(ANNA, next(_ids), "It itches."))
    await send_all(clock, d)
    [told] = sender.to(ANNA)
    assert told.reply_to == first  # under the first of the words that did not arrive
    assert told.text.startswith(
        "Sorry: your message could not be passed on, so Clinique Test did not get it."
    )
    assert "+33 1 23 45 67 89" in told.text and "112" in told.text


async def test_a_long_note_makes_a_long_alert_in_parts_answerable_from_any_part(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, ANNA, name="Anna Smith")
    await staff.add_staff(ctx, JOY, "Joy", "nurse")
    note = " ".join(f"Sentence {i} about how the cheek feels today." for i in range(400))
    started = await checkins.start(ctx, ANNA)
    assert started is not None and started.checkin_id is not None
    async with ctx.db.begin() as db:
        report = Report(
            checkin_id=started.checkin_id,
            patient_id=patient.id,
            symptoms={"swelling": 3},
            flags=[],
            note=note,
            level=Level.URGENT,
            reasons=[],
            created_at=ctx.now(),
        )
        db.add(report)
        await db.flush()
        await escalations.raise_for(db, ctx, patient, None, report, None, ctx.now())
    sender = FakeSender()
    d = Dispatcher(ctx, sender)
    await send_all(clock, d)
    parts = sender.to(STAFF_CHAT)
    assert len(parts) == 5 and all(units(p.text) <= TEXT_LIMIT for p in parts)
    assert [p.buttons is not None for p in parts] == [False] * 4 + [True]
    assert [p.reply_to for p in parts[1:]] == [p.message_id for p in parts[:-1]]
    assert " ".join(q for p in parts for q in p.quoted()) == note
    # a reply to the second part is a reply to the alert
    action = await escalations.staff_reply(ctx, JOY, parts[1].message_id, "Calling you now.")
    assert action is not None and action.refusal is None and action.escalation_id is not None


async def test_a_reply_to_a_patient_who_cannot_receive_it_now_says_it_is_kept(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, ANNA, name="Anna Smith")
    await staff.add_staff(ctx, JOY, "Joy", "nurse")
    sender = FakeSender()
    d = Dispatcher(ctx, sender)
    question = await patient_wrote(ctx, clock, d, sender)
    async with ctx.db.begin() as db:
        row = await db.get(Patient, patient.id)
        assert row is not None
        row.status = PatientStatus.UNREACHABLE  # she blocked the bot meanwhile
    action = await escalations.staff_reply(ctx, JOY, question, "Any news?", message_id=81)
    assert action is not None and action.text == (
        "Anna Smith cannot receive messages now (stopped, paused or blocked the bot): yours is "
        "kept and goes out if they come back."
    )
    await send_all(clock, d)
    assert sender.to(ANNA) == [] and not any(s.reply_to == 81 for s in sender.sent)
