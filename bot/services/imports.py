"""CSV import of patients and sessions: every row checked first, then all or nothing.

A new patient's session starts a course of its own, and those rows are written in bulk. A
session of a patient already known may continue a course (the `course` column names a session
whose course it joins; otherwise the protocol's rule decides), so those rows are planned one by
one with their course, in order of start, as `session add` plans them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert
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
from bot.services.patients import check_timezone
from bot.services.planning import plan_course
from bot.services.sessions import parse_local_time

# rows planned and written together: one multi-row insert per table per chunk
CHUNK = 500
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


@dataclass(frozen=True)
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

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} rows have mistakes; nothing was imported")
        self.problems = problems


def read_rows(text: str) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadInput(
            f"the header needs the columns {', '.join(REQUIRED)} (missing: "
            f"{', '.join(missing)}); optional: patient, patient_id, language, "
            "timezone, area, course"
        )
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise BadInput(f"unknown column {unknown[0]!r} (known: {', '.join(COLUMNS)})")
    rows = []
    for number, raw in enumerate(reader, start=2):
        value = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        pid = value.get("patient_id", "")
        course = value.get("course", "")
        rows.append(
            Row(
                line=number,
                patient_id=int(pid) if pid.isdigit() else (-1 if pid else None),
                name=value.get("patient", ""),
                language=value.get("language") or None,
                timezone=value.get("timezone") or None,
                treatment=value.get("treatment", ""),
                starts_at=value.get("starts_at", ""),
                area=value.get("area", ""),
                course=int(course) if course.isdigit() else (-1 if course else None),
            )
        )
    return rows


async def import_sessions(
    ctx: Context, text: str, progress: Callable[[int], None] = lambda _n: None
) -> ImportResult:
    """Checks every row, then imports them all in one transaction (or none, with the reasons)."""
    rows = read_rows(text)
    problems: list[str] = []
    async with ctx.db() as db:
        existing = {
            p.id: p
            for p in [
                await queries.get_patient(db, r.patient_id)
                for r in rows
                if r.patient_id and r.patient_id > 0
            ]
            if p is not None
        }
        targets = await course_queries.sessions_by_id(
            db, {r.course for r in rows if r.course and r.course > 0}
        )
    for row in rows:
        problem = _check(ctx, row, existing, targets)
        if problem:
            problems.append(f"line {row.line}: {problem}")
    if problems:
        raise ImportRefused(problems)
    now = ctx.now()
    created = messages = 0
    new = [r for r in rows if r.patient_id is None]
    known = [r for r in rows if r.patient_id is not None]
    async with ctx.db.begin() as db:
        for start in range(0, len(new), CHUNK):
            chunk = new[start : start + CHUNK]
            created_now, messages_now = await _import_chunk(db, ctx, chunk, now)
            created, messages = created + created_now, messages + messages_now
            progress(len(chunk))
        # in order of start, so that the rule sees each course's sessions as they follow
        starts = {r.line: _start(r, existing) for r in known}
        for row in sorted(known, key=lambda r: (starts[r.line], r.line)):
            messages += await _import_in_course(db, ctx, row, existing, starts[row.line], now)
            progress(1)
        queries.add_audit(db, now, "cli", "import.sessions", "import", sessions=len(rows))
    ctx.wake()
    return ImportResult(created, len(rows), messages)


def _start(row: Row, existing: dict[int, Patient]) -> dt.datetime:
    assert row.patient_id is not None
    return parse_local_time(row.starts_at, existing[row.patient_id].timezone)


async def _import_in_course(
    db: AsyncSession,
    ctx: Context,
    row: Row,
    existing: dict[int, Patient],
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
    planned = await plan_course(
        db, ctx, session.course_id, now, subjects={session.id}, patient=existing[row.patient_id]
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
    ctx: Context, row: Row, existing: dict[int, Patient], targets: dict[int, TreatmentSession]
) -> str | None:
    if row.patient_id == -1:
        return "patient_id must be a number"
    if row.patient_id is not None and row.patient_id not in existing:
        return f"no patient with id {row.patient_id}"
    if row.patient_id is None and not row.name:
        return "a new patient needs a name in the patient column"
    if row.language and row.language not in ctx.i18n.languages:
        return f"language {row.language!r} is not shipped ({', '.join(ctx.i18n.languages)})"
    if row.timezone:
        try:
            check_timezone(row.timezone)
        except BadInput as err:
            return str(err)
    if row.treatment not in ctx.protocols:
        return f"unknown treatment {row.treatment!r} ({', '.join(sorted(ctx.protocols))})"
    zone = row.timezone or (existing[row.patient_id].timezone if row.patient_id else None)
    try:
        parse_local_time(row.starts_at, zone or ctx.clinic.timezone)
    except BadInput as err:
        return str(err)
    if row.course == -1:
        return "course must be the id of a session (a number), or empty"
    if row.course is not None:
        target = targets.get(row.course)
        if target is None:
            return f"course: no session with id {row.course}"
        problem = courses.refusal(target, row.patient_id, row.treatment)
        if problem:
            return f"course: {problem}"
    return None
