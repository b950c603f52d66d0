"""What every handler shares: the services' context, and the clinic's contact line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.services.context import Context
from bot.services.ports import Buttons

AppContext = ContextTypes.DEFAULT_TYPE


def ctx_of(bot_data: Mapping[str, Any]) -> Context:
    ctx = bot_data["ctx"]
    assert isinstance(ctx, Context)
    return ctx


def deps(context: AppContext) -> Context:
    return ctx_of(context.bot_data)


def user_id(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


def contact_line(ctx: Context, lang: str) -> str:
    """How to reach the clinic, and the emergency number: on every answer that matters."""
    clinic = ctx.clinic
    if clinic.phone:
        return ctx.i18n.t(
            lang,
            "If something worries you, call {clinic} on {phone}. "
            "In an emergency, call {emergency}.",
            clinic=clinic.name,
            phone=clinic.phone,
            emergency=clinic.emergency_number,
        )
    return ctx.i18n.t(
        lang,
        "If something worries you, contact {clinic}. In an emergency, call {emergency}.",
        clinic=clinic.name,
        emergency=clinic.emergency_number,
    )


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


async def reply(update: Update, text: str, **kwargs: Any) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, **kwargs)
