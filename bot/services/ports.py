"""The small interfaces services use to reach the outside world."""

from __future__ import annotations

from typing import Protocol

# One row of inline buttons is a list of (label, callback data).
Buttons = list[list[tuple[str, str]]]


class Sender(Protocol):
    """Sends one message; raises a DeliveryError subclass saying what happened."""

    async def send_text(self, chat_id: int, text: str, buttons: Buttons | None = None) -> int:
        """Returns Telegram's message id."""
        ...
