"""SIGKILL at each point of the send path, then a restart.

`aftercare run` runs as its own process against the stand-in and dies at one exact point of its
second batch: after claiming (nothing sent yet), with requests in flight (arrived, unanswered),
after Telegram answered (the outcome not yet written), and after the outcome was written. A
fresh process then finishes the work. Numbers that must hold at every point: 0 duplicates for
patients; every message ends sent or uncertain (0 left pending or sending, 0 silently lost:
every row marked sent arrived, every arrival belongs to a row marked sent or uncertain); only
the killed batch (at most 8 rows) is uncertain, and exactly as the point says: not arrived when
killed before sending, arrived when killed after the answers, none when killed after the write.
Staff notices in the way are sent again rather than left uncertain.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import signal

import pytest
from sqlalchemy import insert, select

from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.models import Audience, MessageStatus, ScheduledMessage
from telegram_standin import Fault, StandIn
from tests.bulk import add_due_messages
from tests.conftest import TOKEN, make_context
from tests.faults.botprocess import STAFF_CHAT, start_bot

PATIENT_MESSAGES = 40
STAFF_NOTICES = 2
BATCH = 8  # AFTERCARE_SEND_RATE 29 claims 8 rows at a time
FIRST_USER = 50_000


async def add_staff_notices(settings: Settings, clock: ScaledClock) -> None:
    ctx, engine = make_context(settings, clock)
    now = clock.now()
    async with ctx.db.begin() as db:
        await db.execute(
            insert(ScheduledMessage),
            [
                {
                    "audience": Audience.STAFF,
                    "chat_id": STAFF_CHAT,
                    "step_key": f"staff-{i}",
                    "kind": "notice",
                    "due_at": now,
                    "useful_until": now + dt.timedelta(hours=1),
                    "status": MessageStatus.PENDING,
                    "attempts": 0,
                    "created_at": now,
                    "body": f"staff notice {i}",
                }
                for i in range(STAFF_NOTICES)
            ],
        )
    await engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.parametrize("point", ["claimed", "in-flight", "answered", "recorded"])
async def test_sigkill_at_each_point_of_the_send_path(
    settings: Settings, database_url: str, point: str
) -> None:
    clock = ScaledClock()
    ctx, engine = make_context(settings, clock)
    users = await add_due_messages(
        ctx, PATIENT_MESSAGES, PATIENT_MESSAGES, dt.timedelta(hours=1), first_user=FIRST_USER
    )
    await add_staff_notices(settings, clock)
    async with StandIn(token=TOKEN) as standin:
        standin.add_group(STAFF_CHAT)
        for user in users:
            standin.add_user(user, f"P{user}")
        if point == "in-flight":
            # every send is delivered, then its answer held back: killed with requests in flight
            standin.fail_next("sendMessage", Fault.slow(30.0), count=10_000)
            process = await start_bot(standin, database_url, claim_lease="2")
            await standin.wait_for(lambda: len(standin.messages) >= BATCH // 2, 30)
            process.send_signal(signal.SIGKILL)
            standin.clear_faults()
        else:
            process = await start_bot(
                standin, database_url, claim_lease="2", crash_at=f"dispatch.{point}:2"
            )
        assert await asyncio.wait_for(process.wait(), 60) == -signal.SIGKILL
        killed_with = len(standin.messages)
        await asyncio.sleep(2.5)  # the dead process's claims are now past their lease
        process = await start_bot(standin, database_url, claim_lease="2")
        try:
            for _ in range(600):
                async with ctx.db() as db:
                    still = (
                        await db.execute(
                            select(ScheduledMessage.id).where(
                                ScheduledMessage.status.in_(
                                    [MessageStatus.PENDING, MessageStatus.SENDING]
                                )
                            )
                        )
                    ).all()
                if not still:
                    break
                await asyncio.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
        async with ctx.db() as db:
            rows = (await db.execute(select(ScheduledMessage))).scalars().all()
        arrived = collections.Counter(m.text for m in standin.messages)
    await engine.dispose()  # type: ignore[attr-defined]

    patients = [r for r in rows if r.audience == Audience.PATIENT]
    staff = [r for r in rows if r.audience == Audience.STAFF]
    statuses = collections.Counter(r.status for r in patients)
    assert set(statuses) <= {MessageStatus.SENT, MessageStatus.UNCERTAIN}, statuses
    assert all(arrived[r.body or ""] <= 1 for r in patients), "a patient got a message twice"
    sent = [r for r in patients if r.status == MessageStatus.SENT]
    uncertain = [r for r in patients if r.status == MessageStatus.UNCERTAIN]
    assert all(arrived[r.body or ""] == 1 for r in sent), "a message marked sent never arrived"
    known = {r.body for r in rows}
    assert set(arrived) <= known
    assert all(r.status == MessageStatus.SENT and arrived[r.body or ""] >= 1 for r in staff)
    reached = [r for r in uncertain if arrived[r.body or ""]]
    if point == "recorded":
        assert not uncertain
    elif point == "claimed":
        # killed before its second batch left: those rows never arrived, and are not resent
        assert 1 <= len(uncertain) <= BATCH and not reached
    elif point == "answered":
        # Telegram answered them all, the outcome was lost: they arrived, once
        assert 1 <= len(uncertain) <= BATCH and len(reached) == len(uncertain)
    else:
        # the first batch was in flight: what had arrived is uncertain, and arrived once
        assert 1 <= len(uncertain) <= BATCH
        assert killed_with >= 1 and len(reached) >= 1
    assert len(sent) + len(uncertain) == PATIENT_MESSAGES
