"""The dispatcher's wake-ups: at the next due time (an outbox row, a check-in or escalation
timer), and on a slow safety tick."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from telegram.ext import JobQueue

from bot.appstate import AppContext
from bot.services import checkins, escalations, health, inbox
from bot.services.dispatch import Dispatcher

log = logging.getLogger(__name__)

WAKE = "dispatch-wake"
TICK_SECONDS = 30.0  # real seconds: catches work queued by other processes (the command line)

# APScheduler drops a job that starts more than misfire_grace_time late (1 s by default): under
# load that silently loses wake-ups, so ours run however late they are, merged into one.
JOB_KWARGS: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True, "max_instances": 3}


async def dispatch(context: AppContext) -> None:
    """Sends what is due, then sets the next wake-up from the database (the schedule)."""
    dispatcher = context.bot_data.dispatcher
    # timers first: they queue reminders that the dispatcher then sends in the same wake-up
    await checkins.run_timers(dispatcher.ctx)
    await escalations.run_timers(dispatcher.ctx)
    tally = await dispatcher.dispatch_due()
    await health.beat(dispatcher.ctx, "dispatcher", sent=tally.sent, failed=tally.failed)
    if tally.sent or tally.failed or tally.retried or tally.uncertain:
        log.info("dispatch: %s", tally)
    assert context.job_queue is not None
    await schedule_next(context.job_queue, dispatcher)


async def schedule_next(job_queue: JobQueue[Any], dispatcher: Dispatcher) -> None:
    candidates = [
        await dispatcher.next_due_at(),
        await checkins.next_timer_at(dispatcher.ctx),
        await escalations.next_timer_at(dispatcher.ctx),
    ]
    due = [t for t in candidates if t is not None]
    at = min(due) if due else None
    delay = None
    if at is not None:
        wait = (at - dispatcher.ctx.now()).total_seconds()
        # a hair late rather than early: early means a wasted wake-up and another one after it
        delay = dispatcher.ctx.clock.real_seconds(max(wait, 0.0)) + 0.005
    if delay is not None and delay > TICK_SECONDS:
        delay = None  # the safety tick will look again before then
    # Only a later wake-up is replaced. An earlier one may have been set by a wake-up that ran
    # meanwhile and saw work queued after this one's look at the schedule: cancelling it lost
    # that work until the safety tick (an alert 30 s late).
    latest = None if delay is None else dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)
    for job in job_queue.get_jobs_by_name(WAKE):
        if latest is not None and job.next_t is not None and job.next_t > latest:
            job.schedule_removal()
    if delay is not None:
        job_queue.run_once(dispatch, when=delay, name=WAKE, job_kwargs=JOB_KWARGS)


def wake(job_queue: JobQueue[Any]) -> None:
    """New work may be due now (a session planned, a patient consented)."""
    job_queue.run_once(dispatch, when=0, name=WAKE, job_kwargs=JOB_KWARGS)


async def watchdog(context: AppContext) -> None:
    """Rows a dead process left mid-send are settled after their lease; staff hear when sending
    or escalation timers fall behind."""
    dispatcher = context.bot_data.dispatcher
    recovered = await dispatcher.recover()
    if recovered:
        log.warning("%s messages were left mid-send by a stopped process", recovered)
    await dispatcher.forget_idle_chats()
    await inbox.prune(dispatcher.ctx)
    await health.watchdog(dispatcher.ctx)
