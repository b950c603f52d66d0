"""A worrying report adds one check-in the next evening (the protocol's [closer_watch]),
cancelled when staff resolve the alert as needing no action (issue 10, item 11)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import EscalationOutcome, MessageKind, MessageStatus, ScheduledMessage
from bot.services import buttons, checkins, escalations, staff
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from tests.conftest import T0
from tests.fakes import FakeSender
from tests.services.helpers import active_patient, with_session

USER, NURSE = 5701, 5702
PARIS = ZoneInfo("Europe/Paris")


async def report(ctx: Context, *presses: buttons.CheckinButton) -> None:
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    for make in presses:
        await checkins.press(ctx, USER, type(make)(started.checkin_id, *_extra(make)))


def _extra(button: buttons.CheckinButton) -> list[object]:
    return [v for k, v in vars(button).items() if k != "checkin_id"]


async def closer_watches(ctx: Context) -> list[ScheduledMessage]:
    async with ctx.db() as db:
        stmt = select(ScheduledMessage).where(
            ScheduledMessage.kind == MessageKind.CHECKIN,
            ScheduledMessage.step_key.startswith("closer-watch:"),
        )
        return list((await db.execute(stmt)).scalars())


SEVERE_SWELLING = (
    buttons.HasSymptoms(0),
    buttons.NoFlags(0),
    buttons.ToggleSymptom(0, "swelling"),
    buttons.SymptomsDone(0),
    buttons.Rate(0, 3),
    buttons.SkipNote(0),
)


async def test_an_unusual_report_adds_one_check_in_the_next_evening(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await report(ctx, *SEVERE_SWELLING)  # Monday 10:00 in Paris: unusual
    [row] = await closer_watches(ctx)
    due = row.due_at.astimezone(PARIS)
    # the first evening at least 12 hours after the report: Tuesday 18:00
    assert (due.date(), due.hour) == (dt.date(2026, 3, 3), 18)
    assert row.status == MessageStatus.PENDING
    # a second worrying report moves it instead of adding another
    clock.advance(dt.timedelta(hours=30))
    await report(ctx, *SEVERE_SWELLING)
    [moved] = await closer_watches(ctx)
    assert moved.id == row.id and moved.due_at > row.due_at
    # it is a real check-in, with its own first question
    sender = FakeSender()
    dispatcher = Dispatcher(ctx, sender)
    clock.set(moved.due_at)
    for _ in range(4):  # the day-3 check-in is due that evening too: one a second per chat
        await dispatcher.dispatch_due()
        clock.advance(dt.timedelta(seconds=2))
    asked = [s for s in sender.sent if s.chat_id == USER and s.buttons]
    assert any(s.text.startswith("You told us about a problem") for s in asked)


async def test_no_action_needed_cancels_it(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await staff.add_staff(ctx, NURSE, "Joy", "nurse")
    await report(ctx, *SEVERE_SWELLING)
    [alert] = await escalations.list_open(ctx)
    await escalations.resolve(ctx, NURSE, alert.escalation.id, EscalationOutcome.NO_ACTION)
    [row] = await closer_watches(ctx)
    assert (row.status, row.last_error) == (MessageStatus.CANCELLED, "resolved: no action needed")


async def test_other_outcomes_keep_it(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await staff.add_staff(ctx, NURSE, "Joy", "nurse")
    await report(ctx, *SEVERE_SWELLING)
    [alert] = await escalations.list_open(ctx)
    await escalations.resolve(ctx, NURSE, alert.escalation.id, EscalationOutcome.CALLED)
    [row] = await closer_watches(ctx)
    assert row.status == MessageStatus.PENDING


async def test_an_expected_report_adds_none(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await report(ctx, buttons.AllGood(0))
    assert await closer_watches(ctx) == []
