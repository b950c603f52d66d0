"""Queries over the tables; each takes the session first and never commits."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    Select,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db.models import (
    Audience,
    AuditEvent,
    ChatPace,
    MessageStatus,
    Patient,
    PatientStatus,
    Priority,
    ScheduledMessage,
    StaffMember,
    TreatmentSession,
)
from bot.db.types import UtcDateTime

# Rows a worker may send now: staff notices always, patient messages only to active patients
# (invited, paused, stopped and unreachable patients' messages are held). A correlated EXISTS,
# one primary-key look-up per candidate row: `patient_id IN (SELECT …)` under the OR made both
# databases read every patient on every wake-up (10–20 ms at 50,000 patients).
_sendable_patient = aliased(Patient, name="sendable_patient")
SENDABLE = or_(
    ScheduledMessage.audience == Audience.STAFF,
    select(_sendable_patient.id)
    .where(
        _sendable_patient.id == ScheduledMessage.patient_id,
        _sendable_patient.status == PatientStatus.ACTIVE,
    )
    .correlate(ScheduledMessage)
    .exists(),
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


def _chat_of_row() -> Any:
    """The Telegram chat a row goes to: its own chat (staff), else its patient's."""
    return func.coalesce(ScheduledMessage.chat_id, Patient.telegram_user_id)


def _due(now: dt.datetime | BindParameter[dt.datetime]) -> Any:
    return and_(
        ScheduledMessage.status == MessageStatus.PENDING,
        ScheduledMessage.due_at <= now,
        SENDABLE,
    )


async def claim_due(
    db: AsyncSession, now: dt.datetime, limit: int, hold_until: dt.datetime
) -> dict[int, int | None]:
    """Claims up to `limit` due rows for this worker, at most one per chat, skipping chats that
    are busy (a message in flight or sent within the last second, by any process), in order of
    priority, then due time; returns {row id: chat id}. The claimed chats are held until
    `hold_until` or until `pace_chats`.

    PostgreSQL: the rows are locked with FOR UPDATE SKIP LOCKED, so concurrent workers take
    disjoint rows without waiting, and the conditional upsert on `chat_pace` lets only one of
    them hold a chat. SQLite: the session runs in BEGIN IMMEDIATE, so all of it happens under
    the single write lock.
    """
    postgres = db.get_bind().dialect.name == "postgresql"
    found = await db.execute(_claim_candidates(limit * 4, postgres=postgres), {"now": now})
    picked: dict[int, int | None] = {}
    chats: set[int] = set()
    for row_id, chat_id in found.all():
        if chat_id is not None and chat_id in chats:
            continue  # one message per chat per claim: the next waits for this one's answer
        picked[row_id] = chat_id
        if chat_id is not None:
            chats.add(chat_id)
        if len(picked) >= limit:
            break
    if not picked:
        return {}
    held = await _hold_chats(db, sorted(chats), now, hold_until, postgres=postgres)
    wanted = [i for i, c in picked.items() if c is None or c in held]
    if not wanted:
        return {}
    # the status condition makes the claim safe even if the lock above were missing
    still_pending = ScheduledMessage.status == MessageStatus.PENDING
    if not postgres:
        # the same test written so that it is never looked up in an index: without statistics
        # SQLite walks the whole status index for `status = ?` (80 ms at a million pending
        # rows) instead of taking these few ids by primary key
        still_pending = ScheduledMessage.status.concat("") == MessageStatus.PENDING
    stmt = (
        update(ScheduledMessage)
        .where(ScheduledMessage.id.in_(wanted), still_pending)
        .values(status=MessageStatus.SENDING, claimed_at=now)
        .returning(ScheduledMessage.id)
        .execution_options(synchronize_session=False)
    )
    claimed = sorted((await db.execute(stmt)).scalars().all())
    return {i: picked[i] for i in claimed}


