"""Check-ins: button presses per second handled end to end, and the latency of each press.

    python benchmarks/checkins.py                          # 2,000 presses at 200/s: latency
    python benchmarks/checkins.py --rate 0                 # all at once: presses per second
    python benchmarks/checkins.py --database postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/checkins.py --handled 100000         # after 100,000 updates in the inbox

The bot runs as deployed, `python -m bot run` in its own process, against the loopback stand-in
(Telegram's flood limits on) in this one. Each patient answers an open check-in with 8 presses
(I have symptoms, two symptoms, Done, two severities, None of these, Skip), about --gap seconds
apart; presses arrive evenly at --rate a second (--rate 0: all at once, the bot's ceiling), and
one in eight completes a check-in (triage, a report, the advice sent: 25 messages a second at 200
presses a second, inside Telegram's 30). Every press must be answered (answerCallbackQuery) and
edit its question once.

Latency runs from the moment the stand-in holds the press for getUpdates to the bot's answer
arriving ("answer"), and to the press's last effect arriving: its edit, and for a check-in's last
press the advice ("done"). Presses a second: all presses over the time from the first press to
the last one done. Prints the median of --runs runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import insert
from telegram import Bot

from benchmarks._common import (
    FIRST_USER,
    TOKEN,
    add_bot_process_options,
    database,
    median,
    run_each,
)
from bot import app
from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.models import InboundUpdate, Patient, PatientStatus, UpdateStatus
from bot.domain.triage import SYMPTOMS
from bot.handlers.common import keyboard
from bot.services import buttons, checkins
from bot.services.context import Context
from telegram_standin import StandIn

FLOW: tuple[Callable[[int], buttons.Button], ...] = (
    buttons.HasSymptoms,
    buttons.NoFlags,
    partial(buttons.ToggleSymptom, symptom=SYMPTOMS[0]),
    partial(buttons.ToggleSymptom, symptom=SYMPTOMS[1]),
    buttons.SymptomsDone,
    partial(buttons.Rate, level=1),
    partial(buttons.Rate, level=1),
    buttons.SkipNote,
)
TARGET_RATE, TARGET_P95 = 200.0, 0.050
JSON = dict[str, Any]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), round(share * len(ordered) + 0.5))) - 1]


class TimedStandIn(StandIn):
    """The stand-in, noting when each press became available and when the bot's answer, edits
    and messages arrived (perf_counter seconds)."""

    def __init__(self, **kwargs: Any) -> None:
        # the flood limits run on a clock the set-up can move on, so that the set-up's own
        # messages (a question per patient) do not eat into the measured seconds' budget
        self.skipped = 0.0
        super().__init__(limit_clock=lambda: time.monotonic() + self.skipped, **kwargs)
        self.measuring = False
        self.pushed: dict[int, list[float]] = defaultdict(list)  # chat → press times, in order
        self.pushed_at: dict[str, float] = {}  # callback query id → press time
        self.answered_at: dict[str, float] = {}
        self.edited: dict[int, list[float]] = defaultdict(list)  # chat → edit times, in order
        self.advised: dict[int, list[float]] = defaultdict(list)  # chat → messages sent

    def push_update(self, update: JSON) -> int:
        query = update.get("callback_query")
        if query is not None:
            now = time.perf_counter()
            self.pushed[query["message"]["chat"]["id"]].append(now)
            self.pushed_at[query["id"]] = now
        return super().push_update(update)

    def answer_callback_query(self, query_id: str, answer: JSON) -> bool:
        accepted = super().answer_callback_query(query_id, answer)
        if accepted:
            self.answered_at[query_id] = time.perf_counter()
        return accepted

    def log(self, who: str, chat_id: int, text: str, kind: str, **kwargs: Any) -> None:
        super().log(who, chat_id, text, kind, **kwargs)
        if self.measuring and who == "bot":
            target = self.edited if kind == "edit" else self.advised
            target[chat_id].append(time.perf_counter())


async def add_handled(ctx: Context, standin: StandIn, count: int) -> None:
    """`count` updates handled long ago in the inbox, as after months of use; the stand-in's
    numbering goes on after them, as Telegram's would."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        for start in range(1, count + 1, 5000):
            rows = [
                {
                    "update_id": i,
                    "received_at": now,
                    "status": UpdateStatus.DONE,
                    "payload": None,
                    "processed_at": now,
                }
                for i in range(start, min(count, start + 4999) + 1)
            ]
            await db.execute(insert(InboundUpdate), rows)
    # the numbering goes on from there; this empty update is stored and handled like any other
    standin.inject_update({"update_id": count + 1})


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def schedule(users: list[int], rate: float, gap: float) -> list[tuple[float, int, int]]:
    """(seconds from the start, patient, press number), in order. Rate 0: everything at once,
    patient after patient. Otherwise a patient starts every len(FLOW) steps of 1/rate seconds
    and presses again every `spacing` steps (≈ rate × gap, odd, so no two presses share a step):
    presses arrive at `rate` a second once all are under way, and completed check-ins (one
    press in eight) stay evenly spread, also while the first patients start and the last end."""
    if rate <= 0:
        return [(0.0, user, m) for user in users for m in range(len(FLOW))]
    spacing = max(1, round(rate * gap)) | 1
    return sorted(
        ((len(FLOW) * j + m * spacing) / rate, user, m)
        for j, user in enumerate(users)
        for m in range(len(FLOW))
    )


