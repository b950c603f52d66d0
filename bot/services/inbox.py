"""The inbox: every incoming update is stored before Telegram is told we have it, and each is
handed to exactly one process to handle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import InboundUpdate, UpdateStatus
from bot.services.context import Context


async def store(ctx: Context, updates: Sequence[dict[str, Any]]) -> int:
    """Stores a batch; an update seen before (same update_id) is kept once. Returns new ones.
    The batch is committed before this returns: only then may Telegram be told it arrived."""
    if not updates:
        return 0
    now = ctx.now()
    rows = {
        int(payload["update_id"]): {
            "update_id": int(payload["update_id"]),
            "received_at": now,
            "status": UpdateStatus.RECEIVED,
            "payload": payload,
        }
        for payload in reversed(updates)  # the first of two copies wins
    }
    async with ctx.db.begin() as db:
        # one statement and one commit for the whole batch, whatever was stored before
        insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else postgresql_insert
        stmt = (
            insert(InboundUpdate)
            .values(sorted(rows.values(), key=lambda row: row["update_id"]))
            .on_conflict_do_nothing(index_elements=[InboundUpdate.update_id])
            .returning(InboundUpdate.update_id)
        )
        return len((await db.execute(stmt)).all())


def _claimable(now: dt.datetime, lease: dt.timedelta) -> Any:
    # a claim older than the lease was left by a process that died while handling it
    return or_(
        InboundUpdate.status == UpdateStatus.RECEIVED,
        and_(
            InboundUpdate.status == UpdateStatus.HANDLING,
            InboundUpdate.processed_at < now - lease,
        ),
    )


async def claim_next(ctx: Context, lease: dt.timedelta) -> InboundUpdate | None:
    """Takes the oldest update that nobody is handling, for this process alone; None when there
    is none. Several processes may call this at once (webhook mode): one conditional update
    decides, so each update is handed out once. While handling, `processed_at` is the claim's
    time; a claim older than `lease` is taken again (its process died mid-update)."""
    async with ctx.db.begin() as db:
        return await _claim(db, ctx.now(), lease)


async def _claim(db: AsyncSession, now: dt.datetime, lease: dt.timedelta) -> InboundUpdate | None:
    oldest = (
        select(InboundUpdate.update_id)
        .where(_claimable(now, lease))
        .order_by(InboundUpdate.update_id)
        .limit(1)
    )
    # PostgreSQL: concurrent claimers skip each other's row instead of queueing on it;
    # SQLite: the transaction is BEGIN IMMEDIATE, so the claim runs under the write lock
    if db.get_bind().dialect.name == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    claimed = await db.execute(
        update(InboundUpdate)
        .where(InboundUpdate.update_id == oldest.scalar_subquery(), _claimable(now, lease))
        .values(status=UpdateStatus.HANDLING, processed_at=now)
        .returning(InboundUpdate)
        .execution_options(synchronize_session=False)
    )
    return claimed.scalar_one_or_none()


# Telegram keeps an update for at most 24 hours: an id older than this never comes again, so
# there is nothing left to recognise it by.
KEEP_HANDLED = dt.timedelta(days=2)


async def prune(ctx: Context) -> int:
    """Forgets handled updates older than KEEP_HANDLED, keeping the newest (polling resumes
    after it), so the inbox holds two days of ids, not every update since the clinic started."""
    async with ctx.db.begin() as db:
        newest = select(func.max(InboundUpdate.update_id)).scalar_subquery()
        result = await db.execute(
            delete(InboundUpdate)
            .where(
                InboundUpdate.status.in_([UpdateStatus.DONE, UpdateStatus.FAILED]),
                InboundUpdate.processed_at < ctx.now() - KEEP_HANDLED,
                InboundUpdate.update_id != newest,
            )
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)


async def last_update_id(ctx: Context) -> int | None:
    async with ctx.db() as db:
        stmt = select(InboundUpdate.update_id).order_by(InboundUpdate.update_id.desc()).limit(1)
        return (await db.execute(stmt)).scalar_one_or_none()


async def finish(
    ctx: Context, update_id: int, ok: bool, then_claim: dt.timedelta | None = None
) -> InboundUpdate | None:
    """Marks an update handled and drops its content: only the id is kept, for idempotency.
    With `then_claim` (a lease), the next update is claimed in the same transaction, as
    claim_next would: one commit per update instead of two. Returns what was claimed."""
    async with ctx.db.begin() as db:
        now = ctx.now()
        await db.execute(
            update(InboundUpdate)
            .where(InboundUpdate.update_id == update_id)
            .values(
                status=UpdateStatus.DONE if ok else UpdateStatus.FAILED,
                processed_at=now,
                payload=None,
            )
            .execution_options(synchronize_session=False)
        )
        return await _claim(db, now, then_claim) if then_claim is not None else None
