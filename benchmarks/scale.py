"""Scale: a big outbox of future messages → claim and wake-up query times, start-up time,
resident memory and idle CPU of `aftercare run`.

    python benchmarks/scale.py                           # 1,000,000 pending over 50,000 patients
    python benchmarks/scale.py --messages 100000 --idle 20 --runs 1     # a quick look

The outbox is filled straight through the driver (COPY on PostgreSQL, executemany on SQLite) with
the shipped protocols' steps for sessions starting over the next half year, every one pending and
in the future, plus --due messages due now. Then:
  (a) each query a dispatcher wake-up runs, called through its function in this process, median
      over --repeat calls or as many as fit in 10 s (the claim and the expiry rolled back each
      time);
  (b) start-up: `python -m bot run` as a subprocess (AFTERCARE_* environment) against the loopback
      stand-in, timed from just before the exec to the stand-in receiving its first getUpdates
      (the bot is taking updates) and its first sendMessage (the first due message is out);
  (c) resident memory (VmRSS from /proc/PID/status) once the due messages are sent, and again
      after --idle seconds with nothing to do;
  (d) idle CPU over those seconds (utime + stime from /proc/PID/stat) as a share of one core.
Start-up is the median of --runs processes (the due messages are made due again for each); the
idle minute is measured on the last. --database postgresql://… runs on PostgreSQL in a scratch
database next to the named one (dropped afterwards); there the tables are VACUUM ANALYZEd after
loading, as autovacuum would.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import make_url, update

from benchmarks._common import FIRST_USER, TOKEN, database, median
from bot import app
from bot.clock import ScaledClock
from bot.config import Settings
from bot.db import queries
from bot.db.models import MessageStatus, ScheduledMessage
from bot.services import checkins, escalations, health
from bot.services.context import Context
from bot.services.dispatch import Dispatcher
from bot.services.protocols import load_protocols
from telegram_standin import StandIn

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"claim_ms": 10.0, "startup_s": 3.0, "rss_mb": 150.0, "idle_cpu_pct": 1.0}
ZONES = ("Europe/Paris", "Europe/London", "America/New_York", "Asia/Dubai", "Europe/Moscow")
CLK_TCK = os.sysconf("SC_CLK_TCK")
UNTIL = dt.timedelta(hours=6)  # the due messages' useful time


# --- filling the outbox ---------------------------------------------------------------------------
def _sqlite_time(value: dt.datetime) -> str:
    """How SQLAlchemy's DateTime stores a (UTC, naive) value on SQLite."""
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class Outbox:
    """Rows for the patient, treatment_session and scheduled_message tables."""

    def __init__(
        self,
        messages: int,
        patients: int,
        due: int,
        now: dt.datetime,
        first_user: int = FIRST_USER,
    ) -> None:
        rng = random.Random(5)
        protocols = sorted(load_protocols(None).values(), key=lambda p: p.treatment)
        self.patients = [
            (i + 1, f"P{i}", "en", ZONES[i % len(ZONES)], first_user + i, "active", now)
            for i in range(patients)
        ]
        self.sessions: list[tuple[Any, ...]] = []
        self.messages: list[tuple[Any, ...]] = []
        # sessions from 4 days on (so even the steps 3 days before are in the future) over half
        # a year, on the half hour; each session plans its protocol's steps
        while len(self.messages) < messages:
            sid = len(self.sessions) + 1
            protocol = protocols[sid % len(protocols)]
            patient = rng.randrange(patients) + 1
            starts = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(
                days=4, minutes=30 * rng.randrange(180 * 48)
            )
            self.sessions.append((sid, patient, protocol.treatment, "face", starts, "planned", now))
            for step in protocol.steps:
                if len(self.messages) == messages:
                    break
                at = starts + step.offset
                until = at + step.useful_for
                row = ("patient", sid, patient, None, step.key, str(step.kind), at, until)
                self.messages.append((*row, "pending", 0, now))
        self.due = [
            (
                "patient",
                None,
                i % patients + 1,
                f"due {i}",
                f"due-{i}",
                "tip",
                now,
                now + UNTIL,
                "pending",
                0,
                now,
            )
            for i in range(due)
        ]

    PATIENT = ("id", "name", "language", "timezone", "telegram_user_id", "status", "created_at")
    SESSION = ("id", "patient_id", "treatment", "area", "starts_at", "status", "created_at")
    MESSAGE = (
        "audience",
        "session_id",
        "patient_id",
        "body",
        "step_key",
        "kind",
        "due_at",
        "useful_until",
        "status",
        "attempts",
        "created_at",
    )

    def tables(self) -> Iterator[tuple[str, Sequence[str], list[tuple[Any, ...]]]]:
        yield "patient", self.PATIENT, self.patients
        yield "treatment_session", self.SESSION, self.sessions
        yield "scheduled_message", self.MESSAGE, self.messages + self.due


