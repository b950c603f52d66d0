"""CSV import of patients and sessions: every row checked first, then all or nothing."""

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

from bot.db import queries
from bot.db.models import (
    Patient,
    PatientStatus,
    SessionStatus,
    TreatmentSession,
)
from bot.domain.plan import plan_session
from bot.errors import BadInput
from bot.services import outbox
from bot.services.context import Context
from bot.services.patients import check_timezone
from bot.services.sessions import parse_local_time

# rows planned and written together: one multi-row insert per table per chunk
CHUNK = 500
# Core multi-row inserts on the tables: the ORM's bulk path costs more than the database does
_PATIENTS = cast(Table, Patient.__table__)
_SESSIONS = cast(Table, TreatmentSession.__table__)
COLUMNS = ("patient", "patient_id", "language", "timezone", "treatment", "starts_at", "area")
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
            "timezone, area"
        )
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise BadInput(f"unknown column {unknown[0]!r} (known: {', '.join(COLUMNS)})")
    rows = []
    for number, raw in enumerate(reader, start=2):
        value = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        pid = value.get("patient_id", "")
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
    for row in rows:
        problem = _check(ctx, row, existing)
        if problem:
            problems.append(f"line {row.line}: {problem}")
    if problems:
        raise ImportRefused(problems)
    now = ctx.now()
    created = messages = 0
    async with ctx.db.begin() as db:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            created_now, messages_now = await _import_chunk(db, ctx, chunk, existing, now)
            created, messages = created + created_now, messages + messages_now
            progress(len(chunk))
        queries.add_audit(db, now, "cli", "import.sessions", "import", sessions=len(rows))
    ctx.wake()
    return ImportResult(created, len(rows), messages)


async def _import_chunk(
    db: AsyncSession,
    ctx: Context,
    chunk: list[Row],
    existing: dict[int, Patient],
    now: dt.datetime,
) -> tuple[int, int]:
    """Plans a chunk of rows with three multi-row inserts (patients, sessions, messages): the
    plan is the same pure function `session add` uses, only the writes are batched."""
    connection = await db.connection()
    new = [r for r in chunk if r.patient_id is None]
    new_ids = iter(
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
                    for r in new
                ],
            )
        )
        .scalars()
        .all()
        if new
        else []
    )
    owners: list[tuple[int, str]] = []
    for row in chunk:
        if row.patient_id is None:
            owners.append((next(new_ids), row.timezone or ctx.clinic.timezone))
        else:
            owners.append((row.patient_id, existing[row.patient_id].timezone))
    starts = [
        parse_local_time(r.starts_at, zone) for r, (_pid, zone) in zip(chunk, owners, strict=True)
    ]
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
                    }
                    for r, (pid, _zone), when in zip(chunk, owners, starts, strict=True)
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
    return len(new), len(planned)


def _check(ctx: Context, row: Row, existing: dict[int, Patient]) -> str | None:
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
    return None
