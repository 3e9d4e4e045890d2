"""Listing a large ledger: every session loaded at once (``list_sessions``) against streamed pages (``iter_sessions``).

A SQLite ledger (or PostgreSQL with ``--dsn``) is filled with ``--sessions`` sessions (100,000 by default), then
each way of reading them all runs in a fresh Python process that walks every session once and reports the wall
time and its peak resident memory (``ru_maxrss``) above what the process held before the walk. Streamed pages
keep the memory flat however many sessions there are; loading everything grows with the ledger.

Run: ``python benchmarks/ledger_listing.py [--sessions 100000] [--rounds 3] [--dsn postgresql://...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from lms_connectors.models import Session, TimeSlot
from lms_connectors.store import open_ledger

_WALK = """
import json, resource, sys, time
from lms_connectors.store import open_ledger
url, how = sys.argv[1], sys.argv[2]
ledger = open_ledger(url)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
count = 0
sessions = ledger.list_sessions() if how == "list_sessions" else ledger.iter_sessions()
for session in sessions:
    count += 1
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"count": count, "seconds": elapsed, "extra_mib": (peak - before) / 1024}))
ledger.close()
"""


def fill(url: str, sessions: int) -> None:
    """Write ``sessions`` sessions in one transaction."""
    zone = ZoneInfo("UTC")  # every hour exists (a local zone skips one each spring)
    start = datetime(2027, 1, 4, 9, 0, tzinfo=zone)
    ledger = open_ledger(url)
    with ledger.transaction():
        for index in range(sessions):
            begin = start + timedelta(hours=index)
            ledger.save_session(
                Session(
                    id=f"bench.listing.{index}",
                    title=f"Session {index}",
                    slot=TimeSlot(start=begin, end=begin + timedelta(hours=1), timezone="UTC"),
                    capacity=12,
                    description="Bring the handbook.",
                )
            )
    ledger.close()


def walk(url: str, how: str) -> dict[str, float]:
    """Read every session in a fresh process; its count, seconds and extra peak memory."""
    done = subprocess.run(
        [sys.executable, "-c", _WALK, url, how], capture_output=True, text=True, check=True, env=os.environ.copy()
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> int:
    """Print the listing table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="walks of each kind, interleaved")
    parser.add_argument("--dsn", help="a PostgreSQL ledger URL instead of a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.dsn or str(Path(scratch) / "ledger.sqlite3")
        began = time.perf_counter()
        fill(url, args.sessions)
        print(f"{args.sessions:,} sessions written in {time.perf_counter() - began:.1f} s "
              f"({'PostgreSQL' if args.dsn else 'SQLite'}); {args.rounds} interleaved walks of each kind")
        rows: dict[str, list[dict[str, float]]] = {"list_sessions": [], "iter_sessions": []}
        for _ in range(args.rounds):
            for how in rows:
                rows[how].append(walk(url, how))
        header = f"{'reader':<15} {'sessions':>9} {'median s':>9} {'min s':>7} {'peak extra MiB':>15}"
        print(header)
        print("-" * len(header))
        for how, runs in rows.items():
            seconds = [run["seconds"] for run in runs]
            print(
                f"{how:<15} {int(runs[0]['count']):>9,} {statistics.median(seconds):>9.2f} {min(seconds):>7.2f} "
                f"{statistics.median(run['extra_mib'] for run in runs):>15.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
