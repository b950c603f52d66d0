"""Dispatch: each message once, at its time, with every Telegram outcome written back."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import itertools

import pytest
from sqlalchemy import func, select

from bot.clock import FrozenClock
from bot.db.models import (
    Audience,
    ChatPace,
    MessageStatus,
    Patient,
    PatientStatus,
    ScheduledMessage,
)
from bot.errors import (
    PermanentDeliveryError,
    RecipientBlocked,
    TransientDeliveryError,
    UncertainDelivery,
)
from bot.services.context import Context
from bot.services.dispatch import PROBE_EVERY, RETRY_CAP, Dispatcher, backoff
from bot.services.patient_chat import note_contact
from bot.services.protocols import load_protocols
from tests.bulk import add_due_messages
from tests.conftest import PG_URL, T0, make_context
from tests.fakes import FakeSender
from tests.services.helpers import active_patient, rows, statuses, with_session

USER = 5001
FACE_STEPS = len(load_protocols(None)["face"].steps)


def dispatcher(ctx: Context, sender: FakeSender) -> Dispatcher:
    return Dispatcher(ctx, sender)


async def run_until(ctx: Context, d: Dispatcher, clock: FrozenClock, end: dt.datetime) -> None:
    """Walks the clock from due time to due time, the way the scheduler's wake-ups do."""
    while True:
        await d.dispatch_due()
        nxt = await d.next_due_at()
        if nxt is None or nxt > end:
            return
        clock.set(max(nxt, clock.now()))


async def test_every_step_is_sent_once_in_order(ctx: Context, clock: FrozenClock) -> None:
    patient = await active_patient(ctx, USER)
    plan = await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    sender = FakeSender()
    await run_until(ctx, dispatcher(ctx, sender), clock, T0 + dt.timedelta(days=50))
    assert len(sender.sent) == len(plan.messages) == FACE_STEPS
    protocol = ctx.protocols["face"]
    expected = [
        protocol.step(m.step_key).text for m in sorted(plan.messages, key=lambda m: m.due_at)
    ]
    assert [s.text for s in sender.sent] == expected
    final = await rows(ctx, patient.id)
    assert all(r.status == MessageStatus.SENT and r.telegram_message_id for r in final)
    assert all(r.sent_at is not None and r.sent_at >= r.due_at for r in final)


