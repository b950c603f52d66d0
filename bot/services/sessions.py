"""Treatment sessions and their plans: add, move, cancel, and re-plan what is unsent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.db.models import MessageStatus, Patient, ScheduledMessage, SessionStatus, TreatmentSession
from bot.errors import BadInput, NotFound
from bot.services.context import Context
from bot.services.patients import find_patient
from bot.services.planning import apply_plan

STOPPED_REASON = "patient stopped"


@dataclass(frozen=True)
class SessionPlan:
    session: TreatmentSession
    messages: Sequence[ScheduledMessage]


def parse_local_time(text: str, zone: str) -> dt.datetime:
    """`2026-03-01 10:30` (the patient's local time) or an ISO time with an offset → aware UTC."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{text!r} is not a date and time like 2026-03-01 10:30") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    return when.astimezone(dt.UTC)


async def add_session(
    ctx: Context, patient_ref: str, treatment: str, starts_at: str | dt.datetime, area: str = ""
) -> SessionPlan:
    protocol = ctx.protocol(treatment)
    patient = await find_patient(ctx, patient_ref)
    start = (
        starts_at
        if isinstance(starts_at, dt.datetime)
        else parse_local_time(starts_at, patient.timezone)
    )
    now = ctx.now()
    async with ctx.db.begin() as db:
        session = TreatmentSession(
            patient_id=patient.id,
            treatment=protocol.treatment,
            area=(area.strip() or protocol.title)[:120],
            starts_at=start,
            status=SessionStatus.PLANNED,
            created_at=now,
        )
        db.add(session)
        await db.flush()
        messages = apply_plan(db, session, patient, [], ctx, now)
        queries.add_audit(
            db, now, "cli", "session.add", f"session:{session.id}", patient=patient.id
        )
    ctx.wake()
    return SessionPlan(session, messages)


async def _load_session(db: AsyncSession, session_id: int) -> tuple[TreatmentSession, Patient]:
    session = await db.get(TreatmentSession, session_id)
    if session is None:
        raise NotFound(f"no session with id {session_id}")
    patient = await db.get(Patient, session.patient_id)
    assert patient is not None
    return session, patient


async def move_session(ctx: Context, session_id: int, starts_at: str) -> SessionPlan:
    now = ctx.now()
    async with ctx.db.begin() as db:
        session, patient = await _load_session(db, session_id)
        if session.status == SessionStatus.CANCELLED:
            raise BadInput(f"session {session_id} is cancelled; add a new one instead")
        session.starts_at = parse_local_time(starts_at, patient.timezone)
        existing = list(await queries.messages_for_session(db, session.id))
        messages = apply_plan(db, session, patient, existing, ctx, now)
        queries.add_audit(db, now, "cli", "session.move", f"session:{session.id}")
    ctx.wake()
    return SessionPlan(session, messages)


async def cancel_session(ctx: Context, session_id: int) -> SessionPlan:
    now = ctx.now()
    async with ctx.db.begin() as db:
        session, _patient = await _load_session(db, session_id)
        if session.status == SessionStatus.CANCELLED:
            raise BadInput(f"session {session_id} is already cancelled")
        session.status = SessionStatus.CANCELLED
        messages = list(await queries.messages_for_session(db, session.id))
        for row in messages:
            if row.status == MessageStatus.PENDING:
                row.status = MessageStatus.CANCELLED
                row.last_error = "session cancelled"
        queries.add_audit(db, now, "cli", "session.cancel", f"session:{session.id}")
    return SessionPlan(session, messages)
