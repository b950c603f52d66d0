"""Every shipped language: complete, plural forms right, protocol texts within Telegram's limit."""

from __future__ import annotations

import pytest

from bot.i18n import I18n
from bot.services.protocols import load_protocols, step_text

I18N = I18n.shipped("en")
SHIPPED = ("en", "fr", "es", "ru", "ar")
TELEGRAM_LIMIT = 4096


def test_the_five_languages_are_shipped() -> None:
    assert set(SHIPPED) <= set(I18N.languages)


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_protocol_message_renders_within_telegrams_limit(lang: str) -> None:
    for protocol in load_protocols(None).values():
        for step in protocol.steps:
            text = step_text(I18N, step, lang, "en")
            assert 0 < len(text) <= TELEGRAM_LIMIT, (protocol.treatment, step.key)
            if lang != "en":
                assert text != step.text, f"{lang}: {protocol.treatment}/{step.key} untranslated"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["1 hour ago", "2 hours ago", "5 hours ago", "21 hours ago"]),
        ("ru", ["1 час", "2 часа", "5 часов", "21 час"]),
    ],
)
def test_plural_forms_at_1_2_5_21(lang: str, expected: list[str]) -> None:
    got = [I18N.nt(lang, "{n} hour ago", "{n} hours ago", n) for n in (1, 2, 5, 21)]
    for text, want in zip(got, expected, strict=True):
        assert want in text


def test_arabic_uses_its_plural_forms() -> None:
    forms = {n: I18N.nt("ar", "{n} minute", "{n} minutes", n) for n in (1, 2, 5, 21, 100)}
    # Arabic has distinct forms for one, two, few (3-10), many (11-99) and other (100+)
    assert len({text.replace(str(n), "#") for n, text in forms.items()}) >= 4
    assert all("minute" not in text for text in forms.values())


def test_arabic_isolates_values_so_numbers_and_names_keep_their_place() -> None:
    text = I18N.t(
        "ar",
        "If something worries you, call {clinic} on {phone}. In an emergency, call {emergency}.",
        clinic="Clinique du Parc",
        phone="+33 1 40 00 00 00",
        emergency="112",
    )
    assert "\u2068+33 1 40 00 00 00\u2069" in text and "\u2068112\u2069" in text
    assert I18N.is_rtl("ar") and not I18N.is_rtl("fr")


@pytest.mark.parametrize(
    ("lang", "name"),
    [
        ("en", "English"),
        ("fr", "Français"),
        ("es", "Español"),
        ("ru", "Русский"),
        ("ar", "العربية"),
    ],
)
def test_each_language_is_named_in_itself(lang: str, name: str) -> None:
    assert I18N.name_of(lang) == name