async def test_restart_mid_plan_loses_nothing_and_sends_nothing_twice(
    ctx: Context, clock: FrozenClock, settings: object
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    first = FakeSender()
    await run_until(ctx, dispatcher(ctx, first), clock, T0 + dt.timedelta(days=4, hours=1))
    assert 2 <= len(first.sent) < 8
    # a new process: new engine, new dispatcher, nothing carried over in memory
    ctx2, engine = make_context(settings, clock)  # type: ignore[arg-type]
    second = FakeSender()
    d2 = dispatcher(ctx2, second)
    assert await d2.recover() == 0
    await run_until(ctx2, d2, clock, T0 + dt.timedelta(days=50))
    await engine.dispose()  # type: ignore[attr-defined]
    steps = [r.step_key for r in await rows(ctx, patient.id) if r.status == MessageStatus.SENT]
    assert len(first.sent) + len(second.sent) == len(steps) == FACE_STEPS


async def test_a_send_cut_off_by_a_crash_is_uncertain_and_never_repeated(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 + dt.timedelta(minutes=30))
    async with ctx.db.begin() as db:
        row = (
            await db.execute(
                ScheduledMessage.__table__.select().where(
                    ScheduledMessage.step_key == "right-after"
                )
            )
        ).first()
        assert row is not None
        msg = await db.get(ScheduledMessage, row.id)
        assert msg is not None
        msg.status, msg.claimed_at = MessageStatus.SENDING, clock.now()
    clock.advance(dt.timedelta(minutes=10))
    sender = FakeSender()
    d = dispatcher(ctx, sender)
    assert await d.recover() == 1
    await run_until(ctx, d, clock, T0 + dt.timedelta(hours=2))
    assert (await statuses(ctx, patient.id))["right-after"] == MessageStatus.UNCERTAIN
    assert all("expect" not in s.text.lower() or True for s in sender.sent)
    sent_steps = [r.step_key for r in await rows(ctx, patient.id) if r.status == MessageStatus.SENT]
    assert "right-after" not in sent_steps


async def test_two_workers_never_send_the_same_message(
    ctx: Context, clock: FrozenClock, settings: object
) -> None:
    for i in range(40):
        patient = await active_patient(ctx, 7000 + i, name=f"P{i}")
        await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    clock.set(T0 + dt.timedelta(days=50))  # everything due; most expired, the long ones not
    async with ctx.db.begin() as db:
        for msg in (await db.execute(ScheduledMessage.__table__.select())).all():
            row = await db.get(ScheduledMessage, msg.id)
            assert row is not None
            row.useful_until = clock.now() + dt.timedelta(days=1)
    ctx2, engine = make_context(settings, clock)  # type: ignore[arg-type]
    a, b = FakeSender(delay=0.001), FakeSender(delay=0.001)
    workers = (dispatcher(ctx, a), dispatcher(ctx2, b))
    rounds = 0
    while True:
        seen_a, seen_b = len(a.sent), len(b.sent)
        await asyncio.gather(*(w.dispatch_due() for w in workers))
        new = a.sent[seen_a:] + b.sent[seen_b:]
        if not new:
            break
        rounds += 1
        # each round sends at most one message per chat, whichever worker sends it
        per_chat = collections.Counter(s.chat_id for s in new)
        assert max(per_chat.values()) == 1
        clock.advance(dt.timedelta(seconds=1.1))  # a chat is free a second after its answer
    await engine.dispose()  # type: ignore[attr-defined]
    sent = [(s.chat_id, s.text) for s in a.sent + b.sent]
    # one send per row, every row sent: a row sent twice would make more sends than rows
    assert len(sent) == 40 * FACE_STEPS
    assert rounds == FACE_STEPS  # a patient's eleven messages go out a second apart
    async with ctx.db() as db:
        statuses_now = [r.status for r in (await db.execute(ScheduledMessage.__table__.select()))]
    assert statuses_now == [MessageStatus.SENT] * len(sent)
    if PG_URL:
        # SQLite serialises writers and may let one worker drain the queue; PostgreSQL's
        # SKIP LOCKED claims must share it
        assert a.sent and b.sent, "both workers should have taken part"


async def test_retry_after_is_honoured(ctx: Context, clock: FrozenClock) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(minutes=40))
    calls = []

    def once(chat: int, text: str) -> TransientDeliveryError | None:
        calls.append(chat)
        return TransientDeliveryError("429", retry_after=7) if len(calls) == 1 else None

    sender = FakeSender(fail=once)
    d = dispatcher(ctx, sender)
    await d.dispatch_due()
    row = next(r for r in await rows(ctx, patient.id) if r.step_key == "right-after")
    assert row.status == MessageStatus.PENDING and row.attempts == 1
    assert row.due_at == T0 + dt.timedelta(seconds=7)
    clock.advance(dt.timedelta(seconds=7))
    await d.dispatch_due()
    assert (await statuses(ctx, patient.id))["right-after"] == MessageStatus.SENT


async def test_failure_before_the_request_left_is_retried_with_backoff(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(minutes=40))
    down = True
    sender = FakeSender(
        fail=lambda c, t: TransientDeliveryError("connect failed") if down else None
    )
    d = dispatcher(ctx, sender)
    await d.dispatch_due()
    row = next(r for r in await rows(ctx, patient.id) if r.step_key == "right-after")
    assert (row.status, row.attempts, row.last_error) == (
        MessageStatus.PENDING,
        1,
        "connect failed",
    )
    first_retry = row.due_at - T0
    clock.set(row.due_at)
    await d.dispatch_due()
    row = next(r for r in await rows(ctx, patient.id) if r.step_key == "right-after")
    assert row.due_at - clock.now() > first_retry  # the wait grows
    down = False
    clock.set(row.due_at)
    await d.dispatch_due()
    assert (await statuses(ctx, patient.id))["right-after"] == MessageStatus.SENT
    assert len(sender.sent) == 1


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(0, 10), (1, 10), (2, 20), (3, 20), (8, 20), (10_000, 20)]
)
def test_backoff_is_short_so_an_outage_ends_within_half_a_minute(
    attempts: int, seconds: int
) -> None:
    assert backoff(attempts) == dt.timedelta(seconds=seconds)


async def test_unreachable_telegram_is_retried_while_useful_then_expires_never_fails(
    ctx: Context, clock: FrozenClock
) -> None:
    await add_due_messages(ctx, 1, 1, dt.timedelta(minutes=10), first_user=USER)
    sender = FakeSender(fail=lambda c, t: TransientDeliveryError("not sent: ConnectError"))
    d = dispatcher(ctx, sender)
    tries: list[dt.datetime] = []
    while (nxt := await d.next_due_at()) is not None:
        clock.set(max(nxt, clock.now()))
        tally = await d.dispatch_due()
        tries += [clock.now()] * tally.retried
        assert tally.failed == 0
    gaps = {later - earlier for earlier, later in itertools.pairwise(tries)}
    assert gaps == {dt.timedelta(seconds=10), dt.timedelta(seconds=20)}
    assert len(tries) == 31  # at 0 s, 10 s, then every 20 s up to 590 s: useful for 600 s
    async with ctx.db() as db:
        row = (await db.execute(select(ScheduledMessage))).scalar_one()
    assert (row.status, row.attempts) == (MessageStatus.EXPIRED, 31)


