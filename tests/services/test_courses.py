"""Courses of sessions: a newer session supersedes what is left of the one before it, the booking
reminder is not sent once the next session is booked, and moving or cancelling brings back what
is still useful."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clock import FrozenClock
from bot.db import checkin_queries
from bot.db.models import (
    Checkin,
    CheckinStatus,
    MessageStatus,
    Report,
    ScheduledMessage,
    TreatmentSession,
)
from bot.domain.checkin import CheckinStage
from bot.domain.triage import Level
from bot.errors import BadInput, NotFound
from bot.services import courses, imports, patient_chat, patients, sessions
from bot.services.context import Context
from tests.conftest import T0
from tests.services.helpers import active_patient, rows

USER, OTHER = 7101, 7102
PARIS = dt.timedelta(hours=1)  # CET in March, before the change on the 29th
FIRST = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC) - PARIS  # Tue 3 Mar, 10:00 in Paris
WEEK = dt.timedelta(days=7)


async def session_rows(ctx: Context, session_id: int) -> dict[str, ScheduledMessage]:
    found = await session(ctx, session_id)
    return {r.step_key: r for r in await rows(ctx, found.patient_id) if r.session_id == found.id}


async def session(ctx: Context, session_id: int) -> TreatmentSession:
    async with ctx.db() as db:
        found = await db.get(TreatmentSession, session_id)
        assert found is not None
        return found


async def two_sessions(
    ctx: Context, gap: dt.timedelta = WEEK, treatment: str = "face"
) -> tuple[sessions.SessionPlan, sessions.SessionPlan]:
    patient = await active_patient(ctx, USER)
    first = await sessions.add_session(ctx, str(patient.id), treatment, FIRST)
    second = await sessions.add_session(ctx, str(patient.id), treatment, FIRST + gap)
    return first, second


async def test_a_second_session_a_week_later_supersedes_what_is_left_of_the_first(
    ctx: Context,
) -> None:
    first, second = await two_sessions(ctx)
    assert second.session.course_id == first.session.course_id
    assert (first.course, second.course) == (
        courses.CoursePlace(first.session.course_id or 0, 1, (first.session.id,)),
        courses.CoursePlace(
            second.session.course_id or 0, 2, (first.session.id, second.session.id)
        ),
    )
    start = second.session.starts_at
    one = await session_rows(ctx, first.session.id)
    late = {k: r for k, r in one.items() if r.due_at >= start}
    # day 7 is the evening of session 2, day 10 is the booking reminder, then the late check-ins
    assert {"checkin-day7", "next-session", "checkin-day14", "checkin-day42"} <= set(late)
    for row in late.values():
        assert (row.status, row.last_error) == (MessageStatus.CANCELLED, "superseded by session 2")
    early = [r for r in one.values() if r.due_at < start]
    assert early and {r.status for r in early} == {MessageStatus.PENDING}
    # what is still to go of session 1 is never sent once session 2 has started
    assert all(r.useful_until <= start for r in early)
    two = await session_rows(ctx, second.session.id)
    assert set(two) == {step.key for step in ctx.protocols["face"].steps}
    assert {r.status for r in two.values()} == {MessageStatus.PENDING}
    # its own advice before the visit still goes out, and its late check-ins count from it
    assert two["avoid-before"].due_at < start and two["day-before"].due_at < start
    local = {k: two[k].due_at.date() for k in ("checkin-day14", "checkin-day21", "checkin-day42")}
    assert local == {
        "checkin-day14": dt.date(2026, 3, 24),
        "checkin-day21": dt.date(2026, 3, 31),
        "checkin-day42": dt.date(2026, 4, 21),
    }


async def test_the_booking_reminder_is_not_sent_once_the_next_session_is_booked(
    ctx: Context,
) -> None:
    first, second = await two_sessions(ctx, gap=dt.timedelta(days=14))
    assert second.course and second.course.number == 2
    reminder = (await session_rows(ctx, first.session.id))["next-session"]
    assert reminder.due_at < second.session.starts_at  # day 10, before the session on day 14
    assert reminder.status == MessageStatus.CANCELLED
    assert reminder.last_error == "not needed: session 2 of the course is already booked"
    assert (await session_rows(ctx, second.session.id))["next-session"].status == (
        MessageStatus.PENDING
    )


async def test_moving_the_second_session_a_month_later_brings_back_what_is_still_useful(
    ctx: Context, clock: FrozenClock
) -> None:
    first, second = await two_sessions(ctx)
    clock.set(FIRST + dt.timedelta(days=9))  # Thu 12 Mar: the day-7 check-in's time is past
    moved = await sessions.move_session(ctx, second.session.id, "2026-04-10 10:00")
    assert moved.session.course_id != first.session.course_id
    assert moved.course is not None and moved.course.sessions == (second.session.id,)
    assert (await session(ctx, first.session.id)).course_number == 1
    one = await session_rows(ctx, first.session.id)
    # too late now: it stays as it was, not sent because of session 2
    assert one["checkin-day7"].status == MessageStatus.CANCELLED
    assert one["checkin-day7"].last_error == "superseded by session 2"
    for key in ("next-session", "checkin-day14", "checkin-day21", "checkin-day42"):
        assert (one[key].status, one[key].last_error) == (MessageStatus.PENDING, None), key
    assert one["checkin-day42"].due_at > moved.session.starts_at  # another course: no cut
    assert {r.status for r in (await session_rows(ctx, second.session.id)).values()} == {
        MessageStatus.PENDING
    }


async def test_moving_the_second_session_by_a_day_keeps_the_course_and_moves_the_cut(
    ctx: Context,
) -> None:
    first, second = await two_sessions(ctx)
    moved = await sessions.move_session(ctx, second.session.id, "2026-03-11 18:30")
    assert moved.session.course_id == first.session.course_id
    one = await session_rows(ctx, first.session.id)
    # the day-7 check-in (Tue 10 Mar, evening) is before the new start: it goes out again
    assert one["checkin-day7"].status == MessageStatus.PENDING
    assert one["checkin-day7"].useful_until <= moved.session.starts_at
    assert one["checkin-day14"].last_error == "superseded by session 2"


async def test_cancelling_the_second_session_brings_back_the_first_sessions_plan(
    ctx: Context,
) -> None:
    first, second = await two_sessions(ctx)
    cancelled = await sessions.cancel_session(ctx, second.session.id)
    assert {m.status for m in cancelled.messages} == {MessageStatus.CANCELLED}
    assert {m.last_error for m in cancelled.messages} == {"session cancelled"}
    one = await session_rows(ctx, first.session.id)
    assert {r.status for r in one.values()} == {MessageStatus.PENDING}
    assert one["checkin-day42"].useful_until > second.session.starts_at  # no cut any more
    # the next session registered starts again as session 2 of the course
    third = await sessions.add_session(ctx, str(first.session.patient_id), "face", FIRST + WEEK)
    assert third.course and third.course.number == 2
    assert third.course.sessions == (first.session.id, third.session.id)


async def test_a_third_session_numbers_the_course_and_each_session_is_cut_at_the_next(
    ctx: Context,
) -> None:
    first, second = await two_sessions(ctx, gap=dt.timedelta(days=14))
    third = await sessions.add_session(
        ctx, str(first.session.patient_id), "face", FIRST + dt.timedelta(days=28)
    )
    assert third.course and third.course.number == 3
    two = await session_rows(ctx, second.session.id)
    assert two["checkin-day14"].last_error == "superseded by session 3"
    # one in between: the numbers and the reasons follow
    between = await sessions.add_session(ctx, str(first.session.patient_id), "face", FIRST + WEEK)
    assert between.course and between.course.number == 2
    assert (await session(ctx, second.session.id)).course_number == 3
    assert (await session(ctx, third.session.id)).course_number == 4
    one = await session_rows(ctx, first.session.id)
    assert one["checkin-day7"].last_error == "superseded by session 2"
    two = await session_rows(ctx, second.session.id)
    assert two["checkin-day14"].last_error == "superseded by session 4"


async def test_a_session_registered_before_an_existing_one_joins_its_course(
    ctx: Context,
) -> None:
    patient = await active_patient(ctx, USER)
    later = await sessions.add_session(ctx, str(patient.id), "face", FIRST + WEEK)
    earlier = await sessions.add_session(ctx, str(patient.id), "face", FIRST)
    assert earlier.session.course_id == later.session.course_id
    assert earlier.course and earlier.course.number == 1
    assert (await session(ctx, later.session.id)).course_number == 2
    mine = {m.step_key: m for m in earlier.messages}
    assert mine["checkin-day7"].last_error == "superseded by session 2"


async def test_a_course_is_one_patients_sessions_of_one_treatment_within_the_interval(
    ctx: Context,
) -> None:
    patient = await active_patient(ctx, USER)
    other = await active_patient(ctx, OTHER, name="Ben")
    first = await sessions.add_session(ctx, str(patient.id), "face", FIRST)
    scalp = await sessions.add_session(ctx, str(patient.id), "scalp", FIRST + WEEK)
    bens = await sessions.add_session(ctx, str(other.id), "face", FIRST + WEEK)
    interval = ctx.protocols["face"].course_interval
    far = await sessions.add_session(ctx, str(patient.id), "face", FIRST + interval + WEEK)
    at_the_limit = await sessions.add_session(ctx, str(patient.id), "face", FIRST + interval)
    course_ids = {p.session.course_id for p in (first, scalp, bens, far)}
    assert len(course_ids) == 4
    # exactly the interval after the first session still continues its course
    assert at_the_limit.session.course_id == first.session.course_id
    one = await session_rows(ctx, first.session.id)
    assert one["checkin-day7"].status == MessageStatus.PENDING  # scalp and Ben cut nothing


async def test_the_clinic_can_say_which_course_a_session_belongs_to(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    first = await sessions.add_session(ctx, str(patient.id), "face", FIRST)
    apart = await sessions.add_session(ctx, str(patient.id), "face", FIRST + WEEK, new_course=True)
    assert apart.session.course_id != first.session.course_id
    assert (await session_rows(ctx, first.session.id))["checkin-day7"].status == (
        MessageStatus.PENDING
    )
    # beyond the interval, but the clinic says it continues the first course
    joined = await sessions.add_session(
        ctx, str(patient.id), "face", FIRST + dt.timedelta(days=40), course=first.session.id
    )
    assert joined.session.course_id == first.session.course_id
    assert joined.course and joined.course.number == 2
    one = await session_rows(ctx, first.session.id)
    assert one["checkin-day42"].last_error == "superseded by session 2"
    # and a move can put a session in another course too
    moved = await sessions.move_session(
        ctx, apart.session.id, "2026-03-10 10:00", course=first.session.id
    )
    assert moved.course and moved.course.number == 2


@pytest.mark.parametrize(
    ("treatment", "whose", "says"),
    [
        ("scalp", USER, "is a face session, not scalp"),
        ("face", OTHER, "is patient 1's"),
    ],
)
async def test_joining_another_patients_or_treatments_course_is_refused(
    ctx: Context, treatment: str, whose: int, says: str
) -> None:
    patient = await active_patient(ctx, USER)
    other = await active_patient(ctx, OTHER, name="Ben")
    first = await sessions.add_session(ctx, str(patient.id), "face", FIRST)
    owner = patient if whose == USER else other
    with pytest.raises(BadInput, match=says):
        await sessions.add_session(
            ctx, str(owner.id), treatment, FIRST + WEEK, course=first.session.id
        )
    with pytest.raises(NotFound, match="no session with id 99"):
        await sessions.add_session(ctx, str(patient.id), "face", FIRST + WEEK, course=99)
    with pytest.raises(BadInput, match="not both"):
        await sessions.add_session(
            ctx, str(patient.id), "face", FIRST + WEEK, course=first.session.id, new_course=True
        )
    assert len(await patients.list_patients(ctx)) == 2
    shown = await patients.show_patient(ctx, str(patient.id))
    assert len(shown.sessions) == 1  # nothing was written


async def test_stop_and_resume_keep_what_the_next_session_superseded(ctx: Context) -> None:
    first, second = await two_sessions(ctx)
    await patient_chat.stop(ctx, USER)
    await patient_chat.resume(ctx, USER)
    one = await session_rows(ctx, first.session.id)
    assert one["checkin-day7"].last_error == "superseded by session 2"
    assert one["right-after"].status == MessageStatus.PENDING
    assert one["right-after"].useful_until <= second.session.starts_at
    await patients.update_patient(ctx, str(first.session.patient_id), timezone="Europe/London")
    one = await session_rows(ctx, first.session.id)
    assert one["checkin-day7"].last_error == "superseded by session 2"


async def test_a_sent_message_of_the_first_session_is_never_touched(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    first = await sessions.add_session(ctx, str(patient.id), "face", FIRST)
    async with ctx.db.begin() as db:
        row = await db.get(
            ScheduledMessage, {m.step_key: m for m in first.messages}["checkin-day7"].id
        )
        assert row is not None
        row.status, row.sent_at = MessageStatus.SENT, T0
    await sessions.add_session(ctx, str(patient.id), "face", FIRST + WEEK)
    assert (await session_rows(ctx, first.session.id))["checkin-day7"].status == MessageStatus.SENT


async def test_an_import_joins_known_patients_sessions_to_their_courses(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    first = await sessions.add_session(ctx, str(patient.id), "face", FIRST)
    text = (
        "patient_id,treatment,starts_at,course\n"
        f"{patient.id},face,2026-03-24 10:00,\n"  # by the rule, after the one below
        f"{patient.id},face,2026-03-10 10:00,\n"
        f"{patient.id},scalp,2026-03-10 10:00,\n"
        f"{patient.id},face,2026-05-20 10:00,{first.session.id}\n"  # beyond, but joined
    )
    result = await imports.import_sessions(ctx, text)
    assert result.sessions == 4
    shown = await patients.show_patient(ctx, str(patient.id))
    face = [s for s in shown.sessions if s.treatment == "face"]
    assert [(s.course_id, s.course_number) for s in face] == [
        (first.session.course_id, n) for n in (1, 2, 3, 4)
    ]
    scalp = next(s for s in shown.sessions if s.treatment == "scalp")
    assert scalp.course_id not in {first.session.course_id, None}
    one = await session_rows(ctx, first.session.id)
    assert one["checkin-day7"].last_error == "superseded by session 2"
    assert result.messages == sum(
        len(ctx.protocols[s.treatment].steps) for s in shown.sessions if s.id != first.session.id
    )


async def test_an_import_refuses_a_course_of_another_patient_or_treatment(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    first = await sessions.add_session(ctx, str(patient.id), "face", FIRST)
    text = (
        "patient,patient_id,treatment,starts_at,course\n"
        f",{patient.id},scalp,2026-03-10 10:00,{first.session.id}\n"
        f"Ben,,face,2026-03-10 10:00,{first.session.id}\n"
        f",{patient.id},face,2026-03-10 10:00,77\n"
        f",{patient.id},face,2026-03-10 10:00,first\n"
    )
    with pytest.raises(imports.ImportRefused) as refused:
        await imports.import_sessions(ctx, text)
    assert refused.value.problems == [
        f"line 2: course: session {first.session.id} is a face session, not scalp: "
        "a course holds sessions of one treatment",
        f"line 3: course: session {first.session.id} is patient {patient.id}'s: "
        "a course holds one patient's sessions",
        "line 4: course: no session with id 77",
        "line 5: course must be the id of a session (a number), or empty",
    ]


async def test_a_new_patients_imported_session_is_a_course_of_its_own(ctx: Context) -> None:
    text = "patient,treatment,starts_at\nAnna,face,2026-03-10 10:00\nAnna,face,2026-03-17 10:00\n"
    await imports.import_sessions(ctx, text)
    people = await patients.list_patients(ctx)
    assert len(people) == 2  # each row without a patient_id is a new patient
    for person in people:
        (only,) = (await patients.show_patient(ctx, str(person.id))).sessions
        assert only.course_id is not None and only.course_number == 1


async def test_the_course_label_names_the_session_only_in_a_course_of_several(
    ctx: Context,
) -> None:
    patient = await active_patient(ctx, USER)
    first = await sessions.add_session(ctx, str(patient.id), "face", FIRST)
    assert courses.course_label(ctx.i18n, "en", first.course) is None
    second = await sessions.add_session(ctx, str(patient.id), "face", FIRST + WEEK)
    assert courses.course_label(ctx.i18n, "en", second.course) == "session 2 of the course"
    found = await courses.places(ctx, {first.session.id, second.session.id})
    assert [found[s].number for s in (first.session.id, second.session.id)] == [1, 2]
    assert all(p.is_worth_saying for p in found.values())
    async with ctx.db() as db:
        s = await db.get(TreatmentSession, first.session.id)
        assert s is not None
        assert await courses.course_place(db, s) == found[first.session.id]


async def _report(ctx: Context, patient_id: int, session_id: int | None, at: dt.datetime) -> int:
    async with ctx.db.begin() as db:
        checkin = Checkin(
            patient_id=patient_id,
            session_id=session_id,
            status=CheckinStatus.COMPLETE,
            stage=CheckinStage.DONE,
            opened_at=at,
            expires_at=at,
            closed_at=at,
        )
        db.add(checkin)
        await db.flush()
        report = Report(
            checkin_id=checkin.id,
            patient_id=patient_id,
            session_id=session_id,
            symptoms={"redness": 1},
            flags=[],
            level=Level.EXPECTED,
            reasons=[],
            created_at=at,
        )
        db.add(report)
        await db.flush()
        return report.id


async def test_the_previous_report_is_the_latest_one_in_the_same_course(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    old = await sessions.add_session(ctx, str(patient.id), "face", FIRST - dt.timedelta(days=90))
    first = await sessions.add_session(ctx, str(patient.id), "face", FIRST)
    second = await sessions.add_session(ctx, str(patient.id), "face", FIRST + WEEK)
    assert old.session.course_id != first.session.course_id == second.session.course_id
    course = first.session.course_id

    async def previous(checkin_id: int | None = None) -> int | None:
        async with ctx.db() as db:
            found = await checkin_queries.previous_report_in_course(
                db, patient.id, course, checkin_id=checkin_id
            )
        return found.id if found else None

    await _report(ctx, patient.id, old.session.id, FIRST - dt.timedelta(days=80))
    assert await previous() is None  # an answer about an earlier course does not count
    in_first = await _report(ctx, patient.id, first.session.id, FIRST + dt.timedelta(days=1))
    await _report(ctx, patient.id, old.session.id, FIRST + dt.timedelta(days=2))
    assert await previous() == in_first
    in_second = await _report(ctx, patient.id, second.session.id, FIRST + dt.timedelta(days=8))
    assert await previous() == in_second
    async with ctx.db() as db:
        report = await db.get(Report, in_second)
        assert report is not None
        checkin_of_second = report.checkin_id
    assert await previous(checkin_of_second) == in_first  # not the check-in's own report
    async with ctx.db() as db:
        alone = await checkin_queries.previous_report_in_course(
            db, patient.id, None, session_id=old.session.id
        )
        nothing = await checkin_queries.previous_report_in_course(db, patient.id, None)
    assert alone is not None and alone.session_id == old.session.id and nothing is None
