"""The Telegram sender: python-telegram-bot's Bot behind the services' Sender port."""

from __future__ import annotations

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.adapters.pacing import PacingArgs, retry_seconds
from bot.errors import (
    PermanentDeliveryError,
    RecipientBlocked,
    TransientDeliveryError,
    UncertainDelivery,
)
from bot.services.ports import Buttons

# httpx errors raised before a byte of the request reached Telegram: repeating them cannot
# double a message. Anything else after the connection was made might have been delivered.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


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
    ) -> int:
        markup = keyboard(buttons)
        # a reply to a message that is gone should still arrive, just without the quote
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        try:
            if photo is not None:
                message = await self.bot.send_photo(
                    chat_id,
                    photo,
                    caption=text[:CAPTION_LIMIT] or None,
                    reply_markup=markup,
                    reply_parameters=reply,
                    rate_limit_args={"retry": False},
                )
            else:
                message = await self.bot.send_message(
                    chat_id,
                    text,
                    reply_markup=markup,
                    reply_parameters=reply,
                    rate_limit_args={"retry": False},
                )
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
        return message.message_id
