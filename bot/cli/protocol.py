"""`aftercare protocol …`: the protocols in use, and checking a clinic's own file."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.output import JSON_FLAG, Columns, Row, echo_json, echo_table, emit_rows
from bot.cli.runner import Invocation, pass_invocation, protocol_named, protocols
from bot.domain.protocol import Protocol, format_duration
from bot.i18n import I18n
from bot.services.protocols import load_protocol_file, missing_translations

PROTOCOL_COLUMNS: Columns = ("treatment", "title", "steps", "source")
STEP_COLUMNS: Columns = ("step", "kind", "offset", "window", "useful_for")


def step_rows(p: Protocol) -> list[Row]:
    return [
        {
            "step": s.key,
            "kind": str(s.kind),
            "offset": format_duration(s.offset),
            "window": f"{s.window.start:%H:%M}-{s.window.end:%H:%M}" if s.window else None,
            "useful_for": format_duration(s.useful_for),
            "text": s.text,
        }
        for s in p.steps
    ]


@click.group("protocol")
def protocol_group() -> None:
    """Aftercare protocols."""


@protocol_group.command("list")
@JSON_FLAG
@pass_invocation
def protocol_list(obj: Invocation, as_json: bool) -> None:
    """List the protocols in use (shipped, and the clinic's own)."""
    rows: list[Row] = [
        {"treatment": p.treatment, "title": p.title, "steps": len(p.steps), "source": p.source}
        for p in sorted(protocols(obj).values(), key=lambda p: p.treatment)
    ]
    emit_rows(as_json, rows, PROTOCOL_COLUMNS)


@protocol_group.command("show")
@click.argument("treatment")
@JSON_FLAG
@pass_invocation
def protocol_show(obj: Invocation, treatment: str, as_json: bool) -> None:
    """Show a protocol's steps."""
    p = protocol_named(obj, treatment)
    if as_json:
        echo_json({"treatment": p.treatment, "title": p.title, "steps": step_rows(p)})
        return
    click.echo(f"{p.title} ({p.treatment}) — {p.source}")
    echo_table(step_rows(p), STEP_COLUMNS)


@protocol_group.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@pass_invocation
def protocol_check(obj: Invocation, file: Path) -> None:
    """Check a protocol file; its mistakes are named with the step and field."""
    p = load_protocol_file(file)
    click.echo(f"{file}: ok — {p.treatment}, {len(p.steps)} steps")
    i18n = I18n.shipped(obj.settings.default_language)
    default = i18n.default
    for step, langs in missing_translations(p, i18n).items():
        click.echo(
            f"  step {step!r}: no text in {', '.join(langs)} — those patients get the "
            f"{default} text"
        )
