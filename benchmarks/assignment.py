"""Instructor assignment at term scale: 500 sessions and 50 instructors, the greedy pass beside CP-SAT.

A seeded random term: sessions over eight weeks, 60 to 240 minutes, in one of four zones, each needing one or two
of six skills; instructors in five zones with two to four skills, weekday hours of their own, a cost per hour,
a buffer, a fallback and, for some, a cap on weekly hours. For each solver it prints one row: sessions assigned,
sessions left and why (nobody has the skills and the hours at all / every candidate is taken), the total cost,
the load (hours of the busiest and the least busy instructor among those who could teach, and the standard
deviation), the time (median of runs), and a check, independent of the solvers, that no instructor holds two
sessions within her buffer, lacks a skill, teaches outside her hours in her own zone or past her weekly cap.

Run: ``python benchmarks/assignment.py [--sessions 500] [--instructors 50] [--seed 7] [--runs 3]
[--time-limit 10]``. CP-SAT needs ``pip install 'lms-connectors[planning]'``; without it only the greedy row.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from lms_connectors.operations.assignment import (
    Assignment,
    Solver,
    assign_instructors,
    cp_sat_available,
    unavailable_reason,
    week_of,
)
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
            "max_hours_per_week": rng.choice((None, None, None, 8, 12)),
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
    weekly: dict[tuple[str, str], int] = {}
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
        week = (person.email, week_of(person, slot.start))
        weekly[week] = weekly.get(week, 0) + spec.minutes
    for email, slots in taught.items():
        slots.sort()
        buffer = timedelta(minutes=by_email[email].buffer_minutes)
        for (_, end, first), (start, _, second) in pairwise(slots):
            if start < end + buffer:
                problems.append(f"{email}: {first} and {second} closer than her buffer")
    for (email, iso_week), minutes in weekly.items():
        cap = by_email[email].max_hours_per_week
        if cap is not None and minutes > cap * 60:
            problems.append(f"{email}: {minutes / 60:g} h in {iso_week}, over her {cap:g} h")
    return problems


def could_teach(spec: SessionSpec, person: InstructorSpec) -> bool:
    """Whether ``person`` has the skills and the hours for ``spec`` (whatever else she teaches)."""
    slot = spec.slot()
    return set(spec.skills) <= set(person.skills) and unavailable_reason(person, slot.start, slot.end) is None


def row(solver: Solver, specs: list[SessionSpec], people: list[InstructorSpec], runs: int,
        time_limit: float) -> dict[str, str]:
    """Assign with ``solver`` ``runs`` times; the figures of the last run and the median time."""
    times, result = [], []
    for _ in range(runs):
        started = time.perf_counter()
        result = assign_instructors(specs, people, solver=solver, time_limit=time_limit)
        times.append(time.perf_counter() - started)
    by_id = {s.id: s for s in specs}
    by_email = {p.email: p for p in people}
    teachers = {p.email for p in people if any(could_teach(s, p) for s in specs)}
    hours = dict.fromkeys(teachers, 0.0)
    cost = 0.0
    for choice in result:
        if choice.instructor is not None:
            spent = by_id[choice.session_id].minutes / 60
            hours[choice.instructor] += spent
            cost += spent * by_email[choice.instructor].cost_per_hour
    left = [a for a in result if a.instructor is None]
    nobody = sum(1 for a in left if not any(could_teach(by_id[a.session_id], p) for p in people))
    return {
        "solver": solver,
        "assigned": str(len(result) - len(left)),
        "left: nobody / taken": f"{nobody} / {len(left) - nobody}",
        "cost": f"{cost:,.0f}",
        "hours max / min / sd": f"{max(hours.values()):.1f} / {min(hours.values()):.1f} / "
                                f"{statistics.pstdev(hours.values()):.1f}",
        "time (median)": f"{statistics.median(times):.2f} s",
        "rules broken": str(len(check(specs, people, result))),
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--instructors", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=10.0, help="CP-SAT's time limit in seconds")
    args = parser.parse_args()
    specs, people = make_term(args.sessions, args.instructors, args.seed)
    solvers: list[Solver] = ["greedy", "cp-sat"] if cp_sat_available() else ["greedy"]
    rows = [row(solver, specs, people, args.runs, args.time_limit) for solver in solvers]
    print(f"sessions: {args.sessions}, instructors: {args.instructors}, seed: {args.seed}, runs: {args.runs}, "
          f"CP-SAT time limit: {args.time_limit:g} s")
    widths = {key: max(len(key), *(len(r[key]) for r in rows)) for key in rows[0]}
    print(" | ".join(key.ljust(width) for key, width in widths.items()))
    print("-+-".join("-" * width for width in widths.values()))
    for figures in rows:
        print(" | ".join(figures[key].ljust(width) for key, width in widths.items()))
    if not cp_sat_available():
        print("CP-SAT: not installed (pip install 'lms-connectors[planning]')")


if __name__ == "__main__":
    main()
