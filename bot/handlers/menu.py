"""The patient's commands as they are shown: the one table behind /help and each language's
command menu (the registration list maps each name to its handler)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import BotCommand

from bot.i18n import N_, I18n


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # English msgid; translated for /help and for each language's menu


# In the order /help and the menu show them.
COMMANDS: tuple[Command, ...] = (
    Command("checkin", N_("tell the clinic how your skin is doing")),
    Command("schedule", N_("what is coming, in your local time")),
    Command("stop", N_("stop all messages (your clinic is told)")),
    Command("resume", N_("start the messages again")),
    Command("language", N_("choose the language I write in")),
    Command("timezone", N_("set your time zone")),
    Command("help", N_("what I can do, and how to reach your clinic")),
)


def menu(i18n: I18n, lang: str) -> list[BotCommand]:
    return [BotCommand(c.name, i18n.t(lang, c.description)) for c in COMMANDS]


def help_lines(i18n: I18n, lang: str) -> list[str]:
    return [f"/{c.name} — {i18n.t(lang, c.description)}" for c in COMMANDS]
