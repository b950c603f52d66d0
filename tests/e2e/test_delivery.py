"""Delivery over real HTTP: Telegram's limits, its faults, restarts, and 1,000 messages at once."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from bot.db.models import (
    InboundUpdate,
    MessageStatus,
    PatientStatus,
    ScheduledMessage,
    UpdateStatus,
)
from bot.services import inbox, patients, sessions
from telegram_standin import Fault
from tests.bulk import add_due_messages
from tests.e2e.conftest import PATIENT, Harness


async def planned_patient(h: Harness, hours_ago: float = 1.0) -> tuple[str, sessions.SessionPlan]:
    """A consenting patient whose session was `hours_ago`: the right-after tip is due now."""
    p = await patients.add_patient(h.ctx, "Anna Smith", "en", "Europe/Paris")
    plan = await sessions.add_session(
        h.ctx, str(p.id), "face", h.clock.now() - dt.timedelta(hours=hours_ago)
    )
    return str(p.id), plan


async def status_of(h: Harness, ref: str, step: str) -> ScheduledMessage:
    view = await patients.show_patient(h.ctx, ref)
    return next(m for m in view.messages if m.step_key == step)


async def test_retry_after_from_telegram_is_honoured_and_sent_once(harness: Harness) -> None:
    h = harness
    ref, _plan = await planned_patient(h)
    await h.join(ref)
    await h.drive(ref, "right-after")
    h.standin.fail_next("sendMessage", Fault.retry_after(30), chat_id=PATIENT, count=1)
    row = await status_of(h, ref, "same-evening")
    await h.advance_to(row.due_at)
    await h.standin.wait_for(
        lambda: sum(c.get("chat_id") == PATIENT for c in h.standin.calls("sendMessage")) >= 4
    )
    await h.settle(ref)
    row = await status_of(h, ref, "same-evening")
    assert (row.status, row.attempts, row.last_error) == (
        MessageStatus.PENDING,
        1,
        "429 too many requests",
    )
    waited = row.due_at - h.clock.now()
    assert dt.timedelta(seconds=25) < waited <= dt.timedelta(seconds=30)
    row = await h.drive(ref, "same-evening")
    assert (row.status, row.attempts) == (MessageStatus.SENT, 2)
    assert sum("this evening" in m.text for m in h.standin.sent_to(PATIENT)) == 1


async def test_server_errors_are_retried_and_delivered_once(harness: Harness) -> None:
    h = harness
    ref, _plan = await planned_patient(h)
    await h.join(ref)
    await h.settle(ref)
    # the next tip meets two 502s before it gets through
    h.standin.fail_next("sendMessage", Fault.server_error(502), chat_id=PATIENT, count=2)
    row = await h.drive(ref, "same-evening")
    assert (row.status, row.attempts) == (MessageStatus.SENT, 3)
    assert sum("this evening" in m.text for m in h.standin.sent_to(PATIENT)) == 1


async def test_a_slow_answer_after_acceptance_is_uncertain_and_never_resent(
    harness: Harness,
) -> None:
    h = harness
    ref, _plan = await planned_patient(h)
    await h.join(ref)
    await h.settle(ref)
    h.standin.fail_next("sendMessage", Fault.slow(2.5), chat_id=PATIENT)
    row = await h.drive(ref, "same-evening")
    assert row.status == MessageStatus.UNCERTAIN
    assert row.last_error == "timed out after the request left"
    await h.advance_to(row.due_at + dt.timedelta(hours=1))
    await h.settle(ref)
    assert sum("this evening" in m.text for m in h.standin.sent_to(PATIENT)) == 1


async def test_a_dropped_connection_is_uncertain_not_repeated(harness: Harness) -> None:
    h = harness
    ref, _plan = await planned_patient(h)
    await h.join(ref)
    await h.settle(ref)
    h.standin.fail_next("sendMessage", Fault.drop_connection(), chat_id=PATIENT)
    row = await h.drive(ref, "same-evening")
    assert row.status == MessageStatus.UNCERTAIN
    await h.advance_to(row.due_at + dt.timedelta(hours=2))
    await h.settle(ref)
    assert not any("this evening" in m.text for m in h.standin.sent_to(PATIENT))


async def test_a_blocked_patient_is_held_and_staff_are_told_once(harness: Harness) -> None:
    h = harness
    ref, _plan = await planned_patient(h)
    await h.join(ref)
    await h.settle(ref)
    h.standin.block(PATIENT)
    for step in ("same-evening", "sun-morning"):
        row = await status_of(h, ref, step)
        await h.advance_to(row.due_at)
        await h.standin.wait_for(lambda: len(h.staff_chat()) >= 1)
        await h.settle(ref)
    notices = h.staff_chat()
    assert len(notices) == 1 and "blocked the bot" in notices[0].text and "P0001" in notices[0].text
    view = await patients.show_patient(h.ctx, ref)
    assert view.patient.status == PatientStatus.UNREACHABLE
    assert (await status_of(h, ref, "sun-morning")).status == MessageStatus.PENDING
    # the patient unblocks and writes: what is still useful goes out
    h.standin.unblock(PATIENT)
    await h.reply_to(PATIENT, "hi, I'm back")
    await h.standin.wait_for(lambda: any("sun" in m.text for m in h.standin.sent_to(PATIENT)))


async def test_restart_mid_plan_loses_nothing_and_sends_nothing_twice(harness: Harness) -> None:
    h = harness
    ref, plan = await planned_patient(h, hours_ago=-80)  # the session is in three days
    await h.join(ref)
    due = sorted(plan.messages, key=lambda m: m.due_at)
    for message in due[:3]:
        assert (await h.drive(ref, message.step_key)).status == MessageStatus.SENT
    await h.restart()
    for message in due[3:]:
        assert (await h.drive(ref, message.step_key)).status == MessageStatus.SENT
    # unanswered check-ins each bring one reminder: not part of the plan
    texts = [m.text for m in h.standin.sent_to(PATIENT)[2:] if "gentle reminder" not in m.text]
    assert len(texts) == len(due)
    view = await patients.show_patient(h.ctx, ref)
    assert {m.status for m in view.messages} == {MessageStatus.SENT}


async def test_updates_that_arrive_while_the_bot_is_down_are_handled_once(
    harness: Harness,
) -> None:
    h = harness
    ref, _plan = await planned_patient(h)
    await h.join(ref)
    await h.runtime.stop()
    h.standin.send_text(PATIENT, "/schedule")
    h.pause()
    h.standin.send_text(PATIENT, "/help")
    before = len(h.standin.sent_to(PATIENT))
    await h.restart()
    await h.standin.wait_for_messages(PATIENT, before + 2)
    # an update is marked done just after its handler's reply went out
    for _ in range(100):
        async with h.ctx.db() as db:
            rows = (await db.execute(select(InboundUpdate))).scalars().all()
        if {r.status for r in rows} == {UpdateStatus.DONE}:
            break
        await asyncio.sleep(0.02)
    assert {r.status for r in rows} == {UpdateStatus.DONE}
    assert all(r.payload is None for r in rows)  # what patients wrote is not kept


async def test_an_update_stored_but_not_handled_before_a_crash_is_handled_on_start(
    harness: Harness,
) -> None:
    h = harness
    ref, _plan = await planned_patient(h)
    await h.join(ref)
    await h.runtime.stop()
    # the last process stored this update, confirmed it to Telegram, and died
    update = {
        "update_id": 10_000,
        "message": {
            "message_id": 77,
            "date": int(h.clock.now().timestamp()),
            "chat": {"id": PATIENT, "type": "private", "first_name": "Anna"},
            "from": {"id": PATIENT, "is_bot": False, "first_name": "Anna"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    assert await inbox.store(h.ctx, [update]) == 1
    assert await inbox.store(h.ctx, [update]) == 0  # the same update twice is kept once
    before = len(h.standin.sent_to(PATIENT))
    await h.restart()
    await h.standin.wait_for_messages(PATIENT, before + 1)
    assert "Here is what I can do" in h.standin.sent_to(PATIENT)[-1].text


async def test_a_thousand_messages_due_at_once_all_arrive_in_time_once_without_a_429(
    thousand: Harness,
) -> None:
    h = thousand
    now = h.clock.now()
    useful_until = now + dt.timedelta(minutes=3)
    users = await add_due_messages(h.ctx, 1000, 1000, useful_until - now, first_user=20_000)
    for uid in users:
        h.standin.add_user(uid, f"P{uid}")
    h.ctx.wake()
    await h.standin.wait_for(lambda: len(h.standin.messages) >= 1000, timeout=170)
    await h.settle()
    async with h.ctx.db() as db:
        rows = (await db.execute(select(ScheduledMessage))).scalars().all()
    assert len(rows) == 1000
    assert all(r.status == MessageStatus.SENT for r in rows)
    assert all(r.sent_at is not None and r.sent_at <= useful_until for r in rows)
    chats = [m.chat_id for m in h.standin.messages]
    assert len(chats) == 1000 == len(set(chats))  # none twice
    assert h.standin.rate_limited == 0
