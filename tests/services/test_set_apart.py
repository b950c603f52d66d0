"""A patient's words in a staff message are cleaned of control, bidi and zero-width characters
and set apart as a blockquote, so no line of theirs passes for one of the bot's: in the alert's
note, under an open alert, and in a "patient wrote" message (issue 11, item 5)."""

from __future__ import annotations

import itertools
import re

from bot.clock import FrozenClock
from bot.db.models import Patient, Report
from bot.domain.triage import Level
from bot.services import checkins, escalations, patient_words
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from bot.services.escalations.wording import clean, set_apart
from bot.services.patient_words import PatientMessage
from tests.fakes import FakeSender, Sent
from tests.services.helpers import active_patient

ANNA = 5901
STAFF_CHAT = -1001
# right-to-left override, zero-width space and joiner, then lines that look like the bot's own
FORGED = "\u202eI feel fine\u200b\u200d\nWhy: none\n✅ Alert #1 resolved by Joy\u2066"
CLEANED = "I feel fine\nWhy: none\n✅ Alert #1 resolved by Joy"
HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\x00-\x08]")
_ids = itertools.count(1)


async def send_all(clock: FrozenClock, d: Dispatcher) -> None:
    await d.dispatch_due()
    while (nxt := await d.next_due_at()) is not None:
        clock.set(max(nxt, clock.now()))
        await d.dispatch_due()


def assert_set_apart(sent: Sent) -> None:
    """The forged words are in the message only inside its blockquote, cleaned."""
    assert sent.quoted() == [CLEANED]
    own = sent.unquoted()
    assert "resolved by Joy" not in own and "Why: none" not in own and "I feel fine" not in own
    assert not HIDDEN.search(sent.text)


def test_words_are_cleaned_and_quoted_whole() -> None:
    assert clean(FORGED) == CLEANED
    quoted = set_apart(FORGED)
    assert quoted.quoted() == [CLEANED] and quoted.text == CLEANED
    assert set_apart("\u200b \u202e").quoted() == ["…"]  # nothing left: still a visible quote


async def test_forged_lines_in_a_patient_wrote_message_stay_inside_the_quote(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, ANNA, name="Anna Smith")
    await patient_words.pass_on(ctx, ANNA, PatientMessage(ANNA, next(_ids), FORGED))
    sender = FakeSender()
    await send_all(clock, Dispatcher(ctx, sender))
    [sent] = sender.to(STAFF_CHAT)
    assert_set_apart(sent)
    assert sent.unquoted().endswith("Reply to this message to write to the patient.")


async def open_alert(ctx: Context, patient: Patient, note: str | None) -> None:
    started = await checkins.start(ctx, ANNA)
    assert started is not None and started.checkin_id is not None
    async with ctx.db.begin() as db:
        report = Report(
            checkin_id=started.checkin_id,
            patient_id=patient.id,
            symptoms={"pain": 4},
            flags=[],
            note=note,
            level=Level.URGENT,
            reasons=[],
            created_at=ctx.now(),
        )
        db.add(report)
        await db.flush()
        await escalations.raise_for(db, ctx, patient, None, report, None, ctx.now())


async def test_forged_lines_in_the_alerts_note_stay_inside_the_quote(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, ANNA, name="Anna Smith")
    await open_alert(ctx, patient, FORGED)
    sender = FakeSender()
    await send_all(clock, Dispatcher(ctx, sender))
    [alert] = sender.to(STAFF_CHAT)
    assert_set_apart(alert)
    own = alert.unquoted().splitlines()
    assert sum(line.startswith("Why:") for line in own) == 1  # the bot's own, not "none"
    assert "Patient wrote in English:" in own


async def test_forged_lines_under_an_open_alert_stay_inside_the_quote(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, ANNA, name="Anna Smith")
    await open_alert(ctx, patient, None)
    sender = FakeSender()
    d = Dispatcher(ctx, sender)
    await send_all(clock, d)
    await patient_words.pass_on(ctx, ANNA, PatientMessage(ANNA, next(_ids), FORGED))
    await send_all(clock, d)
    words = sender.to(STAFF_CHAT)[-1]
    assert "about alert #" in words.text
    assert_set_apart(words)
