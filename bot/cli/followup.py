"""`aftercare escalations` and `aftercare checkins`: what staff still have to follow up."""

from __future__ import annotations

import click

from bot.cli.output import JSON_FLAG, Columns, Row, echo_json, echo_table, emit_rows, iso
from bot.cli.runner import Invocation, pass_invocation, with_context
from bot.services import checkins, escalations
from bot.services.context import Context
from bot.services.vocabulary import reason_text

ESCALATION_COLUMNS: Columns = ("id", "patient", "name", "level", "status", "opened_at", "reminders")
CHECKIN_COLUMNS: Columns = ("id", "patient", "name", "step", "asked_at", "closed_at")


@click.command("escalations")
@JSON_FLAG
@pass_invocation
def escalations_command(obj: Invocation, as_json: bool) -> None:
    """Open and acknowledged escalations, oldest first."""

    # the reasons are a list: JSON carries them after the row, the table leaves them out
    async def work(ctx: Context) -> list[tuple[Row, list[str]]]:
        return [
            (
                {
                    "id": item.escalation.id,
                    "patient": item.patient.id,
                    "name": item.patient.name,
                    "level": item.escalation.level.name_key,
                    "status": str(item.escalation.status),
                    "opened_at": iso(item.escalation.opened_at),
                    "reminders": item.escalation.rounds,
                },
                [
                    reason_text(ctx.i18n, ctx.clinic.default_language, r)
                    for r in item.report.reasons
                ],
            )
            for item in await escalations.list_open(ctx)
        ]

    found = with_context(obj, work)
    if as_json:
        echo_json([{**row, "reasons": reasons} for row, reasons in found])
    else:
        echo_table([row for row, _ in found], ESCALATION_COLUMNS)


@click.command("checkins")
@JSON_FLAG
@pass_invocation
def checkins_command(obj: Invocation, as_json: bool) -> None:
    """Check-ins nobody answered, even after a reminder (for staff to follow up)."""

    async def work(ctx: Context) -> list[Row]:
        return [
            {
                "id": checkin.id,
                "patient": patient.id,
                "name": patient.name,
                "step": checkin.step_key,
                "asked_at": iso(checkin.opened_at),
                "closed_at": iso(checkin.closed_at),
            }
            for checkin, patient in await checkins.unanswered(ctx)
        ]

    emit_rows(as_json, with_context(obj, work), CHECKIN_COLUMNS)
