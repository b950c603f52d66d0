"""The same journey in every shipped language, and the language and zone commands."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.services import patients, sessions
from bot.services.protocols import step_text
from tests.conftest import T0
from tests.e2e.conftest import Harness

LEE = 9300


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ru", "ar"])
async def test_the_same_journey_in_each_language(harness: Harness, lang: str) -> None:
    h = harness
    i18n = h.ctx.i18n
    h.standin.add_user(LEE, "Lee", language_code=lang)
    patient = await patients.add_patient(h.ctx, "Lee Martin", None, "Europe/Paris")
    ref = str(patient.id)
    await sessions.add_session(h.ctx, ref, "face", T0 + dt.timedelta(hours=2))
    await h.join(ref, user_id=LEE)
    consent, welcome = h.standin.sent_to(LEE)[:2]
    assert i18n.t(lang, "Do you agree?") in consent.text
    assert welcome.text.startswith(
        i18n.t(
            lang,
            "Thank you, you're all set. I'll send each "
            "message at the right time. Send /schedule to see "
            "what's coming, or /help for everything I can do.",
        )[:20]
    )
    # two hours before the session: the before-the-visit messages go out at once
    for key in ("avoid-before", "day-before"):
        await h.drive(ref, key)
    view = await patients.show_patient(h.ctx, ref)
    count = min(10, sum(1 for m in view.messages if str(m.status) == "pending"))
    schedule = (await h.reply_to(LEE, "/schedule")).text
    assert schedule.startswith(
        i18n.nt(
            lang,
            "{n} message coming up (your local time):",
            "{n} messages coming up (your local time):",
            count,
        )
    )
    protocol = h.ctx.protocols["face"]
    for key in ("right-after", "same-evening", "sun-morning"):
        await h.drive(ref, key)
        assert step_text(i18n, protocol.step(key), lang, "en") in [
            m.text for m in h.standin.sent_to(LEE)
        ]
    await h.drive(ref, "checkin-day1")
    labels = ["I have symptoms", "None of these", "Swelling", "Done", "Severe", "Skip"]
    for label in labels:
        await h.tap(LEE, h.latest(LEE), i18n.t(lang, label))
    told = h.latest(LEE).text
    assert told.startswith(
        i18n.t(
            lang,
            "Thank you for telling us. This is a little outside what we usually expect, so "
            "{clinic} will be in touch. Meanwhile:",
            clinic=h.ctx.clinic.name,
        )[:15]
    )
    if lang != "en":
        assert "Thank you" not in told and "swelling" not in told.lower()


async def test_language_and_zone_can_be_changed_from_the_chat(harness: Harness) -> None:
    h = harness
    h.standin.add_user(LEE, "Lee", language_code="en")
    patient = await patients.add_patient(h.ctx, "Lee Martin", None, "Europe/Paris")
    ref = str(patient.id)
    await sessions.add_session(h.ctx, ref, "face", T0 + dt.timedelta(days=4))
    await h.join(ref, user_id=LEE)
    menu = await h.reply_to(LEE, "/language")
    assert [b["text"] for b in menu.buttons] == [
        "العربية",
        "English",
        "Español",
        "Français",
        "Русский",
    ]
    await h.tap(LEE, menu, "Français")
    assert h.latest(LEE).text == "Désormais, je vous écrirai en français."
    help_text = (await h.reply_to(LEE, "/help")).text
    assert "/checkin" in help_text and help_text != "" and "Here is what I can do" not in help_text
    zones = await h.reply_to(LEE, "/timezone Tokyo")
    assert [b["text"] for b in zones.buttons] == ["Asia/Tokyo"]
    await h.tap(LEE, zones, "Asia/Tokyo")
    view = await patients.show_patient(h.ctx, ref)
    assert view.patient.timezone == "Asia/Tokyo"
    sun = next(m for m in view.messages if m.step_key == "sun-morning")
    assert sun.due_at.astimezone(dt.timezone(dt.timedelta(hours=9))).hour == 8
    nothing = await h.reply_to(LEE, "/timezone Atlantisville")
    assert "Atlantisville" in nothing.text and not nothing.buttons


async def test_staff_read_alerts_in_the_staff_language_with_the_patients_language_named(
    harness: Harness,
) -> None:
    h = harness
    h.ctx.clinic = dataclasses.replace(h.ctx.clinic, staff_language="fr")
    h.standin.add_user(LEE, "Lee", language_code="ru")
    patient = await patients.add_patient(h.ctx, "Lee Martin", None, "Europe/Paris")
    ref = str(patient.id)
    await sessions.add_session(h.ctx, ref, "face", T0 - dt.timedelta(hours=30))
    await h.join(ref, user_id=LEE)
    h.pause()
    h.standin.send_text(LEE, "/checkin")
    await h.standin.wait_for(lambda: bool(h.latest(LEE).buttons))
    i18n = h.ctx.i18n
    for label in (
        "I have symptoms",
        "None of these",
        "Pain or tenderness",
        "Done",
        "Very severe",
    ):
        await h.tap(LEE, h.latest(LEE), i18n.t("ru", label))
    # the words answer the last question
    await h.reply_to(LEE, "Очень болит щека")
    await h.standin.wait_for(lambda: len(h.staff_chat()) >= 1)
    sent = h.staff_chat()[0]
    alert = sent.text
    assert sent.quoted() == ["Очень болит щека"]  # the patient's words as written, set apart
    assert i18n.name_of("ru", "fr", title=False) in alert  # their language, named in French
    assert i18n.t("fr", "Patient: {name} ({ref})", name="Lee Martin", ref="P0001") in alert
