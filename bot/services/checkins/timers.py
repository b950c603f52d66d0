"""Time in a check-in: one reminder when it is not answered in time; after as long again it is
closed as unanswered (staff see the list) or, if partly answered, completed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import checkin_queries, queries
from bot.db.models import Checkin, CheckinStatus, MessageKind, Patient
from bot.domain.checkin import CheckinStage
from bot.services import outbox
from bot.services.checkins.answering import complete
from bot.services.checkins.opening import step_of
from bot.services.checkins.wording import question, reminder
from bot.services.context import Context


async def run_timers(ctx: Context) -> int:
    """Fires every reminder and expiry that is due; returns how many check-ins changed."""
    now = ctx.now()
    changed = 0
    async with ctx.db.begin() as db:
        for checkin in await checkin_queries.due_timers(db, now):
            patient = await db.get(Patient, checkin.patient_id)
            if patient is None:
                continue  # erased meanwhile: its check-ins go with it
            changed += 1
            if checkin.expires_at <= now:
                await _expire(db, ctx, checkin, patient, now)
            elif checkin.stage == CheckinStage.OVERALL:
                await _queue_reminder(db, ctx, checkin, patient, now)
            else:
                checkin.reminded_at = now  # they are answering: no reminder needed
    if changed:
        ctx.wake()
    return changed


async def _queue_reminder(
    db: AsyncSession, ctx: Context, checkin: Checkin, patient: Patient, now: dt.datetime
) -> None:
    checkin.reminded_at = now
    screen = question(ctx, checkin, patient, await step_of(db, ctx, checkin))
    outbox.queue(
        db,
        outbox.to_patient(
            MessageKind.CHECKIN_REMINDER,
            patient.id,
            f"checkin-reminder:{checkin.id}",
            reminder(ctx, patient.language, screen),
            now,
            checkin.expires_at,
            buttons=screen.buttons,
            checkin_id=checkin.id,
        ),
        now,
    )


async def _expire(
    db: AsyncSession, ctx: Context, checkin: Checkin, patient: Patient, now: dt.datetime
) -> None:
    if checkin.severities or checkin.flags:
        # a half-finished answer may still hold something staff must see
        await complete(db, ctx, checkin, patient, now, edit_question=False)
        return
    checkin.closed_at = now
    if checkin.step_key is not None:
        checkin.status = CheckinStatus.UNANSWERED
        checkin.close_reason = "no answer after a reminder"
    else:
        checkin.status = CheckinStatus.CLOSED
        checkin.close_reason = "left unfinished"
    queries.add_audit(db, now, "system", f"checkin.{checkin.status}", f"checkin:{checkin.id}")


async def next_timer_at(ctx: Context) -> dt.datetime | None:
    async with ctx.db() as db:
        return await checkin_queries.next_timer_at(db)


async def unanswered(ctx: Context) -> list[tuple[Checkin, Patient]]:
    async with ctx.db() as db:
        return await checkin_queries.unanswered(db)
