"""CSV import of patients and sessions: every row checked first, then all or nothing.

The file is read as a stream, twice: once to check every row (keeping only what the checks need
and the mistakes), then again to write the rows in one transaction; so memory stays flat
whatever its length. A new patient's session starts a course of its own, and those rows are
written in bulk. A session of a patient already known may continue a course (the `course`
column names a session whose course it joins; otherwise the protocol's rule decides), so those
rows are planned one by one with their course, in order of start, as `session add` plans them."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import tempfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import IO, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import course_queries, queries
from bot.db.models import (
    Course,
    Patient,
    PatientStatus,
    SessionStatus,
    TreatmentSession,
)
from bot.domain.plan import plan_session
from bot.errors import BadInput
from bot.services import courses, outbox
from bot.services.context import Context
from bot.services.inputs import check_name, hidden_character, is_record_id
from bot.services.patients import check_timezone
from bot.services.planning import plan_course
from bot.services.sessions import parse_local_time

# rows checked and written together: one query per chunk for what the checks look up, one
# multi-row insert per table per chunk
CHUNK = 500
# the longest row taken, in characters: a real row is well under 1,000 (a name is at most 200);
# a longer one (a 300 KB field, a file without line breaks) is refused before it is held
MAX_ROW = 4096
# mistakes listed one a line; past this many, the rest are counted
MAX_PROBLEMS = 100
# what a file may weigh when no setting says otherwise (AFTERCARE_IMPORT_MAX_BYTES)
MAX_BYTES = 50 * 1024 * 1024
_SPOOL_BLOCK = 64 * 1024
# Core multi-row inserts on the tables: the ORM's bulk path costs more than the database does
_PATIENTS = cast(Table, Patient.__table__)
_SESSIONS = cast(Table, TreatmentSession.__table__)
_COURSES = cast(Table, Course.__table__)
COLUMNS = (
    "patient",
    "patient_id",
    "language",
    "timezone",
    "treatment",
    "starts_at",
    "area",
    "course",
)
REQUIRED = ("treatment", "starts_at")
# (rows just done, rows in the file): for a progress bar
Progress = Callable[[int, int], None]
# what both passes read is summed up, so that the second can tell the file did not change
Checksum = Callable[[bytes], None]


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    patient_id: int | None
    name: str
    language: str | None
    timezone: str | None
    treatment: str
    starts_at: str
    area: str
    # the id of a session whose course this one joins; -1: not a number
    course: int | None = None


@dataclass(frozen=True)
class ImportResult:
    patients: int
    sessions: int
    messages: int


class ImportRefused(BadInput):
    """The file has mistakes; nothing was imported. One line per mistake."""

    def __init__(self, problems: list[str], count: int | None = None) -> None:
        count = len(problems) if count is None else count
        super().__init__(f"{count:,} rows have mistakes; nothing was imported")
        self.problems = problems


class _RowTooLong(Exception):
    pass


class _Lines:
    """The file's lines for the csv reader, at most MAX_ROW characters a row: a longer row is
    refused before it is read whole. Knows the line each row starts on."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self.lines = 0
        self.row_line = 1
        self._row: list[str] = []
        self._size = 0

    def start_row(self) -> None:
        self.row_line = self.lines + 1
        self._row.clear()
        self._size = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self._text.readline(MAX_ROW + 1 - self._size)
        if not line:
            raise StopIteration
        self.lines += 1
        self._row.append(line)
        self._size += len(line)
        if self._size > MAX_ROW:
            raise _RowTooLong
        return line

    def overflowing_column(self) -> int:
        """The column (from 1) the row was in when it ran over: the last of what was read."""
        try:
            fields = next(csv.reader(io.StringIO("".join(self._row)[:MAX_ROW])), [""])
        except csv.Error:
            return 1
        return max(1, len(fields))


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _not_utf8(fields: list[str]) -> int | None:
    """The column (from 1) of the first field that was not UTF-8 in the file, or None."""
    for number, field in enumerate(fields, start=1):
        if not field.isascii():
            try:
                field.encode("utf-8")
            except UnicodeEncodeError:  # bytes that were not UTF-8, kept as lone surrogates
                return number
    return None


