"""What commands print: tables sized to their cells, JSON as given, times in UTC with a Z."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from bot.cli.output import Columns, Row, emit_row, emit_rows, iso, table_lines


@pytest.mark.parametrize(
    ("rows", "columns", "lines"),
    [
        ([], ("id", "name"), ["(none)"]),
        ([{"id": 1, "name": "Anna"}], ("id", "name"), ["ID  NAME", "1   Anna"]),
        # a column is as wide as its header or its widest cell; the header keeps its padding
        (
            [{"id": 7, "name": "Al"}, {"id": 12345, "name": "Bo"}],
            ("id", "name"),
            ["ID     NAME", "7      Al", "12345  Bo"],
        ),
        # None, and a key the row lacks, are blank cells; trailing blanks are cut from rows
        (
            [{"id": 1, "last_error": None}, {"id": 2, "last_error": "429"}],
            ("id", "last_error", "sent_at"),
            ["ID  LAST_ERROR  SENT_AT", "1", "2   429"],
        ),
        # only the chosen columns, in their order, whatever else the row holds
        (
            [{"a": "x", "b": "y", "hidden": "z"}],
            ("b", "a"),
            ["B  A", "y  x"],
        ),
        # booleans and numbers as Python writes them; an empty string stays blank
        (
            [{"on_call": True, "hours": 2.5, "area": ""}],
            ("on_call", "hours", "area"),
            ["ON_CALL  HOURS  AREA", "True     2.5"],
        ),
        # width counts characters, not bytes
        ([{"name": "Zoé"}, {"name": "Li"}], ("name",), ["NAME", "Zoé", "Li"]),
    ],
)
def test_table_lines(rows: list[Row], columns: Columns, lines: list[str]) -> None:
    assert table_lines(rows, columns) == lines


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, None),
        (dt.datetime(2030, 3, 12, 14, 0, tzinfo=dt.UTC), "2030-03-12T14:00:00Z"),
        (dt.datetime(2030, 3, 12, 14, 0, 5, 250000, tzinfo=dt.UTC), "2030-03-12T14:00:05.250000Z"),
        # an aware time in another zone keeps its offset: callers pass UTC from the database
        (
            dt.datetime(2030, 3, 12, 15, 0, tzinfo=ZoneInfo("Europe/Paris")),
            "2030-03-12T15:00:00+01:00",
        ),
    ],
)
def test_iso(value: dt.datetime | None, shown: str | None) -> None:
    assert iso(value) == shown


ROW: Row = {"id": 1, "name": "Zoé", "consent_at": None}


@pytest.mark.parametrize(
    ("as_json", "printed"),
    [
        (False, "ID  NAME\n1   Zoé\n"),
        (True, '{\n  "id": 1,\n  "name": "Zoé",\n  "consent_at": null\n}\n'),
    ],
)
def test_emit_row(as_json: bool, printed: str, capsys: pytest.CaptureFixture[str]) -> None:
    emit_row(as_json, ROW, ("id", "name"))
    assert capsys.readouterr().out == printed


@pytest.mark.parametrize(
    ("rows", "as_json", "printed"),
    [
        ([], False, "(none)\n"),
        ([], True, "[]\n"),
        ([ROW, ROW], False, "ID  NAME\n1   Zoé\n1   Zoé\n"),
    ],
)
def test_emit_rows(
    rows: list[Row], as_json: bool, printed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    emit_rows(as_json, rows, ("id", "name"))
    assert capsys.readouterr().out == printed


def test_json_keeps_the_fields_the_table_leaves_out(capsys: pytest.CaptureFixture[str]) -> None:
    emit_rows(True, [ROW], ("id",))
    assert json.loads(capsys.readouterr().out) == [ROW]
