"""Senders' limits: a patient writing faster than a person reads is answered once, not per
message, and people who are not linked are answered at most once a while.

Judged from the inbox (services.inbox), which keeps every update's chat and time: a message is
over its patient's limit when more than `per_minute` of their messages came within the minute
before it. Its verdict is written on its inbox row, so that the next message knows the chat is
flooding and a message handled again (after a restart) gets the same verdict without being
answered twice. Safe with several processes: one chat's updates are handled one at a time
(services.inbox), so nothing else judges that chat meanwhile.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import func, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import InboundUpdate, Intake, Patient, StaffMember
from bot.services.context import Context

MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class IntakeLimits:
    """`per_minute`: a patient's messages a minute answered one by one; past it they are
    answered once, and not again until they have sent nothing past it for `calm`.
    `stranger_every`: how often one person who is not linked is answered;
    `strangers_per_minute`: how many such answers a minute, all strangers together."""

    per_minute: int = 20
    calm: dt.timedelta = dt.timedelta(minutes=10)
    stranger_every: dt.timedelta = MINUTE
    strangers_per_minute: int = 20


class Flood(enum.Enum):
    NO = "no"  # answered as usual
    TELL = "tell"  # the first past the limit: told once that the clinic has them all
    QUIET = "quiet"  # past the limit, and told already: passed on without an answer


async def judge_words(ctx: Context, limits: IntakeLimits, update_id: int) -> Flood:
    """Where a linked patient's message (update `update_id`) stands against their limit."""
    async with ctx.db.begin() as db:
        row = await _row(db, update_id)
        if row is None or row.chat_id is None:
            return Flood.NO  # not from the inbox: nothing to count it against
        if row.intake is not None:  # judged before a restart: the same verdict, told once
            return Flood.NO if row.intake == Intake.WORDS else Flood.QUIET
        flood = await _flood(db, limits, row)
        mark = {Flood.NO: Intake.WORDS, Flood.TELL: Intake.TOLD, Flood.QUIET: Intake.FLOODED}
        await _mark(db, update_id, mark[flood])
    return flood


async def _flood(db: AsyncSession, limits: IntakeLimits, row: _Row) -> Flood:
    counted = InboundUpdate.intake.is_not(None)  # this chat's judged messages (the index's)
    earlier = (
        select(InboundUpdate.received_at)
        .where(
            InboundUpdate.chat_id == row.chat_id,
            counted,
            InboundUpdate.update_id < row.update_id,
        )
        .order_by(InboundUpdate.update_id.desc())
    )
    # over the limit when the per_minute-th message before this one came within the minute
    nth = (await db.execute(earlier.offset(max(limits.per_minute - 1, 0)).limit(1))).scalar()
    if nth is None or nth <= row.received_at - MINUTE:
        return Flood.NO
    flooded = await db.execute(
        select(InboundUpdate.update_id)
        .where(
            InboundUpdate.chat_id == row.chat_id,
            counted,
            InboundUpdate.update_id < row.update_id,
            InboundUpdate.intake.in_([Intake.FLOODED, Intake.TOLD]),
            InboundUpdate.received_at > row.received_at - limits.calm,
        )
        .limit(1)
    )
    # the same flood goes on: they were told at its start
    return Flood.QUIET if flooded.first() is not None else Flood.TELL


async def may_answer_stranger(
    ctx: Context, limits: IntakeLimits, update_id: int, sender: int
) -> bool:
    """Whether an update from someone who was not linked when it arrived is handled (and so
    answered) this time: at most once every `stranger_every` each, and `strangers_per_minute`
    answers a minute for them all. Always when they have become a patient or staff since."""
    async with ctx.db.begin() as db:
        row = await _row(db, update_id)
        if row is None or row.chat_id is None:
            return True  # not from the inbox: nothing to count it against
        if await _is_known(db, sender):
            return True
        if row.intake is not None:
            return False  # answered before a restart (or meant to be): not again
        answered = InboundUpdate.intake == Intake.STRANGER
        lately = await db.execute(
            select(InboundUpdate.update_id)
            .where(
                InboundUpdate.chat_id == row.chat_id,
                InboundUpdate.intake.is_not(None),
                answered,
                InboundUpdate.update_id < row.update_id,
                InboundUpdate.received_at > row.received_at - limits.stranger_every,
            )
            .limit(1)
        )
        if lately.first() is not None:
            return False
        everyone = await db.execute(
            select(func.count()).select_from(
                select(InboundUpdate.update_id)
                .where(
                    InboundUpdate.intake.is_not(None),
                    answered,
                    InboundUpdate.received_at > row.received_at - MINUTE,
                )
                .limit(limits.strangers_per_minute)
                .subquery()
            )
        )
        if everyone.scalar_one() >= limits.strangers_per_minute:
            return False
        await _mark(db, update_id, Intake.STRANGER)
    return True


async def _is_known(db: AsyncSession, user: int) -> bool:
    found = await db.execute(
        union_all(
            select(Patient.id).where(Patient.telegram_user_id == user),
            select(StaffMember.id).where(StaffMember.telegram_user_id == user),
        ).limit(1)
    )
    return found.first() is not None


@dataclass(frozen=True)
class _Row:
    update_id: int
    chat_id: int | None
    received_at: dt.datetime
    intake: Intake | None


async def _row(db: AsyncSession, update_id: int) -> _Row | None:
    found = await db.execute(
        select(
            InboundUpdate.update_id,
            InboundUpdate.chat_id,
            InboundUpdate.received_at,
            InboundUpdate.intake,
        ).where(InboundUpdate.update_id == update_id)
    )
    row = found.first()
    return _Row(*row) if row is not None else None


async def _mark(db: AsyncSession, update_id: int, intake: Intake) -> None:
    await db.execute(
        update(InboundUpdate)
        .where(InboundUpdate.update_id == update_id)
        .values(intake=intake)
        .execution_options(synchronize_session=False)
    )
