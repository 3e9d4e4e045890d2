"""Instructor assignment at term scale: 500 sessions and 50 instructors across zones, skills and hours.

A seeded random term: sessions over eight weeks, 60 to 240 minutes, in one of four zones, each needing one or two
of six skills; instructors in five zones with two to four skills, weekday hours of their own, a cost per hour,
a buffer and a fallback. Prints the time to assign (median of runs), how many sessions got an instructor, how
many could not (and the first reasons), the total cost, the spread of hours between the busiest and the least
busy instructor, and a check that no instructor holds two overlapping sessions within her buffer and that every
choice has the required skills and sits inside her hours in her own zone.

Run: ``python benchmarks/assignment.py [--sessions 500] [--instructors 50] [--seed 7] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from lms_connectors.operations.assignment import Assignment, assign_instructors, unavailable_reason
from lms_connectors.operations.plan_file import InstructorSpec, SessionSpec

SKILLS = ("forklift", "first-aid", "onboarding", "leadership", "excel", "safety")
SESSION_ZONES = ("America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles")
INSTRUCTOR_ZONES = ("America/New_York", "America/Chicago", "Europe/London", "Europe/Madrid", "Asia/Singapore")


def make_term(sessions: int, instructors: int, seed: int) -> tuple[list[SessionSpec], list[InstructorSpec]]:
    """A seeded random term."""
    rng = random.Random(seed)
    people = []
    for n in range(instructors):
        start = rng.choice(("07:00", "08:00", "09:00", "10:00"))
        end = rng.choice(("16:00", "17:00", "18:00", "20:00"))
        people.append(InstructorSpec.model_validate({
            "email": f"instructor{n}@example.org", "name": f"Instructor {n}", "timezone": rng.choice(INSTRUCTOR_ZONES),
            "skills": rng.sample(SKILLS, rng.randint(2, 4)), "cost_per_hour": rng.choice((40, 55, 70, 90, 120)),
            "buffer_minutes": rng.choice((0, 15, 30)),
            "availability": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": start, "to": end}],
            "fallbacks": [f"instructor{(n + 1) % instructors}@example.org"],
        }))
    specs = []
    first_day = datetime(2027, 3, 1)
    for n in range(sessions):
        day = first_day + timedelta(days=rng.randrange(56))
        while day.weekday() >= 5:
            day += timedelta(days=1)
        specs.append(SessionSpec(
            id=f"term.s{n}", title=f"Session {n}", start=day.replace(hour=rng.randint(8, 15), minute=rng.choice((0, 30))),
            minutes=rng.choice((60, 90, 120, 180, 240)), timezone=rng.choice(SESSION_ZONES),
            skills=tuple(rng.sample(SKILLS, rng.randint(1, 2))),
        ))
    return specs, people


def check(specs: list[SessionSpec], people: list[InstructorSpec], result: list[Assignment]) -> list[str]:
    """Every rule the assignment promises, checked independently of how it was made."""
    by_email = {p.email: p for p in people}
    by_id = {s.id: s for s in specs}
    problems = []
    taught: dict[str, list[tuple[datetime, datetime, str]]] = {}
    for choice in result:
        if choice.instructor is None:
            continue
        spec, person = by_id[choice.session_id], by_email[choice.instructor]
        slot = spec.slot()
        if not set(spec.skills) <= set(person.skills):
            problems.append(f"{spec.id}: {person.email} lacks skills")
        if unavailable_reason(person, slot.start, slot.end):
            problems.append(f"{spec.id}: {person.email} outside her hours")
        taught.setdefault(person.email, []).append((slot.start.astimezone(UTC), slot.end.astimezone(UTC), spec.id))
    for email, slots in taught.items():
        slots.sort()
        buffer = timedelta(minutes=by_email[email].buffer_minutes)
        for (_, end, first), (start, _, second) in pairwise(slots):
            if start < end + buffer:
                problems.append(f"{email}: {first} and {second} closer than her buffer")
    return problems


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--instructors", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    specs, people = make_term(args.sessions, args.instructors, args.seed)
    times, result = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        result = assign_instructors(specs, people)
        times.append(time.perf_counter() - started)
    assigned = [a for a in result if a.instructor is not None]
    unassigned = [a for a in result if a.instructor is None]
    hours: dict[str, float] = dict.fromkeys((p.email for p in people), 0.0)
    cost = 0.0
    by_id = {s.id: s for s in specs}
    by_email = {p.email: p for p in people}
    for choice in assigned:
        spent = by_id[choice.session_id].minutes / 60
        hours[choice.instructor or ""] += spent
        cost += spent * by_email[choice.instructor or ""].cost_per_hour
    problems = check(specs, people, result)
    print(f"sessions: {args.sessions}, instructors: {args.instructors}, seed: {args.seed}, runs: {args.runs}")
    print(f"assign time: median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms")
    print(f"assigned: {len(assigned)}, without an instructor: {len(unassigned)}")
    infeasible = [
        a for a in unassigned
        if not any(
            set(by_id[a.session_id].skills) <= set(p.skills)
            and unavailable_reason(p, by_id[a.session_id].slot().start, by_id[a.session_id].slot().end) is None
            for p in people
        )
    ]
    print(f"  of which no instructor has both the skills and the hours (no order could help): {len(infeasible)}")
    for choice in unassigned[:3]:
        reasons = sorted(set(choice.turned_down.values()))
        print(f"  {choice.session_id}: {len(choice.turned_down)} turned down, e.g. {reasons[:2]}")
    print(f"total cost: {cost:,.0f}; hours per instructor: max {max(hours.values()):.1f}, "
          f"min {min(hours.values()):.1f}, median {statistics.median(hours.values()):.1f}")
    print(f"rule violations (skills, hours in own zone, overlaps within buffer): {len(problems)}")
    for problem in problems[:5]:
        print(f"  {problem}")


if __name__ == "__main__":
    main()
