"""Long texts end to end: a nurse's reply longer than Telegram takes reaches the patient whole, in
parts, and she is told "Sent to …" only once it was sent; a reply that cannot be delivered is
reported to her (issue 11, item 4)."""

from __future__ import annotations

from telegram_standin import Fault, SentMessage
from tests.e2e.conftest import PATIENT, STAFF_CHAT, Harness
from tests.e2e.test_patient_words import NURSE, enrolled, written

HEADER = "Message from Clinique Test:\n"


async def asked(h: Harness) -> SentMessage:
    """The patient asked something; the staff chat has it."""
    await enrolled(h)
    h.standin.send_text(PATIENT, "How should I look after it?")
    await h.standin.wait_for(lambda: bool(written(h, "look after it")), timeout=15)
    [question] = written(h, "look after it")
    return question


def nurse_replies(h: Harness, question: SentMessage, text: str) -> int:
    """The nurse replies to the question in the staff chat; her message's id there."""
    h.pause()
    h.standin.send_text(NURSE, text, chat_id=STAFF_CHAT, reply_to_message_id=question.message_id)
    own = next(e for e in reversed(h.standin.transcript) if e.user_id == NURSE)
    assert own.message_id is not None
    return own.message_id


def told(h: Harness, nurse_message: int) -> list[SentMessage]:
    """What the bot said in the staff chat under the nurse's message."""
    return [
        m
        for m in h.standin.sent_to(STAFF_CHAT)
        if (m.params.get("reply_parameters") or {}).get("message_id") == nurse_message
    ]


async def test_a_4096_character_reply_reaches_the_patient_in_parts_then_the_nurse_is_told(
    harness: Harness,
) -> None:
    h = harness
    question = await asked(h)
    advice = " ".join(["Keep the area clean and dry, and do not scratch it."] * 4)
    paragraphs = [f"{i}. {advice}" for i in range(30)]
    text = "\n\n".join(paragraphs)[:4096]
    text = text[: text.rindex(".") + 1]
    text += " " + "x" * (4096 - len(text) - 1)  # as long as Telegram lets a nurse write
    assert len(text) == 4096
    before = len(h.standin.sent_to(PATIENT))
    mine = nurse_replies(h, question, text)
    await h.standin.wait_for(lambda: bool(told(h, mine)), timeout=20)
    parts = h.standin.sent_to(PATIENT)[before:]
    [answer] = told(h, mine)
    assert answer.text == "Sent to Anna Smith."
    assert len(parts) == 2 and all(len(p.text or "") <= 4096 for p in parts)
    # said after the last part went out, never before
    assert h.standin.messages.index(answer) > h.standin.messages.index(parts[-1])
    first, second = (p.text or "" for p in parts)
    assert first.startswith(HEADER) and first.endswith(".")
    assert f"{first}\n\n{second}" == HEADER + text or f"{first} {second}" == HEADER + text


async def test_a_reply_telegram_refuses_is_reported_to_the_nurse_not_called_sent(
    harness: Harness,
) -> None:
    h = harness
    question = await asked(h)
    h.standin.fail_next(
        "sendMessage", Fault.bad_request("Bad Request: chat not found"), chat_id=PATIENT
    )
    mine = nurse_replies(h, question, "You can shower normally from tomorrow.")
    await h.standin.wait_for(lambda: bool(told(h, mine)), timeout=20)
    [answer] = told(h, mine)
    assert answer.text is not None
    assert answer.text.startswith("Could not deliver to Anna Smith: 400")
    assert answer.text.endswith(
        "Chat not found"
    )  # Telegram's reason, as python-telegram-bot gives it
    assert not any((m.text or "").startswith("Sent to") for m in h.standin.sent_to(STAFF_CHAT))
