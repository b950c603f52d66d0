"""Time in: the scheduler's jobs, each a thin call into a service, registered here by name."""

from __future__ import annotations

from typing import Any

from telegram.ext import JobQueue

from jobs import dispatch, staff_chat

# name → (callback, interval in real seconds)
JOBS = {
    "dispatch-tick": (dispatch.dispatch, dispatch.TICK_SECONDS),
    "watchdog": (dispatch.watchdog, 60.0),
    "staff-chat": (staff_chat.check_staff_chat, staff_chat.DAILY),
}


def register(job_queue: JobQueue[Any]) -> None:
    for name, (callback, interval) in JOBS.items():
        # APScheduler rounds a start time already past up to the next interval, so `first=0`
        # would mean "in 30 s": the repeats start one interval on, and the first run is now
        job_queue.run_repeating(
            callback, interval=interval, first=interval, name=name, job_kwargs=dispatch.JOB_KWARGS
        )
        job_queue.run_once(callback, when=0, name=f"{name}-start", job_kwargs=dispatch.JOB_KWARGS)
