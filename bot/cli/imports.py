"""`aftercare import …`: bulk imports from booking systems, all or nothing."""

from __future__ import annotations

import sys
from typing import BinaryIO

import click

from bot.cli.output import JSON_FLAG, Columns, Row, emit_row
from bot.cli.runner import Invocation, pass_invocation, with_context
from bot.services.context import Context
from bot.services.imports import ImportRefused, ImportResult, import_sessions

RESULT_COLUMNS: Columns = ("patients", "sessions", "messages")


@click.group("import")
def import_group() -> None:
    """Bulk imports (for booking systems)."""


@import_group.command("sessions")
@click.argument("file", type=click.File("rb"))
@JSON_FLAG
@pass_invocation
def import_sessions_command(obj: Invocation, file: BinaryIO, as_json: bool) -> None:
    """Patients and sessions from a CSV file in UTF-8 (columns: patient, patient_id, language,
    timezone, treatment, starts_at, area, course). Every row is checked first; with any mistake
    nothing is imported and each bad row gets a line."""
    max_bytes = obj.settings.import_max_bytes

    async def work(ctx: Context) -> ImportResult:
        # the bar is for people at a terminal; scripts and --json get only the result
        hidden = as_json or not sys.stderr.isatty()
        with click.progressbar(length=1, label="importing", file=sys.stderr, hidden=hidden) as bar:

            def advance(rows: int, total: int) -> None:
                bar.length = max(total, 1)  # known once every row is checked
                bar.update(rows)

            return await import_sessions(ctx, file, advance, max_bytes=max_bytes)

    try:
        result = with_context(obj, work)
    except ImportRefused as refused:
        for problem in refused.problems:
            click.echo(f"error: {problem}", err=True)
        raise
    row: Row = {
        "patients": result.patients,
        "sessions": result.sessions,
        "messages": result.messages,
    }
    emit_row(as_json, row, RESULT_COLUMNS)
