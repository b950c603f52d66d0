"""End-to-end: the real bot (python-telegram-bot over HTTP) against the loopback stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot import app
from bot.clock import ScaledClock
from bot.config import Settings, Webhook
from bot.services.context import Context
from telegram_standin import SentMessage, StandIn
from tests.conftest import T0, TOKEN

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
    # set: the bot takes updates by webhook (run --webhook) instead of polling
    webhook: Webhook | None = None
    # the staff chat's notices that a patient linked (one a join), left out of staff_chat()
    link_notices: set[int] = field(default_factory=set)

    async def restart(self) -> None:
        """A new process on the same database: nothing carried over in memory."""
        await self.runtime.stop()
        await self._close()
        self.opened = app.open_context(self.settings, self.clock)
        self.ctx = await self.opened.__aenter__()
        self.runtime = app.Runtime(
            app.build_application(self.settings, TOKEN, self.ctx), self.ctx, self.webhook
        )
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
        staff_before = len(self.standin.sent_to(STAFF_CHAT))
        self.standin.send_text(user_id, f"/start {link.token}")
        consent = (await self.standin.wait_for_messages(user_id, before + 1))[-1]
        data = consent.buttons[0]["callback_data"]
        self.standin.press(user_id, consent.message_id, data)
        await self.standin.wait_for_messages(user_id, before + 2)
        # staff are told that the patient linked (in the staff language)
        notice = (await self.standin.wait_for_messages(STAFF_CHAT, staff_before + 1))[staff_before]
        assert f"P{int(patient_ref):04d}" in (notice.text or ""), notice.text
        self.link_notices.add(notice.message_id)

    async def settle(self, patient_ref: str | None = None, timeout: float = 10.0) -> None:
        """Waits until no message (of the patient) is mid-send: the outcome is written back."""
        from sqlalchemy import select

        from bot.db.models import MessageStatus, ScheduledMessage

        async def busy() -> bool:
            stmt = select(ScheduledMessage.id).where(
                ScheduledMessage.status == MessageStatus.SENDING
            )
            if patient_ref is not None:
                stmt = stmt.where(ScheduledMessage.patient_id == int(patient_ref))
            async with self.ctx.db() as db:
                return (await db.execute(stmt.limit(1))).first() is not None

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await busy():
            if loop.time() > deadline:
                raise TimeoutError("messages still mid-send")
            await asyncio.sleep(0.02)

    async def drive(self, patient_ref: str, step: str, timeout: float = 15.0) -> Any:
        """Walks the clock to the step's due time (and retries) until its outcome is final."""
        from bot.db.models import MessageStatus
        from bot.services import patients

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            view = await patients.show_patient(self.ctx, patient_ref)
            row = next((m for m in view.messages if m.step_key == step), None)
            if row is None:  # a timer has yet to queue it
                await asyncio.sleep(0.05)
                continue
            if row.status not in (MessageStatus.PENDING, MessageStatus.SENDING):
                await self.catch_up(patient_ref, deadline)
                return row
            if row.status == MessageStatus.PENDING:
                await self.advance_to(row.due_at)
            await asyncio.sleep(0.05)
        raise TimeoutError(f"step {step} did not settle")

    async def catch_up(self, patient_ref: str, deadline: float) -> None:
        """Waits (until `deadline`) for the patient's other messages already due to go out:
        they leave a second apart (Telegram's per-chat limit), after the one just driven."""
        from sqlalchemy import select

        from bot.db.models import MessageStatus, Patient, PatientStatus, ScheduledMessage

        stmt = (
            select(ScheduledMessage.id)
            .join(Patient, Patient.id == ScheduledMessage.patient_id)
            .where(
                ScheduledMessage.patient_id == int(patient_ref),
                Patient.status == PatientStatus.ACTIVE,
                ScheduledMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]),
            )
            .limit(1)
        )
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            async with self.ctx.db() as db:
                if (
                    await db.execute(stmt.where(ScheduledMessage.due_at <= self.clock.now()))
                ).first() is None:
                    return
            await asyncio.sleep(0.05)

    async def tap(
        self, user_id: int, message: SentMessage, button: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """Presses a button and waits until the bot has answered the press."""
        self.pause(1.5)
        answers = len(self.standin.callback_answers)
        self.standin.press(
            user_id, message.message_id, message.callback_data(button), chat_id=chat_id
        )
        await self.standin.wait_for(lambda: len(self.standin.callback_answers) > answers)
        await asyncio.sleep(0.05)  # the handler's edits and replies follow its answer
        return self.standin.callback_answers[-1]

    def staff_chat(self) -> list[SentMessage]:
        """The staff chat's messages, less the notices that a patient linked (each join makes
        one): what a test about alerts and notices looks at."""
        return [
            m for m in self.standin.sent_to(STAFF_CHAT) if m.message_id not in self.link_notices
        ]

    def latest(self, chat_id: int) -> SentMessage:
        """The chat's newest message as it is now (edits included)."""
        return self.standin.sent_to(chat_id)[-1]

    def pause(self, seconds: float = 2.0) -> None:
        """A person takes a moment between messages; Telegram's per-chat limit is per second."""
        self.clock.advance(dt.timedelta(seconds=seconds))

    async def reply_to(self, user_id: int, text: str) -> SentMessage:
        self.pause()
        before = len(self.standin.sent_to(user_id))
        self.standin.send_text(user_id, text)
        return (await self.standin.wait_for_messages(user_id, before + 1))[-1]


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, *, real_time_limits: bool, webhook: Webhook | None = None
) -> AsyncIterator[Harness]:
    clock = ScaledClock(1.0, start=T0)
    # Tests that jump the clock have Telegram's limits counted on that clock too; the load
    # test keeps them on real time, as Telegram does.
    limit_clock = None if real_time_limits else (lambda: clock.now().timestamp())
    async with StandIn(token=TOKEN, clock=clock.now, limit_clock=limit_clock) as standin:
        standin.add_user(PATIENT, "Anna", language_code="en")
        standin.add_user(STRANGER, "Sam", language_code="en")
        standin.add_group(STAFF_CHAT, "Clinic staff")
        live = settings.model_copy(update={"bot_api_url": standin.base_url, "send_timeout": 1.0})
        opened = app.open_context(live, clock)
        ctx = await opened.__aenter__()
        runtime = app.Runtime(app.build_application(live, TOKEN, ctx), ctx, webhook)
        await runtime.start()
        h = Harness(standin, ctx, clock, runtime, live, opened, webhook)
        try:
            yield h
        finally:
            await h.runtime.stop()
            await h._close()


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    async with running_bot(settings, real_time_limits=False) as h:
        yield h


@pytest.fixture
async def thousand(settings: Settings) -> AsyncIterator[Harness]:
    async with running_bot(settings, real_time_limits=True) as h:
        yield h
