"""While staff are looking at a reported problem, "back to sauna and exercise" says to check
with the clinic first (issue 10, item 10)."""

from __future__ import annotations

import datetime as dt

from bot.clock import FrozenClock
from bot.db.models import EscalationOutcome
from bot.services import buttons, checkins, escalations, staff
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from tests.conftest import T0
from tests.fakes import FakeSender
from tests.services.helpers import active_patient, with_session

USER, NURSE = 5601, 5602
BACK_TO_NORMAL = "you can now go back to your usual routine"
CHECK_FIRST = "please check with them before you go back"


async def report_fever(ctx: Context) -> None:
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    await checkins.press(ctx, USER, buttons.HasSymptoms(started.checkin_id))
    await checkins.press(ctx, USER, buttons.ToggleFlag(started.checkin_id, "fever"))


async def sent_until(ctx: Context, clock: FrozenClock, end: dt.datetime) -> list[str]:
    sender = FakeSender()
    dispatcher = Dispatcher(ctx, sender)
    while True:
        await dispatcher.dispatch_due()
        nxt = await dispatcher.next_due_at()
        if nxt is None or nxt > end:
            return [s.text for s in sender.sent if s.chat_id == USER]
        clock.set(max(nxt, clock.now()))


async def test_with_an_open_alert_the_patient_is_told_to_check_first(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await report_fever(ctx)
    texts = await sent_until(ctx, clock, T0 + dt.timedelta(days=4))
    assert any(CHECK_FIRST in t and "Clinique Test" in t for t in texts)
    assert not any(BACK_TO_NORMAL in t for t in texts)


async def test_once_the_alert_is_resolved_the_usual_message_goes(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await report_fever(ctx)
    await staff.add_staff(ctx, NURSE, "Joy", "nurse")
    [open_alert] = await escalations.list_open(ctx)
    await escalations.resolve(ctx, NURSE, open_alert.escalation.id, EscalationOutcome.CALLED)
    texts = await sent_until(ctx, clock, T0 + dt.timedelta(days=4))
    assert any(BACK_TO_NORMAL in t for t in texts)
    assert not any(CHECK_FIRST in t for t in texts)
