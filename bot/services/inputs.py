"""What people type on the command line or put in an import, checked the same way everywhere:
names, Telegram user ids, record ids and dates."""

from __future__ import annotations

import datetime as dt
import unicodedata

from bot.errors import BadInput

NAME_MAX = 200
# Telegram: "at most 52 significant bits" for user ids; anything else is a typo or an attack
TELEGRAM_ID_MAX = 2**52 - 1
# ids are 64-bit signed integers in the database; a larger number cannot name a row
RECORD_ID_MAX = 2**63 - 1
# sessions are planned within these years: outside them a date is a mistake, and the plan's
# arithmetic would run off the calendar (year 1 or 9999)
FIRST_YEAR, LAST_YEAR = 2000, 2100
DATE_RANGE = f"{FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31"
# characters that would break a name onto lines of its own or reorder what follows it in a
# staff message: bidi embeddings, overrides, isolates and marks
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL = frozenset({"Cc", "Cs", "Zl", "Zp"})


def hidden_character(text: str) -> str | None:
    """The first control, line-breaking or bidi character in `text`, or None."""
    return next((c for c in text if c in _BIDI or unicodedata.category(c) in _CONTROL), None)


def check_name(value: str, who: str = "a patient") -> str:
    """A person's name: trimmed, 1 to 200 characters, on one line, without control or bidi
    characters (it is shown in the staff chat, where they could forge lines)."""
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise BadInput(f"{who} needs a name of 1 to {NAME_MAX} characters (got {len(name):,})")
    bad = hidden_character(name)
    if bad is not None:
        raise BadInput(
            f"the name has a control character (U+{ord(bad):04X}): no line breaks, tabs or "
            "invisible formatting"
        )
    return name


def check_telegram_user_id(value: int) -> int:
    if not 0 < value <= TELEGRAM_ID_MAX:
        shown = str(value) if len(str(value)) <= 30 else f"{str(value)[:30]}…"
        raise BadInput(f"{shown} is not a Telegram user id (a positive number below 2^52)")
    return value


def is_record_id(value: int) -> bool:
    return 0 < value <= RECORD_ID_MAX


def check_date(when: dt.datetime, text: str) -> dt.datetime:
    """A date a person typed, before any zone arithmetic (year 1 or 9999 would overflow)."""
    if not FIRST_YEAR <= when.year <= LAST_YEAR:
        raise BadInput(f"{text.strip()[:40]!r} is outside the range {DATE_RANGE}")
    return when
