"""`aftercare session …` and `aftercare schedule`: treatment sessions and the messages planned
from them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import click

from bot.cli.messages import MESSAGE_COLUMNS, message_row
from bot.cli.output import JSON_FLAG, Columns, Json, Row, echo_json, echo_table, emit_rows, iso
from bot.cli.runner import Invocation, pass_invocation, with_context
from bot.errors import BadInput
from bot.services import patients, sessions
from bot.services.context import Context
from bot.services.courses import CoursePlace
from bot.services.inputs import RECORD_ID_MAX, hidden_character

SESSION_COLUMNS: Columns = ("id", "patient", "treatment", "area", "starts_at", "status", "course")
# a session id is a row id: a number beyond them is a mistake, said as one line (usage, exit 2)
SESSION_ID = click.IntRange(1, RECORD_ID_MAX)


@click.group("session")
def session_group() -> None:
    """Treatment sessions."""


def course_line(place: CoursePlace | None) -> str:
    """Where the session stands in its course, for staff: "session 2 of the course (…)"."""
    if place is None:
        return "not in a course"
    members = ", ".join(str(i) for i in place.sessions) or "none planned"
    return f"session {place.number} of the course (course {place.course_id}: sessions {members})"


def _show_plan(
    obj: Invocation, as_json: bool, work: Callable[[Context], Awaitable[sessions.SessionPlan]]
) -> None:
    async def _shown(ctx: Context) -> tuple[Row, CoursePlace | None, list[Row]]:
        plan = await work(ctx)
        patient = await patients.find_patient(ctx, str(plan.session.patient_id))
        s = plan.session
        row: Row = {
            "id": s.id,
            "patient": s.patient_id,
            "treatment": s.treatment,
            "area": s.area,
            "starts_at": iso(s.starts_at),
            "status": str(s.status),
            "course": s.course_id,
            "course_number": s.course_number,
        }
        return row, plan.course, [message_row(m, patient.timezone) for m in plan.messages]

    row, place, messages = with_context(obj, _shown)
    if as_json:
        course_sessions: list[Json] = list(place.sessions) if place else []
        echo_json({**row, "course_sessions": course_sessions, "messages": messages})
        return
    echo_table([row], SESSION_COLUMNS)
    line = course_line(place)
    click.echo(f"{line[:1].upper()}{line[1:]}.")
    click.echo("")
    echo_table(messages, MESSAGE_COLUMNS)


COURSE_OPTION = click.option(
    "--course",
    "course",
    type=SESSION_ID,
    default=None,
    metavar="SESSION_ID",
    help="Join the course of this session (same patient and treatment).",
)
NEW_COURSE_FLAG = click.option(
    "--new-course", is_flag=True, help="Start a new course, whatever the course interval says."
)


@session_group.command("add")
@click.argument("patient_id")
@click.option("--treatment", required=True, help="Protocol name: face, eye-area, scalp, body …")
@click.option(
    "--at", "starts_at", required=True, help="Start, patient's local time: 2026-03-01 10:30"
)
@click.option("--area", default="", help="Treated area, as staff describe it.")
@COURSE_OPTION
@NEW_COURSE_FLAG
@JSON_FLAG
@pass_invocation
def session_add(
    obj: Invocation,
    patient_id: str,
    treatment: str,
    starts_at: str,
    area: str,
    course: int | None,
    new_course: bool,
    as_json: bool,
) -> None:
    """Register a session and plan its aftercare messages. It continues the course of the
    patient's session of the same treatment within the protocol's course interval, unless
    --course or --new-course say otherwise."""
    bad = hidden_character(area)
    if bad is not None:
        raise BadInput(f"the area has a control character (U+{ord(bad):04X})")
    # an unknown treatment is refused by the service, through Context.protocol
    _show_plan(
        obj,
        as_json,
        lambda ctx: sessions.add_session(
            ctx, patient_id, treatment, starts_at, area, course=course, new_course=new_course
        ),
    )


@session_group.command("move")
@click.argument("session_id", type=SESSION_ID)
@click.option("--at", "starts_at", required=True, help="New start, patient's local time.")
@COURSE_OPTION
@NEW_COURSE_FLAG
@JSON_FLAG
@pass_invocation
def session_move(
    obj: Invocation,
    session_id: int,
    starts_at: str,
    course: int | None,
    new_course: bool,
    as_json: bool,
) -> None:
    """Move a session; what is not yet sent is planned again, with its course."""
    _show_plan(
        obj,
        as_json,
        lambda ctx: sessions.move_session(
            ctx, session_id, starts_at, course=course, new_course=new_course
        ),
    )


@session_group.command("show")
@click.argument("session_id", type=SESSION_ID)
@JSON_FLAG
@pass_invocation
def session_show(obj: Invocation, session_id: int, as_json: bool) -> None:
    """A session, its place in its course, and its messages."""
    _show_plan(obj, as_json, lambda ctx: sessions.show_session(ctx, session_id))


@session_group.command("cancel")
@click.argument("session_id", type=SESSION_ID)
@JSON_FLAG
@pass_invocation
def session_cancel(obj: Invocation, session_id: int, as_json: bool) -> None:
    """Cancel a session and what is not yet sent."""
    _show_plan(obj, as_json, lambda ctx: sessions.cancel_session(ctx, session_id))


@click.command("schedule")
@click.argument("patient_id")
@JSON_FLAG
@pass_invocation
def schedule(obj: Invocation, patient_id: str, as_json: bool) -> None:
    """Every message planned for a patient, with its outcome."""
    view = with_context(obj, lambda ctx: patients.show_patient(ctx, patient_id))
    emit_rows(
        as_json, [message_row(m, view.patient.timezone) for m in view.messages], MESSAGE_COLUMNS
    )
