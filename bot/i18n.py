"""Translations: gettext catalogs from locales/, with an explicit language on every call."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.errors import ConfigError


def catalogs_dir(package: Path) -> Path:
    """Where the catalogs are for the bot package at `package`: a wheel carries them inside it
    (bot/locales, see pyproject.toml); a checkout or an editable install keeps them at the top of
    the source tree (locales/), beside it."""
    packaged = package / "locales"
    return packaged if packaged.is_dir() else package.parent / "locales"


LOCALES_DIR = catalogs_dir(Path(__file__).resolve().parent)
DOMAIN = "messages"


def N_(msgid: str) -> str:
    """Marks a msgid for extraction where it is translated later, with the reader's language."""
    return msgid


class I18n:
    """Every shipped catalog, loaded once at start-up; a missing one stops start-up."""

    def __init__(self, languages: tuple[str, ...], default: str, root: Path = LOCALES_DIR) -> None:
        if default not in languages:
            raise ConfigError(f"AFTERCARE_DEFAULT_LANGUAGE: {default!r} is not shipped")
        self.languages = languages
        self.default = default
        self._catalogs = {lang: _load(root, lang) for lang in languages}

    @classmethod
    def shipped(cls, default: str = "en", root: Path = LOCALES_DIR) -> I18n:
        found = sorted(p.parent.parent.name for p in root.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
        if not found:
            raise ConfigError(f"no translation catalogs found under {root}")
        return cls(tuple(found), default, root)

    def language(self, code: str | None) -> str:
        """The shipped language closest to `code` (en-GB → en), else the default."""
        if code:
            base = code.replace("-", "_").split("_")[0].lower()
            if base in self._catalogs:
                return base
        return self.default

    def t(self, lang: str, msgid: str, /, **params: Any) -> str:
        lang = self.language(lang)
        text = self._catalogs[lang].gettext(msgid)
        return text.format(**self._isolated(lang, params)) if params else text

    def nt(self, lang: str, singular: str, plural: str, n: int, /, **params: Any) -> str:
        lang = self.language(lang)
        text = self._catalogs[lang].ngettext(singular, plural, n)
        return text.format(**self._isolated(lang, {"n": n, **params}))

    def has(self, lang: str, msgid: str) -> bool:
        """Whether the catalog of `lang` translates `msgid` (protocol texts fall back when not)."""
        catalog = self._catalogs.get(lang)
        return catalog is not None and (lang == "en" or catalog.gettext(msgid) != msgid)

    def is_rtl(self, lang: str) -> bool:
        return bool(Locale.parse(self.language(lang)).text_direction == "rtl")

    def _isolated(self, lang: str, params: dict[str, Any]) -> dict[str, Any]:
        # In right-to-left text, a phone number, a name in Latin letters or a date would reorder
        # the sentence around it; Unicode first-strong isolates keep each value in its own run.
        if not self.is_rtl(lang):
            return params
        return {key: f"\u2068{value}\u2069" for key, value in params.items()}

    def name_of(self, lang: str, in_lang: str | None = None, *, title: bool = True) -> str:
        """A language's name, in its own language by default: "Français" on a button, and
        "français" (title=False) inside a French sentence, as the language writes it."""
        name = str(Locale.parse(lang).get_display_name(Locale.parse(in_lang or lang)) or lang)
        return name[:1].upper() + name[1:] if title else name

    def when(self, lang: str, at: dt.datetime, zone: str, fmt: str = "EEE d MMM, HH:mm") -> str:
        """A moment in the reader's zone and language, e.g. 'Tue 3 Mar, 19:00'."""
        locale = Locale.parse(self.language(lang))
        return str(format_datetime(at, fmt, tzinfo=ZoneInfo(zone), locale=locale))


def _load(root: Path, lang: str) -> Translations:
    po_path = root / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.is_file():
        raise ConfigError(f"translation catalog missing: {po_path}")
    # Compiled in memory from the .po at start-up: no generated .mo files to keep in step.
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def extract_protocol(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Any:
    """pybabel extractor for protocol files: each step's text is a msgid."""
    import tomllib

    raw = fileobj.read().decode("utf-8")
    data = tomllib.loads(raw)
    lines = raw.splitlines()
    for step in data.get("step", []):
        text, key = step.get("text"), step.get("key", "")
        if isinstance(text, str):
            text = text.strip()
        if not isinstance(text, str):
            continue
        lineno = next((i + 1 for i, line in enumerate(lines) if f'"{key}"' in line), 1)
        yield lineno, "", text, [f"protocol step {data.get('treatment')}/{key}"]
