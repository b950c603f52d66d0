"""The Telegram sender: python-telegram-bot's Bot behind the services' Sender port."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TypeVar

import httpx
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.adapters.pacing import PacingArgs, retry_seconds
from bot.errors import (
    PermanentDeliveryError,
    RecipientBlocked,
    TransientDeliveryError,
    UncertainDelivery,
)
from bot.services.ports import Buttons, Entity

# httpx errors raised before a byte of the request reached Telegram: repeating them cannot
# double a message. Anything else after the connection was made might have been delivered.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption
TEXT_LIMIT = 4096  # and for a message's text
CUT_MARK = " […]"
T = TypeVar("T")


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


def fit_text(text: str, limit: int = TEXT_LIMIT) -> str:
    """The text cut to Telegram's limit with a marker, so that a long text is sent shortened
    rather than refused. The outbox already splits the texts it is given (services.outbox);
    this guards what is rendered only when sent (a protocol's step in a long translation).
    Measured in UTF-16 code units, as Telegram counts entity offsets: never more than
    Telegram's own count of characters."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    # a surrogate pair cut in half is dropped by the decoder
    head = text.encode("utf-16-le")[: 2 * (limit - len(CUT_MARK))]
    return head.decode("utf-16-le", errors="ignore") + CUT_MARK


def entities_within(entities: Sequence[Entity], text: str) -> list[MessageEntity] | None:
    """The entities as python-telegram-bot sends them, cut to the text as it is sent."""
    size = len(text.encode("utf-16-le")) // 2
    kept = [
        MessageEntity(e.type, e.offset, min(e.length, size - e.offset))
        for e in entities
        if e.offset < size
    ]
    return kept or None


class TelegramSender:
    def __init__(self, bot: ExtBot[PacingArgs]) -> None:
        self.bot = bot

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
        markup = keyboard(buttons)
        sent: Awaitable[Message]
        if photo is not None:
            caption = fit_text(text, CAPTION_LIMIT)
            sent = self.bot.send_photo(
                chat_id,
                photo,
                caption=caption or None,
                caption_entities=entities_within(entities, caption),
                reply_markup=markup,
                reply_parameters=_reply(reply_to),
                rate_limit_args={"retry": False},
            )
        else:
            fitted = fit_text(text)
            sent = self.bot.send_message(
                chat_id,
                fitted,
                entities=entities_within(entities, fitted),
                reply_markup=markup,
                reply_parameters=_reply(reply_to),
                rate_limit_args={"retry": False},
            )
        return (await _delivered(sent)).message_id

    async def copy(
        self, chat_id: int, from_chat_id: int, message_id: int, *, reply_to: int | None = None
    ) -> int:
        copied = self.bot.copy_message(
            chat_id,
            from_chat_id,
            message_id,
            reply_parameters=_reply(reply_to),
            rate_limit_args={"retry": False},
        )
        return (await _delivered(copied)).message_id


def _reply(reply_to: int | None) -> ReplyParameters | None:
    # a reply to a message that is gone should still arrive, just without the quote
    return ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None


async def _delivered(call: Awaitable[T]) -> T:
    """Telegram's answer to a send, or the DeliveryError that says what happened to it."""
    try:
        return await call
    except RetryAfter as err:
        seconds = retry_seconds(err)
        raise TransientDeliveryError("429 too many requests", retry_after=seconds) from err
    except Forbidden as err:
        raise RecipientBlocked(f"403 {err.message}") from err
    except BadRequest as err:
        raise PermanentDeliveryError(f"400 {err.message}") from err
    except TimedOut as err:
        if isinstance(err.__cause__, _NOT_SENT):
            raise TransientDeliveryError(
                f"not sent: {type(err.__cause__).__name__}",
                unreachable=not isinstance(err.__cause__, httpx.PoolTimeout),
            ) from err
        raise UncertainDelivery("timed out after the request left") from err
    except NetworkError as err:
        # PTB raises NetworkError both for a 5xx answer (no cause: Telegram answered and did
        # not take the message) and for httpx failures (the cause says at which point).
        cause = err.__cause__
        if cause is None or isinstance(cause, _NOT_SENT):
            raise TransientDeliveryError(
                f"network: {err.message[:200]}",
                unreachable=isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout),
            ) from err
        raise UncertainDelivery(f"connection lost: {type(cause).__name__}") from err
    except InvalidToken as err:
        # a configuration fault, not this message's: keep it for when the token is fixed
        raise TransientDeliveryError("the bot token was rejected") from err
