"""Every inline button's payload: one frozen class per action, packed and signed here, unpacked
and routed from the same class.

Callback data comes back from Telegram as untrusted input. A payload is
`prefix[.extra…]:id:mac`: the first field of the class is the `id` (what the press is about: a
check-in, an alert, an invite, a patient), any further fields are the dotted extras, and the MAC
(HMAC-SHA256 over everything before it, cut to 10 bytes of base64) proves we made it. The press
is then still checked against who pressed it and the current state by the service.

This wire format is the one the bot has always sent, so buttons already in patients' chats keep
working across an upgrade.
"""

from __future__ import annotations

import abc
import base64
import dataclasses
import enum
import hashlib
import hmac
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Self

from bot.db.models import EscalationOutcome
from bot.domain import checkin as flow
from bot.domain.checkin import Event

MAX_BYTES = 64  # Telegram's limit for callback_data
# what an extra may hold: language codes, time-zone names, short codes
_TEXT = re.compile(r"[A-Za-z0-9_+/-]+")


class CallbackSigner:
    """The MAC over a payload's body, keyed by the bot's secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"aftercare-callback:" + secret).digest()

    def mac(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:10]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def is_valid(self, body: str, mac: str) -> bool:
        return hmac.compare_digest(self.mac(body), mac)


class Button:
    """A button's action and what it is about. Subclasses are frozen dataclasses whose first
    field is an int id; each names its prefix: `class Acknowledge(Button, prefix="ea")`."""

    prefix: ClassVar[str]
    _registry: ClassVar[dict[str, type[Button]]] = {}

    def __init_subclass__(cls, prefix: str, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if prefix in Button._registry or not re.fullmatch(r"[a-z]+(\.[a-z])?", prefix):
            raise TypeError(f"button prefix {prefix!r} is taken or malformed")
        cls.prefix = prefix
        Button._registry[prefix] = cls

    @classmethod
    def _types(cls) -> list[type]:
        hints = typing.get_type_hints(cls)
        return [hints[f.name] for f in dataclasses.fields(cls)]  # type: ignore[arg-type]

    def pack(self, signer: CallbackSigner) -> str:
        """The signed payload; ValueError when it would not fit Telegram's 64 bytes."""
        values = [getattr(self, f.name) for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        ref, extras = values[0], [_text(v) for v in values[1:]]
        if not isinstance(ref, int) or ref < 0:
            raise ValueError(f"{type(self).__name__}: the first field must be an id")
        for extra in extras:
            if not _TEXT.fullmatch(extra):
                raise ValueError(f"{type(self).__name__}: {extra!r} cannot go in a payload")
        body = f"{'.'.join([self.prefix, *extras])}:{ref}"
        data = f"{body}:{signer.mac(body)}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError("callback data over Telegram's 64 bytes")
        return data

    @classmethod
    def unpack(cls, data: str | None, signer: CallbackSigner) -> Self | None:
        """The button if we signed it and it is one of `cls`, else None (forged, truncated,
        from an old secret, or another kind of button)."""
        if not data or len(data.encode()) > MAX_BYTES:
            return None
        parts = data.split(":")
        if (
            len(parts) != 3
            or not parts[1].isdigit()
            or not signer.is_valid(f"{parts[0]}:{parts[1]}", parts[2])
        ):
            return None
        found = _parse(parts[0], int(parts[1]))
        return found if isinstance(found, cls) else None

    @classmethod
    def pattern(cls) -> str:
        """A regex for python-telegram-bot's CallbackQueryHandler: this class's payloads."""
        extras = "".join(
            r"\.\d+" if issubclass(t, int) else r"\.[A-Za-z0-9_+/-]+" for t in cls._types()[1:]
        )
        return rf"^{re.escape(cls.prefix)}{extras}:"


def any_of(*classes: type[Button]) -> str:
    """One handler's pattern for several kinds of button."""
    return "|".join(f"(?:{c.pattern()})" for c in classes)


def _text(value: object) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    return str(value)


def _parse(action: str, ref: int) -> Button | None:
    names = action.split(".")
    # the longest registered prefix wins: `cs.d` is Done, `cs.3` is a toggle of symptom 3
    for cut in range(min(len(names), 2), 0, -1):
        cls = Button._registry.get(".".join(names[:cut]))
        if cls is None:
            continue
        types, extras = cls._types(), names[cut:]
        if len(types) != len(extras) + 1:
            return None
        try:
            values = [_value(t, text) for t, text in zip(types[1:], extras, strict=True)]
        except ValueError:
            return None
        make: Callable[..., Button] = cls
        return make(ref, *values)
    return None


def _value(kind: type, text: str) -> object:
    make: Callable[[object], object] = kind
    if issubclass(kind, int):
        if not text.isdigit():
            raise ValueError(text)
        return make(int(text))
    if not _TEXT.fullmatch(text):
        raise ValueError(text)
    return make(text)


# --- enrolment and the patient's settings --------------------------------------------------------
@dataclass(frozen=True)
class Consent(Button, prefix="consent"):
    invite_id: int


@dataclass(frozen=True)
class ChooseLanguage(Button, prefix="lg"):
    patient_id: int
    language: str


@dataclass(frozen=True)
class ChooseZone(Button, prefix="tz"):
    patient_id: int
    zone: str


# --- check-ins: each press is one event of the check-in's state machine (bot.domain.checkin) ---
class CheckinButton(abc.ABC):
    """A press on a check-in question: each kind says which event of the state machine it is."""

    checkin_id: int

    @abc.abstractmethod
    def event(self) -> Event: ...


@dataclass(frozen=True)
class AllGood(CheckinButton, Button, prefix="co.g"):
    checkin_id: int

    def event(self) -> Event:
        return flow.AllGood()


@dataclass(frozen=True)
class HasSymptoms(CheckinButton, Button, prefix="co.s"):
    checkin_id: int

    def event(self) -> Event:
        return flow.HasSymptoms()


# Symptoms and flags are named, not numbered: a list that grows never makes an older button in
# a chat tick another choice. (The numbered `cs.N` and `cf.N` of earlier versions are gone: such
# a button now gets "This button no longer works".)
@dataclass(frozen=True)
class ToggleSymptom(CheckinButton, Button, prefix="cy"):
    checkin_id: int
    symptom: str

    def event(self) -> Event:
        return flow.ToggleSymptom(self.symptom)


@dataclass(frozen=True)
class SymptomsDone(CheckinButton, Button, prefix="cs.d"):
    checkin_id: int

    def event(self) -> Event:
        return flow.SymptomsDone()


@dataclass(frozen=True)
class Rate(CheckinButton, Button, prefix="cv"):
    checkin_id: int
    level: int

    def event(self) -> Event:
        return flow.Rate(self.level)


@dataclass(frozen=True)
class ToggleFlag(CheckinButton, Button, prefix="cg"):
    checkin_id: int
    flag: str

    def event(self) -> Event:
        return flow.ToggleFlag(self.flag)


@dataclass(frozen=True)
class NoFlags(CheckinButton, Button, prefix="cf.n"):
    checkin_id: int

    def event(self) -> Event:
        return flow.NoFlags()


@dataclass(frozen=True)
class FlagsDone(CheckinButton, Button, prefix="cf.d"):
    checkin_id: int

    def event(self) -> Event:
        return flow.FlagsDone()


@dataclass(frozen=True)
class SkipNote(CheckinButton, Button, prefix="cn.s"):
    checkin_id: int

    def event(self) -> Event:
        return flow.SkipNote()


@dataclass(frozen=True)
class NewCheckin(Button, prefix="cx"):
    """On a closed check-in: start a new one."""

    checkin_id: int


CHECKIN_BUTTONS: tuple[type[Button], ...] = (
    AllGood,
    HasSymptoms,
    ToggleSymptom,
    SymptomsDone,
    Rate,
    ToggleFlag,
    NoFlags,
    FlagsDone,
    SkipNote,
    NewCheckin,
)


# --- staff on alerts ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Acknowledge(Button, prefix="ea"):
    escalation_id: int


@dataclass(frozen=True)
class Resolve(Button, prefix="er"):
    escalation_id: int


@dataclass(frozen=True)
class ResolveAs(Button, prefix="eo"):
    escalation_id: int
    outcome: EscalationOutcome


STAFF_BUTTONS: tuple[type[Button], ...] = (Acknowledge, Resolve, ResolveAs)
