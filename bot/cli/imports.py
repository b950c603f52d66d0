"""`aftercare import …`: bulk imports from booking systems, all or nothing."""

from __future__ import annotations

import sys
from typing import TextIO

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
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@JSON_FLAG
@pass_invocation
def import_sessions_command(obj: Invocation, file: TextIO, as_json: bool) -> None:
    """Patients and sessions from a CSV file (columns: patient, patient_id, language,
    timezone, treatment, starts_at, area). Every row is checked first; with any mistake nothing
    is imported and each bad row gets a line."""
    text = file.read()
    total = max(0, text.count("\n") - 1)

    async def work(ctx: Context) -> ImportResult:
        # the bar is for people at a terminal; scripts and --json get only the result
        hidden = as_json or not sys.stderr.isatty()
        with click.progressbar(
            length=total, label="importing", file=sys.stderr, hidden=hidden
        ) as bar:
            return await import_sessions(ctx, text, bar.update)

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
