"""Patient side of the chat: invite links, consent, help, schedule, stop, resume, and the rest."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from telegram import BotCommandScopeChat, Update
from telegram.error import BadRequest

from bot.appstate import AppContext
from bot.db.models import MessageKind, Patient, PatientStatus
from bot.handlers import menu
from bot.handlers.common import (
    contact_line,
    deps,
    keyboard,
    language,
    not_linked,
    reply,
    stray_button,
    user_id,
)
from bot.i18n import N_
from bot.services import buttons, courses, enrolment, patient_chat
from bot.services.context import Context
from bot.services.enrolment import ConsentOutcome, OpenOutcome

_OPEN_ANSWERS = {
    OpenOutcome.WRONG: N_(
        "This link doesn't work. Please check that you opened the whole link, "
        "or ask your clinic for a new personal link."
    ),
    OpenOutcome.USED: N_(
        "This link has already been used. If you need to connect again, "
        "ask your clinic for a new personal link."
    ),
    OpenOutcome.EXPIRED: N_(
        "This link has expired. Please ask your clinic for a new personal link."
    ),
    OpenOutcome.REVOKED: N_(
        "This link is no longer valid. Please use the newest link your clinic gave you, or ask "
        "your clinic for a new personal link."
    ),
    OpenOutcome.IN_USE: N_(
        "Someone else is using this link right now. If it is your personal link, please ask "
        "your clinic for a new one."
    ),
    OpenOutcome.ALREADY_LINKED: N_("You're already connected. Send /help to see what I can do."),
}
_CONSENT_ANSWERS = {
    ConsentOutcome.NOT_YOURS: N_(
        "This button isn't for you. Please open your own personal link from your clinic."
    ),
    ConsentOutcome.USED: N_(
        "This link has already been used. Ask your clinic for a new personal link."
    ),
    ConsentOutcome.EXPIRED: N_(
        "This link has expired. Please ask your clinic for a new personal link."
    ),
    ConsentOutcome.REVOKED: N_(
        "This link is no longer valid. Please use the newest link your clinic gave you, or ask "
        "your clinic for a new personal link."
    ),
    ConsentOutcome.ALREADY_LINKED: N_("You're already connected. Send /help to see what I can do."),
}
_KIND_LABELS = {
    MessageKind.TIP: N_("Care tip"),
    MessageKind.REMINDER: N_("Reminder"),
    MessageKind.CHECKIN: N_("Check-in"),
}


def _telegram_language(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


async def start(update: Update, context: AppContext) -> None:
    """`/start <token>` from an invite link; plain `/start` for everyone else."""
    ctx = deps(context)
    token = context.args[0] if context.args else ""
    if not token:
        patient = await patient_chat.who(ctx, user_id(update))
        if patient is None:
            await not_linked(update, ctx)
        else:
            await help_command(update, context)
        return
    opened = await enrolment.open_invite(ctx, token, user_id(update), _telegram_language(update))
    lang = opened.language or language(ctx, update)
    if opened.outcome == OpenOutcome.SLOW_DOWN:
        assert opened.retry_at is not None
        when = ctx.i18n.when(lang, opened.retry_at, ctx.clinic.timezone, "HH:mm")
        await reply(
            update,
            ctx.i18n.t(
                lang,
                "Too many links that don't work. Please wait until {time} and try again, or ask "
                "your clinic for a new personal link.",
                time=when,
            ),
        )
        return
    if opened.outcome != OpenOutcome.CONSENT_NEEDED:
        await reply(update, ctx.i18n.t(lang, _OPEN_ANSWERS[opened.outcome]))
        return
    assert opened.invite_id is not None
    text = ctx.i18n.t(
        lang,
        "Hello {name}! I'm the aftercare assistant of {clinic}.\n\n"
        "What I do: after your treatment I send you short care tips and reminders, "
        "at sensible times of day.\n"
        "What I keep: your name, your Telegram account, your treatment dates and the messages "
        "I send you. Your clinic can see them. You can stop me at any time with /stop.\n\n"
        "I don't replace your clinic.",
        name=opened.first_name,
        clinic=ctx.clinic.name,
    )
    text += " " + contact_line(ctx, lang) + "\n\n" + ctx.i18n.t(lang, "Do you agree?")
    agree = buttons.Consent(opened.invite_id).pack(ctx.signer)
    await reply(update, text, reply_markup=keyboard([[(ctx.i18n.t(lang, "I agree"), agree)]]))


async def consent(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    query = update.callback_query
    assert query is not None
    button = buttons.Consent.unpack(query.data, ctx.signer)
    if button is None:
        await stray_button(update, context)
        return
    result = await enrolment.give_consent(
        ctx, button.invite_id, query.from_user.id, _telegram_language(update)
    )
    lang = result.language or language(ctx, update)
    await query.answer()
    if result.outcome != ConsentOutcome.LINKED:
        await reply(update, ctx.i18n.t(lang, _CONSENT_ANSWERS[result.outcome]))
        return
    # already without buttons when the same press is handled twice
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(reply_markup=None)
    await reply(
        update,
        ctx.i18n.t(
            lang,
            "Thank you, you're all set. I'll send each message at the right time. "
            "Send /schedule to see what's coming, or /help for everything I can do.",
        ),
    )


async def help_command(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    patient = await patient_chat.who(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    lines = [ctx.i18n.t(patient.language, "Here is what I can do:")]
    lines += menu.help_lines(ctx.i18n, patient.language)
    lines += ["", contact_line(ctx, patient.language)]
    await reply(update, "\n".join(lines))


async def schedule(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    found = await patient_chat.upcoming(ctx, user_id(update))
    if found is None:
        await not_linked(update, ctx)
        return
    patient, lang = found.patient, found.patient.language
    if patient.status == PatientStatus.STOPPED:
        await reply(
            update, ctx.i18n.t(lang, "Your messages are stopped. Send /resume to get them again.")
        )
        return
    if not found.messages:
        await reply(update, ctx.i18n.t(lang, "Nothing is planned for you right now."))
        return
    lines = [
        ctx.i18n.nt(
            lang,
            "{n} message coming up (your local time):",
            "{n} messages coming up (your local time):",
            len(found.messages),
        )
    ]
    # with several sessions in a course, say which one each message is about
    places = await courses.places(ctx, {r.session_id for r in found.messages if r.session_id})
    for row in found.messages:
        when = ctx.i18n.when(lang, row.due_at, patient.timezone)
        label = ctx.i18n.t(lang, _KIND_LABELS.get(row.kind, N_("Message")))
        place = places.get(row.session_id) if row.session_id else None
        if place is not None and place.is_worth_saying:
            label = ctx.i18n.t(
                lang,
                "{message} (session {number} of the course)",
                message=label,
                number=place.number,
            )
        lines.append(f"• {when} — {label}")
    await reply(update, "\n".join(lines))


async def stop(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    change, patient = await patient_chat.stop(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    lang = patient.language
    if change == patient_chat.Change.ALREADY:
        text = ctx.i18n.t(
            lang, "Your messages are already stopped. Send /resume to get them again."
        )
    else:
        text = ctx.i18n.t(
            lang,
            "Done: I won't send you any more messages, and your clinic has been told. "
            "Send /resume if you change your mind.",
        )
    await reply(update, text)


async def resume(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    change, patient = await patient_chat.resume(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    lang = patient.language
    if change == patient_chat.Change.ALREADY:
        text = ctx.i18n.t(
            lang, "Your messages are already on. Send /schedule to see what's coming."
        )
    else:
        text = ctx.i18n.t(
            lang, "Welcome back! Your aftercare messages are on again. Send /schedule to see them."
        )
    await reply(update, text)


async def unknown_command(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    patient = await patient_chat.who(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    await reply(
        update,
        ctx.i18n.t(patient.language, "I don't know that command. Send /help to see what I can do."),
    )


async def language_command(update: Update, context: AppContext) -> None:
    """`/language`: each shipped language, named in itself."""
    ctx = deps(context)
    patient = await patient_chat.who(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    rows = [
        [(ctx.i18n.name_of(lang), buttons.ChooseLanguage(patient.id, lang).pack(ctx.signer))]
        for lang in ctx.i18n.languages
    ]
    text = ctx.i18n.t(patient.language, "Which language would you like me to write in?")
    await reply(update, text, reply_markup=keyboard(rows))


async def _chosen(
    update: Update,
    context: AppContext,
    change: Awaitable[Patient | None] | None,
    confirm: Callable[[Context, Patient], str],
) -> Patient | None:
    """A press on a /language or /timezone button: `change` is the service call for a button we
    signed (None: we did not), which checks the presser against the button's patient before it
    changes anything; the question is replaced by the confirmation in the patient's (perhaps
    new) language."""
    ctx = deps(context)
    query = update.callback_query
    assert query is not None
    patient = await change if change is not None else None
    if patient is None:
        await stray_button(update, context)
        return None
    await query.answer()
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(confirm(ctx, patient))
    return patient


def _language_set(ctx: Context, patient: Patient) -> str:
    lang = patient.language
    return ctx.i18n.t(
        lang,
        "From now on I will write to you in {language}.",
        language=ctx.i18n.name_of(lang, title=False),
    )


async def language_chosen(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    query = update.callback_query
    assert query is not None
    button = buttons.ChooseLanguage.unpack(query.data, ctx.signer)
    change = (
        patient_chat.set_language(ctx, query.from_user.id, button.language, button.patient_id)
        if button
        else None
    )
    patient = await _chosen(update, context, change, _language_set)
    chat = update.effective_chat
    if patient is not None and chat is not None:
        # the menu of commands follows the patient's language in their own chat
        await context.bot.set_my_commands(
            menu.menu(ctx.i18n, patient.language), scope=BotCommandScopeChat(chat.id)
        )


async def timezone_command(update: Update, context: AppContext) -> None:
    """`/timezone` shows a short list; `/timezone <city>` searches."""
    ctx = deps(context)
    patient = await patient_chat.who(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    lang = patient.language
    query = " ".join(context.args or [])
    if query:
        zones = patient_chat.search_zones(query)
        if not zones:
            await reply(
                update,
                ctx.i18n.t(
                    lang,
                    "I couldn't find a time zone for {city}. Try the nearest large city, or ask "
                    "your clinic.",
                    city=query[:60],
                ),
            )
            return
        text = ctx.i18n.t(lang, "Which one is yours?")
    else:
        zones = list(dict.fromkeys([patient.timezone, *patient_chat.COMMON_ZONES]))
        now = ctx.i18n.when(lang, ctx.now(), patient.timezone, "HH:mm")
        text = ctx.i18n.t(
            lang,
            "Your time zone is {zone} (it is {time} there now). Choose another below, or send "
            "/timezone followed by your city, for example /timezone Montreal.",
            zone=patient.timezone,
            time=now,
        )
    rows = []
    for zone in zones:
        with contextlib.suppress(ValueError):  # a zone name too long for Telegram's 64 bytes
            choice = buttons.ChooseZone(patient.id, zone).pack(ctx.signer)
            rows.append([(zone.replace("_", " "), choice)])
    await reply(update, text, reply_markup=keyboard(rows))


def _timezone_set(ctx: Context, patient: Patient) -> str:
    lang = patient.language
    return ctx.i18n.t(
        lang,
        "Your time zone is now {zone}; it is {time} there. Your upcoming messages follow it.",
        zone=patient.timezone,
        time=ctx.i18n.when(lang, ctx.now(), patient.timezone, "HH:mm"),
    )


async def timezone_chosen(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    query = update.callback_query
    assert query is not None
    button = buttons.ChooseZone.unpack(query.data, ctx.signer)
    change = (
        patient_chat.set_timezone(ctx, query.from_user.id, button.zone, button.patient_id)
        if button
        else None
    )
    await _chosen(update, context, change, _timezone_set)
