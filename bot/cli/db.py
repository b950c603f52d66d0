"""`aftercare db …`: the database schema."""

from __future__ import annotations

import click

from bot.cli.runner import Invocation, pass_invocation
from bot.db.migrate import upgrade


@click.group("db")
def db_group() -> None:
    """The database."""


@db_group.command("upgrade")
@pass_invocation
def db_upgrade(obj: Invocation) -> None:
    """Create the database, or bring it to the newest schema."""
    upgrade(obj.settings.database_url)
    click.echo("database is up to date")
