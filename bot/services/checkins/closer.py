"""A closer watch after a worrying report: one extra check-in, the protocol's `[closer_watch]`
counted from the report (docs/clinical.md#check-in-answer-times), cancelled when staff resolve
the alert as needing no action."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkin_queries
from bot.db.models import Audience, MessageKind, Patient, Report, TreatmentSession
from bot.domain.plan import PlanStatus, plan_after
from bot.domain.protocol import CLOSER_WATCH_KEY, Protocol, Step
from bot.services import outbox
from bot.services.context import Context


def is_closer_watch(key: str | None) -> bool:
    return key is not None and key.startswith(f"{CLOSER_WATCH_KEY}:")


def step_for(protocol: Protocol, key: str | None) -> Step | None:
    """The protocol step an outbox row or a check-in was planned from, closer watch included."""
    if key is None:
        return None
    if is_closer_watch(key):
        return protocol.closer_watch
    return next((s for s in protocol.steps if s.key == key), None)


async def queue_closer_watch(
    db: AsyncSession,
    ctx: Context,
    patient: Patient,
    session: TreatmentSession | None,
    report: Report,
    now: dt.datetime,
) -> None:
    """One at a time: a closer watch still to come is moved to follow the newest report."""
    protocol = ctx.protocols.get(session.treatment) if session else None
    step = protocol.closer_watch if protocol else None
    if session is None or step is None:
        return
    planned = plan_after(step, report.created_at, ZoneInfo(patient.timezone), ctx.clinic.quiet, now)
    if planned.status == PlanStatus.SKIPPED:
        return
    pending = await checkin_queries.pending_closer_watch(db, patient.id, f"{CLOSER_WATCH_KEY}:")
    if pending is not None:
        pending.due_at, pending.useful_until = planned.due_at, planned.useful_until
        return
    outbox.queue(
        db,
        outbox.Outgoing(
            MessageKind.CHECKIN,
            Audience.PATIENT,
            f"{CLOSER_WATCH_KEY}:{report.id}",
            planned.due_at,
            planned.useful_until,
            patient_id=patient.id,
            session_id=session.id,
        ),
        now,
    )
