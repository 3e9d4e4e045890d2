"""Conflict check at scale: 100,000 sessions indexed, then every one of them checked for double bookings.

A year of sessions (default 100,000) is generated with a fixed seed: 2,000 instructors and 500 rooms, each
session one or two instructors and, for most, a room, starting on the half hour between 08:00 and 17:00 in one of
three zones, 1 to 4 hours long; about 1 in 40 reuses an instructor or room already busy then, so that the check
finds real clashes. The benchmark times, separately:

* building the :class:`~lms_connectors.conflicts.IntervalIndex` of every session (what a scheduler does once, on
  its first check);
* checking the whole ledger at once (:meth:`ConflictChecker.double_bookings`: every session against all the
  others, in one sweep of the index);
* checking every session one at a time (:meth:`ConflictChecker.ledger_clashes`, each instructor and the room),
  the check a create or a reschedule runs before any provider call;

and prints wall and CPU time (the CPU time tells a busy machine from a slow check), the clashes found, and a
brute-force count on a sample as a cross-check.

Run: ``python benchmarks/conflict_check.py [--sessions 100000] [--seed 15]``.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.conflicts import ConflictChecker, resources_of
from lms_connectors.models import Modality, Person, Role, Room, Session, TimeSlot
from lms_connectors.store.memory import MemoryLedger

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


def brute_force(sessions: list[Session], sample: list[Session]) -> int:
    """Clashes of ``sample`` found by comparing with every session (the cross-check)."""
    found = 0
    for session in sample:
        mine = set(resources_of(session))
        start, end = session.slot.start.timestamp(), session.slot.end.timestamp()
        for other in sessions:
            if other.id == session.id:
                continue
            if other.slot.start.timestamp() < end and start < other.slot.end.timestamp():
                found += len(mine & set(resources_of(other)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    generated = time.perf_counter()
    sessions = generate(args.sessions, args.seed)
    print(f"generated {len(sessions):,} sessions in {time.perf_counter() - generated:.1f} s (not part of the check)")

    started, cpu = time.perf_counter(), time.process_time()
    index = ConflictChecker.build(sessions)
    built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
    checker = ConflictChecker(MemoryLedger(), index=index)

    started, cpu = time.perf_counter(), time.process_time()
    swept = checker.double_bookings()
    sweep, sweep_cpu = time.perf_counter() - started, time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    clashes = 0
    clashing_sessions = 0
    for session in sessions:
        found = checker.ledger_clashes(session)
        clashes += len(found)
        clashing_sessions += bool(found)
    checked, checked_cpu = time.perf_counter() - started, time.process_time() - cpu

    sample = sessions[:: max(1, len(sessions) // 200)]
    expected = brute_force(sessions, sample)
    sampled = sum(len(checker.ledger_clashes(session)) for session in sample)

    swept_clashes = sum(len(found) for found in swept.values())
    print(f"index of {len(sessions):,} sessions built in {built * 1000:.0f} ms (CPU {built_cpu * 1000:.0f} ms)")
    print(f"{len(sessions):,} sessions checked at once (double_bookings) in {sweep * 1000:.0f} ms "
          f"(CPU {sweep_cpu * 1000:.0f} ms): {swept_clashes:,} clashes in {len(swept):,} sessions")
    print(f"{len(sessions):,} sessions checked one by one (ledger_clashes) in {checked * 1000:.0f} ms "
          f"(CPU {checked_cpu * 1000:.0f} ms, {checked / len(sessions) * 1e6:.1f} us per check): "
          f"{clashes:,} clashes in {clashing_sessions:,} sessions "
          f"({'same as' if (clashes, clashing_sessions) == (swept_clashes, len(swept)) else 'DIFFERENT from'} the sweep)")
    print(f"cross-check on {len(sample)} sessions against all {len(sessions):,} by brute force: "
          f"{expected} clashes, index found {sampled} ({'equal' if expected == sampled else 'DIFFERENT'})")
    for what, seconds in (("at once", sweep), ("one by one", checked)):
        print(f"goal: {len(sessions):,} sessions checked {what} in <= 1 s: {'met' if seconds <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
