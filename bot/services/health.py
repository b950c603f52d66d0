"""Health: leases for one-process-at-a-time work, heartbeats, `aftercare status`, the watchdog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.db.models import (
    Escalation,
    EscalationStatus,
    Heartbeat,
    Lease,
    MessageStatus,
    ScheduledMessage,
    StaffMember,
)
from bot.services import enrolment
from bot.services.context import Context
from bot.services.notices import queue_staff_notice

# Falling this far behind is a problem staff must hear about (a stalled dispatcher, a backlog).
BEHIND = dt.timedelta(minutes=5)
# The watchdog tells staff at most this often about the same trouble.
ALERT_EVERY = dt.timedelta(hours=1)


async def take_lease(ctx: Context, name: str, holder: str, real_seconds: float) -> bool:
    """Takes or renews the lease `name` for `holder`; False while another holder has it."""
    now = ctx.now()
    until = now + dt.timedelta(seconds=ctx.clock.simulated_seconds(real_seconds))
    try:
        async with ctx.db.begin() as db:
            lease = await db.get(Lease, name, with_for_update=True)
            if lease is None:
                db.add(Lease(name=name, holder=holder, expires_at=until))
                return True
            if lease.holder != holder and lease.expires_at > now:
                return False
            lease.holder, lease.expires_at = holder, until
            return True
    except IntegrityError:
        return False  # another process created it at the same moment: it holds it


async def release_lease(ctx: Context, name: str, holder: str) -> None:
    async with ctx.db.begin() as db:
        lease = await db.get(Lease, name, with_for_update=True)
        if lease is not None and lease.holder == holder:
            await db.delete(lease)


# Each running process says it is alive this often (real seconds); one silent for PRESENCE_TTL
# is gone, and the others take over its share of Telegram's rate.
PRESENCE_EVERY = 3.0
PRESENCE_TTL = 10.0
_PROCESS = "process:"


async def announce(ctx: Context, process: str) -> int:
    """Marks `process` alive; returns how many processes are alive, this one included."""
    await beat(ctx, _PROCESS + process)
    return await live_processes(ctx)


async def live_processes(ctx: Context) -> int:
    since = ctx.now() - dt.timedelta(seconds=ctx.clock.simulated_seconds(PRESENCE_TTL))
    async with ctx.db() as db:
        stmt = select(func.count()).where(
            Heartbeat.name.startswith(_PROCESS, autoescape=True), Heartbeat.at > since
        )
        return int((await db.execute(stmt)).scalar_one())


async def retire(ctx: Context, process: str) -> None:
    """A process stopping cleanly: the others need not wait for its presence to run out."""
    async with ctx.db.begin() as db:
        await db.execute(delete(Heartbeat).where(Heartbeat.name == _PROCESS + process))
    # and processes that died long ago leave no rows behind
    async with ctx.db.begin() as db:
        old = ctx.now() - dt.timedelta(days=1)
        await db.execute(
            delete(Heartbeat).where(
                Heartbeat.name.startswith(_PROCESS, autoescape=True), Heartbeat.at < old
            )
        )


async def beat(ctx: Context, name: str, **detail: object) -> None:
    now = ctx.now()
    try:
        async with ctx.db.begin() as db:
            row = await db.get(Heartbeat, name, with_for_update=True)
            if row is None:
                db.add(Heartbeat(name=name, at=now, detail=detail))
            else:
                row.at, row.detail = now, detail
    except IntegrityError:
        return  # two processes beat at once: either beat says the same


@dataclass
class Health:
    backlog: int
    oldest_due_at: dt.datetime | None
    uncertain: int
    failed: int
    last_dispatch_at: dt.datetime | None
    overdue_escalations: int
    processes: int = 0
    problems: list[str] = field(default_factory=list)
    # worth a look but not a fault (the exit code stays 0): more people in the staff chat
    # than registered staff
    warnings: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


async def check(ctx: Context) -> Health:
    now = ctx.now()
    async with ctx.db() as db:
        due = select(func.count(), func.min(ScheduledMessage.due_at)).where(
            ScheduledMessage.status == MessageStatus.PENDING,
            ScheduledMessage.due_at <= now,
            queries.SENDABLE,
        )
        backlog, oldest = (await db.execute(due)).one()
        by_status = (
            select(ScheduledMessage.status, func.count())
            .where(ScheduledMessage.status.in_([MessageStatus.UNCERTAIN, MessageStatus.FAILED]))
            .group_by(ScheduledMessage.status)
        )
        counts = {status: int(n) for status, n in (await db.execute(by_status)).all()}
        beat_row = await db.get(Heartbeat, "dispatcher")
        overdue = (
            await db.execute(
                select(func.count()).where(
                    Escalation.status == EscalationStatus.OPEN,
                    Escalation.next_reminder_at <= now - BEHIND,
                )
            )
        ).scalar_one()
    health = Health(
        backlog=int(backlog),
        oldest_due_at=oldest,
        uncertain=int(counts.get(MessageStatus.UNCERTAIN, 0)),
        failed=int(counts.get(MessageStatus.FAILED, 0)),
        last_dispatch_at=beat_row.at if beat_row else None,
        overdue_escalations=int(overdue),
        processes=await live_processes(ctx),
    )
    if oldest is not None and now - oldest > BEHIND:
        minutes = int((now - oldest).total_seconds() // 60)
        health.problems.append(f"{backlog} due messages, the oldest {minutes} min late")
    stalled = health.last_dispatch_at is None or now - health.last_dispatch_at > BEHIND
    # a message due this very minute is not a stall: the dispatcher may be on its way
    if stalled and oldest is not None and now - oldest > dt.timedelta(minutes=1):
        health.problems.append("the dispatcher has not run for over 5 minutes")
    if overdue:
        health.problems.append(f"{overdue} escalation reminders are over 5 minutes late")
    crowd = await _staff_chat_crowd(ctx)
    if crowd is not None:
        members, staff = crowd
        health.warnings.append(
            f"the staff chat has {members} members but {staff} registered staff and the bot: "
            "everyone in it reads every alert"
        )
    return health


async def watchdog(ctx: Context) -> Health:
    """Tells staff when sending or escalation timers fall behind (at most hourly); forgets
    wrong invite tokens nobody added to for a day."""
    await enrolment.prune_attempts(ctx)
    health = await check(ctx)
    if health.healthy:
        return health
    now = ctx.now()
    async with ctx.db.begin() as db:
        last = await db.get(Heartbeat, "watchdog-alert", with_for_update=True)
        if last is not None and now - last.at < ALERT_EVERY:
            return health
        text = ctx.i18n.t(
            ctx.clinic.staff_language,
            "⚠️ The aftercare bot is falling behind: {problems}. Patients may not get their "
            "messages on time; please check the server.",
            problems="; ".join(health.problems),
        )
        queue_staff_notice(db, ctx, None, "watchdog", text, now)
        if last is None:
            db.add(Heartbeat(name="watchdog-alert", at=now, detail={}))
        else:
            last.at = now
    ctx.wake()
    return health


# Who reads the staff chat: counted at start-up and daily (jobs.staff_chat), and compared with
# the registered staff, since everyone in the chat reads every alert.
STAFF_CHAT = "staff-chat"
# staff hear of a crowded chat at most this often, unless more people join it
CROWD_EVERY = dt.timedelta(days=1)
MemberCounter = Callable[[int], Awaitable[int]]


async def _registered_staff(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(StaffMember))).scalar_one())


async def _staff_chat_crowd(ctx: Context) -> tuple[int, int] | None:
    """(members, registered staff) when the last count of the staff chat found more members
    than registered staff and the bot, else None."""
    async with ctx.db() as db:
        row = await db.get(Heartbeat, STAFF_CHAT)
        if row is None or row.detail.get("chat_id") != ctx.clinic.staff_chat_id:
            return None
        members = int(row.detail.get("members", 0))
        staff = await _registered_staff(db)
    return (members, staff) if members > staff + 1 else None


async def check_staff_chat(ctx: Context, count_members: MemberCounter) -> int | None:
    """Counts the staff chat's members (the bot is one) and keeps the count for `aftercare
    status`; when there are more than the registered staff and the bot, tells the staff chat
    (at most daily, or again when more join). Returns the count (None: no staff chat)."""
    chat_id = ctx.clinic.staff_chat_id
    if chat_id is None:
        return None
    members = await count_members(chat_id)
    try:
        told = await _record_staff_chat(ctx, chat_id, members)
    except IntegrityError:
        return members  # another process starting at the same moment recorded it
    if told:
        ctx.wake()
    return members


async def _record_staff_chat(ctx: Context, chat_id: int, members: int) -> bool:
    """Keeps the count; queues the notice when it is due. True: staff are told."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        row = await db.get(Heartbeat, STAFF_CHAT, with_for_update=True)
        last = dict(row.detail) if row is not None else {}
        staff = await _registered_staff(db)
        detail: dict[str, object] = {"chat_id": chat_id, "members": members}
        told = False
        if members > staff + 1:
            warned_at = last.get("warned_at")
            warned = dt.datetime.fromisoformat(warned_at) if isinstance(warned_at, str) else None
            grew = members > int(last.get("warned_members", 0))
            if warned is None or now - warned >= CROWD_EVERY or grew:
                text = ctx.i18n.t(
                    ctx.clinic.staff_language,
                    "⚠️ Everyone in this chat reads every alert, with patients' names and what "
                    "they wrote. Members of this chat: {members} (the bot included); registered "
                    "staff: {staff}. Please remove anyone who should not read alerts, or register "
                    "them with aftercare staff add.",
                    members=members,
                    staff=staff,
                )
                queue_staff_notice(db, ctx, None, "staff-chat-crowd", text, now)
                detail |= {"warned_at": now.isoformat(), "warned_members": members}
                told = True
            else:
                detail |= {k: last[k] for k in ("warned_at", "warned_members") if k in last}
        if row is None:
            db.add(Heartbeat(name=STAFF_CHAT, at=now, detail=detail))
        else:
            row.at, row.detail = now, detail
    return told
