"""Many due messages at once, written straight to the outbox: for load tests and benchmarks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from bot.db.models import Audience, MessageStatus, Patient, PatientStatus, ScheduledMessage
from bot.services.context import Context


async def add_due_messages(
    ctx: Context,
    count: int,
    chats: int,
    useful_for: dt.timedelta,
    first_user: int = 100_000,
    first_due: dt.datetime | None = None,
    every: dt.timedelta = dt.timedelta(0),
) -> list[int]:
    """`count` messages due now over `chats` active, consenting patients (message i is
    "message i", its own text, so duplicates show); returns the patients' Telegram ids.
    With `first_due` and `every`, message i falls due at first_due + i * every instead, and
    is useful for `useful_for` from then."""
    now = ctx.now()
    first = first_due or now
    users = [first_user + i for i in range(chats)]
    async with ctx.db.begin() as db:
        ids = (
            (
                await db.execute(
                    insert(Patient).returning(Patient.id),
                    [
                        {
                            "name": f"P{u}",
                            "language": "en",
                            "timezone": "UTC",
                            "telegram_user_id": u,
                            "status": PatientStatus.ACTIVE,
                            "created_at": now,
                        }
                        for u in users
                    ],
                )
            )
            .scalars()
            .all()
        )
        rows = [
            {
                "audience": Audience.PATIENT,
                "session_id": None,
                "patient_id": ids[i % chats],
                "step_key": f"bulk-{i}",
                "kind": "tip",
                "due_at": first + i * every,
                "useful_until": first + i * every + useful_for,
                "status": MessageStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "body": f"message {i}",
            }
            for i in range(count)
        ]
        for start in range(0, len(rows), 5000):
            await db.execute(insert(ScheduledMessage), rows[start : start + 5000])
    return users
