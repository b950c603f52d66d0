"""Queries over the tables; each takes the session first and never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Audience,
    AuditEvent,
    MessageStatus,
    Patient,
    PatientStatus,
    ScheduledMessage,
    StaffMember,
    TreatmentSession,
)

# Rows a worker may send now: staff notices always, patient messages only to active patients
# (invited, paused, stopped and unreachable patients' messages are held).
SENDABLE = or_(
    ScheduledMessage.audience == Audience.STAFF,
    ScheduledMessage.patient_id.in_(
        select(Patient.id).where(Patient.status == PatientStatus.ACTIVE)
    ),
)


def add_audit(
    db: AsyncSession, at: dt.datetime, actor: str, action: str, subject: str, **detail: Any
) -> None:
    db.add(AuditEvent(at=at, actor=actor, action=action, subject=subject, detail=detail))


async def get_patient(db: AsyncSession, patient_id: int) -> Patient | None:
    return await db.get(Patient, patient_id)


async def patient_by_telegram(db: AsyncSession, telegram_user_id: int) -> Patient | None:
    stmt = select(Patient).where(Patient.telegram_user_id == telegram_user_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def staff_by_telegram(db: AsyncSession, telegram_user_id: int) -> StaffMember | None:
    stmt = select(StaffMember).where(StaffMember.telegram_user_id == telegram_user_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def messages_for_patient(db: AsyncSession, patient_id: int) -> Sequence[ScheduledMessage]:
    stmt = (
        select(ScheduledMessage)
        .where(ScheduledMessage.patient_id == patient_id)
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def messages_for_session(db: AsyncSession, session_id: int) -> Sequence[ScheduledMessage]:
    stmt = (
        select(ScheduledMessage)
        .where(ScheduledMessage.session_id == session_id)
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def sessions_for_patient(db: AsyncSession, patient_id: int) -> Sequence[TreatmentSession]:
    stmt = (
        select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient_id)
        .order_by(TreatmentSession.starts_at)
    )
    return (await db.execute(stmt)).scalars().all()


async def expire_overdue(db: AsyncSession, now: dt.datetime) -> int:
    """Pending messages past their useful time are marked expired, never sent late."""
    stmt = (
        update(ScheduledMessage)
        .where(
            ScheduledMessage.status == MessageStatus.PENDING,
            ScheduledMessage.useful_until <= now,
        )
        .values(status=MessageStatus.EXPIRED, last_error="no longer useful: not sent late")
        .execution_options(synchronize_session=False)
    )
    result = await db.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def claim_due(db: AsyncSession, now: dt.datetime, limit: int) -> list[int]:
    """Claims up to `limit` due rows for this worker; another worker never gets the same row.

    PostgreSQL: the rows are locked with FOR UPDATE SKIP LOCKED, so concurrent workers take
    disjoint rows without waiting. SQLite: the session runs in BEGIN IMMEDIATE, so the select and
    the conditional update below happen under the single write lock.
    """
    candidates = (
        select(ScheduledMessage.id)
        .where(
            ScheduledMessage.status == MessageStatus.PENDING,
            ScheduledMessage.due_at <= now,
            SENDABLE,
        )
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await db.execute(candidates)).scalars().all())
    if not ids:
        return []
    # the status condition makes the claim safe even if the lock above were missing
    stmt = (
        update(ScheduledMessage)
        .where(ScheduledMessage.id.in_(ids), ScheduledMessage.status == MessageStatus.PENDING)
        .values(status=MessageStatus.SENDING, claimed_at=now)
        .returning(ScheduledMessage.id)
        .execution_options(synchronize_session=False)
    )
    return sorted((await db.execute(stmt)).scalars().all())


async def next_due_at(db: AsyncSession) -> dt.datetime | None:
    stmt = (
        select(ScheduledMessage.due_at)
        .where(ScheduledMessage.status == MessageStatus.PENDING, SENDABLE)
        .order_by(ScheduledMessage.due_at)
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def stale_claims(db: AsyncSession, before: dt.datetime) -> Sequence[ScheduledMessage]:
    stmt = select(ScheduledMessage).where(
        ScheduledMessage.status == MessageStatus.SENDING,
        or_(ScheduledMessage.claimed_at.is_(None), ScheduledMessage.claimed_at < before),
    )
    return (await db.execute(stmt)).scalars().all()


async def upcoming_for_patient(
    db: AsyncSession, patient_id: int, now: dt.datetime, limit: int = 10
) -> Sequence[ScheduledMessage]:
    stmt = (
        select(ScheduledMessage)
        .where(
            and_(
                ScheduledMessage.patient_id == patient_id,
                ScheduledMessage.audience == Audience.PATIENT,
                ScheduledMessage.status == MessageStatus.PENDING,
                ScheduledMessage.useful_until > now,
            )
        )
        .order_by(ScheduledMessage.due_at)
        .limit(limit)
    )
    return (await db.execute(stmt)).scalars().all()


async def load_for_sending(db: AsyncSession, ids: Sequence[int]) -> list[object]:
    """Loads a batch of outbox rows with their patients and sessions in three queries, so the
    per-row look-ups that follow come from the session's identity map (which holds objects only
    while something refers to them: keep the returned list until the batch is done)."""
    if not ids:
        return []
    rows = (
        (await db.execute(select(ScheduledMessage).where(ScheduledMessage.id.in_(ids))))
        .scalars()
        .all()
    )
    patient_ids = {r.patient_id for r in rows if r.patient_id is not None}
    session_ids = {r.session_id for r in rows if r.session_id is not None}
    loaded: list[object] = list(rows)
    if patient_ids:
        stmt = select(Patient).where(Patient.id.in_(patient_ids))
        loaded += (await db.execute(stmt)).scalars().all()
    if session_ids:
        stmt2 = select(TreatmentSession).where(TreatmentSession.id.in_(session_ids))
        loaded += (await db.execute(stmt2)).scalars().all()
    return loaded
