"""The one registration list: handlers in order, and the command table behind /help and the menu."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.handlers import checkin, patient, staff
from bot.handlers.common import AppContext
from bot.i18n import N_, I18n

Callback = Callable[[Update, AppContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # English msgid; translated for /help and for each language's menu
    callback: Callback


# The patient's commands, in the order /help and the menu show them.
COMMANDS: tuple[Command, ...] = (
    Command("checkin", N_("tell the clinic how your skin is doing"), checkin.checkin_command),
    Command("schedule", N_("what is coming, in your local time"), patient.schedule),
    Command("stop", N_("stop all messages (your clinic is told)"), patient.stop),
    Command("resume", N_("start the messages again"), patient.resume),
    Command("language", N_("choose the language I write in"), patient.language_command),
    Command("timezone", N_("set your time zone"), patient.timezone_command),
    Command("help", N_("what I can do, and how to reach your clinic"), patient.help_command),
)

PRIVATE = filters.ChatType.PRIVATE


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Order matters: the first matching handler wins."""
    result: list[BaseHandler[Any, Any, Any]] = [
        # the invite link arrives as /start <token>
        CommandHandler("start", patient.start, filters=PRIVATE),
    ]
    result += [CommandHandler(c.name, c.callback, filters=PRIVATE) for c in COMMANDS]
    result += [
        CallbackQueryHandler(patient.consent, pattern=rf"^{patient.CONSENT}:"),
        CallbackQueryHandler(patient.language_chosen, pattern=r"^lg\."),
        CallbackQueryHandler(patient.timezone_chosen, pattern=r"^tz\."),
        # check-in answers: co/cs/cv/cf/cn are the stages, cx starts a new check-in
        CallbackQueryHandler(checkin.press, pattern=r"^(c[osvfn]\.|cx:)"),
        # staff on alerts: acknowledge, resolve, and the outcome
        CallbackQueryHandler(staff.press, pattern=r"^(e[ar]:|eo\.)"),
        # any other press: forged, replayed or for something that is over
        CallbackQueryHandler(patient.stray_button),
        MessageHandler(PRIVATE & filters.COMMAND, patient.unknown_command),
        # words and photos: a check-in answer, words for the clinic, or a new check-in
        MessageHandler(PRIVATE & (filters.TEXT | filters.PHOTO), checkin.patient_wrote),
        # stickers, voice, video, files: a calm answer
        MessageHandler(PRIVATE, checkin.media_we_cannot_read),
        # in the staff chat, a reply to one of our alerts
        MessageHandler(filters.ChatType.GROUPS & filters.REPLY & filters.TEXT, staff.chat_reply),
    ]
    return result


def menu(i18n: I18n, lang: str) -> list[BotCommand]:
    return [BotCommand(c.name, i18n.t(lang, c.description)) for c in COMMANDS]
