"""The `aftercare` group with every command in one list, and the entry point."""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from bot.cli import (
    db,
    followup,
    imports,
    patient,
    protocol,
    running,
    session,
    staff,
    status,
    triage,
)
from bot.cli.runner import run_safely

# click lists them in --help by name, whatever the order here
COMMANDS: tuple[click.Command, ...] = (
    db.db_group,
    patient.patient_group,
    patient.invite,
    session.session_group,
    session.schedule,
    staff.staff_group,
    protocol.protocol_group,
    imports.import_group,
    triage.triage_command,
    followup.escalations_command,
    followup.checkins_command,
    status.status_command,
    running.run,
    running.demo,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, commands=COMMANDS)
def cli() -> None:
    """Aftercare follow-up bot for aesthetic clinics."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: every error is one line on stderr and a non-zero exit code."""
    # python-telegram-bot 22 warns on every 429 unless it may give retry_after as a timedelta
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    return run_safely(cli, argv)