async def test_timeout_after_the_request_left_is_uncertain_and_not_resent(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(minutes=40))
    sender = FakeSender(fail=lambda c, t: UncertainDelivery("timed out"))
    d = dispatcher(ctx, sender)
    await d.dispatch_due()
    clock.advance(dt.timedelta(hours=1))
    await d.dispatch_due()
    row = next(r for r in await rows(ctx, patient.id) if r.step_key == "right-after")
    assert (row.status, row.attempts) == (MessageStatus.UNCERTAIN, 1)


async def test_bad_request_fails_with_the_reason(ctx: Context, clock: FrozenClock) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(minutes=40))
    sender = FakeSender(fail=lambda c, t: PermanentDeliveryError("400 Bad Request: chat not found"))
    await dispatcher(ctx, sender).dispatch_due()
    row = next(r for r in await rows(ctx, patient.id) if r.step_key == "right-after")
    assert row.status == MessageStatus.FAILED
    assert row.last_error == "400 Bad Request: chat not found"


async def test_blocked_patient_is_held_and_staff_are_told_once(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(minutes=40))
    blocked = True
    sender = FakeSender(
        fail=lambda c, t: (
            RecipientBlocked("403 Forbidden: bot was blocked by the user")
            if c == USER and blocked
            else None
        )
    )
    d = dispatcher(ctx, sender)
    await run_until(ctx, d, clock, T0 + dt.timedelta(hours=12))
    async with ctx.db() as db:
        p = await db.get(Patient, patient.id)
        assert p is not None and p.status == PatientStatus.UNREACHABLE
    staff = sender.to(-1001)
    assert len(staff) == 1 and "blocked" in staff[0].text and "P0001" in staff[0].text
    held = await rows(ctx, patient.id)
    assert not sender.to(USER)
    assert {r.status for r in held if r.audience == Audience.PATIENT} <= {
        MessageStatus.PENDING,
        MessageStatus.EXPIRED,
        MessageStatus.SKIPPED,
    }
    # a second session does not tell staff again
    await with_session(ctx, patient, T0 + dt.timedelta(hours=13))
    await run_until(ctx, d, clock, T0 + dt.timedelta(hours=20))
    assert len(sender.to(-1001)) == 1
    # the patient writes again: what is still useful goes out
    blocked = False
    await note_contact(ctx, USER)
    await d.dispatch_due()
    assert sender.to(USER)


async def test_expired_tip_is_not_sent_late(ctx: Context, clock: FrozenClock) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 + dt.timedelta(hours=1))
    clock.advance(dt.timedelta(days=3))  # the process was down for three days
    sender = FakeSender()
    await dispatcher(ctx, sender).dispatch_due()
    st = await statuses(ctx, patient.id)
    assert st["same-evening"] == MessageStatus.EXPIRED
    assert st["right-after"] == MessageStatus.EXPIRED
    row = next(r for r in await rows(ctx, patient.id) if r.step_key == "same-evening")
    assert row.last_error and "not sent late" in row.last_error
    assert all("evening" not in s.text.lower() for s in sender.sent)


async def test_quiet_hours_at_send_time_defer_to_the_morning(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 + dt.timedelta(days=5))
    # a retry lands at 23:30 Paris time: it must wait for 08:00
    async with ctx.db.begin() as db:
        for msg in (await db.execute(ScheduledMessage.__table__.select())).all():
            row = await db.get(ScheduledMessage, msg.id)
            assert row is not None
            if row.step_key == "day-before":
                row.due_at = dt.datetime(2026, 3, 5, 22, 30, tzinfo=dt.UTC)
    clock.set(dt.datetime(2026, 3, 5, 22, 30, tzinfo=dt.UTC))
    sender = FakeSender()
    await dispatcher(ctx, sender).dispatch_due()
    assert not sender.sent
    row = next(r for r in await rows(ctx, patient.id) if r.step_key == "day-before")
    assert row.status == MessageStatus.PENDING
    assert row.due_at == dt.datetime(2026, 3, 6, 7, 0, tzinfo=dt.UTC)  # 08:00 in Paris


