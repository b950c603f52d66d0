"""The small interfaces services use to reach the outside world."""

from __future__ import annotations

from typing import Protocol

# Inline buttons: rows of (label, callback data).
Buttons = list[list[tuple[str, str]]]


class Sender(Protocol):
    """Sends one message; raises a DeliveryError subclass saying what happened."""

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


class RateShare(Protocol):
    """How many messages a second this process may send; the processes alive share Telegram's
    overall limit, and the share changes as processes come and go."""

    per_second: int
