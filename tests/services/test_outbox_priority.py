"""Priorities in the outbox: emergency, urgent and unusual alerts first, then staff follow-ups,
then the plan's messages; the staff chat's few messages a minute are spent in that order, and a
talkative patient's words under their alert are gathered (issue 11, item 2)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db import queries
from bot.db.models import (
    Audience,
    MessageKind,
    MessageStatus,
    Patient,
    Priority,
    Report,
    ScheduledMessage,
)
from bot.domain.triage import Level
from bot.services import checkins, escalations, outbox, patient_words
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from bot.services.patient_words import PatientMessage
from tests.conftest import T0
from tests.fakes import FakeSender
from tests.services.helpers import active_patient, with_session

ANNA, BEN = 5401, 5402
STAFF_CHAT = -1001
_ids = itertools.count(1)


async def send_all(clock: FrozenClock, d: Dispatcher) -> None:
    await d.dispatch_due()
    while (nxt := await d.next_due_at()) is not None:
        clock.set(max(nxt, clock.now()))
        await d.dispatch_due()


async def urgent_alert(ctx: Context, user: int, patient: Patient) -> None:
    """An urgent report raised as an alert, as a completed check-in raises it."""
    started = await checkins.start(ctx, user)
    assert started is not None and started.checkin_id is not None
    async with ctx.db.begin() as db:
        report = Report(
            checkin_id=started.checkin_id,
            patient_id=patient.id,
            symptoms={"pain": 4},
            flags=[],
            level=Level.URGENT,
            reasons=[],
            created_at=ctx.now(),
        )
        db.add(report)
        await db.flush()
        await escalations.raise_for(db, ctx, patient, None, report, None, ctx.now())


async def test_an_emergency_goes_to_the_staff_chat_before_a_talkative_patients_words(
    ctx: Context, clock: FrozenClock
) -> None:
    anna = await active_patient(ctx, ANNA, name="Anna Smith")
    ben = await active_patient(ctx, BEN, name="Ben Jones")
    await with_session(ctx, ben, T0 - dt.timedelta(hours=3))
    await urgent_alert(ctx, ANNA, anna)
    sender = FakeSender()
    d = Dispatcher(ctx, sender)
    await send_all(clock, d)
    # Anna, with her alert open, writes 60 long messages in three seconds
    words = [f"{i:02d} " + "it still hurts and I keep worrying about it " * 7 for i in range(60)]
    for text in words:
        await patient_words.pass_on(ctx, ANNA, PatientMessage(ANNA, next(_ids), text))
        clock.advance(dt.timedelta(seconds=0.05))
        await d.dispatch_due()
    async with ctx.db() as db:
        gathered = list(
            (
                await db.execute(
                    select(ScheduledMessage).where(
                        ScheduledMessage.kind == MessageKind.PATIENT_WORDS
                    )
                )
            ).scalars()
        )
    # gathered under her alert, a few staff messages (each as long as Telegram takes)
    assert 2 <= len(gathered) <= 6
    assert {r.escalation_id for r in gathered} != {None}
    # the first of them goes; the staff chat then waits its turn (about 20 a minute)
    clock.set(max(r.due_at for r in gathered))
    await d.dispatch_due()
    before = len(sender.to(STAFF_CHAT))
    assert sum("Anna Smith (P0001) wrote in English" in s.text for s in sender.to(STAFF_CHAT)) == 1
    # Ben can't breathe
    reply = await checkins.report_words(ctx, BEN, "I can't breathe properly", None)
    assert reply is not None
    await send_all(clock, d)
    after = sender.to(STAFF_CHAT)[before:]
    assert after[0].text.startswith("🚨 EMERGENCY") and "Ben Jones" in after[0].text
    relayed = [s for s in sender.to(STAFF_CHAT) if "Anna Smith (P0001) wrote in English" in s.text]
    assert len(relayed) == len(gathered) and all(s in after for s in relayed[1:])
    # every word arrived, in order, set apart
    quoted = [q for s in relayed for q in s.quoted()]
    assert quoted == [w.strip() for w in words]


@pytest.mark.parametrize(
    ("kind", "audience", "level", "expected"),
    [
        (MessageKind.ALERT, Audience.STAFF, Level.EMERGENCY, Priority.EMERGENCY),
        (MessageKind.ALERT_PHOTO, Audience.STAFF, Level.EMERGENCY, Priority.EMERGENCY),
        (MessageKind.ALERT, Audience.STAFF, Level.URGENT, Priority.URGENT),
        (MessageKind.ALERT, Audience.STAFF, Level.UNUSUAL, Priority.UNUSUAL),
        (MessageKind.ESCALATION_REMINDER, Audience.STAFF, Level.EMERGENCY, Priority.FOLLOW_UP),
        (MessageKind.ESCALATION_UNANSWERED, Audience.STAFF, Level.URGENT, Priority.FOLLOW_UP),
        (MessageKind.PATIENT_WORDS, Audience.STAFF, None, Priority.FOLLOW_UP),
        (MessageKind.PATIENT_MESSAGE, Audience.STAFF, None, Priority.FOLLOW_UP),
        (MessageKind.NOTICE, Audience.STAFF, None, Priority.FOLLOW_UP),
        (MessageKind.CLINIC_MESSAGE, Audience.PATIENT, None, Priority.FOLLOW_UP),
        (MessageKind.TIP, Audience.PATIENT, None, Priority.ROUTINE),
        (MessageKind.CHECKIN, Audience.PATIENT, None, Priority.ROUTINE),
    ],
)
def test_each_kind_of_message_has_its_priority(
    kind: MessageKind, audience: Audience, level: Level | None, expected: Priority
) -> None:
    item = outbox.Outgoing(kind, audience, "k", T0, T0, level=level)
    assert outbox.priority(item) == expected
    assert outbox.columns(item, T0)["priority"] == expected


async def test_the_claim_takes_the_most_pressing_due_message_first(
    ctx: Context, clock: FrozenClock
) -> None:
    anna = await active_patient(ctx, ANNA)
    async with ctx.db.begin() as db:
        late = T0 - dt.timedelta(hours=1)
        tip = outbox.queue(
            db,
            outbox.to_patient(
                MessageKind.TIP, anna.id, "tip", "Drink water", late, T0 + dt.timedelta(hours=6)
            ),
            T0,
        )
        notice = outbox.queue(
            db, outbox.to_staff(MessageKind.NOTICE, STAFF_CHAT, "n", "Notice", late), T0
        )
        alert = outbox.queue(
            db,
            outbox.to_staff(MessageKind.ALERT, STAFF_CHAT, "a", "Alert", T0, level=Level.URGENT),
            T0,
        )
    hold = T0 + dt.timedelta(minutes=5)
    async with ctx.db.begin() as db:
        assert list(await queries.claim_due(db, T0, 1, hold)) == [alert.id]
    # the staff chat is held now: the next claim takes what is left for other chats
    async with ctx.db.begin() as db:
        assert list(await queries.claim_due(db, T0, 8, hold)) == [tip.id]
    async with ctx.db() as db:
        row = await db.get(ScheduledMessage, notice.id)
        assert row is not None and row.status == MessageStatus.PENDING
