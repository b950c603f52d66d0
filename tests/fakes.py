"""Hand-written fakes for the services' ports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.errors import DeliveryError
from bot.services.outbox import BLOCKQUOTE, Styled
from bot.services.ports import Buttons, Entity


@dataclass
class Sent:
    chat_id: int
    text: str
    message_id: int
    buttons: Buttons | None = None
    photo: str | None = None
    reply_to: int | None = None
    copy_of: tuple[int, int] | None = None  # (chat, message id) copied with copyMessage
    entities: tuple[Entity, ...] = ()

    def quoted(self) -> list[str]:
        """The texts of its blockquotes (entity offsets are in UTF-16 code units)."""
        return Styled(self.text, self.entities).quoted()

    def unquoted(self) -> str:
        """Its text with every blockquote taken out: the bot's own words."""
        encoded = self.text.encode("utf-16-le")
        kept, at = b"", 0
        for e in sorted(self.entities, key=lambda e: e.offset):
            if e.type == BLOCKQUOTE:
                kept += encoded[2 * at : 2 * e.offset]
                at = e.offset + e.length
        return (kept + encoded[2 * at :]).decode("utf-16-le")


@dataclass
class FakeSender:
    """Records every send; `fail` decides per (chat, text) whether to raise instead. Message ids
    are unique across chats, or with `ids_per_chat` counted in each chat from 1, as Telegram
    does."""

    sent: list[Sent] = field(default_factory=list)
    fail: Callable[[int, str], DeliveryError | None] = lambda _chat, _text: None
    delay: float = 0.0
    ids_per_chat: bool = False
    _next_id: int = 100
    _chat_ids: dict[int, int] = field(default_factory=dict)

    def _new_id(self, chat_id: int) -> int:
        if self.ids_per_chat:
            self._chat_ids[chat_id] = self._chat_ids.get(chat_id, 0) + 1
            return self._chat_ids[chat_id]
        self._next_id += 1
        return self._next_id

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
        if self.delay:
            await asyncio.sleep(self.delay)
        error = self.fail(chat_id, text)
        if error is not None:
            raise error
        message_id = self._new_id(chat_id)
        self.sent.append(
            Sent(chat_id, text, message_id, buttons, photo, reply_to, entities=tuple(entities))
        )
        return message_id

    async def copy(
        self, chat_id: int, from_chat_id: int, message_id: int, *, reply_to: int | None = None
    ) -> int:
        """A copy is recorded with an empty text; `fail` sees that text too."""
        error = self.fail(chat_id, "")
        if error is not None:
            raise error
        copy_id = self._new_id(chat_id)
        self.sent.append(
            Sent(chat_id, "", copy_id, reply_to=reply_to, copy_of=(from_chat_id, message_id))
        )
        return copy_id

    def to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]
