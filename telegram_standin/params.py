"""Decoding Bot API call parameters from query strings, forms, multipart uploads and JSON bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .models import JSON, bad_request

# python-telegram-bot sends str values verbatim and everything else JSON-encoded, so a text
# like "123" must not be json-decoded into an int; these parameters are always strings.
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "file_id",
        "photo",
        "document",
        "sticker",
        "voice",
        "video",
        "audio",
        "animation",
        "action",
        "language_code",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "data",
        "business_connection_id",
        "message_effect_id",
        "secret_token",
        "ip_address",
    }
)


def decode_value(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_params(request: web.Request) -> JSON:
    """All parameters of a call, decoded; uploaded files become bytes under their part name."""
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise bad_request("can't parse JSON body") from exc
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            raw.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = value.file.read()
                else:
                    raw[key] = value
    return {key: decode_value(key, value) for key, value in raw.items()}


def int_param(params: JSON, name: str, *, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        raise bad_request(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError as exc:
        raise bad_request(f"{name} must be an integer") from exc


def required_int(params: JSON, name: str, empty_description: str) -> int:
    value = int_param(params, name)
    if value is None:
        raise bad_request(empty_description)
    return value


def str_param(params: JSON, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
