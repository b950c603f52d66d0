"""End-to-end: the real bot (python-telegram-bot over HTTP) against the loopback stand-in."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot import app
from bot.clock import ScaledClock
from bot.config import Settings
from bot.services.context import Context
from tests.conftest import T0, TOKEN
from tests.standin import SentMessage, StandIn

STAFF_CHAT = -1001
PATIENT = 9001
STRANGER = 9100


@dataclass
class Harness:
    standin: StandIn
    ctx: Context
    clock: ScaledClock
    runtime: app.Runtime
    settings: Settings
    opened: Any = None

    async def restart(self) -> None:
        """A new process on the same database: nothing carried over in memory."""
        await self.runtime.stop()
        await self._close()
        self.opened = app.open_context(self.settings, self.clock)
        self.ctx = await self.opened.__aenter__()
        self.runtime = app.Runtime(app.build_application(self.settings, TOKEN, self.ctx), self.ctx)
        await self.runtime.start()

    async def _close(self) -> None:
        await self.opened.__aexit__(None, None, None)

    async def advance_to(self, when: dt.datetime) -> None:
        """Moves the clock and wakes the dispatcher, as the scheduler would at that time."""
        delta = when - self.clock.now()
        if delta > dt.timedelta(0):
            self.clock.advance(delta)
        self.ctx.wake()

    async def join(self, patient_ref: str, user_id: int = PATIENT) -> None:
        """The patient opens the invite link and agrees."""
        from bot.services import patients

        link = await patients.create_invite(self.ctx, patient_ref)
        before = len(self.standin.sent_to(user_id))
        self.standin.send_text(user_id, f"/start {link.token}")
        consent = (await self.standin.wait_for_messages(user_id, before + 1))[-1]
        data = consent.buttons[0]["callback_data"]
        self.standin.press(user_id, consent.message_id, data)
        await self.standin.wait_for_messages(user_id, before + 2)

    async def settle(self, patient_ref: str, timeout: float = 10.0) -> None:
        """Waits until no message of the patient is mid-send (the outcome is written back)."""
        from bot.db.models import MessageStatus
        from bot.services import patients

        async def busy() -> bool:
            view = await patients.show_patient(self.ctx, patient_ref)
            return any(m.status == MessageStatus.SENDING for m in view.messages)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await busy():
            if loop.time() > deadline:
                raise TimeoutError("messages still mid-send")
            await asyncio.sleep(0.02)

    async def reply_to(self, user_id: int, text: str) -> SentMessage:
        before = len(self.standin.sent_to(user_id))
        self.standin.send_text(user_id, text)
        return (await self.standin.wait_for_messages(user_id, before + 1))[-1]


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    clock = ScaledClock(1.0, start=T0)
    async with StandIn(
        token=TOKEN, clock=clock.now, limit_clock=lambda: clock.now().timestamp()
    ) as standin:
        standin.add_user(PATIENT, "Anna", language_code="en")
        standin.add_user(STRANGER, "Sam", language_code="en")
        standin.add_group(STAFF_CHAT, "Clinic staff")
        live = settings.model_copy(update={"bot_api_url": standin.base_url, "send_timeout": 1.0})
        opened = app.open_context(live, clock)
        ctx = await opened.__aenter__()
        runtime = app.Runtime(app.build_application(live, TOKEN, ctx), ctx)
        await runtime.start()
        h = Harness(standin, ctx, clock, runtime, live, opened)
        try:
            yield h
        finally:
            await h.runtime.stop()
            await h._close()
