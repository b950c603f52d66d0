"""Stored updates to the handlers: chats side by side, each chat's updates one at a time and in
order, each update claimed by one process only (services.inbox decides what may be taken)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from telegram import Update

from bot.appstate import App
from bot.services import inbox, intake

log = logging.getLogger(__name__)

# real seconds between looks at the inbox when nothing wakes the worker: updates another
# process stored but did not get to, or left claimed when it died, are found this way
SWEEP_SECONDS = 15.0
# real seconds a stopping process gives the updates in hand before cutting them short
STOP_GRACE = 5.0
# updates handled at once by default: chats waiting on Telegram's one-message-a-second per chat
# (or on the database) leave the others free to go on
CONCURRENCY = 8


class UpdateWorker:
    """This process's consumer of the inbox. Up to `concurrency` updates are in hand at once,
    each of a different chat (the inbox never hands out two of one chat at a time); at most a
    quarter of them (at least one) from strangers, so people who are not linked never take
    the places of patients and staff. Woken when an update was stored here, and every
    SWEEP_SECONDS for the rest; its first pass, at start-up, takes what a crash left behind.

    Each update in hand is a runner: when its update is done, marking it done and claiming
    the next (any chat's) are one transaction, and the runner goes on with that one."""

    def __init__(
        self,
        application: App,
        lease: dt.timedelta,
        sweep_seconds: float = SWEEP_SECONDS,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.application = application
        self.lease = lease
        self.sweep_seconds = sweep_seconds
        self.concurrency = max(1, concurrency)
        self.strangers_at_once = max(1, self.concurrency // 4)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._runners: set[asyncio.Task[None]] = set()
        self._holding: dict[asyncio.Task[Any], int] = {}  # each runner's update in hand
        self._strangers = 0  # strangers' updates in hand
        self._waiting_for_room = False  # every runner busy: one finishing wakes the worker
        # how far the worker has got: the newest update it took, and whether it found nothing
        # it could take since it was last kicked (by the worker itself, or by a runner done
        # with its update)
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

    @property
    def in_hand(self) -> int:
        return len(self._runners)

    async def caught_up(self, update_id: int, timeout: float) -> None:
        """Returns once the worker has taken `update_id` (it is handling the last update stored
        here) or found nothing more it could take, or after `timeout` seconds. The poller waits
        for this before fetching more: while the worker is behind, new updates wait at Telegram
        and the next getUpdates brings them as one batch, stored with one statement, instead of
        many small batches whose fetching and storing would take the worker's CPU."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self._idle or self._taken >= update_id or self._stopping):
            self._progress.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), remaining)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Lets the updates in hand finish (up to `grace` seconds), then stops; an update cut
        short is given back, for any process to take at once (if the database cannot be
        reached, it stays claimed and is taken again once its claim is older than the lease)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        # the worker first (it takes nothing more once stopping), then the runners it started
        await asyncio.wait([task], timeout=grace)
        every = [task, *self._runners]
        await asyncio.wait(every, timeout=max(deadline - loop.time(), 0.0))
        for each in every:
            if not each.done():
                each.cancel()
        for each in every:
            with contextlib.suppress(asyncio.CancelledError):
                await each
        cut_short = list(self._holding.values())
        self._holding.clear()
        if cut_short:
            try:
                await inbox.give_back(self.application.bot_data.ctx, cut_short)
            except Exception as err:
                log.warning("updates cut short were not given back (%s)", type(err).__name__)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._fill()
            except Exception as err:  # the database is away: the next wake or sweep retries
                log.warning("stored updates could not be claimed (%s)", type(err).__name__)
            if not self._wake.is_set() and not self._waiting_for_room:
                self._idle = True
                self._progress.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_seconds)

    async def _fill(self) -> None:
        """Claims updates, a runner each, while there is room and something to take."""
        ctx = self.application.bot_data.ctx
        while not self._stopping:
            self._waiting_for_room = len(self._runners) >= self.concurrency
            if self._waiting_for_room:
                return
            row = await inbox.claim_next(ctx, self.lease, strangers=self._room_for_strangers())
            if row is None:
                return
            self._took(row)
            runner = asyncio.create_task(self._runner(row), name=f"update-{row.update_id}")
            self._runners.add(runner)

    def _room_for_strangers(self) -> bool:
        return self._strangers < self.strangers_at_once

    def _took(self, row: inbox.Claimed) -> None:
        self._strangers += row.is_stranger
        self._taken = max(self._taken, row.update_id)
        self._progress.set()

    async def _runner(self, first: inbox.Claimed) -> None:
        ctx = self.application.bot_data.ctx
        task = asyncio.current_task()
        assert task is not None
        row: inbox.Claimed | None = first
        try:
            while row is not None:
                # left here if the runner is cancelled (stopping): stop() gives it back
                self._holding[task] = row.update_id
                ok = await self._handle(row)
                self._strangers -= row.is_stranger
                done, row = row, None
                lease = None if self._stopping else self.lease
                row = await inbox.finish(
                    ctx, done.update_id, ok, lease, strangers=self._room_for_strangers()
                )
                if row is not None:
                    self._took(row)
                elif lease is not None:
                    # nothing more can be taken now (what is left waits behind chats in hand):
                    # the poller may fetch more rather than wait for them
                    self._idle = True
                    self._progress.set()
            del self._holding[task]
        except Exception as err:  # the database is away: the update is taken again later
            del self._holding[task]
            log.warning("a stored update could not be finished (%s)", type(err).__name__)
        finally:
            self._runners.discard(task)
            if self._waiting_for_room:
                self._wake.set()

    async def _handle(self, row: inbox.Claimed) -> bool:
        try:
            assert row.payload is not None
            if row.is_stranger and not await self._answers_stranger(row):
                return True  # stored, and answered a moment ago: not again so soon
            update = Update.de_json(row.payload, self.application.bot)
            await self.application.process_update(update)
        except Exception:
            log.exception("update %s could not be handled", row.update_id)
            return False
        return True

    async def _answers_stranger(self, row: inbox.Claimed) -> bool:
        """Whether a stranger's update is handled: buttons and invite links always, anything
        else they send at most once a while (services.intake)."""
        assert row.payload is not None
        sender = inbox.sender_of(row.payload)
        if sender is None or not _answered_once_a_while(row.payload):
            return True
        state = self.application.bot_data
        return await intake.may_answer_stranger(state.ctx, state.intake, row.update_id, sender)


def _answered_once_a_while(payload: dict[str, Any]) -> bool:
    """A message or an edit, but for an invite link being opened (/start with its token)."""
    message = payload.get("message") or payload.get("edited_message")
    if not isinstance(message, dict):
        return False
    words = str(message.get("text") or "").split()
    return not (len(words) >= 2 and words[0].partition("@")[0] == "/start")
