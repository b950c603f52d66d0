"""The small interfaces services use to reach the outside world."""

from __future__ import annotations

from typing import Protocol

# Inline buttons: rows of (label, callback data).
Buttons = list[list[tuple[str, str]]]


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
    ) -> int:
        """Returns Telegram's message id. With `photo` (a Telegram file id) the text is its
        caption."""
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
