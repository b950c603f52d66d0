"""Danger words over Telegram: "I can't breathe and my lips are swelling" with no check-in open
gets the emergency answer and an emergency alert, in every shipped language (issue 10)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.db.models import Escalation
from bot.domain.triage import Level
from bot.services import patients, sessions
from tests.conftest import T0
from tests.e2e.conftest import PATIENT, Harness

# as patients type them: informal, without accents or with a typo
WORDS = {
    "en": "I cant breathe properly and my lips are swelling up",
    "fr": "j'arrive pas à respirer et mes levres gonflent",
    "es": "no puedo respirar bien y se me estan hinchando los labios",
    "ru": "не могу нормально дышать, губы опухают",
    "ar": "ما اقدر اتنفس وشفايفي منتفخة",
}


async def enrolled(h: Harness, language: str) -> None:
    p = await patients.add_patient(h.ctx, "Anna Smith", language, "Europe/Paris")
    await sessions.add_session(h.ctx, str(p.id), "face", T0 - dt.timedelta(hours=2))
    await h.join(str(p.id))
    await h.settle()
    h.pause()


@pytest.mark.parametrize("language", sorted(WORDS))
async def test_emergency_words_get_the_emergency_number_and_an_alert(
    harness: Harness, language: str, record_property: Callable[[str, object], None]
) -> None:
    h = harness
    await enrolled(h, language)
    before = len(h.standin.sent_to(PATIENT))
    written_at = h.clock.now()
    h.standin.send_text(PATIENT, WORDS[language])
    answer = (await h.standin.wait_for_messages(PATIENT, before + 1))[before]
    # measured, not asserted (a shared machine): see the closing note and the README
    record_property("answer_seconds", (answer.at - written_at).total_seconds())
    # the first thing the patient reads is the emergency answer, with the number
    assert answer.text is not None and "112" in answer.text
    assert answer.text == h.ctx.i18n.t(
        language,
        "Please call {emergency} now: what you describe can be a serious reaction that needs "
        "help at once. Do this first, before anything else. We have also alerted {clinic}.",
        emergency="112",
        clinic="Clinique Test",
    )
    async with h.ctx.db() as db:
        escalation = (await db.execute(select(Escalation))).scalar_one()
    assert escalation.level == Level.EMERGENCY
    await h.standin.wait_for(lambda: bool(h.staff_chat()))
    alert = h.staff_chat()[0]
    assert alert.text is not None and alert.text.startswith("🚨 EMERGENCY")
