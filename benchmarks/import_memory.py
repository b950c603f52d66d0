"""Memory of `aftercare import sessions`: the peak resident memory an import adds, by rows.

python benchmarks/import_memory.py --sessions 100000 [--known] [--database postgresql://…]

The CSV is written to a temporary file and imported as the command line does (the file opened
in binary, read as a stream); the figure is the process's peak resident set size (ru_maxrss)
after the import minus the same just before it, so what the import itself held at its peak.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import database
from bot import app
from bot.config import Settings
from bot.services import imports, patients


def write_csv(path: Path, count: int, known: list[int] | None) -> None:
    start = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)  # written as local time below
    zones = ("Europe/Paris", "America/New_York", "Asia/Dubai", "Europe/Moscow")
    treatments = ("face", "eye-area", "scalp", "body")
    with path.open("w", encoding="utf-8") as out:
        out.write("patient,patient_id,language,timezone,treatment,starts_at,area\n")
        for i in range(count):
            when = start + dt.timedelta(minutes=30 * i)
            if known:
                who = f",{known[i % len(known)]},,"
            else:
                who = f"Patient Number {i},,en,{zones[i % 4]}"
            out.write(f"{who},{treatments[i % 4]},{when:%Y-%m-%d %H:%M},\n")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def one_run(args: argparse.Namespace) -> None:
    async with database(args.database) as url:
        settings = Settings(database_url=url, timezone="UTC", _env_file=None)
        async with app.open_context(settings) as ctx:
            known = None
            if args.known:
                known = [
                    (await patients.add_patient(ctx, f"Known {i}", "en", "Europe/Paris")).id
                    for i in range(args.known)
                ]
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "sessions.csv"
                write_csv(path, args.sessions, known)
                size = path.stat().st_size
                before = peak_mb()
                started = time.perf_counter()
                with path.open("rb") as file:
                    result = await imports.import_sessions(ctx, file, max_bytes=size + 1)
                elapsed = time.perf_counter() - started
                after = peak_mb()
    kind = f"known patients ({args.known})" if args.known else "new patients"
    print(
        f"import: {result.sessions:,} sessions of {kind} from a {size / 1e6:.1f} MB CSV "
        f"({result.messages:,} messages) in {elapsed:.0f} s"
    )
    print(
        f"  peak resident memory: {before:.0f} MB before, {after:.0f} MB after: "
        f"+{after - before:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument(
        "--known", type=int, default=0, help="rows name this many existing patients, in turn"
    )
    parser.add_argument("--database", default=None)
    asyncio.run(one_run(parser.parse_args()))


if __name__ == "__main__":
    main()