def _records(source: IO[bytes], checksum: Checksum) -> Generator[tuple[int, list[str]]]:
    """(line, fields) for each row of the file, the header first; one row in memory at a time."""
    source.seek(0)
    text = io.TextIOWrapper(source, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        lines = _Lines(text)
        reader = csv.reader(lines)
        while True:
            lines.start_row()
            try:
                fields = next(reader)
            except StopIteration:
                return
            except _RowTooLong:
                raise _TooLong(lines.row_line, lines.overflowing_column()) from None
            except csv.Error as err:
                raise BadInput(f"line {lines.row_line}: not a CSV row ({err})") from None
            if fields:
                checksum("\x1f".join(fields).encode("utf-8", "surrogateescape") + b"\x1e")
                yield lines.row_line, fields
    finally:
        with contextlib.suppress(ValueError):  # the file was closed already
            text.detach()


class _TooLong(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line, self.column = line, column


def _header(records: Iterator[tuple[int, list[str]]]) -> list[str]:
    found = next(records, None)
    header = [h.strip() for h in found[1]] if found else []
    bad = _not_utf8(header)
    if bad is not None:
        raise BadInput(f"not UTF-8 at line 1, column {bad}: save the file as UTF-8")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadInput(
            f"the header needs the columns {', '.join(REQUIRED)} (missing: "
            f"{', '.join(missing)}); optional: patient, patient_id, language, "
            "timezone, area, course"
        )
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise BadInput(f"unknown column {_shown(unknown[0])} (known: {', '.join(COLUMNS)})")
    twice = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if twice is not None:
        raise BadInput(f"the column {twice!r} appears twice in the header")
    return header


# what an id column holds when it is not an id: not a number, or a number no row can have
NOT_A_NUMBER, NO_SUCH_ID = -1, -2


def _number(text: str) -> int | None:
    """A row's id column: None when empty."""
    if not text:
        return None
    if not text.isdigit():
        return NOT_A_NUMBER
    if len(text) > 19 or not is_record_id(int(text)):
        return NO_SUCH_ID
    return int(text)


def _row(line: int, header: list[str], fields: list[str]) -> Row | str:
    """The row, or what is wrong with it that no lookup is needed to tell."""
    bad = _not_utf8(fields)
    if bad is not None:
        name = f" ({header[bad - 1]})" if bad <= len(header) else ""
        return f"not UTF-8 at column {bad}{name}: save the file as UTF-8"
    if len(fields) > len(header) and any(f.strip() for f in fields[len(header) :]):
        return f"{len(fields)} values for {len(header)} columns (a comma in an unquoted value?)"
    value = {h: f.strip() for h, f in zip(header, fields, strict=False)}
    return Row(
        line=line,
        patient_id=_number(value.get("patient_id", "")),
        name=value.get("patient", ""),
        language=value.get("language") or None,
        timezone=value.get("timezone") or None,
        treatment=value.get("treatment", ""),
        starts_at=value.get("starts_at", ""),
        area=value.get("area", ""),
        course=_number(value.get("course", "")),
    )


def _rows(source: IO[bytes], checksum: Checksum) -> Generator[Row | tuple[int, str]]:
    """Each row, or (line, what is wrong with it)."""
    with contextlib.closing(_records(source, checksum)) as records:
        header = _header(records)
        for line, fields in records:
            row = _row(line, header, fields)
            yield (line, row) if isinstance(row, str) else row


@contextlib.contextmanager
def _spooled(source: str | bytes | IO[bytes], max_bytes: int) -> Iterator[IO[bytes]]:
    """A file the import can read twice, no larger than `max_bytes`: the file itself when it
    can seek, else a temporary copy (standard input)."""
    if isinstance(source, str):
        source = source.encode("utf-8", "surrogateescape")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    too_big = BadInput(
        f"the file is larger than {max_bytes:,} bytes (AFTERCARE_IMPORT_MAX_BYTES): split it, "
        "or raise the setting"
    )
    if source.seekable():
        if source.seek(0, io.SEEK_END) > max_bytes:
            raise too_big
        yield source
        return
    with tempfile.TemporaryFile() as copy:
        size = 0
        while block := source.read(_SPOOL_BLOCK):
            size += len(block)
            if size > max_bytes:
                raise too_big
            copy.write(block)
        yield copy


async def import_sessions(
    ctx: Context,
    source: str | bytes | IO[bytes],
    progress: Progress = lambda _n, _total: None,
    *,
    max_bytes: int = MAX_BYTES,
) -> ImportResult:
    """Checks every row, then imports them all in one transaction (or none, with the reasons).
    `source`: the CSV file (binary, UTF-8), or its text."""
    try:
        with _spooled(source, max_bytes) as spooled:
            total, checked = await _check_all(ctx, spooled)
            return await _import_all(ctx, spooled, total, checked, progress)
    except _TooLong as too_long:
        raise BadInput(
            f"line {too_long.line}, column {too_long.column}: a row longer than "
            f"{MAX_ROW:,} characters; nothing was imported"
        ) from None


async def _check_all(ctx: Context, source: IO[bytes]) -> tuple[int, bytes]:
    """The first pass: every row checked, a chunk at a time; (rows, the file's checksum)."""
    problems: list[str] = []
    count = total = 0
    zones: dict[int, str] = {}  # known patients' zones, all the checks need of them
    checksum = hashlib.sha256()
    chunk: list[Row] = []

    def note(line: int, problem: str) -> None:
        nonlocal count
        count += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append(f"line {line}: {problem}")

    async def check_chunk() -> None:
        async with ctx.db() as db:
            wanted = {
                r.patient_id
                for r in chunk
                if r.patient_id and r.patient_id > 0 and r.patient_id not in zones
            }
            if wanted:
                stmt = select(Patient.id, Patient.timezone).where(Patient.id.in_(sorted(wanted)))
                zones.update({pid: zone for pid, zone in (await db.execute(stmt)).all()})
            targets = await course_queries.sessions_by_id(
                db, {r.course for r in chunk if r.course and r.course > 0}
            )
        for row in chunk:
            problem = _check(ctx, row, zones, targets)
            if problem:
                note(row.line, problem)
        chunk.clear()

    with contextlib.closing(_rows(source, checksum.update)) as rows:
        for row in rows:
            total += 1
            if isinstance(row, tuple):
                note(*row)
                continue
            chunk.append(row)
            if len(chunk) >= CHUNK:
                await check_chunk()
    await check_chunk()
    if count:
        more = count - len(problems)
        if more:
            problems.append(f"… and {more:,} more rows with mistakes")
        raise ImportRefused(problems, count)
    return total, checksum.digest()


async def _import_all(
    ctx: Context, source: IO[bytes], total: int, checked: bytes, progress: Progress
) -> ImportResult:
    """The second pass, in one transaction: new patients' rows in bulk as they come, known
    patients' rows afterwards, in order of start."""
    now = ctx.now()
    created = messages = 0
    checksum = hashlib.sha256()
    # a known patient's row: (start, line, row); kept until the end, to be taken in order
    known: list[tuple[dt.datetime, int, Row]] = []
    chunk: list[Row] = []
    async with ctx.db.begin() as db:

        async def write_chunk() -> None:
            nonlocal created, messages
            if chunk:
                created_now, messages_now = await _import_chunk(db, ctx, chunk, now)
                created, messages = created + created_now, messages + messages_now
                progress(len(chunk), total)
                chunk.clear()

        # a known patient's zone; the patient itself is read again for each of their rows, so
        # that the session holds no more than the row in hand
        zones: dict[int, str] = {}
        with contextlib.closing(_rows(source, checksum.update)) as rows:
            for row in rows:
                assert not isinstance(row, tuple), "checked in the first pass"
                if row.patient_id is None:
                    chunk.append(row)
                    if len(chunk) >= CHUNK:
                        await write_chunk()
                    continue
                zone = zones.get(row.patient_id)
                if zone is None:
                    stmt = select(Patient.timezone).where(Patient.id == row.patient_id)
                    zone = zones[row.patient_id] = (await db.execute(stmt)).scalar_one()
                known.append((parse_local_time(row.starts_at, zone), row.line, row))
        await write_chunk()
        if checksum.digest() != checked:
            raise BadInput("the file changed while it was being imported; nothing was imported")
        # in order of start, so that the rule sees each course's sessions as they follow
        known.sort(key=lambda k: (k[0], k[1]))
        for start, _line, row in known:
            messages += await _import_in_course(db, ctx, row, start, now)
            progress(1, total)
        queries.add_audit(db, now, "cli", "import.sessions", "import", sessions=total)
    ctx.wake()
    return ImportResult(created, total, messages)


async def _import_in_course(
    db: AsyncSession,
    ctx: Context,
    row: Row,
    start: dt.datetime,
    now: dt.datetime,
) -> int:
    """A known patient's session, placed in its course and planned with it (as `session add`);
    returns how many messages it has."""
    assert row.patient_id is not None
    session = TreatmentSession(
        patient_id=row.patient_id,
        treatment=row.treatment,
        area=(row.area or ctx.protocol(row.treatment).title)[:120],
        starts_at=start,
        status=SessionStatus.PLANNED,
        created_at=now,
    )
    db.add(session)
    await db.flush()
    await courses.assign_course(db, ctx, session, now, join=row.course)
    assert session.course_id is not None
    patient = await queries.get_patient(db, row.patient_id)
    assert patient is not None, "checked in the first pass"
    planned = await plan_course(
        db, ctx, session.course_id, now, subjects={session.id}, patient=patient
    )
    return len(planned[session.id])


async def _import_chunk(
    db: AsyncSession, ctx: Context, chunk: list[Row], now: dt.datetime
) -> tuple[int, int]:
    """Plans a chunk of new patients' rows with four multi-row inserts (patients, courses,
    sessions, messages): the plan is the same pure function `session add` uses, only the writes
    are batched."""
    connection = await db.connection()
    patient_ids = (
        (
            await connection.execute(
                insert(_PATIENTS).returning(_PATIENTS.c.id, sort_by_parameter_order=True),
                [
                    {
                        "name": r.name,
                        "language": r.language or ctx.clinic.default_language,
                        "is_language_set": r.language is not None,
                        "timezone": r.timezone or ctx.clinic.timezone,
                        "status": PatientStatus.INVITED,
                        "created_at": now,
                    }
                    for r in chunk
                ],
            )
        )
        .scalars()
        .all()
    )
    owners = [
        (pid, r.timezone or ctx.clinic.timezone) for r, pid in zip(chunk, patient_ids, strict=True)
    ]
    starts = [
        parse_local_time(r.starts_at, zone) for r, (_pid, zone) in zip(chunk, owners, strict=True)
    ]
    # a new patient's session: a course of its own
    course_ids = (
        (
            await connection.execute(
                insert(_COURSES).returning(_COURSES.c.id, sort_by_parameter_order=True),
                [
                    {"patient_id": pid, "treatment": r.treatment, "created_at": now}
                    for r, (pid, _zone) in zip(chunk, owners, strict=True)
                ],
            )
        )
        .scalars()
        .all()
    )
    session_ids = (
        (
            await connection.execute(
                insert(_SESSIONS).returning(_SESSIONS.c.id, sort_by_parameter_order=True),
                [
                    {
                        "patient_id": pid,
                        "treatment": r.treatment,
                        "area": (r.area or ctx.protocol(r.treatment).title)[:120],
                        "starts_at": when,
                        "status": SessionStatus.PLANNED,
                        "created_at": now,
                        "course_id": course_id,
                        "course_number": 1,
                    }
                    for r, (pid, _zone), when, course_id in zip(
                        chunk, owners, starts, course_ids, strict=True
                    )
                ],
            )
        )
        .scalars()
        .all()
    )
    planned = [
        outbox.planned(item, sid, pid)
        for row, (pid, zone), when, sid in zip(chunk, owners, starts, session_ids, strict=True)
        for item in plan_session(
            ctx.protocol(row.treatment), when, ZoneInfo(zone), ctx.clinic.quiet, now
        )
    ]
    await outbox.queue_many(connection, planned, now)
    return len(chunk), len(planned)


def _check(
    ctx: Context, row: Row, zones: dict[int, str], targets: dict[int, TreatmentSession]
) -> str | None:
    if row.patient_id == NOT_A_NUMBER:
        return "patient_id must be a number"
    if row.patient_id == NO_SUCH_ID or (row.patient_id is not None and row.patient_id not in zones):
        return (
            f"no patient with id {row.patient_id if row.patient_id != NO_SUCH_ID else 'so large'}"
        )
    if row.patient_id is None and not row.name:
        return "a new patient needs a name in the patient column"
    if row.name:
        try:
            check_name(row.name, "a patient")
        except BadInput as err:
            return str(err)
    bad = hidden_character(row.area)
    if bad is not None:
        return f"the area has a control character (U+{ord(bad):04X})"
    if row.language and row.language not in ctx.i18n.languages:
        return f"language {_shown(row.language)} is not shipped ({', '.join(ctx.i18n.languages)})"
    if row.timezone:
        try:
            check_timezone(row.timezone)
        except BadInput:
            return f"unknown time zone {_shown(row.timezone)} (use a name like Europe/Paris)"
    if row.treatment not in ctx.protocols:
        return f"unknown treatment {_shown(row.treatment)} ({', '.join(sorted(ctx.protocols))})"
    zone = row.timezone or (zones[row.patient_id] if row.patient_id else None)
    try:
        parse_local_time(row.starts_at, zone or ctx.clinic.timezone)
    except BadInput as err:
        return str(err)
    if row.course == NOT_A_NUMBER:
        return "course must be the id of a session (a number), or empty"
    if row.course is not None:
        target = targets.get(row.course)
        if target is None:
            shown = row.course if row.course != NO_SUCH_ID else "so large"
            return f"course: no session with id {shown}"
        problem = courses.refusal(target, row.patient_id, row.treatment)
        if problem:
            return f"course: {problem}"
    return None
