"""The check-in state machine: each press checked, each update applied once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import Checkin, CheckinStatus, Escalation, MessageKind, Report, ScheduledMessage
from bot.domain.checkin import CheckinStage
from bot.domain.triage import SYMPTOMS, Level
from bot.services import buttons, checkins
from bot.services.context import Context
from tests.conftest import T0
from tests.services.helpers import active_patient, with_session

USER, OTHER = 5501, 5502


async def the_checkin(ctx: Context) -> Checkin:
    async with ctx.db() as db:
        return (await db.execute(select(Checkin))).scalar_one()


async def test_an_update_handled_again_after_a_restart_is_not_applied_twice(ctx: Context) -> None:
    await active_patient(ctx, USER)
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    cid = started.checkin_id
    await checkins.press(ctx, USER, buttons.HasSymptoms(cid), update_id=9)
    await checkins.press(ctx, USER, buttons.NoFlags(cid), update_id=10)
    await checkins.press(ctx, USER, buttons.ToggleSymptom(cid, SYMPTOMS[0]), update_id=11)
    assert (await the_checkin(ctx)).symptoms == ["redness"]
    again = await checkins.press(
        ctx, USER, buttons.ToggleSymptom(cid, SYMPTOMS[0]), update_id=11
    )  # the same update
    assert again.notice is None and again.send == [] and again.replayed
    # the question as it stands, in case the first handling died before showing it
    assert again.edit is not None and again.edit.buttons
    assert "✓ Redness" in [label for row in again.edit.buttons for label, _ in row]
    assert (await the_checkin(ctx)).symptoms == ["redness"]
    await checkins.press(
        ctx, USER, buttons.ToggleSymptom(cid, SYMPTOMS[0]), update_id=12
    )  # a new press toggles it off
    assert (await the_checkin(ctx)).symptoms == []


async def test_the_completing_press_handled_again_shows_its_outcome_and_writes_nothing(
    ctx: Context,
) -> None:
    await active_patient(ctx, USER)
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    cid = started.checkin_id
    first = await checkins.press(ctx, USER, buttons.AllGood(cid), update_id=20)
    again = await checkins.press(ctx, USER, buttons.AllGood(cid), update_id=20)
    # the same summary and advice, not "this check-in is closed"; the handler sends the
    # advice only if the summary was not shown yet
    assert again.replayed and not first.replayed
    assert again.edit == first.edit and again.send == first.send and again.notice is None
    async with ctx.db() as db:
        assert len((await db.execute(select(Report))).scalars().all()) == 1
    # an earlier press of the same check-in handled again shows nothing more
    earlier = await checkins.press(ctx, USER, buttons.HasSymptoms(cid), update_id=19)
    assert earlier.replayed and earlier.edit is None and earlier.send == []
    # a new press on the finished check-in is told it is closed
    later = await checkins.press(ctx, USER, buttons.HasSymptoms(cid), update_id=21)
    assert later.notice == "This check-in is closed."


async def test_a_danger_sign_alone_is_a_whole_report(ctx: Context) -> None:
    # issue 10: fever, fainting or a change in vision need no skin symptom
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    cid = started.checkin_id
    await checkins.press(ctx, USER, buttons.HasSymptoms(cid))
    await checkins.press(ctx, USER, buttons.ToggleFlag(cid, "fever"))
    await checkins.press(ctx, USER, buttons.FlagsDone(cid))
    step = await checkins.press(ctx, USER, buttons.SymptomsDone(cid))  # no skin symptom
    assert step.notice is None and (await the_checkin(ctx)).stage == CheckinStage.NOTE
    await checkins.press(ctx, USER, buttons.SkipNote(cid))
    async with ctx.db() as db:
        report = (await db.execute(select(Report))).scalar_one()
    assert (report.symptoms, report.flags, report.level) == ({}, ["fever"], Level.URGENT)


async def test_an_emergency_sign_is_answered_and_alerted_before_any_further_question(
    ctx: Context,
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    cid = started.checkin_id
    await checkins.press(ctx, USER, buttons.HasSymptoms(cid))
    step = await checkins.press(ctx, USER, buttons.ToggleFlag(cid, "breathing"))
    # the next message is the emergency number; the questions go on below it
    assert step.edit is not None and step.edit.buttons is None and len(step.send) == 2
    assert step.send[0].text.startswith("Please call 112 now")
    assert step.send[1].buttons and step.checkin_id == cid
    async with ctx.db() as db:
        escalation = (await db.execute(select(Escalation))).scalar_one()
        staff = select(ScheduledMessage).where(ScheduledMessage.escalation_id.is_not(None))
        alerts = (await db.execute(staff)).scalars().all()
    assert escalation.level == Level.EMERGENCY
    assert [m.kind for m in alerts] == [MessageKind.ALERT]
    assert (await the_checkin(ctx)).status == CheckinStatus.OPEN  # the rest may follow
    # the rest of the answers update the same alert; the advice is not repeated
    await checkins.press(ctx, USER, buttons.FlagsDone(cid))
    await checkins.press(ctx, USER, buttons.ToggleSymptom(cid, "swelling"))
    await checkins.press(ctx, USER, buttons.SymptomsDone(cid))
    await checkins.press(ctx, USER, buttons.Rate(cid, 4))
    final = await checkins.press(ctx, USER, buttons.SkipNote(cid))
    assert "Please call 112" not in final.send[0].text
    async with ctx.db() as db:
        assert len((await db.execute(select(Escalation))).scalars().all()) == 1
        reports = (await db.execute(select(Report))).scalars().all()
        updates = (
            (
                await db.execute(
                    select(ScheduledMessage).where(ScheduledMessage.kind == MessageKind.ALERT)
                )
            )
            .scalars()
            .all()
        )
    assert len(reports) == 1 and reports[0].symptoms == {"swelling": 4}
    assert len(updates) == 2 and "Update to alert" in (updates[1].body or "")


async def test_someone_elses_press_changes_nothing(ctx: Context) -> None:
    await active_patient(ctx, USER)
    await active_patient(ctx, OTHER, name="Other")
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    step = await checkins.press(ctx, OTHER, buttons.AllGood(started.checkin_id))
    assert step.notice == "This button is not for you."
    assert (await the_checkin(ctx)).status == CheckinStatus.OPEN


async def test_severities_are_asked_one_symptom_at_a_time_in_order(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    cid = started.checkin_id
    for button in (
        buttons.HasSymptoms(cid),
        buttons.NoFlags(cid),
        buttons.ToggleSymptom(cid, SYMPTOMS[1]),
        buttons.ToggleSymptom(cid, SYMPTOMS[2]),
        buttons.SymptomsDone(cid),
    ):
        step = await checkins.press(ctx, USER, button)
    assert step.edit is not None and "swelling" in step.edit.text
    step = await checkins.press(ctx, USER, buttons.Rate(cid, 2))
    assert step.edit is not None and "bruising" in step.edit.text
    await checkins.press(ctx, USER, buttons.Rate(cid, 1))
    await checkins.press(ctx, USER, buttons.NoFlags(cid))
    final = await checkins.write(ctx, USER, "a little sore", None)
    assert final is not None and final.answered
    async with ctx.db() as db:
        report = (await db.execute(select(Report))).scalar_one()
    assert report.symptoms == {"swelling": 2, "bruising": 1}
    assert report.note == "a little sore" and report.level == Level.EXPECTED
    assert report.hours_since == 20.0


async def test_stop_closes_an_open_checkin(ctx: Context) -> None:
    from bot.services import patient_chat

    await active_patient(ctx, USER)
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    await patient_chat.stop(ctx, USER)
    closed = await the_checkin(ctx)
    assert (closed.status, closed.close_reason) == (CheckinStatus.CLOSED, "patient stopped")
    step = await checkins.press(ctx, USER, buttons.AllGood(started.checkin_id))
    assert step.notice == "This check-in is closed."


async def test_previous_is_the_last_report_of_the_same_course(
    ctx: Context, clock: FrozenClock
) -> None:
    # docs/clinical.md: "previous" never means an answer about an earlier, finished course
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))

    async def swelling(level: int) -> Report:
        started = await checkins.start(ctx, USER)
        assert started is not None and started.checkin_id is not None
        cid = started.checkin_id
        for button in (
            buttons.HasSymptoms(cid),
            buttons.NoFlags(cid),
            buttons.ToggleSymptom(cid, "swelling"),
            buttons.SymptomsDone(cid),
            buttons.Rate(cid, level),
            buttons.SkipNote(cid),
        ):
            await checkins.press(ctx, USER, button)
        async with ctx.db() as db:
            stmt = select(Report).order_by(Report.id.desc()).limit(1)
            return (await db.execute(stmt)).scalar_one()

    await swelling(0)
    # two months later, a new course: swelling two levels "worse" than the old course's answer
    clock.advance(dt.timedelta(days=60))
    await with_session(ctx, patient, clock.now() - dt.timedelta(hours=20))
    fresh = await swelling(2)
    assert [r["code"] for r in fresh.reasons] == [] and fresh.level == Level.EXPECTED
    # within the same course the comparison holds
    clock.advance(dt.timedelta(hours=30))
    worse = await swelling(4)
    assert "worse" in [r["code"] for r in worse.reasons]


async def test_self_care_about_the_usual_course_is_only_given_within_it(ctx: Context) -> None:
    # docs/clinical.md: at three weeks, bumps are not "settling within a day" any more

    async def advice_for_bumps(user: int, hours: int) -> str:
        patient = await active_patient(ctx, user, name=f"P{user}")
        await with_session(ctx, patient, T0 - dt.timedelta(hours=hours))
        started = await checkins.start(ctx, user)
        assert started is not None and started.checkin_id is not None
        cid = started.checkin_id
        for button in (
            buttons.HasSymptoms(cid),
            buttons.NoFlags(cid),
            buttons.ToggleSymptom(cid, "bumps"),
            buttons.SymptomsDone(cid),
            buttons.Rate(cid, 1),
        ):
            await checkins.press(ctx, user, button)
        done = await checkins.press(ctx, user, buttons.SkipNote(cid))
        return done.send[0].text

    early = await advice_for_bumps(USER, 10)
    assert "usually settle within a day" in early and "no longer expected" not in early
    late = await advice_for_bumps(OTHER, 21 * 24)
    assert "Small bumps: this is no longer expected" in late and "Clinique Test will look" in late
    assert "usually settle within a day" not in late
