"""Roster scaling: what one enrolment and one unenrolment with promotion cost as the waitlist grows.

For each waitlist length, a session with capacity 10 is scheduled on Moodle (its simulator served on 127.0.0.1)
with a fresh ledger, then 10 + N learners are enrolled one at a time (10 confirmed and pushed to Moodle, N
waitlisted), then learners are unenrolled one at a time, each freeing a seat that the head of the waitlist takes
(one removal and one push to Moodle). Prints, per length: the total enrolment time; the median, fastest and last
waitlisted enrolment (ledger work only: on a loaded machine the fastest says more than the median); the median of
the first 10 enrolments, which are confirmed and pushed to Moodle (kept apart, since with a short waitlist they
would be half of the sample and move its median); the median unenrolment with promotion and the Moodle calls it
makes; the enrolment rows the ledger read and wrote for the last enrolment and for the last unenrolment; and, on
PostgreSQL, the enrolment rows its scans read over the run, sequentially or through an index, per operation (from
the server's table statistics, so not blurred by load). Cost that does not grow with the roster shows as flat columns.

``--analyze-at N`` takes the database's statistics once the roster holds N rows, as autovacuum (PostgreSQL) or an
operator (SQLite) would at a moment of its own: plans made from statistics of a small roster are then in use for
the rest of the run, which a run left to autovacuum's timing may or may not meet.

Run: ``python benchmarks/roster_scaling.py [--sizes 10,100,1000,10000] [--ledger sqlite|memory|postgres]
[--dsn postgresql://...] [--unenrolments 5] [--analyze-at 20]`` (PostgreSQL: one fresh schema per length in the database the DSN
names, dropped afterwards; the role must be allowed to create schemas there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from lms_connectors.models import Enrollment, EnrollmentStatus, Modality, Person, Room, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.base import LedgerStore
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.store.sqlite import SQLiteLedger
from lms_connectors.testing.sandboxed import sandboxed_adapters

CAPACITY = 10


class _RowCounts:
    """Enrolment rows a ledger handed out and wrote since the last reset."""

    def __init__(self) -> None:
        self.read = 0
        self.written = 0


def _counting(ledger: LedgerStore, counts: _RowCounts) -> LedgerStore:
    """Wrap the ledger's enrolment reads and writes so that they count rows (the ledger stays the same object)."""
    for name in ("list_enrollments", "first_enrollments", "list_uncertain_enrollments"):
        original = getattr(ledger, name, None)
        if original is None:  # an older ledger without the roster queries (to print "before" figures)
            continue

        def listing(*args: object, _original: object = original, **kwargs: object) -> list[Enrollment]:
            rows: list[Enrollment] = _original(*args, **kwargs)  # type: ignore[operator]
            counts.read += len(rows)
            return rows

        setattr(ledger, name, listing)
    get_enrollment, upsert_enrollment = ledger.get_enrollment, ledger.upsert_enrollment

    def get(session_id: str, email: str) -> Enrollment | None:
        found = get_enrollment(session_id, email)
        counts.read += found is not None
        return found

    def upsert(enrollment: Enrollment) -> None:
        upsert_enrollment(enrollment)
        counts.written += 1

    ledger.get_enrollment = get  # type: ignore[method-assign]
    ledger.upsert_enrollment = upsert  # type: ignore[method-assign]
    return ledger


def _session(waitlist: int) -> Session:
    start = datetime(2027, 3, 28, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # the week Europe moves its clocks
    return Session(
        id=f"bench.roster.{waitlist}",
        title="Roster scaling",
        slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="Europe/Berlin"),
        modality=Modality.IN_PERSON,
        room=Room(id="r1", name="Room 1"),
        capacity=CAPACITY,
    )


def _open(kind: str, folder: Path, waitlist: int, dsn: str | None) -> LedgerStore:
    if kind == "postgres":
        from lms_connectors.store.postgres import PostgresLedger

        if dsn is None:
            raise SystemExit("--ledger postgres needs --dsn")
        return PostgresLedger(dsn, schema=_schema(waitlist))
    return MemoryLedger() if kind == "memory" else SQLiteLedger(folder / f"ledger-{waitlist}.db")


def _schema(waitlist: int) -> str:
    return f"bench_roster_{waitlist}_{os.getpid()}"


def _drop(ledger: LedgerStore, waitlist: int) -> None:
    """Drop a PostgreSQL ledger's benchmark schema (a SQLite file goes with its temporary folder)."""
    from lms_connectors.store.postgres import PostgresLedger

    if isinstance(ledger, PostgresLedger):
        with ledger.connection() as conn:
            conn.execute(f'DROP SCHEMA "{_schema(waitlist)}" CASCADE')


def _rows_scanned(dsn: str, waitlist: int) -> int:
    """Rows PostgreSQL's scans (sequential and through indexes) read from the enrolments table (its statistics).

    Read once the ledger's connections are closed (a closing backend hands its counts over), until two readings
    agree.
    """
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        last = None
        for _ in range(40):
            row = conn.execute(
                "SELECT seq_tup_read + COALESCE(idx_tup_fetch, 0) FROM pg_stat_user_tables "
                "WHERE schemaname = %s AND relname = 'enrollments'",
                (_schema(waitlist),),
            ).fetchone()
            if row is not None and row == last:
                return int(row[0])
            last = row
            time.sleep(0.25)
    raise SystemExit("PostgreSQL's table statistics did not settle")


