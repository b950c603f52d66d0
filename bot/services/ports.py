"""The small interfaces services use to reach the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# Inline buttons: rows of (label, callback data).
Buttons = list[list[tuple[str, str]]]


@dataclass(frozen=True)
class Entity:
    """A Telegram message entity: a span of the text shown differently (a patient's words as a
    blockquote). Offset and length in UTF-16 code units, as Telegram counts them."""

    type: str
    offset: int
    length: int


class Sender(Protocol):
    """Sends or copies one message; raises a DeliveryError subclass saying what happened."""

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        photo: str | None = None,
        reply_to: int | None = None,
        entities: Sequence[Entity] = (),
    ) -> int:
        """Returns Telegram's message id. With `photo` (a Telegram file id) the text is its
        caption, and `entities` the caption's."""
        ...

    async def copy(
        self, chat_id: int, from_chat_id: int, message_id: int, *, reply_to: int | None = None
    ) -> int:
        """Copies a message of another chat into `chat_id` (a patient's voice note to the staff
        chat), as it was sent; returns the copy's message id."""
        ...


class RateShare(Protocol):
    """How many messages a second this process may send; the processes alive share Telegram's
    overall limit, and the share changes as processes come and go."""

    per_second: int
