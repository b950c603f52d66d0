"""A patient's whole journey over Telegram: invite, consent, the plan, commands, odd input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.db.models import MessageStatus
from bot.handlers.menu import COMMANDS
from bot.services import patients, sessions
from tests.conftest import T0
from tests.e2e.conftest import PATIENT, STAFF_CHAT, STRANGER, Harness


async def new_patient(h: Harness, name: str = "Anna Smith") -> str:
    p = await patients.add_patient(h.ctx, name, "en", "Europe/Paris")
    return str(p.id)


async def test_invite_consent_then_the_whole_plan_arrives_once_in_order(harness: Harness) -> None:
    h = harness
    ref = await new_patient(h)
    plan = await sessions.add_session(h.ctx, ref, "face", T0 + dt.timedelta(days=4))
    # nothing is sent before consent, even when a step falls due
    await h.advance_to(T0 + dt.timedelta(days=1, hours=2))
    assert not h.standin.sent_to(PATIENT)
    await h.join(ref)
    texts = [m.text for m in h.standin.sent_to(PATIENT)]
    assert "Do you agree?" in texts[0] and "all set" in texts[1]
    consent = h.standin.sent_to(PATIENT)[0]
    assert consent.reply_markup in (None, {"inline_keyboard": []}) or consent.edited
    protocol = h.ctx.protocols["face"]
    due = sorted(plan.messages, key=lambda m: m.due_at)
    for message in due:
        assert str((await h.drive(ref, message.step_key)).status) == "sent"
    # the check-ins go unanswered here, so each brings one reminder: not part of the plan
    got = [m.text for m in h.standin.sent_to(PATIENT)[2:] if "gentle reminder" not in m.text]
    assert got == [protocol.step(m.step_key).text for m in due]
    await h.settle(ref)
    view = await patients.show_patient(h.ctx, ref)
    assert {m.status for m in view.messages} == {MessageStatus.SENT}
    assert all(m.telegram_message_id for m in view.messages)
    assert h.standin.rate_limited == 0


async def test_wrong_used_and_expired_links_get_a_clear_answer(harness: Harness) -> None:
    h = harness
    ref = await new_patient(h)
    wrong = await h.reply_to(STRANGER, "/start not-a-real-token-at-all")
    assert "doesn't work" in wrong.text and "personal link" in wrong.text
    await h.join(ref)
    link = await patients.create_invite(h.ctx, await new_patient(h, "Ben"))
    h.clock.advance(dt.timedelta(days=8))
    expired = await h.reply_to(STRANGER, f"/start {link.token}")
    assert "expired" in expired.text


async def test_repeated_wrong_links_are_slowed_down(harness: Harness) -> None:
    h = harness
    answers = [(await h.reply_to(STRANGER, f"/start wrong-token-{i:010d}")).text for i in range(3)]
    assert "doesn't work" in answers[0]
    assert "wait until" in answers[2]


async def test_strangers_are_told_to_ask_their_clinic_and_see_no_data(harness: Harness) -> None:
    h = harness
    ref = await new_patient(h)
    await sessions.add_session(h.ctx, ref, "face", T0 + dt.timedelta(days=4))
    await h.join(ref)
    for command in ("/start", "/schedule", "/help", "/stop", "hello", "/whatever"):
        h.pause(60)  # someone not linked is answered at most once a minute
        answer = await h.reply_to(STRANGER, command)
        assert "ask your clinic for your personal link" in answer.text
        assert "Anna" not in answer.text


async def test_odd_input_gets_a_calm_answer(harness: Harness) -> None:
    h = harness
    ref = await new_patient(h)
    await h.join(ref)
    s = h.standin

    async def answer_to(inject: Callable[[], object], count: int = 1) -> str:
        before = len(s.sent_to(PATIENT))
        h.pause()
        inject()
        return (await s.wait_for_messages(PATIENT, before + count))[before].text

    # a sticker, a voice note, a file and a photo reach the clinic; the patient is told once
    text = await answer_to(lambda: s.send_sticker(PATIENT))
    assert "passed this on" in text and "/checkin" in text and "+33" in text
    for inject in (
        lambda: s.send_voice(PATIENT),
        lambda: s.send_document(PATIENT),
        lambda: s.send_photo(PATIENT, caption="my cheek"),
    ):
        h.pause()
        inject()
    await s.wait_for(lambda: len(s.calls("copyMessage")) == 3, timeout=20)
    assert sum("passed this on" in (m.text or "") for m in s.sent_to(PATIENT)) == 1
    # what cannot be passed on gets a calm answer
    location = s.new_message(
        PATIENT, s.users[PATIENT], {"location": {"latitude": 48.8, "longitude": 2.3}}
    )
    text = await answer_to(lambda: s.push_update({"message": location}))
    assert "can't pass this kind of message on" in text and "/checkin" in text and "+33" in text
    # a very long text reaches staff whole, in two messages
    h.pause()
    s.send_text(PATIENT, "x" * 4096)

    def passed_on() -> str:
        return "".join(q for m in s.sent_to(STAFF_CHAT) for q in m.quoted() if "xxx" in q)

    await s.wait_for(lambda: passed_on() == "x" * 4096, timeout=20)
    own = next(e for e in reversed(s.transcript) if e.user_id == PATIENT and e.kind == "text")
    assert own.message_id is not None
    text = await answer_to(lambda: s.edit_text(PATIENT, own.message_id or 0, "hello again"))
    assert "changes to earlier messages" in text
    unknown = await h.reply_to(PATIENT, "/frobnicate")
    assert "don't know that command" in unknown.text


async def test_help_and_the_command_menu_come_from_one_table(harness: Harness) -> None:
    h = harness
    ref = await new_patient(h)
    await h.join(ref)
    menu = h.standin.commands_for()
    assert [c["command"] for c in menu] == [c.name for c in COMMANDS]
    text = (await h.reply_to(PATIENT, "/help")).text
    for command in menu:
        assert f"/{command['command']} — {command['description']}" in text
    assert "112" in text


async def test_schedule_stop_and_resume(harness: Harness) -> None:
    h = harness
    ref = await new_patient(h)
    await sessions.add_session(h.ctx, ref, "face", T0 + dt.timedelta(days=4))
    await h.join(ref)
    schedule = (await h.reply_to(PATIENT, "/schedule")).text
    assert "10 messages coming up (your local time)" in schedule  # the next ten
    assert "Thu 5 Mar, 10:00 — Reminder" in schedule  # the day before, 10:00 Paris time
    stopped = (await h.reply_to(PATIENT, "/stop")).text
    assert "won't send you any more" in stopped
    await h.standin.wait_for(lambda: bool(h.staff_chat()))
    assert "stopped" in h.staff_chat()[0].text
    await h.advance_to(T0 + dt.timedelta(days=4, hours=1))
    before = len(h.standin.sent_to(PATIENT))
    assert "stopped" in (await h.reply_to(PATIENT, "/schedule")).text
    resumed = (await h.reply_to(PATIENT, "/resume")).text
    assert "Welcome back" in resumed
    await h.standin.wait_for(lambda: len(h.standin.sent_to(PATIENT)) >= before + 3)
    # after resuming, the still-useful right-after tip goes out; the pre-session ones do not
    assert any("normal to notice" in m.text for m in h.standin.sent_to(PATIENT)[before:])
