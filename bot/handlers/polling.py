"""Long polling into the inbox: updates are stored before the next getUpdates confirms them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter, TelegramError

from bot.appstate import App
from bot.services import health, inbox

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10
POLLER_LEASE = "poller"
# real seconds; renewed before a getUpdates (which holds at most POLL_TIMEOUT seconds) once it
# is RENEW_AFTER seconds old: a loop (a getUpdates, storing, waiting up to CATCH_UP_WAIT for the
# update worker) fits in what is left, even with a slow network
LEASE_SECONDS = 30.0  # seconds Telegram holds getUpdates open when there is nothing to say
RENEW_AFTER = 5.0
CATCH_UP_WAIT = 2.0


async def poll_forever(
    application: App,
    stored: Callable[[], None],
    timeout: int = POLL_TIMEOUT,
    caught_up: Callable[[int, float], Awaitable[None]] | None = None,
) -> None:
    """Runs until cancelled; calls `stored` after new updates are stored (the handling is the
    update worker's, bot.handlers.inbound). A crash between storing and handling loses nothing:
    Telegram is only told after they were stored, and stored updates are handled at start-up.
    With several processes on one database, only the holder of the poller lease polls (Telegram
    allows one getUpdates at a time); another takes over when its lease runs out."""
    ctx = application.bot_data.ctx
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    failures = 0
    # while this process holds the lease, the offset is known here and the lease is renewed
    # only once it is RENEW_AFTER seconds old: a busy poll loop costs no database round trips
    # beyond storing what arrived
    offset: int | None = None
    renewed_at: float | None = None
    try:
        while True:
            if caught_up is not None and offset is not None:
                # fetch more once the worker has reached the last update stored here
                await caught_up(offset - 1, CATCH_UP_WAIT)
            if renewed_at is None or time.monotonic() - renewed_at >= RENEW_AFTER:
                if not await health.take_lease(ctx, POLLER_LEASE, holder, LEASE_SECONDS):
                    renewed_at = None
                    await asyncio.sleep(LEASE_SECONDS / 3)
                    continue
                if renewed_at is None:  # (re)gained: another poller may have stored more
                    last = await inbox.last_update_id(ctx)
                    offset = last + 1 if last is not None else None
                renewed_at = time.monotonic()
            try:
                updates = await application.bot.get_updates(
                    offset=offset,
                    timeout=timeout,
                    read_timeout=timeout + 10,
                    allowed_updates=Update.ALL_TYPES,
                )
                failures = 0
            except RetryAfter as err:
                await asyncio.sleep(_seconds(err.retry_after))
                continue
            except Conflict:
                # Telegram refuses getUpdates while a webhook is set: a process started with
                # --webhook set it again after this one removed it at start-up
                failures += 1
                log.warning("getUpdates refused: a webhook is set (run --webhook elsewhere?)")
                await asyncio.sleep(min(2.0**failures, 30.0))
                continue
            except (NetworkError, TelegramError) as err:
                failures += 1
                log.warning("getUpdates failed (%s); retrying", type(err).__name__)
                await asyncio.sleep(min(2.0**failures, 30.0))
                continue
            if updates:
                await inbox.store(ctx, [u.to_dict() for u in updates])
                offset = max(u.update_id for u in updates) + 1
                stored()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(health.release_lease(ctx, POLLER_LEASE, holder))


def _seconds(value: object) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value) if isinstance(value, int | float) else 5.0
