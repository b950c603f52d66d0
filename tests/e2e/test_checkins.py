"""Check-ins and escalations over Telegram: the patient answers, staff are alerted and act."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.db.models import AuditEvent, Checkin, CheckinStatus, Escalation, EscalationStatus
from bot.domain.triage import Level
from bot.services import checkins, patients, sessions, staff
from tests.conftest import T0
from tests.e2e.conftest import PATIENT, STAFF_CHAT, STRANGER, Harness

NURSE = 8001


async def enrolled(h: Harness) -> str:
    """A consenting patient whose face session was this morning, and a nurse on call."""
    h.standin.add_user(NURSE, "Joy")
    await staff.add_staff(h.ctx, NURSE, "Nurse Joy", "nurse")
    p = await patients.add_patient(h.ctx, "Anna Smith", "en", "Europe/Paris")
    await sessions.add_session(h.ctx, str(p.id), "face", T0)
    await h.join(str(p.id))
    return str(p.id)


async def first_checkin(h: Harness, ref: str) -> None:
    await h.drive(ref, "right-after")
    await h.drive(ref, "same-evening")
    await h.drive(ref, "sun-morning")
    row = await h.drive(ref, "checkin-day1")
    assert str(row.status) == "sent"


async def escalation(h: Harness) -> Escalation:
    async with h.ctx.db() as db:
        return (await db.execute(select(Escalation))).scalar_one()


async def test_severe_swelling_with_a_photo_reaches_staff_who_act_on_it(
    harness: Harness,
) -> None:
    h = harness
    ref = await enrolled(h)
    await first_checkin(h, ref)
    question = h.latest(PATIENT)
    assert "How is your skin" in question.text or question.buttons
    await h.tap(PATIENT, question, "I have symptoms")
    await h.tap(PATIENT, h.latest(PATIENT), "None of these")  # the danger signs come first
    await h.tap(PATIENT, h.latest(PATIENT), "Swelling")
    assert "✓ Swelling" in [b["text"] for b in h.latest(PATIENT).buttons]
    await h.tap(PATIENT, h.latest(PATIENT), "Done")
    assert "swelling" in h.latest(PATIENT).text
    await h.tap(PATIENT, h.latest(PATIENT), "Severe")
    assert "photo" in h.latest(PATIENT).text
    before = len(h.standin.sent_to(PATIENT))
    h.pause()
    h.standin.send_photo(PATIENT, caption="my left cheek is puffy")
    told = (await h.standin.wait_for_messages(PATIENT, before + 1))[-1]
    assert "will be in touch" in told.text and "cold compress" in told.text
    # staff: the alert with its buttons, then the photo
    await h.standin.wait_for(lambda: len(h.staff_chat()) >= 2)
    alert, photo = h.staff_chat()[:2]
    for part in (
        "alert #1",
        "Anna Smith (P0001)",
        "swelling: severe",
        "my left cheek is puffy",
        "Session: face",
        "hours ago",
    ):
        assert part in alert.text, part
    assert [b["text"] for b in alert.buttons] == ["Acknowledge", "Resolve"]
    assert photo.kind == "photo"
    # someone in the staff chat who is not registered staff cannot acknowledge
    answer = await h.tap(STRANGER, alert, "Acknowledge", chat_id=STAFF_CHAT)
    assert answer["show_alert"] and "Not authorised" in answer["text"]
    assert (await escalation(h)).status == EscalationStatus.OPEN
    await h.tap(NURSE, alert, "Acknowledge", chat_id=STAFF_CHAT)
    esc = await escalation(h)
    assert esc.status == EscalationStatus.ACKNOWLEDGED and esc.acknowledged_by is not None
    # the nurse replies to the alert: the patient gets it from the clinic
    before = len(h.standin.sent_to(PATIENT))
    h.pause()
    h.standin.send_text(
        NURSE,
        "Please keep a cold compress on it tonight.",
        chat_id=STAFF_CHAT,
        reply_to_message_id=alert.message_id,
    )
    to_patient = (await h.standin.wait_for_messages(PATIENT, before + 1, timeout=10))[-1]
    assert "Message from Clinique Test" in to_patient.text
    assert "cold compress on it tonight" in to_patient.text
    # the patient answers: it goes to the staff chat under the alert
    h.pause()
    h.standin.send_text(PATIENT, "Thank you, will do")
    # (the staff chat may still be getting the bot's "Sent to …" first: a group is paced)
    await h.standin.wait_for(
        lambda: any("Thank you, will do" in (m.text or "") for m in h.staff_chat())
    )
    relayed = next(m for m in h.staff_chat() if "Thank you, will do" in (m.text or ""))
    assert relayed.params.get("reply_parameters") or relayed.params.get("reply_to_message_id")
    # resolve with an outcome, then a note
    await h.tap(NURSE, h.staff_chat()[0], "Resolve", chat_id=STAFF_CHAT)
    outcome_question = next(
        m for m in reversed(h.standin.sent_to(STAFF_CHAT)) if "How was alert #1" in m.text
    )
    await h.tap(NURSE, outcome_question, "called the patient", chat_id=STAFF_CHAT)
    h.pause()
    h.standin.send_text(
        NURSE,
        "Swelling settling, she will send a photo tomorrow.",
        chat_id=STAFF_CHAT,
        reply_to_message_id=outcome_question.message_id,
    )
    await h.standin.wait_for(lambda: "Note saved" in h.latest(STAFF_CHAT).text)
    esc = await escalation(h)
    assert (esc.status, esc.outcome) == (EscalationStatus.RESOLVED, "c")
    assert esc.note and "settling" in esc.note
    async with h.ctx.db() as db:
        actions = [a.action for a in (await db.execute(select(AuditEvent))).scalars()]
    assert "escalation.acknowledge.refused" in actions
    for action in ("escalation.open", "escalation.acknowledge", "escalation.resolve"):
        assert action in actions


async def test_the_breathing_sign_gets_the_emergency_number_next_and_the_alert_at_once(
    harness: Harness, record_property: Callable[[str, object], None]
) -> None:
    h = harness
    ref = await enrolled(h)
    await first_checkin(h, ref)
    await h.tap(PATIENT, h.latest(PATIENT), "I have symptoms")
    question = h.latest(PATIENT)
    before = len(h.standin.sent_to(PATIENT))
    h.pause(1.5)
    pressed_at = h.clock.now()
    h.standin.press(PATIENT, question.message_id, question.callback_data("Breathing or swallowing"))
    # the next message the patient reads is the emergency number; the questions go on below
    sent = await h.standin.wait_for_messages(PATIENT, before + 2)
    assert sent[before].text.startswith("Please call 112 now")
    assert sent[before + 1].buttons
    record_property("emergency_answer_seconds", (sent[before].at - pressed_at).total_seconds())
    # the alert exists before any further question is answered
    async with h.ctx.db() as db:
        checkin = (await db.execute(select(Checkin))).scalar_one()
        escalation = (await db.execute(select(Escalation))).scalar_one()
    assert checkin.status == CheckinStatus.OPEN and escalation.level == Level.EMERGENCY
    await h.standin.wait_for(lambda: bool(h.staff_chat()))
    assert h.staff_chat()[0].text.startswith("🚨 EMERGENCY")


async def test_nobody_acknowledges_so_staff_are_chased_on_time(harness: Harness) -> None:
    h = harness
    ref = await enrolled(h)
    await first_checkin(h, ref)
    await h.tap(PATIENT, h.latest(PATIENT), "I have symptoms")
    question = h.latest(PATIENT)
    before = len(h.standin.sent_to(PATIENT))
    await h.tap(PATIENT, question, "Fever or chills")
    # an urgent sign is answered at its press, before any further question; the questions go
    # on below the advice
    told = (await h.standin.wait_for_messages(PATIENT, before + 2))[-2]
    assert "call Clinique Test now" in told.text and "+33" in told.text
    assert not h.standin.sent_message(PATIENT, question.message_id).buttons
    await h.tap(PATIENT, h.latest(PATIENT), "Done")
    await h.tap(PATIENT, h.latest(PATIENT), "Redness")
    await h.tap(PATIENT, h.latest(PATIENT), "Done")
    await h.tap(PATIENT, h.latest(PATIENT), "Moderate")
    await h.tap(PATIENT, h.latest(PATIENT), "Skip")
    await h.standin.wait_for(lambda: len(h.staff_chat()) >= 1)
    opened = (await escalation(h)).opened_at
    assert "URGENT" in h.staff_chat()[0].text
    for round_ in (1, 2, 3):
        await h.advance_to(opened + dt.timedelta(minutes=15 * round_, seconds=1))
        # generous waits: a loaded machine is slow to get there, the times are checked below
        await h.standin.wait_for(
            lambda r=round_: sum("Reminder" in m.text for m in h.standin.sent_to(STAFF_CHAT)) >= r,
            30,
        )
        await h.standin.wait_for(lambda r=round_: len(h.standin.sent_to(NURSE)) >= r, 30)
    reminders = [m for m in h.standin.sent_to(STAFF_CHAT) if "Reminder" in m.text]
    assert [m.text.split(":")[0] for m in reminders] == [
        "⏰ Reminder 1/3",
        "⏰ Reminder 2/3",
        "⏰ Reminder 3/3",
    ]
    assert all(m.at - opened >= dt.timedelta(minutes=15) for m in reminders)
    await h.advance_to(opened + dt.timedelta(minutes=60, seconds=1))
    await h.standin.wait_for(
        lambda: any("UNANSWERED" in m.text for m in h.standin.sent_to(STAFF_CHAT))
    )
    await h.standin.wait_for(lambda: any("UNANSWERED" in m.text for m in h.standin.sent_to(NURSE)))
    # nothing more after the summary
    await h.advance_to(opened + dt.timedelta(hours=3))
    await h.settle()
    assert sum("UNANSWERED" in m.text for m in h.standin.sent_to(STAFF_CHAT)) == 1
    assert len([m for m in h.standin.sent_to(STAFF_CHAT) if "Reminder" in m.text]) == 3


async def test_a_restart_mid_checkin_and_mid_escalation_loses_and_doubles_nothing(
    harness: Harness,
) -> None:
    h = harness
    ref = await enrolled(h)
    await first_checkin(h, ref)
    await h.tap(PATIENT, h.latest(PATIENT), "I have symptoms")
    await h.tap(PATIENT, h.latest(PATIENT), "None of these")
    await h.tap(PATIENT, h.latest(PATIENT), "Pain or tenderness")
    await h.restart()
    await h.tap(PATIENT, h.latest(PATIENT), "Done")
    await h.tap(PATIENT, h.latest(PATIENT), "Very severe")
    await h.tap(PATIENT, h.latest(PATIENT), "Skip")
    await h.standin.wait_for(lambda: len(h.standin.sent_to(STAFF_CHAT)) >= 1)
    opened = (await escalation(h)).opened_at
    await h.restart()
    await h.advance_to(opened + dt.timedelta(minutes=15, seconds=1))
    await h.standin.wait_for(
        lambda: any("Reminder 1/3" in m.text for m in h.standin.sent_to(STAFF_CHAT))
    )
    await h.settle()
    alerts = [m for m in h.standin.sent_to(STAFF_CHAT) if "alert #1" in m.text and m.buttons]
    assert len([m for m in alerts if m.text.startswith("🔴")]) == 1
    assert sum("Reminder 1/3" in m.text for m in h.standin.sent_to(STAFF_CHAT)) == 1
    async with h.ctx.db() as db:
        done = (await db.execute(select(Checkin))).scalars().all()
    assert [c.status for c in done] == [CheckinStatus.COMPLETE]


async def test_forged_and_replayed_presses_change_nothing(harness: Harness) -> None:
    h = harness
    ref = await enrolled(h)
    await first_checkin(h, ref)
    question = h.latest(PATIENT)
    all_good = question.callback_data("All good")  # the message is edited as answers come
    await h.tap(PATIENT, question, "I have symptoms")
    async with h.ctx.db() as db:
        checkin = (await db.execute(select(Checkin))).scalar_one()
    stage = checkin.stage
    # replay the first answer: that question has moved on
    h.pause()
    answers = len(h.standin.callback_answers)
    h.standin.press(PATIENT, question.message_id, all_good)
    await h.standin.wait_for(lambda: len(h.standin.callback_answers) > answers)
    assert "already been answered" in h.standin.callback_answers[-1]["text"]
    # forged: a made-up signature, and someone else's press on the patient's question
    signed, mac = all_good.rsplit(":", 1)
    for who, data in ((PATIENT, f"{signed}:{'A' * len(mac)}"), (STRANGER, all_good)):
        h.pause()
        answers = len(h.standin.callback_answers)
        h.standin.press(who, question.message_id, data, chat_id=PATIENT)
        await h.standin.wait_for(lambda a=answers: len(h.standin.callback_answers) > a)
    async with h.ctx.db() as db:
        after = (await db.execute(select(Checkin))).scalar_one()
    assert (after.stage, after.status, after.symptoms) == (stage, CheckinStatus.OPEN, [])


async def test_an_unanswered_checkin_gets_one_reminder_then_is_listed(harness: Harness) -> None:
    h = harness
    ref = await enrolled(h)
    await first_checkin(h, ref)
    async with h.ctx.db() as db:
        checkin = (await db.execute(select(Checkin))).scalar_one()
    assert checkin.remind_at is not None
    await h.advance_to(checkin.remind_at + dt.timedelta(seconds=1))
    # due at 06:00 in Paris: it waits for the end of quiet hours
    reminder = await h.drive(ref, f"checkin-reminder:{checkin.id}")
    assert reminder.sent_at.astimezone(ZoneInfo("Europe/Paris")).hour == 8
    assert "gentle reminder" in h.latest(PATIENT).text
    assert [b["text"] for b in h.latest(PATIENT).buttons] == ["All good", "I have symptoms"]
    await h.advance_to(checkin.expires_at + dt.timedelta(seconds=1))
    listed: list[tuple[Checkin, object]] = []
    for _ in range(200):
        listed = list(await checkins.unanswered(h.ctx))
        if listed:
            break
        await asyncio.sleep(0.02)
    assert [c.id for c, _p in listed] == [checkin.id]
    assert sum("gentle reminder" in m.text for m in h.standin.sent_to(PATIENT)) == 1


async def test_a_closed_checkin_says_so_and_offers_a_new_one(harness: Harness) -> None:
    h = harness
    ref = await enrolled(h)
    await first_checkin(h, ref)
    question = h.latest(PATIENT)
    symptoms = question.callback_data("I have symptoms")
    await h.tap(PATIENT, question, "All good")
    assert "Good to hear" in h.latest(PATIENT).text
    h.pause()
    answers = len(h.standin.callback_answers)
    h.standin.press(PATIENT, question.message_id, symptoms)
    await h.standin.wait_for(lambda: len(h.standin.callback_answers) > answers)
    await h.standin.wait_for(lambda: "closed" in h.latest(PATIENT).text)
    assert "closed" in h.standin.callback_answers[-1]["text"]
    offer = h.latest(PATIENT)
    assert "closed" in offer.text
    await h.tap(PATIENT, offer, "Start a new check-in")
    assert [b["text"] for b in h.latest(PATIENT).buttons] == ["All good", "I have symptoms"]


async def test_writing_reaches_staff_and_offers_a_checkin_without_starting_one(
    harness: Harness,
) -> None:
    h = harness
    await enrolled(h)
    h.pause()
    h.standin.send_text(PATIENT, "My cheek feels a little tight tonight, is that ok?")
    await h.standin.wait_for(
        lambda: any("passed this on" in (m.text or "") for m in h.standin.sent_to(PATIENT))
    )
    told = next(m for m in h.standin.sent_to(PATIENT) if "passed this on" in (m.text or ""))
    assert "/checkin" in told.text and not told.buttons
    await h.standin.wait_for(
        lambda: any(
            "feels a little tight" in (m.text or "") for m in h.standin.sent_to(STAFF_CHAT)
        ),
        timeout=15,
    )
    async with h.ctx.db() as db:
        assert (await db.execute(select(Checkin))).first() is None
    question = await h.reply_to(PATIENT, "/checkin")
    assert [b["text"] for b in question.buttons] == ["All good", "I have symptoms"]
