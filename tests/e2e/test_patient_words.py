"""Nothing a patient sends goes unseen: words, voice notes and files reach the staff chat within
seconds, gathered, and staff answer by replying."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from bot.db.models import AuditEvent, Checkin
from bot.services import patients, sessions, staff
from telegram_standin import SentMessage
from tests.conftest import T0
from tests.e2e.conftest import PATIENT, STAFF_CHAT, Harness

NURSE = 8001
TOLD = "passed this on to Clinique Test"


async def enrolled(h: Harness) -> str:
    """A consenting patient whose face session is in four days, and a nurse: nothing is due."""
    h.standin.add_user(NURSE, "Joy")
    await staff.add_staff(h.ctx, NURSE, "Nurse Joy", "nurse")
    p = await patients.add_patient(h.ctx, "Anna Smith", "en", "Europe/Paris")
    await sessions.add_session(h.ctx, str(p.id), "face", T0 + dt.timedelta(days=4))
    await h.join(str(p.id))
    await h.settle()
    h.pause()
    return str(p.id)


def written(h: Harness, words: str) -> list[SentMessage]:
    return [m for m in h.standin.sent_to(STAFF_CHAT) if m.text and words in m.text]


def acknowledgements(h: Harness) -> list[SentMessage]:
    return [m for m in h.standin.sent_to(PATIENT) if m.text and TOLD in m.text]


async def test_a_typed_question_reaches_the_staff_chat_and_the_patient_is_told(
    harness: Harness,
) -> None:
    h = harness
    ref = await enrolled(h)
    asked_at = h.clock.now()
    h.standin.send_text(PATIENT, "Can I put make-up on tomorrow?")
    # the window gathering a burst is 4 s: generous here, a busy machine is slow
    await h.standin.wait_for(lambda: bool(written(h, "make-up")), timeout=10)
    [message] = written(h, "make-up")
    assert message.text is not None
    assert message.text.splitlines() == [
        f"💬 Anna Smith (P{int(ref):04d}) wrote in English:",
        "Can I put make-up on tomorrow?",
        "Reply to this message to write to the patient.",
    ]
    # the patient's words set apart, as a blockquote
    assert message.quoted() == ["Can I put make-up on tomorrow?"]
    assert message.at - asked_at < dt.timedelta(seconds=10)
    await h.standin.wait_for(lambda: bool(acknowledgements(h)))
    [told] = acknowledgements(h)
    assert "/checkin" in told.text and "opening hours" in told.text and "112" in told.text
    # no check-in is started because someone wrote
    assert not told.buttons
    async with h.ctx.db() as db:
        assert (await db.execute(select(Checkin))).first() is None


async def test_twenty_messages_in_ten_seconds_make_at_most_three_staff_messages(
    harness: Harness,
) -> None:
    h = harness
    await enrolled(h)
    before = len(h.standin.sent_to(PATIENT))
    words = [f"part{i:02d}" for i in range(20)]
    for word in words:
        h.standin.send_text(PATIENT, f"and {word}")
        await asyncio.sleep(0.5)  # the clock runs at real speed: 20 messages in 10 s

    def every_word_arrived() -> bool:
        return all(written(h, word) for word in words)

    await h.standin.wait_for(every_word_arrived, timeout=30)
    await h.settle()
    await asyncio.sleep(0.5)  # anything more would show by now
    staff_texts = [m for m in h.standin.sent_to(STAFF_CHAT) if m.text and "wrote in" in m.text]
    assert 1 <= len(staff_texts) <= 3
    for word in words:
        assert sum(f"and {word}" in m.quoted() for m in staff_texts) == 1, word
    # in the order written
    together = "\n".join(m.text or "" for m in staff_texts)
    assert [together.index(word) for word in words] == sorted(together.index(w) for w in words)
    # told once for the whole burst
    assert len(acknowledgements(h)) == 1
    assert len(h.standin.sent_to(PATIENT)) == before + 1


async def test_a_voice_note_is_copied_to_the_staff_chat_after_its_introduction(
    harness: Harness,
) -> None:
    h = harness
    await enrolled(h)
    h.standin.send_voice(PATIENT)
    await h.standin.wait_for(lambda: bool(h.standin.calls("copyMessage")), timeout=20)
    [call] = h.standin.calls("copyMessage")
    source = next(e for e in h.standin.transcript if e.kind == "voice" and e.user_id == PATIENT)
    assert (call["chat_id"], call["from_chat_id"]) == (STAFF_CHAT, PATIENT)
    assert call["message_id"] == source.message_id
    introduction, copy = h.staff_chat()
    assert introduction.text is not None and "🎤 a voice note (copied below)" in introduction.text
    assert (copy.method, copy.kind) == ("copyMessage", "voice")
    assert copy.params["reply_parameters"]["message_id"] == introduction.message_id


async def test_a_staff_reply_to_what_the_patient_wrote_reaches_the_patient(
    harness: Harness,
) -> None:
    h = harness
    ref = await enrolled(h)
    h.standin.send_text(PATIENT, "Is it normal that it itches?")
    await h.standin.wait_for(lambda: bool(written(h, "itches")), timeout=15)
    [question] = written(h, "itches")
    await h.standin.wait_for(lambda: bool(acknowledgements(h)))
    before = len(h.standin.sent_to(PATIENT))
    h.pause()
    h.standin.send_text(
        NURSE,
        "Yes, a little itching is normal for a few days.",
        chat_id=STAFF_CHAT,
        reply_to_message_id=question.message_id,
    )
    answer = (await h.standin.wait_for_messages(PATIENT, before + 1, timeout=15))[-1]
    assert answer.text == (
        "Message from Clinique Test:\nYes, a little itching is normal for a few days."
    )
    await h.standin.wait_for(lambda: "Sent to Anna Smith" in (h.latest(STAFF_CHAT).text or ""))
    async with h.ctx.db() as db:
        audit = (
            await db.execute(select(AuditEvent).where(AuditEvent.action == "patient.reply"))
        ).scalar_one()
    assert audit.subject == f"patient:{ref}" and audit.actor.startswith("staff:")
