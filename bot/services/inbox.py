"""The inbox: every incoming update is stored before Telegram is told we have it, and each is
handed to exactly one process to handle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.db.models import InboundUpdate, UpdateStatus
from bot.services.context import Context


async def store(ctx: Context, updates: Sequence[dict[str, Any]]) -> int:
    """Stores a batch; an update seen before (same update_id) is kept once. Returns new ones.
    Each is committed before this returns: only then may Telegram be told it arrived."""
    now = ctx.now()
    fresh = 0
    for payload in updates:
        try:
            async with ctx.db.begin() as db:
                db.add(
                    InboundUpdate(
                        update_id=int(payload["update_id"]),
                        received_at=now,
                        status=UpdateStatus.RECEIVED,
                        payload=payload,
                    )
                )
            fresh += 1
        except IntegrityError:
            continue
    return fresh


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
    now = ctx.now()
    async with ctx.db.begin() as db:
        candidate = (
            select(InboundUpdate.update_id)
            .where(_claimable(now, lease))
            .order_by(InboundUpdate.update_id)
            .limit(1)
        )
        # PostgreSQL: concurrent claimers skip each other's row instead of queueing on it;
        # SQLite: the transaction is BEGIN IMMEDIATE, so the claim runs under the write lock
        if db.get_bind().dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        update_id = (await db.execute(candidate)).scalar_one_or_none()
        if update_id is None:
            return None
        claimed = await db.execute(
            update(InboundUpdate)
            .where(InboundUpdate.update_id == update_id, _claimable(now, lease))
            .values(status=UpdateStatus.HANDLING, processed_at=now)
            .returning(InboundUpdate)
            .execution_options(synchronize_session=False)
        )
        return claimed.scalar_one_or_none()


async def last_update_id(ctx: Context) -> int | None:
    async with ctx.db() as db:
        stmt = select(InboundUpdate.update_id).order_by(InboundUpdate.update_id.desc()).limit(1)
        return (await db.execute(stmt)).scalar_one_or_none()


async def finish(ctx: Context, update_id: int, ok: bool) -> None:
    """Marks an update handled and drops its content: only the id is kept, for idempotency."""
    async with ctx.db.begin() as db:
        await db.execute(
            update(InboundUpdate)
            .where(InboundUpdate.update_id == update_id)
            .values(
                status=UpdateStatus.DONE if ok else UpdateStatus.FAILED,
                processed_at=ctx.now(),
                payload=None,
            )
        )
