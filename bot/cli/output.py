"""What a command prints: a table of rows under chosen columns, or the same data as JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import TypeAlias

import click

# One value in a table cell or a JSON field; None is a blank cell and JSON null.
Cell: TypeAlias = str | int | float | bool | None
# One line of a table, by column name: patients, messages, staff members …
Row: TypeAlias = Mapping[str, Cell]
# What --json prints: rows, and rows holding lists (a patient's sessions, a triage's reasons).
Json: TypeAlias = Cell | Sequence["Json"] | Mapping[str, "Json"]
# The keys of a row a table shows, in order; each heads its column in capitals.
Columns: TypeAlias = tuple[str, ...]

JSON_FLAG = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a trailing Z, as integrators expect; None stays None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def table_lines(rows: Sequence[Row], columns: Columns) -> list[str]:
    """Left-aligned columns as wide as their widest cell, two spaces apart, no trailing blanks."""
    if not rows:
        return ["(none)"]
    cells = [["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    body = [
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells
    ]
    return [header, *body]


def echo_table(rows: Sequence[Row], columns: Columns) -> None:
    for line in table_lines(rows, columns):
        click.echo(line)


def echo_json(data: Json) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def emit_row(as_json: bool, row: Row, columns: Columns) -> None:
    """One row: a JSON object, or a table of one line."""
    if as_json:
        echo_json(row)
    else:
        echo_table([row], columns)


def emit_rows(as_json: bool, rows: Sequence[Row], columns: Columns) -> None:
    """Rows: a JSON array, or a table ("(none)" when empty)."""
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, columns)
