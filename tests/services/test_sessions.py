"""Sessions: planning in the patient's zone, late registration, move, cancel, stop and resume."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clock import FrozenClock
from bot.db.models import Audience, MessageStatus
from bot.errors import BadInput, NotFound
from bot.services import patient_chat, sessions
from bot.services.context import Context
from tests.conftest import T0
from tests.services.helpers import active_patient, rows, statuses, with_session

USER = 6001


async def test_a_session_plans_every_step_in_the_patients_zone(ctx: Context) -> None:
    patient = await active_patient(ctx, USER, timezone="America/New_York")
    plan = await sessions.add_session(ctx, str(patient.id), "face", "2026-03-10 10:00")
    assert plan.session.starts_at == dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC)  # EDT: -4
    by_step = {m.step_key: m for m in plan.messages}
    assert len(by_step) == len(ctx.protocols["face"].steps)
    # the day-before reminder stays at 10:00 New York time across the 8 March DST change
    assert by_step["day-before"].due_at == dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC)
    assert by_step["avoid-before"].due_at == dt.datetime(2026, 3, 7, 15, 0, tzinfo=dt.UTC)


async def test_late_registration_skips_what_is_past_and_sends_what_is_still_useful(
    ctx: Context,
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=2))
    st = await statuses(ctx, patient.id)
    assert st["avoid-before"] == st["day-before"] == MessageStatus.SKIPPED
    assert st["right-after"] == MessageStatus.PENDING
    right_after = next(r for r in await rows(ctx, patient.id) if r.step_key == "right-after")
    assert right_after.due_at == T0
    skipped = next(r for r in await rows(ctx, patient.id) if r.step_key == "avoid-before")
    assert skipped.last_error and "too late" in skipped.last_error


async def test_moving_a_session_replans_only_what_is_unsent(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    plan = await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    async with ctx.db.begin() as db:
        from bot.db.models import ScheduledMessage

        first = await db.get(ScheduledMessage, plan.messages[0].id)
        assert first is not None
        first.status, first.sent_at = MessageStatus.SENT, T0
    moved = await sessions.move_session(ctx, plan.session.id, "2026-03-12 15:00")
    by_step = {m.step_key: m for m in moved.messages}
    assert by_step[plan.messages[0].step_key].status == MessageStatus.SENT
    assert by_step["day-before"].due_at.astimezone(dt.UTC).day == 11
    assert len(moved.messages) == len(ctx.protocols["face"].steps)


async def test_cancelling_a_session_cancels_what_is_unsent(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    plan = await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    await sessions.cancel_session(ctx, plan.session.id)
    assert set((await statuses(ctx, patient.id)).values()) == {MessageStatus.CANCELLED}
    with pytest.raises(BadInput, match="already cancelled"):
        await sessions.cancel_session(ctx, plan.session.id)
    with pytest.raises(BadInput, match="cancelled"):
        await sessions.move_session(ctx, plan.session.id, "2026-03-20 10:00")
    with pytest.raises(NotFound):
        await sessions.cancel_session(ctx, 999)


async def test_stop_cancels_tells_staff_and_resume_replans(
    ctx: Context, clock: FrozenClock
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 + dt.timedelta(days=4))
    change, _ = await patient_chat.stop(ctx, USER)
    assert change == patient_chat.Change.DONE
    all_rows = await rows(ctx, patient.id)
    patient_rows = [r for r in all_rows if r.audience == Audience.PATIENT]
    assert {r.status for r in patient_rows} == {MessageStatus.CANCELLED}
    staff_rows = [r for r in all_rows if r.audience == Audience.STAFF]
    assert len(staff_rows) == 1 and "stopped" in (staff_rows[0].body or "")
    assert (await patient_chat.stop(ctx, USER))[0] == patient_chat.Change.ALREADY
    clock.advance(dt.timedelta(days=5))
    assert (await patient_chat.resume(ctx, USER))[0] == patient_chat.Change.DONE
    st = await statuses(ctx, patient.id)
    assert st["avoid-before"] == MessageStatus.SKIPPED  # its time has passed
    assert st["next-session"] == MessageStatus.PENDING


async def test_session_input_is_checked(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    with pytest.raises(BadInput, match="unknown treatment"):
        await sessions.add_session(ctx, str(patient.id), "nose", "2026-03-10 10:00")
    with pytest.raises(BadInput, match="date and time"):
        await sessions.add_session(ctx, str(patient.id), "face", "next tuesday")
    with pytest.raises(NotFound):
        await sessions.add_session(ctx, "77", "face", "2026-03-10 10:00")
