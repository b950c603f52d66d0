"""Long polling through the inbox: updates are stored before the next getUpdates confirms them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.handlers.common import ctx_of
from bot.services import inbox

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]
POLL_TIMEOUT = 10  # seconds Telegram holds getUpdates open when there is nothing to say


async def handle_stored(application: AnyApp) -> int:
    """Handles every stored update not yet handled, oldest first; returns how many."""
    ctx = ctx_of(application.bot_data)
    handled = 0
    while batch := await inbox.pending(ctx):
        for row in batch:
            ok = True
            try:
                assert row.payload is not None
                update = Update.de_json(row.payload, application.bot)
                await application.process_update(update)
            except Exception:
                ok = False
                log.exception("update %s could not be handled", row.update_id)
            await inbox.finish(ctx, row.update_id, ok)
            handled += 1
    return handled


async def poll_forever(application: AnyApp, timeout: int = POLL_TIMEOUT) -> None:
    """Runs until cancelled. A crash between storing and handling loses nothing: the stored
    updates are handled on the next start, and Telegram is only told after they were stored."""
    ctx = ctx_of(application.bot_data)
    last = await inbox.last_update_id(ctx)
    offset = last + 1 if last is not None else None
    await handle_stored(application)
    failures = 0
    while True:
        try:
            updates = await application.bot.get_updates(
                offset=offset,
                timeout=timeout,
                read_timeout=timeout + 10,
                allowed_updates=Update.ALL_TYPES,
            )
            failures = 0
        except RetryAfter as err:
            await asyncio.sleep(float(err.retry_after if isinstance(err.retry_after, int) else 5))
            continue
        except (NetworkError, TelegramError) as err:
            failures += 1
            log.warning("getUpdates failed (%s); retrying", type(err).__name__)
            await asyncio.sleep(min(2.0**failures, 30.0))
            continue
        if not updates:
            continue
        await inbox.store(ctx, [u.to_dict() for u in updates])
        offset = updates[-1].update_id + 1
        await handle_stored(application)
