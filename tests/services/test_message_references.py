"""Every stored Telegram message reference is (chat, message id), and a staff reply is matched
on both: message ids are per chat (issue 11, item 3)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import (
    Escalation,
    EscalationOutcome,
    MessageKind,
    Patient,
    Report,
    ScheduledMessage,
)
from bot.domain.triage import Level
from bot.services import checkins, escalations, staff
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from tests.fakes import FakeSender
from tests.services.helpers import active_patient

ANNA, BEN, JOY = 5501, 5502, 5601
STAFF_CHAT = -1001


async def send_all(clock: FrozenClock, d: Dispatcher) -> None:
    await d.dispatch_due()
    while (nxt := await d.next_due_at()) is not None:
        clock.set(max(nxt, clock.now()))
        await d.dispatch_due()


async def alert(ctx: Context, user: int, patient: Patient) -> int:
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
        raised = await escalations.raise_for(db, ctx, patient, None, report, None, ctx.now())
        return raised.id


async def test_a_reply_to_message_3_of_the_staff_chat_is_not_the_note_asked_in_a_private_chat(
    ctx: Context, clock: FrozenClock
) -> None:
    """A nurse resolves alert #2 from her private chat, where the "how was it resolved" prompt
    is message 3; in the staff chat message 3 is alert #1's reminder. Her reply there goes to
    alert #1's patient; it is not a note on alert #2."""
    await staff.add_staff(ctx, JOY, "Joy", "nurse")
    anna = await active_patient(ctx, ANNA, name="Anna Smith")
    ben = await active_patient(ctx, BEN, name="Ben Jones")
    first, second = await alert(ctx, ANNA, anna), await alert(ctx, BEN, ben)
    sender = FakeSender(ids_per_chat=True)  # as Telegram counts them
    d = Dispatcher(ctx, sender)
    await send_all(clock, d)
    # nobody acknowledged: reminders in the staff chat, and to Joy privately
    clock.advance(dt.timedelta(minutes=31))
    assert await escalations.run_timers(ctx) == 2
    await send_all(clock, d)
    async with ctx.db() as db:
        reminder = (
            await db.execute(
                select(ScheduledMessage).where(
                    ScheduledMessage.kind == MessageKind.ESCALATION_REMINDER,
                    ScheduledMessage.escalation_id == first,
                )
            )
        ).scalar_one()
    assert reminder.chat_id == STAFF_CHAT and reminder.telegram_message_id is not None
    three = reminder.telegram_message_id
    assert [s.message_id for s in sender.to(JOY)] == [1, 2]  # her two reminders
    # from her private chat: Resolve, "called the patient"; the prompt there is message 3
    done = await escalations.resolve(ctx, JOY, second, EscalationOutcome.CALLED)
    assert done.refusal is None and "Reply to this message to add a note" in done.text
    await escalations.attach_note_prompt(ctx, second, JOY, three)
    # in the staff chat, she replies to message `three` there: alert #1's reminder
    action = await escalations.staff_reply(
        ctx, JOY, three, "We will call you in ten minutes.", chat_id=STAFF_CHAT, message_id=40
    )
    assert action is not None and action.refusal is None
    assert action.escalation_id == first and "Note saved" not in action.text
    await send_all(clock, d)
    assert sender.to(ANNA)[-1].text == (
        "Message from Clinique Test:\nWe will call you in ten minutes."
    )
    async with ctx.db() as db:
        resolved = await db.get(Escalation, second)
    assert resolved is not None and resolved.note is None
    # the nurse is told, under her message, once it was sent
    told = sender.to(STAFF_CHAT)[-1]
    assert (told.text, told.reply_to) == ("Sent to Anna Smith.", 40)
    # her reply to message 3 of her private chat is the note on alert #2
    noted = await escalations.staff_reply(
        ctx, JOY, three, "Swelling going down.", chat_id=JOY, message_id=4
    )
    assert noted is not None and noted.text == f"Note saved on alert #{second}."
    async with ctx.db() as db:
        resolved = await db.get(Escalation, second)
    assert resolved is not None and resolved.note == "Swelling going down."
    assert (resolved.note_chat_id, resolved.note_message_id) == (JOY, three)


async def test_staff_messages_about_an_alert_reply_to_it_in_their_own_chat(
    ctx: Context, clock: FrozenClock
) -> None:
    """A reminder in the staff chat threads under the alert there; the same reminder in a
    nurse's private chat is no reply to a message id of the staff chat."""
    await staff.add_staff(ctx, JOY, "Joy", "nurse")
    anna = await active_patient(ctx, ANNA, name="Anna Smith")
    await alert(ctx, ANNA, anna)
    sender = FakeSender(ids_per_chat=True)
    d = Dispatcher(ctx, sender)
    await send_all(clock, d)
    [sent_alert] = sender.to(STAFF_CHAT)
    clock.advance(dt.timedelta(minutes=31))
    await escalations.run_timers(ctx)
    await send_all(clock, d)
    [reminder] = sender.to(STAFF_CHAT)[1:]
    [direct] = sender.to(JOY)
    assert reminder.reply_to == sent_alert.message_id
    assert direct.reply_to is None
