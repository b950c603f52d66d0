"""Flood: one chat sends 500 messages in a second while 50 other patients press check-in buttons.

    python benchmarks/flood.py                        # SQLite, 3 runs
    python benchmarks/flood.py --emergency            # and an emergency written during the flood
    python benchmarks/flood.py --database postgresql://postgres@127.0.0.1:5432/test

The bot runs as deployed, `python -m bot run` in its own process, against the loopback stand-in
(Telegram's flood limits on) in this one, as in benchmarks/checkins.py. 50 patients each have an
open check-in and press its buttons (I have symptoms, None of these, a symptom, …): --rate
presses a second in all, evenly, for --seconds. After --flood-at seconds one more patient sends
--flood messages within one second. With --emergency, half-way through the flood a third patient
writes "I can't breathe and my lips are swelling" (an emergency by its words).

Printed (medians of --runs runs): the other patients' press → answer (answerCallbackQuery
arriving) and press → edit (the question edited), p50 and p95, over all presses and over those
made from the flood's start until the flood was all handled; how many of the flood's messages
were stored and handled, how many reached the staff chat, and how many answers the flooding
patient got; with --emergency, the seconds from the emergency being written to its alert
arriving in the staff chat. Targets: press → answer p95 under 1 s, every flooded message stored,
the emergency alert within 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import func, select

from benchmarks._common import TOKEN, add_bot_process_options, database, median, run_each
from benchmarks.checkins import (
    TimedStandIn,
    add_patients,
    cpu_seconds,
    open_questions,
    percentile,
    start_bot,
)
from bot import app
from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.models import InboundUpdate, UpdateStatus
from bot.domain.triage import SYMPTOMS
from bot.services import buttons

STAFF_CHAT = -1  # benchmarks.checkins.start_bot's
# the first presses of a check-in, each editing the question (none completes it)
PRESSES: tuple[Callable[[int], buttons.Button], ...] = (
    buttons.HasSymptoms,
    buttons.NoFlags,
    partial(buttons.ToggleSymptom, symptom=SYMPTOMS[0]),
    partial(buttons.ToggleSymptom, symptom=SYMPTOMS[1]),
    partial(buttons.ToggleSymptom, symptom=SYMPTOMS[2]),
)
EMERGENCY = "I can't breathe and my lips are swelling"
TARGET_P95, TARGET_ALERT = 1.0, 5.0


class FloodStandIn(TimedStandIn):
    """The timed stand-in, also noting when each staff-chat message arrived and what it said."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.staff: list[tuple[float, str]] = []

    def log(self, who: str, chat_id: int, text: str, kind: str, **kwargs: Any) -> None:
        super().log(who, chat_id, text, kind, **kwargs)
        if self.measuring and who == "bot" and chat_id == STAFF_CHAT:
            self.staff.append((time.perf_counter(), text))


async def flood_handled(url: str, flood: list[int]) -> tuple[int, int, float]:
    """The flood's updates stored, handled, and when the last was done (Unix time)."""
    settings = Settings(database_url=url, bot_token=TOKEN, _env_file=None)
    async with app.open_context(settings, ScaledClock()) as ctx, ctx.db() as db:
        stmt = select(
            InboundUpdate.status, func.count(), func.max(InboundUpdate.processed_at)
        ).where(InboundUpdate.update_id.in_(flood))
        rows = (await db.execute(stmt.group_by(InboundUpdate.status))).all()
    stored = sum(int(n) for _, n, _ in rows)
    done = [(int(n), last) for status, n, last in rows if status == UpdateStatus.DONE]
    handled, last = done[0] if done else (0, None)
    return stored, handled, last.timestamp() if last is not None else float("nan")


