"""Small builders for service tests: a linked, consenting patient with a session."""

from __future__ import annotations

import datetime as dt

from bot.db import queries
from bot.db.models import MessageStatus, Patient, PatientStatus, ScheduledMessage
from bot.services import patients, sessions
from bot.services.context import Context


async def active_patient(
    ctx: Context, telegram_user_id: int, timezone: str = "Europe/Paris", name: str = "Anna"
) -> Patient:
    patient = await patients.add_patient(ctx, name, "en", timezone)
    async with ctx.db.begin() as db:
        row = await db.get(Patient, patient.id)
        assert row is not None
        row.telegram_user_id = telegram_user_id
        row.status = PatientStatus.ACTIVE
        row.consent_at = ctx.now()
    return patient


async def with_session(
    ctx: Context, patient: Patient, starts_at: dt.datetime, treatment: str = "face"
) -> sessions.SessionPlan:
    return await sessions.add_session(ctx, str(patient.id), treatment, starts_at)


async def rows(ctx: Context, patient_id: int) -> list[ScheduledMessage]:
    async with ctx.db() as db:
        return list(await queries.messages_for_patient(db, patient_id))


async def statuses(ctx: Context, patient_id: int) -> dict[str, MessageStatus]:
    return {r.step_key: r.status for r in await rows(ctx, patient_id)}
