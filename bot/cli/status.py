"""`aftercare status`: the bot's health, for people and for monitoring."""

from __future__ import annotations

import click

from bot.cli.output import JSON_FLAG, Cell, Row, echo_json, iso
from bot.cli.runner import Invocation, pass_invocation, with_context
from bot.services import health

# the exit code when unhealthy: distinct from 1 (a mistake) and 2 (usage or settings)
UNHEALTHY = 3


def _line(key: str, value: Cell) -> str:
    return f"{key:20} {'-' if value in (None, '') else value}"


@click.command("status")
@JSON_FLAG
@pass_invocation
def status_command(obj: Invocation, as_json: bool) -> None:
    """Health: backlog, oldest due message, uncertain and failed counts, last dispatcher run,
    and warnings (more people in the staff chat than registered staff). Exits 3 when
    unhealthy, for monitoring; a warning alone does not."""
    found = with_context(obj, health.check)
    row: Row = {
        "healthy": found.healthy,
        "backlog": found.backlog,
        "oldest_due_at": iso(found.oldest_due_at),
        "uncertain": found.uncertain,
        "failed": found.failed,
        "last_dispatch_at": iso(found.last_dispatch_at),
        "overdue_escalations": found.overdue_escalations,
        "running_processes": found.processes,
    }
    if as_json:
        echo_json({**row, "problems": found.problems, "warnings": found.warnings})
    else:
        for key, value in row.items():
            click.echo(_line(key, value))
        click.echo(_line("problems", "; ".join(found.problems)))
        click.echo(_line("warnings", "; ".join(found.warnings)))
    if not found.healthy:
        raise click.exceptions.Exit(UNHEALTHY)
