"""The Bot API methods the stand-in speaks, answering from and writing to the World."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
from collections.abc import Awaitable, Callable
from typing import Any

from .models import BLOCKED, JSON, ApiError, SentMessage, bad_request
from .objects import (
    CONTENT_KEYS,
    MAX_CAPTION,
    MAX_TEXT,
    command_is_valid,
    content_kind,
    inline_markup,
    summary,
    validate_entities,
    validate_reply_markup,
)
from .params import int_param, required_int, str_param
from .world import World, scope_key

Handler = Callable[[JSON], Awaitable[Any]]

# Calls that put a message into a chat; Telegram's flood limits count these. sendChatAction
# is left out on purpose: bots send "typing" before replies and it posts nothing.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendSticker",
        "sendVoice",
        "copyMessage",
        "forwardMessage",
    }
)

# Telegram's wording while a webhook is set
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
WEBHOOK_SET_MEANWHILE = "Conflict: terminated by setWebhook request"
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


class BotApi:
    """Method handlers: decoded parameters in, the `result` out, or an ApiError raised."""

    def __init__(self, world: World, closing: asyncio.Event) -> None:
        self._world = world
        self._closing = closing
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": self._true,
            "close": self._true,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_profile("description"),
            "setMyShortDescription": self._set_profile("short_description"),
            "setMyName": self._set_profile("name"),
            "getMyDescription": self._get_profile("description"),
            "getMyShortDescription": self._get_profile("short_description"),
            "getMyName": self._get_profile("name"),
            "sendMessage": self._send_message,
            "sendPhoto": self._send_media("photo"),
            "sendDocument": self._send_media("document"),
            "sendSticker": self._send_media("sticker"),
            "sendVoice": self._send_media("voice"),
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMemberCount": self._get_chat_member_count,
        }
        # Telegram matches method names case-insensitively.
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    def canonical(self, method: str) -> str | None:
        found = self._handlers.get(method.lower())
        return found[0] if found else None

    async def call(self, method: str, params: JSON) -> Any:
        found = self._handlers.get(method.lower())
        if found is None:
            raise ApiError(404, "Not Found")
        return await found[1](params)

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self._world.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON) -> list[JSON]:
        offset = int_param(params, "offset", default=0) or 0
        limit = min(100, max(1, int_param(params, "limit", default=100) or 100))
        try:
            timeout = max(0.0, float(params.get("timeout") or 0))
        except (TypeError, ValueError) as exc:
            raise bad_request("timeout must be a number") from exc
        world = self._world
        if world.webhook_url:
            raise ApiError(409, WEBHOOK_ACTIVE)
        world.confirm_updates(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if world.webhook_url:
                raise ApiError(409, WEBHOOK_SET_MEANWHILE)
            pending = world.pending_updates(limit)
            remaining = deadline - loop.time()
            if pending or remaining <= 0 or self._closing.is_set():
                return pending
            world.updates_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(world.updates_changed.wait(), remaining)

    async def _set_webhook(self, params: JSON) -> bool:
        url = str_param(params, "url") or ""
        # Telegram insists on HTTPS; a loopback stand-in has no certificate, so http is let in
        if url and not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = str_param(params, "secret_token") or None
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not (
            isinstance(allowed, list) and all(isinstance(kind, str) for kind in allowed)
        ):
            raise bad_request("can't parse allowed updates")
        max_connections = int_param(params, "max_connections", default=40) or 40
        if params.get("drop_pending_updates") is True:
            self._world.drop_pending_updates()
        self._world.set_webhook(
            url, secret_token=secret, allowed_updates=allowed, max_connections=max_connections
        )
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates") is True:
            self._world.drop_pending_updates()
        self._world.delete_webhook()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        world = self._world
        info: JSON = {
            "url": world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": world.pending_update_count,
        }
        if world.webhook_url:
            info["max_connections"] = world.webhook_max_connections
            if world.webhook_allowed_updates is not None:
                info["allowed_updates"] = list(world.webhook_allowed_updates)
        if world.webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = world.webhook_last_error
        return info

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not command_is_valid(command.get("command")):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = scope_key(params.get("scope"), params.get("language_code"))
        self._world.commands[key] = copy.deepcopy(commands)
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = scope_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._world.commands.get(key, []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        key = scope_key(params.get("scope"), params.get("language_code"))
        self._world.commands.pop(key, None)
        return True

    def _set_profile(self, field: str) -> Handler:
        async def handler(params: JSON) -> bool:
            language = str_param(params, "language_code") or ""
            self._world.profile[f"{field}:{language}"] = str_param(params, field) or ""
            return True

        return handler

    def _get_profile(self, field: str) -> Handler:
        async def handler(params: JSON) -> JSON:
            language = str_param(params, "language_code") or ""
            return {field: self._world.profile.get(f"{field}:{language}", "")}

        return handler

    def _chat(self, params: JSON, name: str = "chat_id") -> JSON:
        raw = params.get(name)
        if raw is None or raw == "":
            raise bad_request(f"{name} is empty")
        chat: JSON | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            chat = self._world.chats.get(raw)
        elif isinstance(raw, str) and raw.startswith("@"):
            chat = next(
                (c for c in self._world.chats.values() if c.get("username") == raw[1:]), None
            )
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _writable_chat(self, params: JSON) -> JSON:
        chat = self._chat(params)
        if chat["id"] in self._world.blocked:
            raise ApiError(403, BLOCKED)
        return chat

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._chat(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member_count(self, params: JSON) -> int:
        chat = self._chat(params)
        if chat["type"] == "private":
            return 2  # the user and the bot
        # the members added to the group, and the bot, which is in every group it writes to
        return len(self._world.members.get(chat["id"], set())) + 1

    async def _send_chat_action(self, params: JSON) -> bool:
        self._writable_chat(params)
        if not str_param(params, "action"):
            raise bad_request("action is empty")
        return True

    def _reply_target(self, chat_id: int, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        allow = params.get("allow_sending_without_reply") is True
        target_chat = chat_id
        if isinstance(reply, dict):
            message_id = int_param(reply, "message_id")
            allow = allow or reply.get("allow_sending_without_reply") is True
            if isinstance(reply.get("chat_id"), int):
                target_chat = reply["chat_id"]
        else:
            message_id = int_param(params, "reply_to_message_id")
        if message_id is None:
            return None
        target = self._world.store.get((target_chat, message_id))
        if target is None:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        replied = copy.deepcopy(target)
        replied.pop("reply_to_message", None)
        return replied

    def _deliver(
        self,
        chat: JSON,
        method: str,
        content: JSON,
        markup: JSON | None,
        params: JSON,
        *,
        file_id: str | None = None,
    ) -> JSON:
        """Puts a bot message into the chat and records it; returns the Message to answer with."""
        world = self._world
        chat_id: int = chat["id"]
        reply = self._reply_target(chat_id, params)
        if reply is not None:
            content = {**content, "reply_to_message": reply}
        echoed = inline_markup(markup)
        if echoed is not None:
            content = {**content, "reply_markup": copy.deepcopy(echoed)}
        message = world.new_message(chat_id, world.bot_user, content)
        kind = content_kind(message)
        world.record_sent(
            SentMessage(
                message_id=message["message_id"],
                chat_id=chat_id,
                text=message.get("text", message.get("caption")),
                reply_markup=copy.deepcopy(markup),
                method=method,
                at=world.now(),
                parse_mode=str_param(params, "parse_mode"),
                params=params,
                kind=kind,
                file_id=file_id,
                entities=_entities_of(message),
            )
        )
        text = summary(message)
        if "forward_origin" in message:
            text = f"[forwarded] {text}"
        world.log("bot", chat_id, text, kind, message_id=message["message_id"])
        return copy.deepcopy(message)

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._writable_chat(params)
        text = str_param(params, "text") or ""
        _check_text(text)
        markup = validate_reply_markup(params.get("reply_markup"))
        content: JSON = {"text": text}
        entities = validate_entities(params.get("entities"), text)
        if entities:
            content["entities"] = entities
        return self._deliver(chat, "sendMessage", content, markup, params)

    def _send_media(self, kind: str) -> Handler:
        method = "send" + kind.capitalize()

        async def handler(params: JSON) -> JSON:
            chat = self._writable_chat(params)
            caption = str_param(params, "caption")
            if caption is not None and len(caption) > MAX_CAPTION:
                raise bad_request("message caption is too long")
            markup = validate_reply_markup(params.get("reply_markup"))
            entities = validate_entities(params.get("caption_entities"), caption or "")
            media, file_id = self._media_from(kind, params)
            content: JSON = {kind: media}
            if caption:
                content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
            return self._deliver(chat, method, content, markup, params, file_id=file_id)

        return handler

    def _media_from(self, kind: str, params: JSON) -> tuple[Any, str]:
        """The media object for a send: an upload, an attach:// part, a known file_id or a URL."""
        world = self._world
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, bytes):
            return world.create_media(kind, value)
        if isinstance(value, str) and value:
            known = world.known_media(value)
            if known is not None and known[0] == kind:
                return known[1], value
            if value.startswith(("http://", "https://")):
                return world.create_media(kind)
            raise bad_request("wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {kind} in the request")

    def _source(self, params: JSON, missing: str) -> JSON:
        from_chat = self._chat(params, "from_chat_id")
        message_id = required_int(params, "message_id", "message identifier is not specified")
        source = self._world.store.get((from_chat["id"], message_id))
        if source is None:
            raise bad_request(missing)
        return source

    async def _copy_message(self, params: JSON) -> JSON:
        chat = self._writable_chat(params)
        source = self._source(params, "message to copy not found")
        content = {key: copy.deepcopy(source[key]) for key in CONTENT_KEYS if key in source}
        caption = str_param(params, "caption")
        if caption is not None and "text" not in content:
            if len(caption) > MAX_CAPTION:
                raise bad_request("message caption is too long")
            content["caption"] = caption
            content.pop("caption_entities", None)
            entities = validate_entities(params.get("caption_entities"), caption)
            if entities:
                content["caption_entities"] = entities
        markup = validate_reply_markup(params.get("reply_markup"))
        message = self._deliver(chat, "copyMessage", content, markup, params)
        return {"message_id": message["message_id"]}

    async def _forward_message(self, params: JSON) -> JSON:
        chat = self._writable_chat(params)
        source = self._source(params, "message to forward not found")
        content = {key: copy.deepcopy(source[key]) for key in CONTENT_KEYS if key in source}
        content["forward_origin"] = {
            "type": "user",
            "sender_user": copy.deepcopy(source["from"]),
            "date": source["date"],
        }
        return self._deliver(chat, "forwardMessage", content, None, params)

    def _own_message(self, params: JSON, missing: str) -> tuple[JSON, SentMessage | None]:
        if params.get("inline_message_id") is not None:
            raise bad_request("inline messages are not supported by the stand-in")
        chat = self._writable_chat(params)
        message_id = required_int(params, "message_id", "message identifier is not specified")
        message = self._world.store.get((chat["id"], message_id))
        if message is None:
            raise bad_request(missing)
        if message["from"]["id"] != self._world.bot_id:
            raise bad_request("message can't be edited")
        return message, self._world.sent_message(chat["id"], message_id)

    def _apply_edit(
        self, message: JSON, sent: SentMessage | None, markup: JSON | None, kind: str
    ) -> JSON:
        world = self._world
        echoed = inline_markup(markup)
        if echoed is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = copy.deepcopy(echoed)
        message["edit_date"] = world.unix_now()
        if sent is not None:
            sent.edited = True
            sent.reply_markup = copy.deepcopy(markup)
            sent.text = message.get("text", message.get("caption"))
            sent.entities = _entities_of(message)
        text = summary(message) if kind == "edit" else _keyboard_summary(echoed)
        world.log("bot", message["chat"]["id"], text, kind, message_id=message["message_id"])
        return copy.deepcopy(message)

    async def _edit_message_text(self, params: JSON) -> JSON:
        message, sent = self._own_message(params, "message to edit not found")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text = str_param(params, "text") or ""
        _check_text(text)
        markup = validate_reply_markup(params.get("reply_markup"))
        parse_mode = str_param(params, "parse_mode")
        old_parse_mode = sent.parse_mode if sent is not None else None
        if (
            text == message["text"]
            and parse_mode == old_parse_mode
            and inline_markup(markup) == message.get("reply_markup")
        ):
            raise bad_request(NOT_MODIFIED)
        message["text"] = text
        entities = validate_entities(params.get("entities"), text)
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        if sent is not None:
            sent.parse_mode = parse_mode
        return self._apply_edit(message, sent, markup, "edit")

    async def _edit_message_caption(self, params: JSON) -> JSON:
        message, sent = self._own_message(params, "message to edit not found")
        if content_kind(message) == "text":
            raise bad_request("there is no caption in the message to edit")
        caption = str_param(params, "caption") or ""
        if len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        markup = validate_reply_markup(params.get("reply_markup"))
        if caption == message.get("caption", "") and inline_markup(markup) == message.get(
            "reply_markup"
        ):
            raise bad_request(NOT_MODIFIED)
        entities = validate_entities(params.get("caption_entities"), caption)
        if caption:
            message["caption"] = caption
        else:
            message.pop("caption", None)
        if entities:
            message["caption_entities"] = entities
        else:
            message.pop("caption_entities", None)
        if sent is not None:
            sent.parse_mode = str_param(params, "parse_mode")
        return self._apply_edit(message, sent, markup, "edit")

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        message, sent = self._own_message(params, "message to edit not found")
        markup = validate_reply_markup(params.get("reply_markup"))
        if inline_markup(markup) == message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(message, sent, markup, "keyboard")

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._chat(params)
        message_id = required_int(params, "message_id", "message identifier is not specified")
        world = self._world
        if world.store.pop((chat["id"], message_id), None) is None:
            raise bad_request("message to delete not found")
        sent = world.sent_message(chat["id"], message_id)
        if sent is not None:
            sent.deleted = True
        world.log(
            "bot", chat["id"], f"[deleted message {message_id}]", "delete", message_id=message_id
        )
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str_param(params, "callback_query_id") or ""
        answer = {
            "text": str_param(params, "text"),
            "show_alert": params.get("show_alert") is True,
            "url": str_param(params, "url"),
            "at": self._world.now(),
        }
        if not self._world.answer_callback_query(query_id, answer):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True

    async def _get_file(self, params: JSON) -> JSON:
        stored = self._world.file(str_param(params, "file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.to_json()


def _entities_of(message: JSON) -> list[JSON]:
    """A message's entities, or its caption's."""
    entities = message.get("entities", message.get("caption_entities"))
    return copy.deepcopy(entities) if isinstance(entities, list) else []


def _check_text(text: str) -> None:
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request("message is too long")


def _keyboard_summary(markup: JSON | None) -> str:
    if markup is None:
        return "[keyboard removed]"
    labels = [
        str(button.get("text"))
        for row in markup["inline_keyboard"]
        for button in row
        if isinstance(button, dict)
    ]
    return "[keyboard: " + " | ".join(labels) + "]"
