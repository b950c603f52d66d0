"""Shapes of Telegram objects the stand-in hands out: entities, reply markups, media, summaries."""

from __future__ import annotations

import base64
import re
from typing import Any

from .models import JSON, bad_request

# A 16x16 baseline JPEG (CPython's imghdr test image), so downloaded photos decode as real images.
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsO"
    "CwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
    "EBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAA"
    "BwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/E"
    "ACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPk"
    "JWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kq"
    "cWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9"
    "XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolvw4KO"
    "p1KM6iCNvngZHwetf//Z"
)
TINY_JPEG_SIZE = (16, 16)

# Not playable audio, only recognisable as Ogg; nothing downstream decodes voice notes.
TINY_OGG = b"OggS\x00\x02" + bytes(22)
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# Not playable either: an MP4 file's first box and an MP3 frame header, by their magic bytes.
TINY_MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(12)
TINY_MP3 = b"\xff\xfb\x90\x00" + bytes(28)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

MEDIA_KEYS = ("photo", "sticker", "voice", "video", "video_note", "audio", "document")
CONTENT_KEYS = ("text", "entities", "caption", "caption_entities", *MEDIA_KEYS)

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[JSON]:
    """The bot_command entity Telegram attaches to a text that starts with a command."""
    if not text.startswith("/"):
        return []
    word = text.split(maxsplit=1)[0]
    if len(word) < 2:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(word)}]


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: object expected")
    text = button.get("text")
    if not isinstance(text, str) or not text:
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
        return
    actions = {
        "url",
        "login_url",
        "web_app",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
    if not actions & button.keys():
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )


def validate_reply_markup(markup: Any) -> JSON | None:
    """Checks a reply_markup the way Telegram would and returns it decoded."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse inline keyboard: an Array of Arrays is expected")
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse reply keyboard: an Array of Arrays is expected")
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text:
                    raise bad_request("can't parse keyboard button: Text must be non-empty")
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


# The entity types of the Bot API (MessageEntity.type).
ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
    }
)


def validate_entities(value: Any, text: str) -> list[JSON]:
    """Checks the entities sent with a text (or caption) and returns them: each a known type
    and a non-empty span inside the text, counted in UTF-16 code units as Telegram counts."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("can't parse entities: an Array is expected")
    size = utf16_len(text)
    for entity in value:
        if not isinstance(entity, dict) or entity.get("type") not in ENTITY_TYPES:
            raise bad_request("can't parse entities: unsupported entity type")
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request("can't parse entities: offset and length must be integers")
        if offset < 0 or length <= 0 or offset + length > size:
            raise bad_request("can't parse entities: entity is outside of the text")
    return list(value)


def inline_markup(markup: JSON | None) -> JSON | None:
    """Telegram echoes only inline keyboards back on the Message object."""
    if markup is not None and "inline_keyboard" in markup:
        return markup
    return None


def button_text(message: JSON, data: str) -> str | None:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    for row in rows:
        for button in row:
            if isinstance(button, dict) and button.get("callback_data") == data:
                return str(button.get("text"))
    return None


def content_kind(message: JSON) -> str:
    for key in MEDIA_KEYS:
        if key in message:
            return key
    return "text"


def summary(message: JSON) -> str:
    """How the message reads in a transcript: its text, or "[photo] caption" for media."""
    kind = content_kind(message)
    if kind == "text":
        return str(message.get("text", ""))
    caption = message.get("caption")
    return f"[{kind}] {caption}" if caption else f"[{kind}]"


def command_is_valid(command: Any) -> bool:
    return isinstance(command, str) and _COMMAND_RE.match(command) is not None
