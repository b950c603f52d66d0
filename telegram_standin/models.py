"""Value types of the stand-in: injected faults, what the bot sent, the transcript, API errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

JSON = dict[str, Any]

BLOCKED = "Forbidden: bot was blocked by the user"
EMPTY_TEXT = "Bad Request: message text is empty"

FaultKind = Literal[
    "retry_after",
    "server_error",
    "forbidden",
    "bad_request",
    "slow",
    "drop_connection",
    "deliver_then_drop",
]


@dataclass(frozen=True)
class Fault:
    """One misbehaviour to inject into a Bot API call; build it with the classmethods."""

    kind: FaultKind
    status: int = 0
    description: str = ""
    seconds: int = 0
    delay: float = 0.0

    @classmethod
    def retry_after(cls, seconds: int) -> Fault:
        return cls(
            "retry_after",
            status=429,
            description=f"Too Many Requests: retry after {seconds}",
            seconds=seconds,
        )

    @classmethod
    def server_error(cls, status: int = 502) -> Fault:
        if not 500 <= status <= 599:
            raise ValueError(f"server_error needs a 5xx status, got {status}")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Server Error"
        return cls("server_error", status=status, description=phrase)

    @classmethod
    def forbidden(cls, description: str = BLOCKED) -> Fault:
        return cls("forbidden", status=403, description=description)

    @classmethod
    def bad_request(cls, description: str = EMPTY_TEXT) -> Fault:
        return cls("bad_request", status=400, description=description)

    @classmethod
    def slow(cls, delay: float) -> Fault:
        return cls("slow", delay=delay)

    @classmethod
    def drop_connection(cls) -> Fault:
        """The connection is closed before the call is carried out: nothing is delivered."""
        return cls("drop_connection")

    @classmethod
    def deliver_then_drop(cls) -> Fault:
        """The call is carried out (a message is delivered), then the connection is closed
        before the answer: the client cannot know that it arrived."""
        return cls("deliver_then_drop")

    @classmethod
    def from_json(cls, data: JSON) -> Fault:
        """A fault from control-side JSON, e.g. {"kind": "retry_after", "seconds": 3}."""
        kind = data.get("kind")
        if kind == "retry_after":
            return cls.retry_after(int(data.get("seconds", 1)))
        if kind == "server_error":
            return cls.server_error(int(data.get("status", 502)))
        if kind == "forbidden":
            return cls.forbidden(str(data.get("description", BLOCKED)))
        if kind == "bad_request":
            return cls.bad_request(str(data.get("description", EMPTY_TEXT)))
        if kind == "slow":
            return cls.slow(float(data.get("delay", 1.0)))
        if kind == "drop_connection":
            return cls.drop_connection()
        if kind == "deliver_then_drop":
            return cls.deliver_then_drop()
        raise ValueError(f"unknown fault kind {kind!r}")

    def error_body(self) -> JSON:
        """The Bot API error answer for the faults that answer with an error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.kind == "retry_after":
            body["parameters"] = {"retry_after": self.seconds}
        return body


@dataclass
class Exchange:
    """One Bot API request as the stand-in saw it: when it arrived and how it was answered."""

    method: str
    chat_id: int | None
    arrived: float  # time.monotonic() when the request was read: real seconds
    at: dt.datetime  # the stand-in's clock at arrival (a test's fast clock, if it has one)
    status: int | None = None  # the HTTP status answered; None while open, or when dropped
    retry_after: int | None = None  # announced with a 429
    answered: float | None = None  # time.monotonic() when the answer (or the drop) was made

    @property
    def retry_until(self) -> float | None:
        """The end of the announced retry_after window, on the `arrived` timeline."""
        if self.retry_after is None or self.answered is None:
            return None
        return self.answered + self.retry_after


@dataclass
class SentMessage:
    """A message the bot put into a chat, kept current through edits and deletion."""

    message_id: int
    chat_id: int
    text: str | None
    reply_markup: JSON | None
    method: str
    at: dt.datetime
    edited: bool = False
    parse_mode: str | None = None
    params: JSON = field(default_factory=dict)
    kind: str = "text"
    file_id: str | None = None
    deleted: bool = False
    # the text's (or caption's) entities as the bot sent them, offsets in UTF-16 code units
    entities: list[JSON] = field(default_factory=list)

    def quoted(self) -> list[str]:
        """The texts of its blockquotes, as a person reading the chat sees them set apart."""
        encoded = (self.text or "").encode("utf-16-le")
        return [
            encoded[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
            for e in self.entities
            if e.get("type") in ("blockquote", "expandable_blockquote")
        ]

    @property
    def buttons(self) -> list[JSON]:
        """The inline keyboard's buttons, row after row."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [button for row in rows for button in row if isinstance(button, dict)]

    def callback_data(self, button_text: str) -> str:
        """The callback_data of the inline button with this text (KeyError when there is none)."""
        for button in self.buttons:
            if button.get("text") == button_text and "callback_data" in button:
                return str(button["callback_data"])
        texts = [button.get("text") for button in self.buttons]
        raise KeyError(f"no inline button {button_text!r}; buttons are {texts}")

    def to_json(self) -> JSON:
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "text": self.text,
            "reply_markup": self.reply_markup,
            "method": self.method,
            "at": self.at.isoformat(),
            "edited": self.edited,
            "parse_mode": self.parse_mode,
            "kind": self.kind,
            "file_id": self.file_id,
            "deleted": self.deleted,
            "entities": self.entities,
        }


@dataclass(frozen=True)
class TranscriptEntry:
    """One line of the conversation as a person reading the chat would see it."""

    who: str
    chat_id: int
    text: str
    at: dt.datetime
    kind: str
    user_id: int | None = None
    message_id: int | None = None

    def line(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} [{self.chat_id}] {self.who}: {self.text}"

    def to_json(self) -> JSON:
        return {
            "who": self.who,
            "chat_id": self.chat_id,
            "text": self.text,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "user_id": self.user_id,
            "message_id": self.message_id,
        }


class ApiError(Exception):
    """A Bot API error answer, raised inside method handlers and turned into the HTTP reply."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")
