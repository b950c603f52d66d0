"""Time in: the scheduler's jobs, each a thin call into a service, registered here by name."""

from __future__ import annotations

from typing import Any

from telegram.ext import JobQueue

from jobs import dispatch

# name → (callback, interval in real seconds)
JOBS = {
    "dispatch-tick": (dispatch.dispatch, dispatch.TICK_SECONDS),
    "watchdog": (dispatch.watchdog, 60.0),
}


def register(job_queue: JobQueue[Any]) -> None:
    for name, (callback, interval) in JOBS.items():
        job_queue.run_repeating(
            callback, interval=interval, first=0, name=name, job_kwargs=dispatch.JOB_KWARGS
        )
