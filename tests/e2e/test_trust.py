"""Over Telegram (issue 11): an invite link cannot be taken over before its patient agrees
(item 6), a button changes nothing for someone it was not made for (item 8), and the staff
chat hears at start-up when it holds more people than the registered staff (item 12)."""

from __future__ import annotations

from bot.services import patient_chat, patients, staff
from tests.e2e.conftest import PATIENT, STAFF_CHAT, STRANGER, Harness


async def test_a_second_opener_cannot_take_patient_cs_link(harness: Harness) -> None:
    h = harness
    camille = await patients.add_patient(h.ctx, "Camille Martin", "en", "Europe/Paris")
    link = await patients.create_invite(h.ctx, str(camille.id))
    consent = await h.reply_to(PATIENT, f"/start {link.token}")
    assert consent.text.startswith("Hello Camille!") and "Martin" not in consent.text
    refused = await h.reply_to(STRANGER, f"/start {link.token}")
    assert "Someone else is using this link right now" in refused.text
    assert not refused.buttons and "Camille" not in refused.text
    await h.standin.wait_for(
        lambda: any("second Telegram account" in m.text for m in h.standin.sent_to(STAFF_CHAT))
    )
    answer = await h.tap(PATIENT, consent, "I agree")
    assert answer["text"] is None  # not refused
    await h.standin.wait_for(lambda: "all set" in h.latest(PATIENT).text)
    await h.standin.wait_for(
        lambda: any(
            "Camille Martin (P0001) connected on Telegram" in m.text
            for m in h.standin.sent_to(STAFF_CHAT)
        )
    )
    linked = await patient_chat.who(h.ctx, PATIENT)
    assert linked is not None and linked.id == camille.id
    assert await patient_chat.who(h.ctx, STRANGER) is None


async def test_an_earlier_link_no_longer_works_once_a_new_one_is_made(harness: Harness) -> None:
    h = harness
    anna = await patients.add_patient(h.ctx, "Anna Smith", "en", "Europe/Paris")
    old = await patients.create_invite(h.ctx, str(anna.id))
    await patients.create_invite(h.ctx, str(anna.id))
    answer = await h.reply_to(STRANGER, f"/start {old.token}")
    assert "This link is no longer valid" in answer.text and not answer.buttons


async def test_a_timezone_button_made_for_another_patient_changes_nothing(
    harness: Harness,
) -> None:
    """The issue's finding: the presser's zone changed while the answer said the button no
    longer works."""
    h = harness
    anna = await patients.add_patient(h.ctx, "Anna Smith", "en", "Europe/Paris")
    sam = await patients.add_patient(h.ctx, "Sam Jones", "en", "Europe/London")
    await h.join(str(anna.id), PATIENT)
    await h.join(str(sam.id), STRANGER)
    annas = await h.reply_to(PATIENT, "/timezone")
    sams = await h.reply_to(STRANGER, "/timezone")
    tokyo = annas.callback_data("Europe/Madrid")
    h.pause(1.5)
    answers = len(h.standin.callback_answers)
    h.standin.press(STRANGER, sams.message_id, tokyo)  # Anna's button, pressed by Sam
    await h.standin.wait_for(lambda: len(h.standin.callback_answers) > answers)
    assert h.standin.callback_answers[-1]["text"] == "This button no longer works."
    after_sam = await patient_chat.who(h.ctx, STRANGER)
    after_anna = await patient_chat.who(h.ctx, PATIENT)
    assert after_sam is not None and after_sam.timezone == "Europe/London"
    assert after_anna is not None and after_anna.timezone == "Europe/Paris"
    # Anna's own press works
    await h.tap(PATIENT, annas, "Europe/Madrid")
    await h.standin.wait_for(lambda: "Europe/Madrid" in h.latest(PATIENT).text)
    after_anna = await patient_chat.who(h.ctx, PATIENT)
    assert after_anna is not None and after_anna.timezone == "Europe/Madrid"


async def test_the_staff_chat_hears_at_start_up_that_more_people_read_it(
    harness: Harness,
) -> None:
    h = harness
    await staff.add_staff(h.ctx, 7001, "Nurse Joy", "nurse")
    for user in (7001, 7002, 7003):
        h.standin.add_user(user, f"User {user}")
        h.standin.add_member(STAFF_CHAT, user)
    await h.restart()
    await h.standin.wait_for(
        lambda: any(
            "Everyone in this chat reads every alert" in m.text
            and "Members of this chat: 4 (the bot included); registered staff: 1" in m.text
            for m in h.standin.sent_to(STAFF_CHAT)
        )
    )
