"""Check-ins in the patient's chat: the buttons, /checkin, and what patients write."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import BadRequest

from bot.appstate import AppContext
from bot.db.models import Patient
from bot.handlers.common import (
    contact_line,
    deps,
    keyboard,
    not_linked,
    reply,
    stray_button,
    user_id,
)
from bot.services import buttons, checkins, intake, patient_chat, patient_words
from bot.services.checkins import Reply, Screen
from bot.services.context import Context
from bot.services.intake import Flood
from bot.services.patient_words import Media, PatientMessage


async def show(update: Update, ctx: Context, step: Reply) -> None:
    """Edits the pressed question and sends what comes next."""
    query = update.callback_query
    if step.edit is not None and query is not None:
        try:
            await query.edit_message_text(step.edit.text, reply_markup=keyboard(step.edit.buttons))
        except BadRequest:
            # the message already says this (a press handled twice) or is gone; after a
            # restart, that means the first handling got this far and may have sent the rest
            if step.replayed:
                return
    chat = update.effective_chat
    assert chat is not None
    for screen in step.send:
        sent = await chat.send_message(screen.text, reply_markup=keyboard(screen.buttons))
        if step.checkin_id is not None and screen.buttons:
            await checkins.attach_message(ctx, step.checkin_id, sent.message_id)


async def press(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    query = update.callback_query
    assert query is not None
    button = buttons.Button.unpack(query.data, ctx.signer)
    if not isinstance(button, buttons.CheckinButton | buttons.NewCheckin):
        await stray_button(update, context)
        return
    step = await checkins.press(ctx, query.from_user.id, button, update.update_id)
    # Telegram refuses a second answer, and any answer after a while: a press handled again
    # after a restart must still show its outcome
    with contextlib.suppress(BadRequest):
        await query.answer(step.notice)
    await show(update, ctx, step)


async def checkin_command(update: Update, context: AppContext) -> None:
    ctx = deps(context)
    step = await checkins.start(ctx, user_id(update))
    if step is None:
        await not_linked(update, ctx)
        return
    await show(update, ctx, step)


def _words(update: Update) -> PatientMessage | None:
    """What the patient sent: its words (text or caption) and the media it carries."""
    message = update.effective_message
    if message is None:
        return None
    media, emoji = None, None
    if message.photo:
        media = Media.PHOTO
    elif message.sticker:
        media, emoji = Media.STICKER, message.sticker.emoji
    elif message.voice:
        media = Media.VOICE
    elif message.video_note:
        media = Media.VIDEO_NOTE
    elif message.video or message.animation:
        media = Media.VIDEO
    elif message.audio:
        media = Media.AUDIO
    elif message.document:
        media = Media.DOCUMENT
    return PatientMessage(
        message.chat_id,
        message.message_id,
        message.text or message.caption,
        media,
        photo_file_id=message.photo[-1].file_id if message.photo else None,
        emoji=emoji,
    )


async def patient_wrote(update: Update, context: AppContext) -> None:
    """Words, photos, voice notes, videos, files and stickers from a patient: the answer to the
    last question of an open check-in, or for the clinic's staff (services.patient_words)."""
    ctx = deps(context)
    patient = await patient_chat.note_contact(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    message = _words(update)
    if message is None:
        return
    # words that name a danger sign come first: the answer and the alert at once, whatever
    # else is going on (an open check-in, an edit of an earlier message)
    danger = await checkins.report_words(ctx, user_id(update), message.text, message.photo_file_id)
    if danger is not None:
        await show(update, ctx, danger)
        if message.media not in (None, Media.PHOTO):
            # the voice note or video goes to staff too, under the alert just raised
            await patient_words.pass_on(ctx, user_id(update), message)
        return
    # past their rate, a patient's messages still reach staff but are answered once
    flood = await intake.judge_words(ctx, context.bot_data.intake, update.update_id)
    if update.edited_message is not None:
        if flood is Flood.NO:
            await reply(
                update,
                ctx.i18n.t(
                    patient.language,
                    "I can't take changes to earlier messages into account. Please send it as a "
                    "new message.",
                ),
            )
        elif flood is Flood.TELL:
            await reply(update, _flooded(ctx, patient))
        return
    if message.media in (None, Media.PHOTO):
        step = await checkins.write(ctx, user_id(update), message.text, message.photo_file_id)
        if step is not None and step.answered:
            # the advice for the check-in these words completed, flooding or not
            await show(update, ctx, step)
            return
    passed = await patient_words.pass_on(ctx, user_id(update), message)
    if passed is None:
        await not_linked(update, ctx)
        return
    if flood is Flood.TELL:
        await reply(update, _flooded(ctx, patient))
    elif flood is Flood.NO and passed.is_told:
        told = _told(ctx, patient, has_question=passed.question is not None)
        screens = [Screen(told)] + ([passed.question] if passed.question else [])
        await show(update, ctx, Reply(send=screens))


def _flooded(ctx: Context, patient: Patient) -> str:
    """The one answer to a patient writing faster than anyone reads."""
    lang = patient.language
    told = ctx.i18n.t(lang, "I have your messages; the clinic will read them all.")
    return told + "\n\n" + contact_line(ctx, lang)


def _told(ctx: Context, patient: Patient, *, has_question: bool) -> str:
    """The patient's message reached the clinic: when to expect an answer, how to report how the
    skin is (the open question follows instead, when there is one), and whom to call."""
    lang = patient.language
    parts = [
        ctx.i18n.t(lang, "Thank you, I have passed this on to {clinic}.", clinic=ctx.clinic.name),
        patient_words.answer_expected(ctx, patient, ctx.now()),
    ]
    if not has_question:
        parts.append(ctx.i18n.t(lang, "To tell us how your skin is doing, send /checkin."))
    return " ".join(parts) + "\n\n" + contact_line(ctx, lang)


async def media_we_cannot_read(update: Update, context: AppContext) -> None:
    """Locations, contacts, polls and the like: a calm answer and the ways that do work."""
    ctx = deps(context)
    patient = await patient_chat.note_contact(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    text = ctx.i18n.t(
        patient.language,
        "Thank you! I can't pass this kind of message on to the clinic. Please write, or send a "
        "photo, a voice note or a file. To tell us how your skin is doing, send /checkin.",
    )
    await reply(update, text + " " + contact_line(ctx, patient.language))
