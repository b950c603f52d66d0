"""The one registration list: handlers in order, each command of the menu table with its
handler."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.appstate import AppContext
from bot.handlers import checkin, menu, patient, staff
from bot.handlers.common import stray_button
from bot.services import buttons

Callback = Callable[[Update, AppContext], Coroutine[Any, Any, None]]

# What each command of the menu table (bot.handlers.menu) runs.
CALLBACKS: dict[str, Callback] = {
    "checkin": checkin.checkin_command,
    "schedule": patient.schedule,
    "stop": patient.stop,
    "resume": patient.resume,
    "language": patient.language_command,
    "timezone": patient.timezone_command,
    "help": patient.help_command,
}

PRIVATE = filters.ChatType.PRIVATE
PATIENT_SENDS = (
    filters.TEXT
    | filters.PHOTO
    | filters.VOICE
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.AUDIO
    | filters.Document.ALL
    | filters.Sticker.ALL
)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Order matters: the first matching handler wins."""
    shown = [c.name for c in menu.COMMANDS]
    if sorted(shown) != sorted(CALLBACKS):
        raise LookupError(f"the command menu {shown} and its handlers {sorted(CALLBACKS)} differ")
    result: list[BaseHandler[Any, Any, Any]] = [
        # the invite link arrives as /start <token>
        CommandHandler("start", patient.start, filters=PRIVATE),
    ]
    result += [CommandHandler(name, CALLBACKS[name], filters=PRIVATE) for name in shown]
    result += [
        CallbackQueryHandler(patient.consent, pattern=buttons.Consent.pattern()),
        CallbackQueryHandler(patient.language_chosen, pattern=buttons.ChooseLanguage.pattern()),
        CallbackQueryHandler(patient.timezone_chosen, pattern=buttons.ChooseZone.pattern()),
        # check-in answers, and a new check-in from a closed one
        CallbackQueryHandler(checkin.press, pattern=buttons.any_of(*buttons.CHECKIN_BUTTONS)),
        # staff on alerts: acknowledge, resolve, and the outcome
        CallbackQueryHandler(staff.press, pattern=buttons.any_of(*buttons.STAFF_BUTTONS)),
        # any other press: forged, replayed or for something that is over
        CallbackQueryHandler(stray_button),
        MessageHandler(PRIVATE & filters.COMMAND, patient.unknown_command),
        # words, photos, voice notes, videos, audio, files, stickers: a check-in's answer, or
        # for the clinic's staff
        MessageHandler(PRIVATE & PATIENT_SENDS, checkin.patient_wrote),
        # locations, contacts, polls and the like: a calm answer
        MessageHandler(PRIVATE, checkin.media_we_cannot_read),
        # in the staff chat, a reply to one of our alerts
        MessageHandler(filters.ChatType.GROUPS & filters.REPLY & filters.TEXT, staff.chat_reply),
    ]
    return result
