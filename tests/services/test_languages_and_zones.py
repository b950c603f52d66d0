"""A patient's language and zone: chosen at first contact, changed later, plans follow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.db.models import MessageStatus
from bot.domain.protocol import parse_protocol
from bot.services import enrolment, patient_chat, patients
from bot.services.context import Context
from bot.services.protocols import missing_translations, step_text
from tests.conftest import T0
from tests.services.helpers import active_patient, rows, with_session

USER = 6101


async def test_telegram_language_is_taken_at_first_contact_unless_staff_chose(
    ctx: Context,
) -> None:
    plain = await patients.add_patient(ctx, "Pierre", None, "Europe/Paris")
    link = await patients.create_invite(ctx, str(plain.id))
    opened = await enrolment.open_invite(ctx, link.token, USER, "fr-FR")
    assert opened.language == "fr"
    done = await enrolment.give_consent(ctx, opened.invite_id or 0, USER, "fr-FR")
    assert done.language == "fr"
    chosen = await patients.add_patient(ctx, "Olga", "ru", "Europe/Moscow")
    link = await patients.create_invite(ctx, str(chosen.id))
    opened = await enrolment.open_invite(ctx, link.token, USER + 1, "de")
    assert opened.language == "ru"
    other = await patients.add_patient(ctx, "Hans", None, "Europe/Berlin")
    link = await patients.create_invite(ctx, str(other.id))
    opened = await enrolment.open_invite(ctx, link.token, USER + 2, "de")
    assert opened.language == "en"  # not shipped: the clinic's language


async def test_a_zone_change_replans_what_is_unsent(ctx: Context) -> None:
    patient = await active_patient(ctx, USER, timezone="Europe/Paris")
    await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    before = {r.step_key: r.due_at for r in await rows(ctx, patient.id)}
    moved = await patient_chat.set_timezone(ctx, USER, "Asia/Tokyo", patient.id)
    assert moved is not None and moved.timezone == "Asia/Tokyo"
    after = {r.step_key: r for r in await rows(ctx, patient.id)}
    # the sun tip goes out at 08:00 local, in Paris before and in Tokyo now
    assert before["sun-morning"] == dt.datetime(2026, 3, 7, 7, 0, tzinfo=dt.UTC)
    assert after["sun-morning"].due_at == dt.datetime(2026, 3, 6, 23, 0, tzinfo=dt.UTC)
    assert after["sun-morning"].status == MessageStatus.PENDING
    assert await patient_chat.set_timezone(ctx, USER, "Mars/Olympus", patient.id) is None


async def test_staff_set_language_and_zone_from_the_command_line(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    changed = await patients.update_patient(ctx, str(patient.id), "es", "America/Mexico_City")
    assert (changed.language, changed.is_language_set) == ("es", True)
    assert changed.timezone == "America/Mexico_City"


def test_city_search_finds_zones() -> None:
    assert patient_chat.search_zones("new york") == ["America/New_York"]
    assert "America/Montreal" in patient_chat.search_zones("Montréal")
    assert patient_chat.search_zones("xy") == []
    assert patient_chat.search_zones("Atlantisville") == []


def test_a_clinics_own_texts_are_used_and_missing_ones_fall_back(ctx: Context) -> None:
    protocol = parse_protocol(
        'treatment = "lips"\ntitle = "Lips"\nrestriction_days = 2\n'
        '[[step]]\nkey = "sun"\nkind = "tip"\noffset = "1d"\nuseful_for = "1d"\n'
        'text = "Keep your lips out of the sun for two days."\n'
        '[step.texts]\nfr = "Protégez vos lèvres du soleil pendant deux jours."\n',
        str(Path("lips.toml")),
    )
    step = protocol.steps[0]
    assert step_text(ctx.i18n, step, "fr", "en").startswith("Protégez")
    # no Spanish text and no catalog entry: the clinic's default language
    assert step_text(ctx.i18n, step, "es", "en") == step.text
    missing = missing_translations(protocol, ctx.i18n)
    assert "fr" not in missing["sun"] and {"es", "ru", "ar"} <= set(missing["sun"])