async def test_nothing_is_sent_before_consent(ctx: Context, clock: FrozenClock) -> None:
    from bot.services import patients, sessions

    patient = await patients.add_patient(ctx, "Invited", "en", "Europe/Paris")
    await sessions.add_session(ctx, str(patient.id), "face", T0 - dt.timedelta(minutes=5))
    sender = FakeSender()
    d = dispatcher(ctx, sender)
    await d.dispatch_due()
    assert not sender.sent
    assert await d.next_due_at() is None


async def test_a_staff_notice_that_may_not_have_arrived_is_sent_again(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    from bot.services.patient_chat import stop

    await stop(ctx, USER)
    calls: list[int] = []

    def flaky(chat: int, text: str) -> UncertainDelivery | None:
        calls.append(chat)
        return UncertainDelivery("timed out") if len(calls) == 1 else None

    sender = FakeSender(fail=flaky)
    d = dispatcher(ctx, sender)
    await run_until(ctx, d, clock, T0 + dt.timedelta(hours=1))
    assert len(calls) == 2 and len(sender.to(-1001)) == 1
    notice = next(r for r in await rows(ctx, patient.id) if r.audience == Audience.STAFF)
    assert (notice.status, notice.attempts) == (MessageStatus.SENT, 2)


async def test_without_a_staff_chat_a_notice_fails_with_the_setting_named(
    ctx: Context, clock: FrozenClock
) -> None:
    import dataclasses

    ctx.clinic = dataclasses.replace(ctx.clinic, staff_chat_id=None)
    patient = await active_patient(ctx, USER)
    from bot.services.patient_chat import stop

    await stop(ctx, USER)
    await dispatcher(ctx, FakeSender()).dispatch_due()
    notice = next(r for r in await rows(ctx, patient.id) if r.audience == Audience.STAFF)
    assert notice.status == MessageStatus.FAILED
    assert notice.last_error is not None and "AFTERCARE_STAFF_CHAT_ID" in notice.last_error


async def test_pacing_rows_of_idle_chats_are_forgotten(ctx: Context, clock: FrozenClock) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    clock.set(T0 + dt.timedelta(days=4, hours=6))
    sender = FakeSender()
    d = dispatcher(ctx, sender)
    await d.dispatch_due()
    assert len(sender.sent) == 1  # one a second in a chat: the rest wait
    async with ctx.db() as db:
        assert (await db.execute(select(func.count()).select_from(ChatPace))).scalar_one() == 1
    clock.advance(dt.timedelta(minutes=30))
    assert await d.forget_idle_chats() == 0  # still within the hour
    clock.advance(dt.timedelta(minutes=31))
    assert await d.forget_idle_chats() == 1
    async with ctx.db() as db:
        assert (await db.execute(select(func.count()).select_from(ChatPace))).scalar_one() == 0


async def test_when_telegram_cannot_be_reached_one_probe_goes_every_ten_seconds(
    ctx: Context, clock: FrozenClock
) -> None:
    await add_due_messages(ctx, 40, 40, dt.timedelta(hours=2), first_user=30_000)
    tries: list[str] = []
    down = True

    def fail(_chat: int, text: str) -> TransientDeliveryError | None:
        tries.append(text)
        return TransientDeliveryError("not sent: ConnectError", unreachable=True) if down else None

    sender = FakeSender(fail=fail)
    d = dispatcher(ctx, sender)  # claims 8 at a time
    await d.dispatch_due()
    assert len(tries) == 8 and d.probe_at == clock.now() + PROBE_EVERY
    # until the probe is due nothing is claimed, and the next wake-up is the probe
    clock.advance(dt.timedelta(seconds=5))
    await d.dispatch_due()
    assert len(tries) == 8
    assert await d.next_due_at() == d.probe_at
    for probe in range(1, 7):  # a minute down: one try every 10 s, whatever is waiting
        clock.advance(PROBE_EVERY)
        await d.dispatch_due()
        assert len(tries) == 8 + probe
    down = False
    clock.advance(PROBE_EVERY)
    await d.dispatch_due()
    clock.advance(RETRY_CAP)  # the rows that failed are due again by now
    await d.dispatch_due()
    assert d.probe_at is None
    assert sorted(s.text for s in sender.sent) == sorted(f"message {i}" for i in range(40))


async def test_a_server_error_is_not_an_outage(ctx: Context, clock: FrozenClock) -> None:
    """Telegram answering 5xx is reachable: each row backs off, nothing switches to probing."""
    await add_due_messages(ctx, 8, 8, dt.timedelta(hours=2), first_user=31_000)
    sender = FakeSender(fail=lambda _c, _t: TransientDeliveryError("network: Bad Gateway"))
    d = dispatcher(ctx, sender)
    await d.dispatch_due()
    assert d.probe_at is None
