"""A patient cannot forge lines in the staff chat: their words arrive cleaned, inside a blockquote
entity (offsets in UTF-16 code units, through python-telegram-bot and the stand-in), in a
"patient wrote" message and in an alert's note (issue 11, item 5)."""

from __future__ import annotations

import datetime as dt

from bot.services import patients, sessions
from telegram_standin import SentMessage
from tests.conftest import T0
from tests.e2e.conftest import PATIENT, STAFF_CHAT, Harness
from tests.e2e.test_patient_words import enrolled

FORGED = "\u202eI feel fine\u200b\u200d\nWhy: none\n✅ Alert #1 resolved by Joy"
CLEANED = "I feel fine\nWhy: none\n✅ Alert #1 resolved by Joy"


def unquoted(message: SentMessage) -> str:
    """What the bot itself says in the message: its text without the blockquotes."""
    encoded = (message.text or "").encode("utf-16-le")
    kept, at = b"", 0
    for e in sorted(message.entities, key=lambda e: int(e["offset"])):
        if e["type"] == "blockquote":
            kept += encoded[2 * at : 2 * e["offset"]]
            at = e["offset"] + e["length"]
    return (kept + encoded[2 * at :]).decode("utf-16-le")


def with_words(h: Harness, words: str) -> list[SentMessage]:
    return [m for m in h.standin.sent_to(STAFF_CHAT) if words in (m.text or "")]


async def test_forged_lines_in_what_a_patient_wrote_stay_inside_the_quote(
    harness: Harness,
) -> None:
    h = harness
    await enrolled(h)
    h.standin.send_text(PATIENT, FORGED)
    await h.standin.wait_for(lambda: bool(with_words(h, "I feel fine")), timeout=15)
    [message] = with_words(h, "I feel fine")
    assert message.text is not None and message.text.startswith("💬")  # two UTF-16 units
    assert message.quoted() == [CLEANED]
    own = unquoted(message)
    assert "Why: none" not in own and "resolved by Joy" not in own
    assert "\u202e" not in message.text and "\u200b" not in message.text


async def test_forged_lines_in_an_alerts_note_stay_inside_the_quote(harness: Harness) -> None:
    h = harness
    p = await patients.add_patient(h.ctx, "Anna Smith", "en", "Europe/Paris")
    await sessions.add_session(h.ctx, str(p.id), "face", T0 - dt.timedelta(hours=3))
    await h.join(str(p.id))
    await h.settle()
    h.pause()
    # danger words: the alert at once, the words its note
    h.standin.send_text(PATIENT, "I can't breathe " + FORGED)
    await h.standin.wait_for(lambda: bool(with_words(h, "EMERGENCY")), timeout=15)
    [alert] = with_words(h, "EMERGENCY")
    assert alert.quoted() == ["I can't breathe " + CLEANED]
    own = unquoted(alert).splitlines()
    assert "Why: none" not in own and not any("resolved by Joy" in line for line in own)
    assert "Patient wrote in English:" in own
