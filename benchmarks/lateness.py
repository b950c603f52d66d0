"""Lateness: a steady load under Telegram's limits → p50 and p99 of sent time minus due time.

    python benchmarks/lateness.py                       # 22 messages/s over 600 chats, 60 s
    python benchmarks/lateness.py --seconds 15 --rate 25 --arrivals poisson
    python benchmarks/lateness.py --pending 1000000      # with a big outbox of future messages

Messages fall due one after another (evenly spaced, or at random like independent bookings with
--arrivals poisson), each chat in turn, and the real bot (Runtime: dispatcher, its wake-ups and
pacer) sends them to the loopback stand-in with Telegram's flood limits on. Sent time is when the
stand-in received the message. The lateness splits into the claim's (claimed_at − due: the
wake-up) and the send's (received − claimed_at: pacing and HTTP). --pending N first fills the
outbox with N future messages (as benchmarks/scale.py does), so every wake-up's queries run
against a big table. Prints the median of --runs runs. --database postgresql://… runs on
PostgreSQL (in a scratch database next to the named one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import insert, select

from benchmarks._common import FIRST_USER, TOKEN, database, median, running_bot
from benchmarks.scale import Outbox, fill
from bot.db.models import Audience, MessageStatus, Patient, PatientStatus, ScheduledMessage
from bot.services.context import Context
from telegram_standin import StandIn

LEAD = dt.timedelta(seconds=3)  # the first message falls due this long after the rows are written
TARGET_P99 = 1.0
BACKGROUND_USER = 10_000_000  # the --pending messages' patients, apart from the measured chats


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def due_offsets(args: argparse.Namespace) -> list[float]:
    count = round(args.rate * args.seconds)
    if args.arrivals == "uniform":
        return [i / args.rate for i in range(count)]
    rng = random.Random(args.seed)
    offsets, at = [], 0.0
    for _ in range(count):
        offsets.append(at)
        at += rng.expovariate(args.rate)
    return offsets


async def add_steady_load(
    ctx: Context, offsets: list[float], chats: int
) -> tuple[list[int], list[dt.datetime]]:
    """Message i ("lateness i") falls due `offsets[i]` seconds after now + LEAD, to chat i mod
    `chats`; returns the chats' Telegram ids and the due times."""
    now = ctx.now()
    start = now + LEAD
    users = [FIRST_USER + i for i in range(chats)]
    due = [start + dt.timedelta(seconds=s) for s in offsets]
    async with ctx.db.begin() as db:
        patient_rows = [
            {
                "name": f"P{u}",
                "language": "en",
                "timezone": "UTC",
                "telegram_user_id": u,
                "status": PatientStatus.ACTIVE,
                "created_at": now,
            }
            for u in users
        ]
        ids = (await db.execute(insert(Patient).returning(Patient.id), patient_rows)).scalars()
        patient_ids = list(ids.all())
        rows = [
            {
                "audience": Audience.PATIENT,
                "session_id": None,
                "patient_id": patient_ids[i % chats],
                "step_key": f"steady-{i}",
                "kind": "tip",
                "due_at": at,
                "useful_until": at + dt.timedelta(hours=1),
                "status": MessageStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "body": f"lateness {i}",
            }
            for i, at in enumerate(due)
        ]
        for first in range(0, len(rows), 2000):
            await db.execute(insert(ScheduledMessage), rows[first : first + 2000])
    return users, due


async def one_run(args: argparse.Namespace) -> dict[str, float]:
    offsets = due_offsets(args)
    async with database(args.database, "lateness") as url:
        if args.pending:
            now = dt.datetime.now(dt.UTC)
            outbox = Outbox(args.pending, max(1, args.pending // 20), 0, now, BACKGROUND_USER)
            await fill(url, outbox)
        return await measure(args, url, offsets)


async def measure(args: argparse.Namespace, url: str, offsets: list[float]) -> dict[str, float]:
    count = len(offsets)
    async with (
        StandIn(token=TOKEN) as standin,  # Telegram's limits: 30/s, 1/s a chat after a burst
        running_bot(url, standin, args.send_rate) as ctx,
    ):
        users, due = await add_steady_load(ctx, offsets, args.chats)
        for user in users:
            standin.add_user(user, f"P{user}")
        ctx.wake()
        # a bot that falls behind is measured too: what it sent in time, and what it did not
        with contextlib.suppress(TimeoutError):
            await standin.wait_for(lambda: len(standin.messages) >= count, args.seconds + args.wait)
        async with ctx.db() as db:
            claimed = dict(
                (
                    await db.execute(
                        select(ScheduledMessage.body, ScheduledMessage.claimed_at).where(
                            ScheduledMessage.body.is_not(None)
                        )
                    )
                ).all()
            )
    late, claim_late, send_late = [], [], []
    for message in standin.messages:
        assert message.text is not None
        i = int(message.text.split()[1])
        late.append((message.at - due[i]).total_seconds())
        claimed_at = claimed.get(message.text)
        if claimed_at is not None:
            claim_late.append((claimed_at - due[i]).total_seconds())
            send_late.append((message.at - claimed_at).total_seconds())
    # a message never sent is later than any that was
    unsent = [float("inf")] * (count - len(standin.messages))
    return {
        "p50": percentile(late + unsent, 0.50),
        "p99": percentile(late + unsent, 0.99),
        "max": max(late, default=float("nan")),
        "claim_p50": percentile(claim_late, 0.50),
        "claim_p99": percentile(claim_late, 0.99),
        "send_p50": percentile(send_late, 0.50),
        "send_p99": percentile(send_late, 0.99),
        "within_1s": sum(1 for x in late if x < 1.0) / count,  # undelivered ones were not
        "delivered": len(standin.messages),
        "undelivered": count - len(standin.messages),
        "duplicates": len(standin.messages) - len({m.text for m in standin.messages}),
        "rate_limited": standin.rate_limited,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=22.0, help="messages falling due a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they keep coming")
    parser.add_argument("--chats", type=int, default=600)
    parser.add_argument("--arrivals", choices=("uniform", "poisson"), default="uniform")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--send-rate", type=int, default=29, help="the bot's AFTERCARE_SEND_RATE")
    parser.add_argument("--pending", type=int, default=0, help="future messages in the outbox")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--wait", type=float, default=120.0, help="seconds after the last due time to wait"
    )
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    results = [asyncio.run(one_run(args)) for _ in range(args.runs)]
    db = "postgresql" if args.database else "sqlite"
    count = round(args.rate * args.seconds)
    print(
        f"lateness: {count} messages due at {args.rate:g}/s ({args.arrivals}) over "
        f"{args.chats} chats for {args.seconds:g} s, limits on, send rate {args.send_rate}/s, "
        f"{db}, {args.pending:,} other messages pending, {args.runs} runs"
    )
    for key, unit in (
        ("p50", "s"),
        ("p99", "s"),
        ("max", "s"),
        ("claim_p50", "s"),
        ("claim_p99", "s"),
        ("send_p50", "s"),
        ("send_p99", "s"),
        ("within_1s", ""),
        ("delivered", ""),
        ("undelivered", ""),
        ("duplicates", ""),
        ("rate_limited", ""),
    ):
        values = [r[key] for r in results]
        print(
            f"  {key:13} median {median(values):10.3f} {unit:1}  runs: "
            + ", ".join(f"{v:.3f}" for v in values)
        )
    p99 = median([r["p99"] for r in results])
    print(f"  p99 / target ({TARGET_P99:g} s): {p99 / TARGET_P99:.2f}")


if __name__ == "__main__":
    main()
