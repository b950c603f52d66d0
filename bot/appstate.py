"""What handlers and jobs take from the application: its typed `bot_data`, filled in once by the
composition root (bot/app.py) before the application starts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from bot.services.intake import IntakeLimits
from bot.services.ports import RateShare


class AppState:
    """python-telegram-bot creates it without arguments (`ContextTypes(bot_data=AppState)`);
    `bot.app.build_application` sets every attribute before anything runs."""

    ctx: Context  # what every service call takes
    dispatcher: Dispatcher  # this process's sender of the outbox
    rate: RateShare  # this process's share of Telegram's overall send rate
    claim_lease: dt.timedelta  # after this, a claimed send or update of a dead process is retaken
    update_concurrency: int  # updates of different chats handled at once (handlers.inbound)
    intake: IntakeLimits  # senders' limits (services.intake)


# the bot's type parameter is its rate limiter's arguments, the job queue's a default of PTB's
AppContext = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], AppState]
App = Application[ExtBot[Any], AppContext, dict[Any, Any], dict[Any, Any], AppState, JobQueue[Any]]
CONTEXT_TYPES = ContextTypes(bot_data=AppState)