async def one_run(args: argparse.Namespace, log: Path) -> dict[str, float]:
    standin = FloodStandIn(token=TOKEN)
    async with database(args.database, scratch="flood") as url, standin:
        standin.add_group(STAFF_CHAT)
        settings = Settings(database_url=url, bot_token=TOKEN, timezone="UTC", _env_file=None)
        async with app.open_context(settings, ScaledClock()) as ctx:
            users = await add_patients(ctx, args.patients + 2)
            for user in users:
                standin.add_user(user, f"P{user}")
            pressers, flooder, writer = users[: args.patients], users[-2], users[-1]
            opened = await open_questions(ctx, standin, pressers)
            signs = {u: [a(opened[u][0]).pack(ctx.signer) for a in PRESSES] for u in pressers}
        process = await start_bot(url, standin, log, args.profile)
        try:
            await standin.wait_for(lambda: bool(standin.calls("getUpdates")), 60)
            await asyncio.sleep(1.0)  # start-up's own work (recovery, first dispatch) is done
            standin.measuring = True
            cpu_before = cpu_seconds(process.pid)
            total = round(args.rate * args.seconds)
            plan = sorted(
                [(n / args.rate, "press", n) for n in range(total)]
                + [(args.flood_at + n / args.flood, "flood", n) for n in range(args.flood)]
                + ([(args.flood_at + 0.5, "emergency", 0)] if args.emergency else [])
            )
            flood_words = [f"flood{n:04d}" for n in range(args.flood)]
            flood_ids: list[int] = []
            written_at = flood_started = flood_sent = 0.0
            started = time.perf_counter()
            for at, kind, n in plan:
                delay = started + at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if kind == "press":
                    user = pressers[n % len(pressers)]
                    step = (n // len(pressers)) % len(PRESSES)
                    standin.press(user, opened[user][1], signs[user][step])
                elif kind == "flood":
                    flood_started = flood_started or time.perf_counter()
                    flood_ids.append(standin.send_text(flooder, flood_words[n]))
                    flood_sent = time.perf_counter()
                else:
                    written_at = time.perf_counter()
                    standin.send_text(writer, EMERGENCY)

            def alerted() -> float | None:
                for at, text in standin.staff:
                    if text.startswith("🚨"):
                        return at
                return None

            def finished() -> bool:
                return (
                    len(standin.answered_at) >= total
                    and sum(len(e) for e in standin.edited.values()) >= total
                    and (not args.emergency or alerted() is not None)
                )

            with contextlib.suppress(TimeoutError):
                await standin.wait_for(finished, args.timeout)
            # the flood all handled: when its last message was marked done
            for _ in range(int(args.timeout * 10)):
                stored, handled, last_done = await flood_handled(url, flood_ids)
                if handled >= args.flood:
                    break
                await asyncio.sleep(0.1)
            # (the bot's times are Unix times: on this clock from here on)
            flood_done = last_done - time.time() + time.perf_counter()
            # what staff read of the flood (gathered every 4 s, then sent): a few seconds more
            deadline = time.perf_counter() + 30
            staff_text = ""
            while time.perf_counter() < deadline:
                staff_text = "\n".join(text for _, text in standin.staff)
                if all(word in staff_text for word in flood_words):
                    break
                await asyncio.sleep(0.2)
            bot_cpu = cpu_seconds(process.pid) - cpu_before
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    answer, edit, answer_in_flood, edit_in_flood = [], [], [], []
    for query_id, at in standin.pushed_at.items():
        if query_id in standin.answered_at:
            took = standin.answered_at[query_id] - at
            answer.append(took)
            if flood_started <= at <= flood_done:
                answer_in_flood.append(took)
    for user in pressers:
        for pushed, edited in zip(standin.pushed[user], standin.edited[user], strict=False):
            edit.append(edited - pushed)
            if flood_started <= pushed <= flood_done:
                edit_in_flood.append(edited - pushed)
    alert_at = alerted()
    return {
        "presses": total,
        "presses_in_flood": len(answer_in_flood),
        "answer_p50_ms": 1000 * percentile(answer, 0.50),
        "answer_p95_ms": 1000 * percentile(answer, 0.95),
        "answer_in_flood_p50_ms": 1000 * percentile(answer_in_flood, 0.50),
        "answer_in_flood_p95_ms": 1000 * percentile(answer_in_flood, 0.95),
        "edit_p95_ms": 1000 * percentile(edit, 0.95),
        "edit_in_flood_p95_ms": 1000 * percentile(edit_in_flood, 0.95),
        "unanswered": total - len(answer),
        "flood_sent_in_s": flood_sent - flood_started,
        "flood_stored": stored,
        "flood_handled": handled,
        "flood_handled_in_s": flood_done - flood_started,
        "flood_words_to_staff": sum(word in staff_text for word in flood_words),
        "answers_to_flooder": len(standin.sent_to(flooder)),
        "emergency_alert_s": (alert_at - written_at)
        if args.emergency and alert_at is not None
        else float("nan"),
        "bot_cpu_s": bot_cpu,
        "rate_limited": standin.rate_limited,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=500, help="messages the flooding chat sends")
    parser.add_argument("--flood-at", type=float, default=3.0, help="seconds into the presses")
    parser.add_argument("--patients", type=int, default=50, help="patients pressing buttons")
    parser.add_argument("--rate", type=float, default=10.0, help="presses a second, in all")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long they press")
    parser.add_argument("--emergency", action="store_true")
    add_bot_process_options(parser)
    args = parser.parse_args()
    results = run_each(args, one_run)
    db = "postgresql" if args.database else "sqlite"
    print(
        f"flood: {args.flood} messages from one chat in 1 s, {args.patients} patients pressing "
        f"{args.rate:g}/s for {args.seconds:g} s, limits on, {db}, {args.runs} runs"
    )
    for key in results[0]:
        if key == "emergency_alert_s" and not args.emergency:
            continue
        values = [r[key] for r in results]
        print(
            f"  {key:24} median {median(values):9.1f}   runs: "
            + ", ".join(f"{v:.1f}" for v in values)
        )
    p95 = median([r["answer_p95_ms"] for r in results]) / 1000
    stored = median([r["flood_stored"] for r in results])
    line = (
        f"  targets: press → answer p95 {p95:.2f} s of {TARGET_P95:.0f} s; "
        f"{stored:.0f}/{args.flood} flooded messages stored"
    )
    if args.emergency:
        alert = median([r["emergency_alert_s"] for r in results])
        line += f"; emergency alert {alert:.1f} s of {TARGET_ALERT:.0f} s"
    print(line)


if __name__ == "__main__":
    main()
