"""`aftercare session …` and `aftercare schedule`: treatment sessions and the messages planned
from them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import click

from bot.cli.messages import MESSAGE_COLUMNS, message_row
from bot.cli.output import JSON_FLAG, Columns, Row, echo_json, echo_table, emit_rows, iso
from bot.cli.runner import Invocation, pass_invocation, with_context
from bot.services import patients, sessions
from bot.services.context import Context

SESSION_COLUMNS: Columns = ("id", "patient", "treatment", "area", "starts_at", "status")


@click.group("session")
def session_group() -> None:
    """Treatment sessions."""


def _show_plan(
    obj: Invocation, as_json: bool, work: Callable[[Context], Awaitable[sessions.SessionPlan]]
) -> None:
    async def _shown(ctx: Context) -> tuple[Row, list[Row]]:
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
        }
        return row, [message_row(m, patient.timezone) for m in plan.messages]

    row, messages = with_context(obj, _shown)
    if as_json:
        echo_json({**row, "messages": messages})
        return
    echo_table([row], SESSION_COLUMNS)
    click.echo("")
    echo_table(messages, MESSAGE_COLUMNS)


@session_group.command("add")
@click.argument("patient_id")
@click.option("--treatment", required=True, help="Protocol name: face, eye-area, scalp, body …")
@click.option(
    "--at", "starts_at", required=True, help="Start, patient's local time: 2026-03-01 10:30"
)
@click.option("--area", default="", help="Treated area, as staff describe it.")
@JSON_FLAG
@pass_invocation
def session_add(
    obj: Invocation, patient_id: str, treatment: str, starts_at: str, area: str, as_json: bool
) -> None:
    """Register a session and plan its aftercare messages."""
    # an unknown treatment is refused by the service, through Context.protocol
    _show_plan(
        obj, as_json, lambda ctx: sessions.add_session(ctx, patient_id, treatment, starts_at, area)
    )


@session_group.command("move")
@click.argument("session_id", type=int)
@click.option("--at", "starts_at", required=True, help="New start, patient's local time.")
@JSON_FLAG
@pass_invocation
def session_move(obj: Invocation, session_id: int, starts_at: str, as_json: bool) -> None:
    """Move a session; what is not yet sent is planned again."""
    _show_plan(obj, as_json, lambda ctx: sessions.move_session(ctx, session_id, starts_at))


@session_group.command("cancel")
@click.argument("session_id", type=int)
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
