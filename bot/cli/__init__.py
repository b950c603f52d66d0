"""The command line (`aftercare …`): patients, invites, sessions, schedules, staff, protocols.

One module per command group; `runner` is how each command runs (settings, service calls, errors
as one line), `output` what it prints (tables and JSON)."""

from bot.cli.root import cli, main

__all__ = ["cli", "main"]