async def fill(url: str, outbox: Outbox) -> None:
    if url.startswith("sqlite"):
        path = make_url(url).database
        assert path is not None
        conn = sqlite3.connect(path)
        with conn:
            for table, columns, rows in outbox.tables():
                marks = ", ".join("?" for _ in columns)
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    (
                        tuple(_sqlite_time(v) if isinstance(v, dt.datetime) else v for v in row)
                        for row in rows
                    ),
                )
        conn.close()
        return
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        for table, columns, rows in outbox.tables():
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        for table in ("patient", "treatment_session"):
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            await conn.execute(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# --- (a) the queries of a wake-up -----------------------------------------------------------------
async def _claim(db: Any, now: dt.datetime, batch: int) -> object:
    # as the dispatcher calls it: the claimed chats held for the claim lease
    return await queries.claim_due(db, now, batch, hold_until=now + dt.timedelta(minutes=5))


async def time_queries(
    ctx: Context, batch: int, repeat: int, budget: float = 10.0
) -> dict[str, tuple[float, int]]:
    """Median milliseconds of each call a wake-up makes (and start-up's recovery)."""

    async def rolled_back(work: Callable[[Any, dt.datetime], Awaitable[object]]) -> float:
        async with ctx.db() as db:
            await db.begin()
            now = ctx.now()
            started = time.perf_counter()
            await work(db, now)
            elapsed = time.perf_counter() - started
            await db.rollback()
        return elapsed

    async def whole(work: Callable[[], Awaitable[object]]) -> float:
        started = time.perf_counter()
        await work()
        return time.perf_counter() - started

    dispatcher = Dispatcher(ctx, sender=None, batch=batch)  # type: ignore[arg-type]
    cases: dict[str, Callable[[], Awaitable[float]]] = {
        "claim_due": lambda: rolled_back(lambda db, now: _claim(db, now, batch)),
        "next_due_at": lambda: whole(dispatcher.next_due_at),
        "expire_overdue": lambda: rolled_back(queries.expire_overdue),
        "checkins.run_timers": lambda: whole(lambda: checkins.run_timers(ctx)),
        "escalations.run_timers": lambda: whole(lambda: escalations.run_timers(ctx)),
        "checkins.next_timer_at": lambda: whole(lambda: checkins.next_timer_at(ctx)),
        "escalations.next_timer_at": lambda: whole(lambda: escalations.next_timer_at(ctx)),
        "health.beat": lambda: whole(lambda: health.beat(ctx, "bench-dispatcher")),
        "health.check (watchdog)": lambda: whole(lambda: health.check(ctx)),
        "Dispatcher.forget_idle_chats": lambda: whole(dispatcher.forget_idle_chats),
        "Dispatcher.recover": lambda: whole(dispatcher.recover),
    }
    results = {}
    for name, case in cases.items():
        await case()  # warm: prepared statements, SQLAlchemy's compiled cache
        times: list[float] = []
        until = time.perf_counter() + budget
        while len(times) < repeat and (len(times) < 5 or time.perf_counter() < until):
            times.append(await case())
        results[name] = (median(times) * 1000, len(times))
    return results


# --- (b–d) the process ----------------------------------------------------------------------------
def proc_status(pid: int, field: str) -> float:
    """A /proc/PID/status field in MB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def make_due_again(url: str, due: int) -> None:
    settings = Settings(database_url=url, _env_file=None)
    async with app.open_context(settings, ScaledClock()) as ctx, ctx.db.begin() as db:
        await db.execute(
            update(ScheduledMessage)
            .where(ScheduledMessage.step_key.like("due-%"))
            .values(status=MessageStatus.PENDING, due_at=ctx.now(), claimed_at=None, attempts=0)
        )


async def run_process(
    url: str, standin: StandIn, due: int, idle: float, workdir: str
) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERCARE_")} | {
        "AFTERCARE_DATABASE_URL": url,
        "AFTERCARE_BOT_TOKEN": TOKEN,
        "AFTERCARE_BOT_API_URL": standin.base_url,
        "AFTERCARE_STAFF_CHAT_ID": "-1",
        "AFTERCARE_TIMEZONE": "UTC",
        "AFTERCARE_QUIET_HOURS": "00:00-00:00",
        "PYTHONPATH": str(ROOT),
    }
    requests_before = len(standin.requests)
    sent_before = len(standin.messages)
    log = Path(workdir) / "run.log"
    result: dict[str, float] = {}
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: ASYNC220 (it runs beside us; we only poll it)
            [sys.executable, "-m", "bot", "run"], cwd=workdir, env=env, stdout=out, stderr=out
        )
        try:
            deadline = started + 120
            while "startup_s" not in result or "first_send_s" not in result:
                if process.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError(f"`aftercare run` stopped or hung:\n{log.read_text()}")
                now = time.perf_counter() - started
                if "startup_s" not in result and any(
                    m == "getUpdates" for m, _ in standin.requests[requests_before:]
                ):
                    result["startup_s"] = now
                if "first_send_s" not in result and len(standin.messages) > sent_before:
                    result["first_send_s"] = now
                await asyncio.sleep(0.002)
            await standin.wait_for(lambda: len(standin.messages) >= sent_before + due, 120)
            result["all_due_sent_s"] = time.perf_counter() - started
            await asyncio.sleep(1.0)  # the last write-back and wake-up scheduling settle
            result["rss_mb"] = proc_status(process.pid, "VmRSS")
            if idle > 0:
                cpu_before, idle_from = cpu_seconds(process.pid), time.perf_counter()
                await asyncio.sleep(idle)
                cpu = cpu_seconds(process.pid) - cpu_before
                result["idle_cpu_pct"] = 100 * cpu / (time.perf_counter() - idle_from)
                result["rss_idle_mb"] = proc_status(process.pid, "VmRSS")
            result["peak_rss_mb"] = proc_status(process.pid, "VmHWM")
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return result


async def bench(args: argparse.Namespace) -> None:
    db_name = "postgresql" if args.database else "sqlite"
    patients = args.patients or max(1, args.messages // 20)
    async with database(args.database, "scale") as url:
        started = time.perf_counter()
        outbox = Outbox(args.messages, patients, args.due, dt.datetime.now(dt.UTC))
        await fill(url, outbox)
        loaded = time.perf_counter() - started
        print(
            f"scale: {len(outbox.messages):,} future messages ({len(outbox.sessions):,} sessions, "
            f"{patients:,} patients) + {args.due} due, {db_name}; loaded in {loaded:.1f} s"
        )
        settings = Settings(database_url=url, _env_file=None)
        async with app.open_context(settings, ScaledClock()) as ctx:
            timings = await time_queries(ctx, args.batch, args.repeat)
        print(f"  (a) query times, median of up to {args.repeat} calls (claim batch {args.batch}):")
        for name, (ms, calls) in timings.items():
            print(f"      {name:30} {ms:8.2f} ms   ({calls} calls)")
        runs: list[dict[str, float]] = []
        with tempfile.TemporaryDirectory(prefix="aftercare-scale-") as workdir:
            async with StandIn(token=TOKEN) as standin:
                for user in range(FIRST_USER, FIRST_USER + min(patients, args.due)):
                    standin.add_user(user, f"P{user}")
                for run in range(args.runs):
                    if run:
                        await make_due_again(url, args.due)
                    last = run == args.runs - 1
                    runs.append(
                        await run_process(url, standin, args.due, args.idle if last else 0, workdir)
                    )
    figures = {"claim_ms": timings["claim_due"][0]}
    if runs:
        figures |= report_process(runs, args)
    print(
        "  against the targets: "
        + ", ".join(
            f"{k} {v:.2f}/{TARGETS[k]:g} = {v / TARGETS[k]:.2f}" for k, v in figures.items()
        )
    )


def report_process(runs: list[dict[str, float]], args: argparse.Namespace) -> dict[str, float]:
    print(f"  (b) start-up of `python -m bot run`, median of {len(runs)} processes:")
    for key, label in (
        ("startup_s", "exec → first getUpdates"),
        ("first_send_s", "exec → first due message sent"),
        ("all_due_sent_s", f"exec → all {args.due} due sent"),
    ):
        values = [r[key] for r in runs]
        print(
            f"      {label:32} {median(values):6.2f} s   runs: "
            + ", ".join(f"{v:.2f}" for v in values)
        )
    last = runs[-1]
    rss = median([r["rss_mb"] for r in runs])
    print(f"  (c) resident memory: {rss:.0f} MB after start-up", end="")
    figures = {"startup_s": median([r["startup_s"] for r in runs]), "rss_mb": rss}
    if "rss_idle_mb" in last:
        print(f", {last['rss_idle_mb']:.0f} MB after {args.idle:g} s idle", end="")
        figures["rss_mb"] = max(rss, last["rss_idle_mb"])
    print(f" (peak {last['peak_rss_mb']:.0f} MB)")
    if "idle_cpu_pct" in last:
        print(f"  (d) idle CPU over {args.idle:g} s: {last['idle_cpu_pct']:.2f} % of one core")
        figures["idle_cpu_pct"] = last["idle_cpu_pct"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="future, pending")
    parser.add_argument("--patients", type=int, default=0, help="default: messages / 20")
    parser.add_argument("--due", type=int, default=100, help="messages due at start")
    parser.add_argument("--batch", type=int, default=8, help="the claim batch (29/s sends: 8)")
    parser.add_argument("--repeat", type=int, default=200, help="calls per query timing")
    parser.add_argument("--runs", type=int, default=3, help="processes started")
    parser.add_argument("--idle", type=float, default=60.0, help="idle seconds measured")
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
