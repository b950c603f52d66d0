"""The inbox: every incoming update is stored before Telegram is told we have it, and each is
handed to exactly one process to handle."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnClause,
    CompoundSelect,
    Table,
    and_,
    bindparam,
    delete,
    false,
    func,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Update

from bot.db.models import InboundUpdate, Patient, StaffMember, UpdateStatus
from bot.services.context import Context

# an update not yet handled: stored, or claimed by a process
WAITING = (UpdateStatus.RECEIVED, UpdateStatus.HANDLING)


def chat_of(payload: dict[str, Any]) -> int | None:
    """The chat an update belongs to: a message's (a pressed button's message's), else the
    user's own (their private chat has their id). None for what no chat owns, such as a poll."""
    for key, content in payload.items():
        if key == "update_id" or not isinstance(content, dict):
            continue
        for holder in (content, content.get("message")):
            chat = holder.get("chat") if isinstance(holder, dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
        return _user_of(content)
    return None


def sender_of(payload: dict[str, Any]) -> int | None:
    """Who sent an update (a message's author, who pressed, whose membership changed)."""
    for key, content in payload.items():
        if key != "update_id" and isinstance(content, dict):
            return _user_of(content)
    return None


def _user_of(content: dict[str, Any]) -> int | None:
    for name in ("from", "user"):
        user = content.get(name)
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            return int(user["id"])
    return None


async def store(ctx: Context, updates: Sequence[dict[str, Any]]) -> int:
    """Stores a batch; an update seen before (same update_id) is kept once. Returns new ones.
    The batch is committed before this returns: only then may Telegram be told it arrived.
    Each update keeps its chat, and whether its sender was a stranger (neither a linked patient
    nor staff, outside the staff chat): strangers' updates wait until everyone else's are
    taken."""
    if not updates:
        return 0
    now = ctx.now()
    rows = {
        int(payload["update_id"]): {
            "update_id": int(payload["update_id"]),
            "received_at": now,
            "status": UpdateStatus.RECEIVED,
            "payload": payload,
            "chat_id": chat_of(payload),
            "is_stranger": False,
        }
        for payload in reversed(updates)  # the first of two copies wins
    }
    senders = {
        row["update_id"]: sender
        for row in rows.values()
        if row["chat_id"] != ctx.clinic.staff_chat_id
        and (sender := sender_of(row["payload"])) is not None
    }
    async with ctx.db.begin() as db:
        known = await _known_users(db, set(senders.values())) if senders else set()
        for update_id, sender in senders.items():
            rows[update_id]["is_stranger"] = sender not in known
        # one statement and one commit for the whole batch, whatever was stored before
        insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else postgresql_insert
        stmt = (
            insert(InboundUpdate)
            .values(sorted(rows.values(), key=lambda row: row["update_id"]))
            .on_conflict_do_nothing(index_elements=[InboundUpdate.update_id])
            .returning(InboundUpdate.update_id)
        )
        return len((await db.execute(stmt)).all())


async def _known_users(db: AsyncSession, users: set[int]) -> set[int]:
    """Those of `users` who are linked patients or staff."""
    stmt: CompoundSelect[int | None] = union_all(
        select(Patient.telegram_user_id).where(Patient.telegram_user_id.in_(users)),
        select(StaffMember.telegram_user_id).where(StaffMember.telegram_user_id.in_(users)),
    )
    return {int(user) for user in (await db.execute(stmt)).scalars() if user is not None}


# Written out (not bound) so that SQLite sees the claim's filter is its partial indexes' own.
_WAITING_VALUES: list[ColumnClause[Any]] = [literal_column(f"'{status}'") for status in WAITING]


def _waiting(row: Any) -> Any:
    return row.status.in_(_WAITING_VALUES)


def _claimable(row: Any, stale: Any) -> Any:
    # a claim older than the lease was left by a process that died while handling it
    return or_(
        row.status == UpdateStatus.RECEIVED,
        and_(row.status == UpdateStatus.HANDLING, row.processed_at < stale),
    )


@dataclass(frozen=True)
class Claimed:
    """An update claimed for this process: its content, chat and sender's standing."""

    update_id: int
    payload: dict[str, Any] | None
    chat_id: int | None
    is_stranger: bool
    status: UpdateStatus
    processed_at: dt.datetime | None


async def claim_next(
    ctx: Context, lease: dt.timedelta, *, strangers: bool = True
) -> Claimed | None:
    """Takes the oldest update that may be handled now, for this process alone; None when there
    is none. Several processes may call this at once: one conditional update decides, so each
    update is handed out once. While handling, `processed_at` is the claim's time; a claim older
    than `lease` is taken again (its process died mid-update).

    Each chat's updates are handled one at a time and in order: an update is taken only when no
    earlier update of its chat waits and none of its chat is being handled. Updates of known
    senders come before strangers'; with `strangers` False, strangers' are not taken at all."""
    async with ctx.db.begin() as db:
        return await _claim(db, ctx.now(), lease, strangers)


async def _claim(
    db: AsyncSession, now: dt.datetime, lease: dt.timedelta, strangers: bool
) -> Claimed | None:
    conn = await db.connection()
    stmt = _claim_statement(conn.dialect.name, strangers)
    row = (await conn.execute(stmt, {"now": now, "stale": now - lease})).first()
    return Claimed(*row) if row is not None else None


# The inbox's statements are built once (building the claim took longer than running it), on
# the table itself (the ORM's bookkeeping is not needed for rows nobody keeps); the values
# they differ by are bound when they run.
_TABLE: Table = InboundUpdate.__table__  # type: ignore[assignment]
_WHEN = InboundUpdate.processed_at.type


@functools.cache
def _claim_statement(dialect: str, strangers: bool) -> Update:
    """`now`: the claim's time; `stale`: a claim older than this is taken again."""
    now, stale = bindparam("now", type_=_WHEN), bindparam("stale", type_=_WHEN)
    this, other = _TABLE.alias("this"), _TABLE.alias("other")
    # an earlier update of the same chat not yet handled, or one of it being handled now; so
    # two of a chat are never handled at once, whichever processes claim
    ahead = (
        select(other.c.update_id)
        .where(
            other.c.chat_id == this.c.chat_id,
            _waiting(other.c),
            other.c.update_id != this.c.update_id,
            or_(
                other.c.update_id < this.c.update_id,
                and_(other.c.status == UpdateStatus.HANDLING, other.c.processed_at >= stale),
            ),
        )
        .exists()
    )
    first = (
        select(this.c.update_id)
        .where(_waiting(this.c), _claimable(this.c, stale), ~ahead)
        .order_by(this.c.is_stranger, this.c.update_id)
        .limit(1)
    )
    if not strangers:
        first = first.where(this.c.is_stranger == false())
    # PostgreSQL: concurrent claimers skip each other's row instead of queueing on it; an
    # update of a chat another claimer is taking is held back by the earlier one it waits
    # behind (still waiting in any snapshot). SQLite: the transaction is BEGIN IMMEDIATE, so
    # the claim runs under the write lock
    if dialect == "postgresql":
        first = first.with_for_update(skip_locked=True, of=this)
    table = _TABLE.c
    return (
        update(_TABLE)
        .where(table.update_id == first.scalar_subquery(), _claimable(table, stale))
        .values(status=UpdateStatus.HANDLING, processed_at=now)
        .returning(
            table.update_id,
            table.payload,
            table.chat_id,
            table.is_stranger,
            table.status,
            table.processed_at,
        )
    )


@functools.cache
def _finish_statement() -> Update:
    """`update_id`, its `status` (done or failed) and `now`."""
    table = _TABLE.c
    return (
        update(_TABLE)
        .where(table.update_id == bindparam("id", type_=table.update_id.type))
        .values(
            status=bindparam("outcome", type_=table.status.type),
            processed_at=bindparam("now", type_=_WHEN),
            payload=None,
        )
    )


async def give_back(ctx: Context, update_ids: Sequence[int]) -> int:
    """Updates this process claimed and stopped handling before the end (it is stopping): any
    process may take them at once, rather than after the lease. Handled again from the start,
    as after a crash; what was done already is not done twice (handlers are idempotent)."""
    async with ctx.db.begin() as db:
        result = await db.execute(
            update(InboundUpdate)
            .where(
                InboundUpdate.update_id.in_(update_ids),
                InboundUpdate.status == UpdateStatus.HANDLING,
            )
            .values(status=UpdateStatus.RECEIVED, processed_at=None)
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)


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
    ctx: Context,
    update_id: int,
    ok: bool,
    then_claim: dt.timedelta | None = None,
    *,
    strangers: bool = True,
) -> Claimed | None:
    """Marks an update handled and drops its content: only the id is kept, for idempotency.
    With `then_claim` (a lease), the next update is claimed in the same transaction, as
    claim_next would: one commit per update instead of two. Returns what was claimed."""
    async with ctx.db.begin() as db:
        now = ctx.now()
        conn = await db.connection()
        outcome = UpdateStatus.DONE if ok else UpdateStatus.FAILED
        await conn.execute(_finish_statement(), {"id": update_id, "outcome": outcome, "now": now})
        if then_claim is None:
            return None
        return await _claim(db, now, then_claim, strangers)
