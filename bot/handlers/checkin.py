"""Check-ins in the patient's chat: the buttons, /checkin, and what patients write."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import BadRequest

from bot.appstate import AppContext
from bot.handlers.common import (
    contact_line,
    deps,
    keyboard,
    not_linked,
    reply,
    stray_button,
    user_id,
)
from bot.services import buttons, checkins, escalations, patient_chat
from bot.services.checkins import Reply
from bot.services.context import Context


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


def _words(update: Update) -> tuple[str | None, str | None]:
    message = update.effective_message
    if message is None:
        return None, None
    photo = message.photo[-1].file_id if message.photo else None
    return message.text or message.caption, photo


async def patient_wrote(update: Update, context: AppContext) -> None:
    """Text and photos from a patient: the answer to an open check-in, words for the clinic
    while an alert is open, or the start of a new check-in."""
    ctx = deps(context)
    patient = await patient_chat.note_contact(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    text, photo = _words(update)
    if update.edited_message is not None:
        await reply(
            update,
            ctx.i18n.t(
                patient.language,
                "I can't take changes to earlier messages into account. Please send it as a new "
                "message.",
            ),
        )
        return
    step = await checkins.write(ctx, user_id(update), text, photo)
    if step is not None and step.answered:
        await show(update, ctx, step)
        return
    if await escalations.patient_wrote(ctx, user_id(update), text, photo):
        await reply(
            update,
            ctx.i18n.t(
                patient.language,
                "Thank you, I have passed this on to {clinic}.",
                clinic=ctx.clinic.name,
            ),
        )
        return
    if step is not None:
        await show(update, ctx, step)
        return
    started = await checkins.start(ctx, user_id(update), note=text, photo=photo)
    assert started is not None
    intro = ctx.i18n.t(
        patient.language,
        "Thank you for writing. I'll pass your words on with a few quick questions.",
    )
    await reply(update, intro)
    await show(update, ctx, started)


async def media_we_cannot_read(update: Update, context: AppContext) -> None:
    """Stickers, voice, video, files: a calm answer and the ways that do work."""
    ctx = deps(context)
    patient = await patient_chat.note_contact(ctx, user_id(update))
    if patient is None:
        await not_linked(update, ctx)
        return
    text = ctx.i18n.t(
        patient.language,
        "Thank you! I can only read text and photos. To tell us how your skin is doing, send "
        "/checkin.",
    )
    await reply(update, text + " " + contact_line(ctx, patient.language))