@functools.cache
def _claim_candidates(per_tier: int, *, postgres: bool) -> Select[Any]:
    """Due rows of chats that are free, `per_tier` at most of each priority, most pressing
    first, then by due time; `now` is a parameter. Built once: a statement this size costs more
    to build and key for the cache than to run.

    Tier by tier, most pressing first: a chat's next message is its most pressing one (an
    emergency alert before a reminder or a patient's words), and what a batch has room for
    goes the same way. Each tier is one range of the (status, priority, due_at) index, so a
    backlog is never sorted whole (sorting every due row by priority would read them all);
    the tiers go in one statement, one round trip. (A LATERAL join over the tiers, planned
    once on PostgreSQL, made it hash every active patient for SENDABLE: 5 ms, not 1.)"""
    now = bindparam("now", type_=UtcDateTime())
    chat = _chat_of_row()
    busy = select(ChatPace.chat_id).where(ChatPace.chat_id == chat, ChatPace.busy_until > now)
    tiers = []
    for tier in Priority:
        rows = (
            select(
                ScheduledMessage.id,
                chat.label("chat"),
                ScheduledMessage.priority,
                ScheduledMessage.due_at,
            )
            .outerjoin(Patient, Patient.id == ScheduledMessage.patient_id)
            .where(ScheduledMessage.priority == int(tier), _due(now), ~busy.exists())
            .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
            .limit(per_tier)
        )
        if postgres:
            rows = rows.with_for_update(of=ScheduledMessage, skip_locked=True)
        tiers.append(select(rows.subquery()))
    found = union_all(*tiers).subquery()
    return select(found.c.id, found.c.chat).order_by(found.c.priority, found.c.due_at, found.c.id)


async def _hold_chats(
    db: AsyncSession, chats: list[int], now: dt.datetime, until: dt.datetime, *, postgres: bool
) -> set[int]:
    """Holds each chat that is free now; returns the ones held. Concurrent callers on
    PostgreSQL wait on each other's row and then see it busy (chats are taken in order, so
    two callers never wait on each other in a cycle)."""
    if not chats:
        return set()
    insert = pg_insert if postgres else sqlite_insert
    stmt = insert(ChatPace).values([{"chat_id": c, "busy_until": until} for c in chats])
    upsert = stmt.on_conflict_do_update(
        index_elements=[ChatPace.chat_id],
        set_={"busy_until": stmt.excluded.busy_until},
        where=ChatPace.busy_until <= now,
    ).returning(ChatPace.chat_id)
    return set((await db.execute(upsert)).scalars().all())


async def pace_chats(db: AsyncSession, until: dict[int, dt.datetime]) -> None:
    """Sets when each chat may next be sent to (after an answer, or to release a hold)."""
    if until:
        rows = [{"chat_id": c, "busy_until": at} for c, at in sorted(until.items())]
        await db.execute(update(ChatPace), rows)  # an executemany by primary key


async def forget_idle_chats(db: AsyncSession, before: dt.datetime) -> int:
    result = await db.execute(
        delete(ChatPace)
        .where(ChatPace.busy_until < before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def next_due_at(db: AsyncSession, now: dt.datetime) -> dt.datetime | None:
    """When a pending row can next be claimed: its due time, or, for rows already due whose
    chat is busy, when that chat frees up."""
    # SENDABLE over a join: PostgreSQL plans its EXISTS here as a hash of every active patient
    # (it expects to test every pending row, not to stop at the first), 13 ms at 50,000
    stmt = (
        select(ScheduledMessage.due_at)
        .outerjoin(Patient, Patient.id == ScheduledMessage.patient_id)
        .where(
            ScheduledMessage.status == MessageStatus.PENDING,
            or_(
                ScheduledMessage.audience == Audience.STAFF,
                Patient.status == PatientStatus.ACTIVE,
            ),
        )
        .order_by(ScheduledMessage.due_at)
        .limit(1)
    )
    earliest = (await db.execute(stmt)).scalar_one_or_none()
    if earliest is None or earliest > now:
        return earliest
    chat = _chat_of_row()
    free = select(ScheduledMessage.id).outerjoin(Patient, Patient.id == ScheduledMessage.patient_id)
    free = free.where(
        _due(now),
        ~select(ChatPace.chat_id)
        .where(ChatPace.chat_id == chat, ChatPace.busy_until > now)
        .exists(),
    ).limit(1)
    if (await db.execute(free)).first() is not None:
        return earliest
    busy = (
        select(func.min(ChatPace.busy_until))
        .select_from(ScheduledMessage)
        .outerjoin(Patient, Patient.id == ScheduledMessage.patient_id)
        .join(ChatPace, ChatPace.chat_id == chat)
        .where(_due(now), ChatPace.busy_until > now)
    )
    return (await db.execute(busy)).scalar_one_or_none() or earliest


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