def _analyze(ledger: LedgerStore) -> None:
    """Take the ledger database's statistics now (nothing to take in a memory ledger)."""
    from lms_connectors.store.postgres import PostgresLedger

    if isinstance(ledger, PostgresLedger):
        with ledger.connection() as conn:
            conn.execute("ANALYZE enrollments")
    elif isinstance(ledger, SQLiteLedger):
        with ledger.transaction():
            ledger._conn.execute("ANALYZE")


def measure(
    waitlist: int,
    kind: str,
    unenrolments: int,
    folder: Path,
    dsn: str | None = None,
    analyze_at: int | None = None,
) -> dict[str, float]:
    """One row of the table: enrol 10 + ``waitlist`` learners one at a time, then unenrol a few with promotion."""
    counts = _RowCounts()
    session = _session(waitlist)
    people = [
        Person(email=f"learner{i}@example.org", name=f"Learner {i}", timezone="Europe/Berlin")
        for i in range(CAPACITY + waitlist)
    ]
    with sandboxed_adapters(["moodle"]) as sandbox:
        ledger = _counting(_open(kind, folder, waitlist, dsn), counts)
        scheduler = Scheduler([sandbox.adapters["moodle"]], ledger)
        scheduler.schedule(session)
        enrol_times: list[float] = []
        calls_before = sandbox.calls()
        started = time.perf_counter()
        for arrived, person in enumerate(people):
            if arrived == analyze_at:
                _analyze(ledger)
            counts.read = counts.written = 0
            before = time.perf_counter()
            scheduler.enrol(session.id, person)
            enrol_times.append(time.perf_counter() - before)
        total = time.perf_counter() - started
        enrol_rows = (counts.read, counts.written)
        unenrol_times: list[float] = []
        calls_before = sandbox.calls()
        for person in people[: min(unenrolments, waitlist)]:
            counts.read = counts.written = 0
            before = time.perf_counter()
            scheduler.unenrol(session.id, person.email)
            unenrol_times.append(time.perf_counter() - before)
        unenrol_rows = (counts.read, counts.written)
        unenrol_calls = (sandbox.calls() - calls_before) / max(1, len(unenrol_times))
        scanned = float("nan")
        if kind == "postgres" and dsn is not None:
            ledger.close()
            scanned = _rows_scanned(dsn, waitlist) / (len(enrol_times) + len(unenrol_times))
            ledger = _open(kind, folder, waitlist, dsn)
        confirmed = len(ledger.list_enrollments(session.id, EnrollmentStatus.CONFIRMED))
        _drop(ledger, waitlist)
        ledger.close()
    if confirmed != CAPACITY:
        raise SystemExit(f"waitlist {waitlist}: {confirmed} confirmed after the promotions, expected {CAPACITY}")
    pushed, waitlisted = enrol_times[:CAPACITY], enrol_times[CAPACITY:]
    return {
        "enrolments": len(people),
        "total_s": total,
        "median_ms": statistics.median(waitlisted) * 1000,
        "min_ms": min(waitlisted) * 1000,
        "last_ms": waitlisted[-1] * 1000,
        "pushed_ms": statistics.median(pushed) * 1000,
        "unenrol_ms": statistics.median(unenrol_times) * 1000 if unenrol_times else float("nan"),
        "unenrol_calls": unenrol_calls,
        "scanned": scanned,
        "enrol_read": enrol_rows[0],
        "enrol_written": enrol_rows[1],
        "unenrol_read": unenrol_rows[0],
        "unenrol_written": unenrol_rows[1],
    }


def main() -> int:
    """Print the roster-scaling table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000", help="waitlist lengths, comma-separated")
    parser.add_argument("--ledger", choices=("sqlite", "memory", "postgres"), default="sqlite")
    parser.add_argument("--dsn", help="PostgreSQL connection string (with --ledger postgres)")
    parser.add_argument("--unenrolments", type=int, default=5, help="unenrolments with promotion per size")
    parser.add_argument("--analyze-at", type=int, help="take the database's statistics when the roster holds N rows")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    when = "autovacuum's or nobody's timing" if args.analyze_at is None else f"at {args.analyze_at} rows"
    print(f"roster scaling: capacity {CAPACITY}, {args.ledger} ledger, Moodle simulator on 127.0.0.1, statistics {when}")
    print("median, min, last: waitlisted enrolments; pushed: the first 10 (confirmed, one push to Moodle each)")
    if args.ledger == "postgres":
        print("rows read/op: enrolment rows PostgreSQL's scans read (sequential or through an index) over the run, per operation")
    header = (
        f"{'waitlist':>9} {'enrolments':>10} {'total s':>8} {'median ms':>10} {'min ms':>7} {'last ms':>8} "
        f"{'pushed ms':>10} {'unenrol+promote ms':>19} {'its calls':>10} {'rows r/w enrol':>15} {'rows r/w unenrol':>17}"
        f"{'rows read/op':>13}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as scratch:
        for size in sizes:
            row = measure(size, args.ledger, args.unenrolments, Path(scratch), args.dsn, args.analyze_at)
            enrol_rows = f"{row['enrol_read']:.0f}/{row['enrol_written']:.0f}"
            unenrol_rows = f"{row['unenrol_read']:.0f}/{row['unenrol_written']:.0f}"
            print(
                f"{size:>9,} {row['enrolments']:>10,.0f} {row['total_s']:>8.2f} {row['median_ms']:>10.2f} {row['min_ms']:>7.2f} "
                f"{row['last_ms']:>8.2f} {row['pushed_ms']:>10.2f} {row['unenrol_ms']:>19.2f} {row['unenrol_calls']:>10.0f} "
                f"{enrol_rows:>15} {unenrol_rows:>17} {row['scanned']:>12.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
