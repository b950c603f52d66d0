"""What every handler shares: the services' context, the clinic's contact line (worded in
services.patient_words: a delivery report says it too), and the answers to someone who is not
a linked patient or to a button that no longer works."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.appstate import AppContext
from bot.services.context import Context
from bot.services.patient_words import contact_line as contact_line
from bot.services.ports import Buttons


def deps(context: AppContext) -> Context:
    return context.bot_data.ctx


def user_id(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


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


def language(ctx: Context, update: Update) -> str:
    """The language to answer someone we may not know yet: their Telegram language if shipped."""
    user = update.effective_user
    return ctx.i18n.language(user.language_code if user else None)


async def not_linked(update: Update, ctx: Context) -> None:
    await reply(
        update,
        ctx.i18n.t(
            language(ctx, update),
            "Hello! I send aftercare advice to patients of {clinic}. To connect, open the personal "
            "link your clinic gave you. If you don't have one, ask your clinic for your personal "
            "link.",
            clinic=ctx.clinic.name,
        ),
    )


async def stray_button(update: Update, context: AppContext) -> None:
    """A press we did not sign, or one for something that is over: nothing changes."""
    ctx = deps(context)
    query = update.callback_query
    if query is not None:
        await query.answer(ctx.i18n.t(language(ctx, update), "This button no longer works."))
