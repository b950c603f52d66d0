"""Who reads the staff chat: its members counted at start-up and daily, against the staff."""

from __future__ import annotations

import logging

from telegram.error import TelegramError

from bot.appstate import AppContext
from bot.services import health

log = logging.getLogger(__name__)

DAILY = 24 * 3600.0  # real seconds


async def check_staff_chat(context: AppContext) -> None:
    """Everyone in the staff chat reads every alert: staff hear when it holds more people than
    the registered staff (and the bot)."""
    try:
        members = await health.check_staff_chat(
            context.bot_data.ctx, context.bot.get_chat_member_count
        )
    except TelegramError as err:  # the chat is not set up right, or Telegram is away
        log.warning("could not count the staff chat's members: %s", type(err).__name__)
        return
    if members is not None:
        log.info("the staff chat has %s members, the bot included", members)
