"""`aftercare staff …`: staff members who may act on alerts."""

from __future__ import annotations

import click

from bot.cli.output import JSON_FLAG, Columns, Row, emit_row, emit_rows
from bot.cli.runner import Invocation, pass_invocation, with_context
from bot.db.models import StaffMember
from bot.services import staff

STAFF_COLUMNS: Columns = ("id", "telegram_user_id", "name", "role", "on_call")


def staff_row(m: StaffMember) -> Row:
    return {
        "id": m.id,
        "telegram_user_id": m.telegram_user_id,
        "name": m.name,
        "role": str(m.role),
        "on_call": m.is_on_call,
    }


@click.group("staff")
def staff_group() -> None:
    """Staff members who may act on alerts."""


@staff_group.command("add")
@click.argument("telegram_user_id", type=int)
@click.option("--name", required=True)
@click.option("--role", default="nurse", show_default=True, help="nurse, clinician or admin")
@click.option(
    "--on-call/--not-on-call",
    default=True,
    show_default=True,
    help="Direct messages when an alert is not acknowledged in time.",
)
@JSON_FLAG
@pass_invocation
def staff_add(
    obj: Invocation, telegram_user_id: int, name: str, role: str, on_call: bool, as_json: bool
) -> None:
    """Register a staff member by Telegram user id."""
    member = with_context(
        obj, lambda ctx: staff.add_staff(ctx, telegram_user_id, name, role, on_call)
    )
    emit_row(as_json, staff_row(member), STAFF_COLUMNS)


@staff_group.command("list")
@JSON_FLAG
@pass_invocation
def staff_list(obj: Invocation, as_json: bool) -> None:
    """List staff members."""
    emit_rows(as_json, [staff_row(m) for m in with_context(obj, staff.list_staff)], STAFF_COLUMNS)


@staff_group.command("remove")
@click.argument("telegram_user_id", type=int)
@JSON_FLAG
@pass_invocation
def staff_remove(obj: Invocation, telegram_user_id: int, as_json: bool) -> None:
    """Remove a staff member."""
    member = with_context(obj, lambda ctx: staff.remove_staff(ctx, telegram_user_id))
    emit_row(as_json, staff_row(member), STAFF_COLUMNS)
