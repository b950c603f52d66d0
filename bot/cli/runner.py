"""How every command runs: the settings read once, service calls on their own event loop, the
protocols by name, and every error as one line on stderr with a non-zero exit code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from bot import app
from bot.config import Settings, load_settings
from bot.domain.danger import DangerWordsError
from bot.domain.protocol import Protocol, ProtocolError
from bot.errors import AftercareError, ConfigError
from bot.services import protocols as shipped
from bot.services.context import Context
from bot.services.protocols import load_protocols

T = TypeVar("T")


class Invocation:
    """What one `aftercare …` shares between its groups and its command (click's `obj`)."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        # read on first use: `--help` and a usage mistake need no settings, and must not fail on one
        if self._settings is None:
            self._settings = load_settings()
        return self._settings


pass_invocation = click.make_pass_decorator(Invocation, ensure=True)


def with_context(obj: Invocation, work: Callable[[Context], Awaitable[T]]) -> T:
    """Runs one service call on a context over a fresh engine, closed before returning."""
    settings = obj.settings

    async def _run() -> T:
        async with app.open_context(settings) as ctx:
            return await work(ctx)

    return asyncio.run(_run())


def protocols(obj: Invocation) -> dict[str, Protocol]:
    """The protocols in use (shipped, and the clinic's own), without opening the database."""
    return load_protocols(obj.settings.protocols_dir)


def protocol_named(obj: Invocation, treatment: str) -> Protocol:
    """A protocol by name without a database (`protocol show`, `triage`): resolved by the same
    function as `Context.protocol`."""
    return shipped.protocol_named(protocols(obj), treatment)


def run_safely(command: click.Command, argv: Sequence[str] | None) -> int:
    """Runs the command line; every error is one line on stderr and a non-zero exit code."""
    try:
        command.main(
            args=list(argv) if argv is not None else None, standalone_mode=False, obj=Invocation()
        )
    except click.exceptions.Exit as err:
        return err.exit_code
    except click.ClickException as err:
        click.echo(f"error: {err.format_message()}", err=True)
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return 1
    except ConfigError as err:
        click.echo(f"error: {err}", err=True)
        return 2
    except (AftercareError, ProtocolError, DangerWordsError) as err:
        click.echo(f"error: {err}", err=True)
        return 1
    except SQLAlchemyError as err:
        first = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        click.echo(f"error: database: {first}", err=True)
        return 1
    return 0