async def add_patients(ctx: Context, count: int) -> list[int]:
    users = [FIRST_USER + i for i in range(count)]
    now = ctx.now()
    async with ctx.db.begin() as db:
        await db.execute(
            insert(Patient),
            [
                {
                    "name": f"P{u}",
                    "language": "en",
                    "timezone": "UTC",
                    "telegram_user_id": u,
                    "status": PatientStatus.ACTIVE,
                    "consent_at": now,
                    "created_at": now,
                }
                for u in users
            ],
        )
    return users


async def open_questions(
    ctx: Context, standin: TimedStandIn, users: list[int]
) -> dict[int, tuple[int, int]]:
    """An open check-in per patient and its question in their chat: user → (check-in, message)."""
    found: dict[int, tuple[int, int]] = {}
    async with Bot(TOKEN, base_url=standin.api_url) as telegram:
        for n, user in enumerate(users):
            if n and n % 25 == 0:
                standin.skipped += 1.0  # as if the set-up took a second per 25 messages
            started = await checkins.start(ctx, user)
            assert started is not None and started.checkin_id is not None
            screen = started.send[0]
            sent = await telegram.send_message(
                user, screen.text, reply_markup=keyboard(screen.buttons)
            )
            await checkins.attach_message(ctx, started.checkin_id, sent.message_id)
            found[user] = (started.checkin_id, sent.message_id)
    standin.skipped += 1.0
    return found


async def start_bot(
    url: str, standin: StandIn, log: Path, profile: str | None = None
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "AFTERCARE_DATABASE_URL": url,
        "AFTERCARE_BOT_TOKEN": TOKEN,
        "AFTERCARE_BOT_API_URL": standin.base_url,
        "AFTERCARE_STAFF_CHAT_ID": "-1",
        "AFTERCARE_TIMEZONE": "UTC",
        "AFTERCARE_QUIET_HOURS": "00:00-00:00",
    }
    # --profile: the bot under cProfile, its statistics written when it stops
    profiled = ["-m", "cProfile", "-o", profile] if profile else []
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *profiled, "-m", "bot", "run", env=env, stdout=out, stderr=out
        )
    print(f"bot: pid {process.pid}, log {log}", file=sys.stderr)
    return process


