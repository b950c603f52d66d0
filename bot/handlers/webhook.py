"""Webhook mode: Telegram posts each update here; it is stored before Telegram hears 200."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.appstate import App
from bot.config import Webhook
from bot.errors import ConfigError
from bot.services import inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a message of at most 4096 characters with its entities, a reply it quotes and
# a few objects around it: far below this. Anything larger is not from Telegram.
MAX_BODY = 1024 * 1024
# Telegram's update ids are positive and fit the inbox's 64-bit column
_MAX_UPDATE_ID = 2**63 - 1


def parse_update(body: bytes) -> dict[str, Any] | None:
    """The update in a request body, or None when the body is not one."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
        return None
    if not isinstance(payload, dict) or len(payload) < 2:
        return None  # an update is its id and one kind of content
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    if not 0 <= update_id <= _MAX_UPDATE_ID:
        return None
    return payload


def make_app(application: App, webhook: Webhook, stored: Callable[[], None]) -> web.Application:
    """The aiohttp application: one route, the webhook URL's path, POST only."""
    ctx = application.bot_data.ctx
    secret = webhook.secret.encode()

    async def receive(request: web.Request) -> web.StreamResponse:
        # constant time: the comparison must not tell an attacker how much of a guess was right
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, secret):
            return web.Response(status=403, text="wrong secret token")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="too large for an update")
        payload = parse_update(body)
        if payload is None:
            return web.Response(status=400, text="not a Telegram update")
        update_id = payload["update_id"]
        try:
            await inbox.store(ctx, [payload])
        except Exception as err:  # the error's text may quote the update: name it only
            log.error(
                "update %s not stored (%s): Telegram will send it again",
                update_id,
                type(err).__name__,
            )
            return web.Response(status=500, text="not stored; send it again")
        # stored and committed: now Telegram may forget it, and the worker may handle it
        stored()
        return web.Response(status=200)

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(webhook.path, receive)
    return app


async def serve(application: App, webhook: Webhook, stored: Callable[[], None]) -> web.AppRunner:
    """Starts listening; the caller cleans the returned runner up when stopping."""
    runner = web.AppRunner(
        make_app(application, webhook, stored), access_log=None, handle_signals=False
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, webhook.host, webhook.port).start()
    except OSError as err:
        await runner.cleanup()
        raise ConfigError(
            f"AFTERCARE_WEBHOOK_LISTEN: cannot listen on {webhook.host}:{webhook.port} "
            f"({err.strerror or type(err).__name__})"
        ) from None
    return runner
