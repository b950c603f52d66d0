"""Hand-written fakes for the services' ports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.errors import DeliveryError
from bot.services.ports import Buttons


@dataclass
class Sent:
    chat_id: int
    text: str
    message_id: int
    buttons: Buttons | None = None
    photo: str | None = None
    reply_to: int | None = None
    copy_of: tuple[int, int] | None = None  # (chat, message id) copied with copyMessage


@dataclass
class FakeSender:
    """Records every send; `fail` decides per (chat, text) whether to raise instead."""

    sent: list[Sent] = field(default_factory=list)
    fail: Callable[[int, str], DeliveryError | None] = lambda _chat, _text: None
    delay: float = 0.0
    _next_id: int = 100

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        photo: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        if self.delay:
            await asyncio.sleep(self.delay)
        error = self.fail(chat_id, text)
        if error is not None:
            raise error
        self._next_id += 1
        self.sent.append(Sent(chat_id, text, self._next_id, buttons, photo, reply_to))
        return self._next_id

    async def copy(
        self, chat_id: int, from_chat_id: int, message_id: int, *, reply_to: int | None = None
    ) -> int:
        """A copy is recorded with an empty text; `fail` sees that text too."""
        error = self.fail(chat_id, "")
        if error is not None:
            raise error
        self._next_id += 1
        self.sent.append(
            Sent(chat_id, "", self._next_id, reply_to=reply_to, copy_of=(from_chat_id, message_id))
        )
        return self._next_id

    def to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]