async def one_run(args: argparse.Namespace, log: Path) -> dict[str, float]:
    patients = max(1, args.presses // len(FLOW))
    standin = TimedStandIn(token=TOKEN)
    async with database(args.database, scratch="checkins") as url, standin:
        settings = Settings(database_url=url, bot_token=TOKEN, timezone="UTC", _env_file=None)
        async with app.open_context(settings, ScaledClock()) as ctx:
            users = await add_patients(ctx, patients)
            for user in users:
                standin.add_user(user, f"P{user}")
            opened = await open_questions(ctx, standin, users)
            signs = {u: [a(opened[u][0]).pack(ctx.signer) for a in FLOW] for u in users}
            if args.handled:
                await add_handled(ctx, standin, args.handled)
        process = await start_bot(url, standin, log, args.profile)
        try:
            await standin.wait_for(lambda: bool(standin.calls("getUpdates")), 60)
            await asyncio.sleep(1.0)  # start-up's own work (recovery, first dispatch) is done
            standin.measuring = True
            cpu_before = cpu_seconds(process.pid)
            own_before = time.process_time()
            plan = schedule(users, args.rate, args.gap)
            started = time.perf_counter()
            for at, user, m in plan:
                delay = started + at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                standin.press(user, opened[user][1], signs[user][m])
            pushed_for = time.perf_counter() - started
            total = len(plan)

            def finished() -> bool:
                return len(standin.answered_at) >= total and all(
                    len(standin.edited[u]) >= len(FLOW) and standin.advised[u] for u in users
                )

            with contextlib.suppress(TimeoutError):
                await standin.wait_for(finished, args.timeout)
            bot_cpu = cpu_seconds(process.pid) - cpu_before
            standin_cpu = time.process_time() - own_before
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    answer, done = [], []
    for query_id, at in standin.pushed_at.items():
        if query_id in standin.answered_at:
            answer.append(standin.answered_at[query_id] - at)
    last_done = started
    for user in users:
        edits, pushes = standin.edited[user], standin.pushed[user]
        for m, pushed in enumerate(pushes[: len(edits)]):
            finish = edits[m]
            if m == len(FLOW) - 1 and standin.advised[user]:
                finish = max(finish, standin.advised[user][0])
            done.append(finish - pushed)
            last_done = max(last_done, finish)
    complete = sum(
        1 for u in users if len(standin.edited[u]) == len(FLOW) and len(standin.advised[u]) == 1
    )
    return {
        "presses": total,
        "offered_per_second": total / pushed_for if pushed_for > 0 else float("inf"),
        "per_second": len(done) / (last_done - started) if done else 0.0,
        "answer_p50_ms": 1000 * percentile(answer, 0.50),
        "answer_p95_ms": 1000 * percentile(answer, 0.95),
        "done_p50_ms": 1000 * percentile(done, 0.50),
        "done_p95_ms": 1000 * percentile(done, 0.95),
        "done_p99_ms": 1000 * percentile(done, 0.99),
        "bot_cpu_ms_each": 1000 * bot_cpu / total,
        "standin_cpu_ms_each": 1000 * standin_cpu / total,
        "unanswered": total - len(answer),
        "edits_missing": total - len(done),
        "duplicates": sum(
            max(0, len(standin.edited[u]) - len(FLOW)) + max(0, len(standin.advised[u]) - 1)
            for u in users
        ),
        "checkins_complete": complete,
        "rate_limited": standin.rate_limited,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="presses offered a second")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between one's presses")
    parser.add_argument(
        "--handled", type=int, default=0, help="updates already handled in the inbox (history)"
    )
    add_bot_process_options(parser)
    args = parser.parse_args()
    results = run_each(args, one_run)
    db = "postgresql" if args.database else "sqlite"
    offered = f"offered at {args.rate:g}/s" if args.rate > 0 else "all at once"
    history = f", {args.handled:,} handled before" if args.handled else ""
    print(
        f"check-ins: {results[0]['presses']:.0f} presses {offered} ({len(FLOW)} a check-in), "
        f"limits on, {db}{history}, {args.runs} runs"
    )
    for key in results[0]:
        if key == "presses" or (key == "offered_per_second" and args.rate <= 0):
            continue
        values = [r[key] for r in results]
        print(
            f"  {key:20} median {median(values):9.1f}   runs: "
            + ", ".join(f"{v:.1f}" for v in values)
        )
    rate = median([r["per_second"] for r in results])
    p95 = median([r["done_p95_ms"] for r in results]) / 1000
    print(
        f"  targets: {rate:.0f}/s of {TARGET_RATE:.0f}/s ({rate / TARGET_RATE:.0%}), "
        f"p95 {1000 * p95:.0f} ms of {1000 * TARGET_P95:.0f} ms ({p95 / TARGET_P95:.1f}x)"
    )


if __name__ == "__main__":
    main()
