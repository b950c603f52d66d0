"""The staff side: alert buttons (acknowledge, resolve, outcome) and replies in the staff chat."""

from __future__ import annotations

import contextlib

from telegram import Message, Update
from telegram.error import BadRequest

from bot.appstate import AppContext
from bot.handlers.common import deps, keyboard, stray_button
from bot.services import buttons, escalations
from bot.services.escalations import StaffAction


async def press(update: Update, context: AppContext) -> None:
    """Acknowledge, Resolve and the outcome buttons; only registered staff change anything."""
    ctx = deps(context)
    query = update.callback_query
    assert query is not None
    button = buttons.Button.unpack(query.data, ctx.signer)
    who = query.from_user.id
    action: StaffAction
    match button:
        case buttons.Acknowledge(escalation_id=ref):
            action = await escalations.acknowledge(ctx, who, ref)
        case buttons.Resolve(escalation_id=ref):
            action = await escalations.ask_outcome(ctx, who, ref)
        case buttons.ResolveAs(escalation_id=ref, outcome=outcome):
            action = await escalations.resolve(ctx, who, ref, outcome)
        case _:
            await stray_button(update, context)
            return
    if action.refusal is not None:
        await query.answer(action.text, show_alert=True)
        return
    await query.answer(action.text[:190])
    message = query.message
    if not isinstance(message, Message):
        return  # too old for Telegram to show us: the answer above is all we can give
    if isinstance(button, buttons.Acknowledge):
        # the alert keeps only the buttons that still make sense
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(reply_markup=keyboard(action.buttons))
        await message.reply_text(action.text)
    elif isinstance(button, buttons.Resolve):
        await message.reply_text(action.text, reply_markup=keyboard(action.buttons))
    else:
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(action.text)
        if action.escalation_id is not None:
            # a reply to this message (of this chat: a private one, perhaps) is the note
            await escalations.attach_note_prompt(
                ctx, action.escalation_id, message.chat_id, message.message_id
            )


async def chat_reply(update: Update, context: AppContext) -> None:
    """A reply in the staff chat to one of our alerts: to the patient, or the resolution note."""
    ctx = deps(context)
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or chat.id != ctx.clinic.staff_chat_id:
        return
    replied = message.reply_to_message
    if replied is None or not message.text or update.effective_user is None:
        return
    action = await escalations.staff_reply(
        ctx,
        update.effective_user.id,
        replied.message_id,
        message.text,
        chat_id=chat.id,
        message_id=message.message_id,
    )
    # a message to the patient is answered once it was delivered, or could not be
    if action is not None and action.text:
        await message.reply_text(action.text)
