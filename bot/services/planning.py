"""A session's plan in the outbox: the protocol's steps written as rows, and unsent rows
re-planned when the session moves or the patient's zone or status changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.db.models import UNSENT, Patient, ScheduledMessage, SessionStatus, TreatmentSession
from bot.domain.plan import plan_session
from bot.services import outbox
from bot.services.context import Context


async def replan_patient(
    db: AsyncSession, ctx: Context, patient: Patient, now: dt.datetime
) -> None:
    """After /resume or a new zone: the patient's planned sessions get their unsent steps
    planned again."""
    for session in await queries.sessions_for_patient(db, patient.id):
        if session.status == SessionStatus.PLANNED:
            existing = list(await queries.messages_for_session(db, session.id))
            apply_plan(db, session, patient, existing, ctx, now)


def apply_plan(
    db: AsyncSession,
    session: TreatmentSession,
    patient: Patient,
    existing: list[ScheduledMessage],
    ctx: Context,
    now: dt.datetime,
) -> list[ScheduledMessage]:
    """Writes the protocol's plan as outbox rows: new steps added, unsent ones rewritten."""
    protocol = ctx.protocol(session.treatment)
    plan = plan_session(
        protocol, session.starts_at, ZoneInfo(patient.timezone), ctx.clinic.quiet, now
    )
    by_step = {row.step_key: row for row in existing}
    for item in plan:
        row = by_step.get(item.step_key)
        if row is None:
            by_step[item.step_key] = outbox.queue(
                db, outbox.planned(item, session.id, patient.id), now
            )
        elif row.status in UNSENT:
            outbox.replan(row, item)
    return sorted(by_step.values(), key=lambda r: (r.due_at, r.step_key))
