"""Escalations as a service: one per patient, raised by worse reports, staff-only actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import (
    Escalation,
    EscalationOutcome,
    EscalationStatus,
    MessageStatus,
    ScheduledMessage,
)
from bot.domain.triage import SYMPTOMS, Level
from bot.errors import TransientDeliveryError
from bot.services import buttons as b
from bot.services import checkins, escalations, staff
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from tests.conftest import T0
from tests.fakes import FakeSender
from tests.services.helpers import active_patient, with_session

USER, NURSE, OUTSIDER = 5101, 5201, 5301
STAFF_CHAT = -1001


# a press on the check-in with this id
Press = Callable[[int], b.CheckinButton]


def symptom(name: str) -> Press:
    return partial(b.ToggleSymptom, symptom=name)


def rate(level: int) -> Press:
    return partial(b.Rate, level=level)


def flag(name: str) -> Press:
    return partial(b.ToggleFlag, flag=name)


async def answer(ctx: Context, *presses: Press) -> checkins.Reply:
    """Answers a new check-in; the reply holds every message the presses sent, in order (a
    danger sign's advice comes at its press, before the end)."""
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    step, sent = started, []
    for press in presses:
        step = await checkins.press(ctx, USER, press(started.checkin_id))
        sent += step.send
    return checkins.Reply(notice=step.notice, edit=step.edit, send=sent)


async def only_escalation(ctx: Context) -> Escalation:
    async with ctx.db() as db:
        return (await db.execute(select(Escalation))).scalar_one()


async def staff_rows(ctx: Context, kind: str) -> list[ScheduledMessage]:
    async with ctx.db() as db:
        stmt = select(ScheduledMessage).where(ScheduledMessage.kind == kind)
        return list((await db.execute(stmt)).scalars())


async def test_a_worse_report_raises_the_open_escalation_instead_of_a_second(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await staff.add_staff(ctx, NURSE, "Joy", "nurse")
    # severe swelling: unusual
    await answer(
        ctx, b.HasSymptoms, b.NoFlags, symptom(SYMPTOMS[1]), b.SymptomsDone, rate(3), b.SkipNote
    )
    first = await only_escalation(ctx)
    assert (first.level, first.status) == (Level.UNUSUAL, EscalationStatus.OPEN)
    await escalations.acknowledge(ctx, NURSE, first.id)
    clock.advance(dt.timedelta(hours=1))
    # now with fever: urgent, the same escalation, open again for someone to take on
    step = await answer(
        ctx,
        b.HasSymptoms,
        flag("fever"),
        b.FlagsDone,
        symptom(SYMPTOMS[1]),
        b.SymptomsDone,
        rate(3),
        b.SkipNote,
    )
    assert "call Clinique Test now" in step.send[0].text
    again = await only_escalation(ctx)
    assert again.id == first.id
    assert (again.level, again.status, again.rounds) == (Level.URGENT, EscalationStatus.OPEN, 0)
    alerts = await staff_rows(ctx, "alert")
    # the danger sign raised it at its press; the rest of the answers updated it (issue 10)
    assert len(alerts) == 3 and "now more serious" in (alerts[1].body or "")
    assert "Update to alert" in (alerts[2].body or "")
    assert "(was severe)" in (alerts[2].body or "")


async def test_an_emergency_tells_the_patient_to_call_the_emergency_number_first(
    ctx: Context,
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=2))
    step = await answer(
        ctx,
        b.HasSymptoms,
        flag("breathing"),
        b.FlagsDone,
        symptom(SYMPTOMS[0]),
        b.SymptomsDone,
        rate(1),
        b.SkipNote,
    )
    assert step.send[0].text.startswith("Please call 112 now")
    assert (await only_escalation(ctx)).level == Level.EMERGENCY


async def test_expected_symptoms_are_reassured_with_matching_advice(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    step = await answer(
        ctx, b.HasSymptoms, b.NoFlags, symptom(SYMPTOMS[0]), b.SymptomsDone, rate(1), b.SkipNote
    )
    text = step.send[0].text
    assert "expected" in text and "Redness" in text and "/checkin" in text
    async with ctx.db() as db:
        assert (await db.execute(select(Escalation))).first() is None


async def test_only_registered_staff_change_an_alert(ctx: Context, clock: FrozenClock) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await staff.add_staff(ctx, NURSE, "Joy", "nurse")
    await answer(
        ctx,
        b.HasSymptoms,
        b.NoFlags,
        symptom("pain"),
        b.SymptomsDone,
        rate(4),
        b.SkipNote,
    )  # very severe pain: urgent
    esc = await only_escalation(ctx)
    for action in (
        escalations.acknowledge(ctx, OUTSIDER, esc.id),
        escalations.ask_outcome(ctx, OUTSIDER, esc.id),
        escalations.resolve(ctx, OUTSIDER, esc.id, EscalationOutcome.NO_ACTION),
    ):
        result = await action
        assert result.refusal == escalations.Refusal.NOT_STAFF
    assert (await only_escalation(ctx)).status == EscalationStatus.OPEN
    done = await escalations.resolve(ctx, NURSE, esc.id, EscalationOutcome.CAME_IN)
    assert done.refusal is None and "asked the patient to come in" in done.text
    again = await escalations.acknowledge(ctx, NURSE, esc.id)
    assert again.refusal == escalations.Refusal.RESOLVED


async def test_acknowledging_stops_the_reminders(ctx: Context, clock: FrozenClock) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await staff.add_staff(ctx, NURSE, "Joy", "nurse")
    await answer(
        ctx,
        b.HasSymptoms,
        b.NoFlags,
        symptom("pain"),
        b.SymptomsDone,
        rate(4),
        b.SkipNote,
    )
    esc = await only_escalation(ctx)
    clock.advance(dt.timedelta(minutes=15))
    assert await escalations.run_timers(ctx) == 1
    chasers = await staff_rows(ctx, "escalation-reminder") + await staff_rows(ctx, "escalation-dm")
    assert len(chasers) == 2 and all(r.status == MessageStatus.PENDING for r in chasers)
    await escalations.acknowledge(ctx, NURSE, esc.id)
    chasers = await staff_rows(ctx, "escalation-reminder") + await staff_rows(ctx, "escalation-dm")
    assert {r.status for r in chasers} == {MessageStatus.CANCELLED}
    clock.advance(dt.timedelta(hours=2))
    assert await escalations.run_timers(ctx) == 0
    assert await escalations.next_timer_at(ctx) is None


async def test_a_reminder_waits_for_an_alert_the_staff_chat_has_not_had(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await staff.add_staff(ctx, NURSE, "Joy", "nurse")
    await answer(
        ctx,
        b.HasSymptoms,
        b.NoFlags,
        symptom("pain"),
        b.SymptomsDone,
        rate(4),
        b.SkipNote,
    )  # urgent
    down = True
    sender = FakeSender(
        fail=lambda chat, _text: (
            TransientDeliveryError("network: Bad Gateway") if down and chat == STAFF_CHAT else None
        )
    )
    d = Dispatcher(ctx, sender)
    await d.dispatch_due()
    clock.advance(dt.timedelta(minutes=15))
    assert await escalations.run_timers(ctx) == 1
    await d.dispatch_due()
    # the nurse's own chat works: the round reached her on time
    assert [s.text.split(":")[0] for s in sender.to(NURSE)] == ["⏰ Reminder 1/3"]
    reminder = (await staff_rows(ctx, "escalation-reminder"))[0]
    alert = (await staff_rows(ctx, "alert"))[0]
    assert reminder.status == MessageStatus.PENDING and reminder.due_at >= alert.due_at
    down = False
    while (nxt := await d.next_due_at()) is not None:
        clock.set(max(nxt, clock.now()))
        await d.dispatch_due()
    first, second = sender.to(STAFF_CHAT)
    assert "alert #" in first.text and second.text.startswith("⏰ Reminder 1/3")
    assert second.reply_to == first.message_id


async def test_an_alert_says_which_session_of_the_course_it_is_about(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(days=8))
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await answer(ctx, b.HasSymptoms, flag("fever"))
    [alert] = await staff_rows(ctx, "alert")
    assert "(session 2 of the course)" in (alert.body or "")
