"""Stored updates to the handlers: one at a time per process, each claimed by one process only."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable

from telegram import Update

from bot.appstate import App
from bot.services import inbox

log = logging.getLogger(__name__)

# real seconds between looks at the inbox when nothing wakes the worker: updates another
# process stored but did not get to, or left claimed when it died, are found this way
SWEEP_SECONDS = 15.0
# real seconds a stopping process gives the update in hand before cutting it short
STOP_GRACE = 5.0


async def handle_stored(
    application: App,
    lease: dt.timedelta,
    keep_going: Callable[[], bool] = lambda: True,
    took: Callable[[int], None] = lambda update_id: None,
) -> int:
    """Handles stored updates, oldest first, until none is left to claim; returns how many.
    `took` hears of each update as it is claimed."""
    ctx = application.bot_data.ctx
    handled = 0
    row = await inbox.claim_next(ctx, lease) if keep_going() else None
    while row is not None:
        took(row.update_id)
        ok = True
        try:
            assert row.payload is not None
            update = Update.de_json(row.payload, application.bot)
            await application.process_update(update)
        except Exception:
            ok = False
            log.exception("update %s could not be handled", row.update_id)
        handled += 1
        # marking it done and taking the next is one transaction
        row = await inbox.finish(ctx, row.update_id, ok, lease if keep_going() else None)
    return handled


class UpdateWorker:
    """This process's one consumer of the inbox. Woken when an update was stored here, and every
    SWEEP_SECONDS for the rest; its first pass, at start-up, takes what a crash left behind."""

    def __init__(
        self, application: App, lease: dt.timedelta, sweep_seconds: float = SWEEP_SECONDS
    ) -> None:
        self.application = application
        self.lease = lease
        self.sweep_seconds = sweep_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # how far the worker has got: the newest update it took, and whether it found the
        # inbox empty since it was last kicked
        self._taken = 0
        self._idle = False
        self._progress = asyncio.Event()

    def start(self) -> None:
        self._stopping = False
        self._wake.set()
        self._task = asyncio.create_task(self._run(), name="updates")

    def kick(self) -> None:
        """New updates are stored: handle them now rather than at the next sweep."""
        self._idle = False
        self._wake.set()

    async def caught_up(self, update_id: int, timeout: float) -> None:
        """Returns once the worker has taken `update_id` (it is handling the last update stored
        here) or found nothing left, or after `timeout` seconds. The poller waits for this
        before fetching more: while the worker is behind, new updates wait at Telegram and the
        next getUpdates brings them as one batch, stored with one statement, instead of many
        small batches whose fetching and storing would take the worker's CPU."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self._idle or self._taken >= update_id or self._stopping):
            self._progress.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), remaining)

    def _took(self, update_id: int) -> None:
        self._taken = max(self._taken, update_id)
        self._progress.set()

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Lets the update in hand finish (up to `grace` seconds), then stops; an update cut
        short stays claimed and is taken again once its claim is older than the lease."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), grace)
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await handle_stored(
                    self.application, self.lease, lambda: not self._stopping, self._took
                )
            except Exception as err:  # the database is away: the next wake or sweep retries
                log.warning("stored updates could not be claimed (%s)", type(err).__name__)
            if not self._wake.is_set():
                self._idle = True
                self._progress.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_seconds)
