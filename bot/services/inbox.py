"""The inbox: every incoming update is stored before Telegram is told we have it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.db.models import InboundUpdate, UpdateStatus
from bot.services.context import Context


async def store(ctx: Context, updates: Sequence[dict[str, Any]]) -> int:
    """Stores a batch; an update seen before (same update_id) is kept once. Returns new ones."""
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


async def pending(ctx: Context, limit: int = 100) -> Sequence[InboundUpdate]:
    async with ctx.db() as db:
        stmt = (
            select(InboundUpdate)
            .where(InboundUpdate.status == UpdateStatus.RECEIVED)
            .order_by(InboundUpdate.update_id)
            .limit(limit)
        )
        return (await db.execute(stmt)).scalars().all()


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
