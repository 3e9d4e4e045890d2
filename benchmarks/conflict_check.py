"""Conflict check at scale: a ledger of 100,000 sessions indexed, then every one of them checked for double bookings.

A year of sessions (default 100,000) is generated with a fixed seed: 2,000 instructors and 500 rooms, each
session one or two instructors and, for most, a room, starting on the half hour between 08:00 and 17:00 in one of
three zones, 1 to 4 hours long; about 1 in 40 reuses an instructor or room already busy then, so that the check
finds real clashes. They are stored in a SQLite ledger (in a temporary folder, not timed). The benchmark times,
separately:

* building the :class:`~lms_connectors.conflicts.IntervalIndex` from that ledger (what a scheduler does once, on
  its first check: :meth:`LedgerStore.iter_bookings` selects only the instants, the instructors and the room of
  each scheduled session, and the index sorts each resource's intervals once);
* checking the whole ledger at once (:meth:`ConflictChecker.double_bookings`: every session against all the
  others, in one sweep of the index);
* checking every session one at a time (:meth:`ConflictChecker.ledger_clashes`, each instructor and the room),
  the check a create or a reschedule runs before any provider call;

and prints wall and CPU time (the CPU time tells a busy machine from a slow check), the clashes found, and a
brute-force count on a sample (every sampled session compared with all the others) as a cross-check.

Run: ``python benchmarks/conflict_check.py [--sessions 100000] [--seed 15]``.
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from lms_connectors.conflicts import ConflictChecker
from lms_connectors.models import Modality, Person, Role, Room, Session, TimeSlot
from lms_connectors.store.base import Booking
from lms_connectors.store.sqlite import SQLiteLedger

ZONES = ("America/New_York", "Europe/Berlin", "Asia/Tokyo")


def generate(count: int, seed: int) -> list[Session]:
    """``count`` sessions over 2027, about 1 in 40 deliberately re-using someone or something already busy."""
    rng = random.Random(seed)
    instructors = [Person(email=f"instructor{n}@example.org", name=f"Instructor {n}", role=Role.INSTRUCTOR)
                   for n in range(2_000)]
    rooms = [Room(id=f"room-{n}", name=f"Room {n}", email=f"room{n}@resource.example.org", capacity=20)
             for n in range(500)]
    zones = {name: ZoneInfo(name) for name in ZONES}
    sessions: list[Session] = []
    for n in range(count):
        if sessions and rng.random() < 0.025:
            other = rng.choice(sessions)  # a clash: same slot as an earlier session, sharing one of its resources
            slot = other.slot
            people = other.instructors[:1] or (rng.choice(instructors),)
            room = other.room
        else:
            zone = rng.choice(ZONES)
            day = datetime(2027, 1, 1, tzinfo=zones[zone]) + timedelta(days=rng.randrange(365))
            start = day.replace(hour=8) + timedelta(minutes=30 * rng.randrange(18))
            slot = TimeSlot(start=start, end=start + timedelta(hours=rng.randint(1, 4)), timezone=zone)
            people = tuple(rng.sample(instructors, rng.choice((1, 1, 2))))
            room = rng.choice(rooms) if rng.random() < 0.8 else None
        sessions.append(Session(id=f"s{n}", title=f"Session {n}", slot=slot, modality=Modality.IN_PERSON,
                                instructors=people, room=room))
    return sessions


def brute_force(bookings: list[Booking], sample: list[Booking]) -> int:
    """Clashes of ``sample`` found by comparing each with every booking (the cross-check)."""
    found = 0
    for mine in sample:
        held = set(mine.resources)
        for other in bookings:
            if other.session_id != mine.session_id and other.start < mine.end and mine.start < other.end:
                found += len(held.intersection(other.resources))
    return found


def timed(what: str, seconds: float, cpu: float, detail: str = "") -> None:
    print(f"{what} in {seconds * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms){detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    generated = time.perf_counter()
    sessions = generate(args.sessions, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        ledger = SQLiteLedger(Path(folder) / "ledger.sqlite3")
        with ledger.transaction():
            for session in sessions:
                ledger.save_session(session)
        # The generated sessions stay in memory for the one-by-one checks: keep the garbage collector from walking
        # their millions of objects again and again during the timed parts (no application holds a ledger so).
        gc.collect()
        gc.freeze()
        print(f"generated and stored {len(sessions):,} sessions in {time.perf_counter() - generated:.1f} s "
              "(not part of the check)")

        started, cpu = time.perf_counter(), time.process_time()
        checker = ConflictChecker(ledger)
        index = checker.index
        timed(f"index of {len(index):,} sessions built from the SQLite ledger", time.perf_counter() - started,
              time.process_time() - cpu)

        started, cpu = time.perf_counter(), time.process_time()
        swept = checker.double_bookings()
        sweep, sweep_cpu = time.perf_counter() - started, time.process_time() - cpu
        swept_clashes = sum(len(found) for found in swept.values())
        timed(f"{len(sessions):,} sessions checked at once (double_bookings)", sweep, sweep_cpu,
              f": {swept_clashes:,} clashes in {len(swept):,} sessions")

        started, cpu = time.perf_counter(), time.process_time()
        clashes = 0
        clashing_sessions = 0
        for session in sessions:
            found = checker.ledger_clashes(session)
            clashes += len(found)
            clashing_sessions += bool(found)
        checked, checked_cpu = time.perf_counter() - started, time.process_time() - cpu
        same = (clashes, clashing_sessions) == (swept_clashes, len(swept))
        timed(f"{len(sessions):,} sessions checked one by one (ledger_clashes)", checked, checked_cpu,
              f", {checked / len(sessions) * 1e6:.1f} us per check: {clashes:,} clashes in {clashing_sessions:,} "
              f"sessions ({'same as' if same else 'DIFFERENT from'} the sweep)")

        bookings = list(ledger.iter_bookings())
        ledger.close()
    sample = bookings[:: max(1, len(bookings) // 200)]
    expected = brute_force(bookings, sample)
    by_id = {session.id: session for session in sessions}
    sampled = sum(len(checker.ledger_clashes(by_id[booking.session_id])) for booking in sample)
    print(f"cross-check on {len(sample)} sessions against all {len(bookings):,} by brute force: "
          f"{expected} clashes, index found {sampled} ({'equal' if expected == sampled else 'DIFFERENT'})")
    for what, seconds in (("at once", sweep), ("one by one", checked)):
        print(f"goal: {len(sessions):,} sessions checked {what} in <= 1 s: {'met' if seconds <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
