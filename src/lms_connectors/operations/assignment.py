"""Pick an instructor for each session that names none: skilled, free in her own zone, cheapest, fairest.

An instructor can take a session when she (1) has every skill it requires, (2) is inside one of her weekly
availability windows for the whole session, read as wall times in her own zone, (3) has nothing else (the
plan's named sessions, the ledger's sessions, her busy time at the providers) within her buffer of it, (4) has
not declined it, and (5) stays within her ``max_hours_per_week`` (a week is Monday to Sunday in her zone).
Among those, the assignment prefers the instructor's named fallbacks after a decline, then the lowest cost with
the load spread over the team.

Two ways to choose, given by ``solver``:

- ``"cp-sat"`` (:mod:`lms_connectors.operations.assignment_solver`, OR-Tools' CP-SAT, in the ``planning``
  extra) starts from the greedy pass's answer, places as many sessions as any assignment can, reshuffling
  earlier choices when that lets one more session in, then minimises cost plus the same load charge over
  the whole term.
  It is the default when OR-Tools is installed.
- ``"greedy"`` takes sessions in order of start (the hardest first when they start together) and gives each the
  candidate with the lowest ``cost_per_hour * hours + LOAD_WEIGHT * hours already given``. It never revisits a
  choice, so it can leave a session nobody is free for that a reshuffle would have placed.

``benchmarks/assignment.py`` compares both at 500 sessions and 50 instructors. Each choice carries its reasons,
and the candidates turned down with theirs, for the audit log.
"""

from __future__ import annotations

import bisect
import copy
import importlib.util
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from lms_connectors.errors import ConfigurationError
from lms_connectors.operations.plan_file import WEEKDAY_INDEX, InstructorSpec, SessionSpec
from lms_connectors.timezones import require_zone

__all__ = [
    "LOAD_WEIGHT",
    "Assignment",
    "AssignmentProblem",
    "BusyCalendar",
    "Solver",
    "assign_instructors",
    "cp_sat_available",
    "unavailable_reason",
    "week_of",
]

LOAD_WEIGHT = 10.0
"""What an hour already given to an instructor adds to the cost of giving her another, so load spreads (both
solvers: the greedy pass per choice, CP-SAT as ``LOAD_WEIGHT * hours**2 / 2`` per instructor over the term)."""

Solver = Literal["auto", "cp-sat", "greedy"]


@dataclass(frozen=True)
class Assignment:
    """Who teaches a session, or why nobody can."""

    session_id: str
    instructor: str | None
    reasons: tuple[str, ...]
    """Why she was chosen (or why nobody was)."""
    turned_down: dict[str, str] = field(default_factory=dict)
    """Candidates not chosen, each with the reason."""


@dataclass
class BusyCalendar:
    """Each instructor's busy intervals (UTC), kept sorted by start for a logarithmic overlap check."""

    intervals: dict[str, list[tuple[datetime, datetime, str]]] = field(default_factory=dict)
    longest: dict[str, timedelta] = field(default_factory=dict)

    def add(self, email: str, start: datetime, end: datetime, what: str) -> None:
        """Mark ``email`` busy from ``start`` to ``end`` (aware datetimes) with ``what``."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        bisect.insort(self.intervals.setdefault(email, []), (start, end, what))
        self.longest[email] = max(self.longest.get(email, timedelta(0)), end - start)

    def copy(self) -> BusyCalendar:
        """A calendar holding the same intervals, to add to without changing this one."""
        return BusyCalendar({email: list(spans) for email, spans in self.intervals.items()}, dict(self.longest))

    def clash(self, email: str, start: datetime, end: datetime, buffer: timedelta) -> str | None:
        """What ``email`` is busy with within ``buffer`` of ``start``-``end``, or ``None``."""
        busy = self.intervals.get(email, [])
        lo, hi = start.astimezone(UTC) - buffer, end.astimezone(UTC) + buffer
        # Only intervals starting before ``hi`` can overlap; of those, none starting before ``lo`` minus the
        # longest interval can still be running at ``lo``, so the scan back stops there.
        earliest = lo - self.longest.get(email, timedelta(0))
        for other_start, other_end, what in reversed(busy[: bisect.bisect_left(busy, (hi,))]):
            if other_start < earliest:
                break
            if other_end > lo:
                return what
        return None


def unavailable_reason(instructor: InstructorSpec, start: datetime, end: datetime) -> str | None:
    """Why ``instructor`` cannot teach from ``start`` to ``end`` by her weekly windows, or ``None``.

    The windows are wall times in her own zone, so a 09:00 New York session is 15:00 for a Berlin instructor,
    and a DST change on either side moves it.
    """
    if not instructor.availability:
        return None
    tz = require_zone(instructor.timezone)  # canonical already (the plan file's Zone type)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_start.date() != local_end.date():
        return f"runs past midnight in her zone ({local_start:%a %H:%M}-{local_end:%a %H:%M} {tz.key})"
    day = local_start.weekday()
    for window in instructor.availability:
        if day in {WEEKDAY_INDEX[d] for d in window.days} and (
            window.start <= local_start.time() and local_end.time() <= window.end
        ):
            return None
    return f"outside her availability ({local_start:%a %H:%M}-{local_end:%H:%M} {tz.key})"


def week_of(instructor: InstructorSpec, start: datetime) -> str:
    """The ISO week (``2027-W11``) ``start`` falls in, Monday to Sunday in ``instructor``'s own zone."""
    year, week, _ = start.astimezone(require_zone(instructor.timezone)).isocalendar()
    return f"{year}-W{week:02d}"


def cp_sat_available() -> bool:
    """Whether OR-Tools (the ``planning`` extra) is installed, so ``solver="auto"`` uses CP-SAT."""
    return importlib.util.find_spec("ortools") is not None


class AssignmentProblem:
    """The sessions to staff and what is fixed around them: the rules both solvers apply.

    Built once per call of :func:`assign_instructors`: the named sessions are added to the busy calendar and to
    each instructor's load and weekly hours, and each open session is screened against everything fixed.
    """

    def __init__(
        self,
        sessions: Sequence[SessionSpec],
        instructors: Sequence[InstructorSpec],
        busy: BusyCalendar,
        declined: Iterable[tuple[str, str]],
    ) -> None:
        self.instructors = list(instructors)
        self.by_email = {i.email: i for i in instructors}
        self.calendar = busy
        self.refused = set(declined)
        self.skills = {i.email: frozenset(i.skills) for i in instructors}
        self.load_minutes: dict[str, int] = dict.fromkeys(self.by_email, 0)
        """Minutes each instructor teaches in named sessions."""
        self.week_minutes: dict[tuple[str, str], int] = {}
        """Minutes each instructor teaches in named sessions, per week in her zone."""
        for spec in sessions:
            if spec.instructor is None or spec.cancelled:
                continue
            slot = spec.slot()
            busy.add(spec.instructor, slot.start, slot.end, spec.id)
            self.load_minutes[spec.instructor] = self.load_minutes.get(spec.instructor, 0) + spec.minutes
            if spec.instructor in self.by_email:
                key = (spec.instructor, week_of(self.by_email[spec.instructor], slot.start))
                self.week_minutes[key] = self.week_minutes.get(key, 0) + spec.minutes
        self.open = [s for s in sessions if s.instructor is None and not s.cancelled]
        self.slots = {s.id: s.slot() for s in self.open}

    def fork(self) -> AssignmentProblem:
        """The same problem with a calendar of its own (the greedy pass adds its choices to the calendar)."""
        twin = copy.copy(self)
        twin.calendar = self.calendar.copy()
        return twin

    def qualified(self, spec: SessionSpec) -> int:
        """How many instructors have every skill ``spec`` needs."""
        needed = frozenset(spec.skills)
        return sum(needed <= skills for skills in self.skills.values())

    def preferred(self, spec: SessionSpec) -> list[str]:
        """The fallbacks, in order, of the instructors who declined ``spec``."""
        return [
            email
            for declined_session, declined_email in sorted(self.refused)
            if declined_session == spec.id and declined_email in self.by_email
            for email in self.by_email[declined_email].fallbacks
        ]

    def week_limit_reason(self, instructor: InstructorSpec, spec: SessionSpec, taught: int) -> str | None:
        """Why ``spec`` would take ``instructor`` past her weekly hours, given ``taught`` minutes that week."""
        if instructor.max_hours_per_week is None:
            return None
        if taught + spec.minutes <= instructor.max_hours_per_week * 60:
            return None
        week = week_of(instructor, self.slots[spec.id].start)
        return f"over her {instructor.max_hours_per_week:g} h a week ({taught / 60:g} h already in {week})"

    def screen(self, spec: SessionSpec) -> tuple[list[InstructorSpec], dict[str, str]]:
        """Who could take ``spec`` given what is fixed (the calendar as it stands), and who not with why."""
        slot = self.slots[spec.id]
        candidates: list[InstructorSpec] = []
        turned_down: dict[str, str] = {}
        for instructor in self.instructors:
            reason = self._rule_out(instructor, spec)
            if reason is None:
                clash = self.calendar.clash(
                    instructor.email, slot.start, slot.end, timedelta(minutes=instructor.buffer_minutes)
                )
                if clash:
                    reason = f"busy with {clash} (buffer {instructor.buffer_minutes} min)"
            if reason is None:
                reason = self.week_limit_reason(
                    instructor, spec, self.week_minutes.get((instructor.email, week_of(instructor, slot.start)), 0)
                )
            if reason is None:
                candidates.append(instructor)
            else:
                turned_down[instructor.email] = reason
        return candidates, turned_down

    def _rule_out(self, instructor: InstructorSpec, spec: SessionSpec) -> str | None:
        if (spec.id, instructor.email) in self.refused:
            return "declined or unavailable for this session"
        missing = sorted(set(spec.skills) - self.skills[instructor.email])
        if missing:
            return f"lacks {', '.join(missing)}"
        slot = self.slots[spec.id]
        return unavailable_reason(instructor, slot.start, slot.end)


def assign_instructors(
    sessions: Sequence[SessionSpec],
    instructors: Sequence[InstructorSpec],
    *,
    busy: BusyCalendar | None = None,
    declined: Iterable[tuple[str, str]] = (),
    solver: Solver = "auto",
    time_limit: float = 10.0,
) -> list[Assignment]:
    """Give each session without a named instructor the best free, skilled one.

    Args:
        sessions: The plan's sessions; those naming an instructor keep her (and count as her load and busy time).
        instructors: Who may teach.
        busy: What instructors are already doing (the ledger's other sessions, providers' free/busy); the
            plan's named sessions are added to it.
        declined: ``(session id, instructor email)`` pairs to skip: she declined or became unavailable. Her
            ``fallbacks`` are tried first, in order, before anyone else.
        solver: ``"cp-sat"``, ``"greedy"``, or ``"auto"`` (CP-SAT when OR-Tools is installed).
        time_limit: Seconds CP-SAT may search (it returns the best assignment found by then).

    Returns:
        One assignment per session without a named instructor (cancelled ones aside), in the order of
        ``sessions``.

    Raises:
        ConfigurationError: ``solver="cp-sat"`` without OR-Tools installed.
    """
    problem = AssignmentProblem(sessions, instructors, busy or BusyCalendar(), declined)
    use_cp_sat = solver == "cp-sat" or (solver == "auto" and cp_sat_available())
    if use_cp_sat:
        if not cp_sat_available():
            raise ConfigurationError(
                "assignment with CP-SAT needs OR-Tools: pip install 'lms-connectors[planning]' (or use the greedy pass)"
            )
        from lms_connectors.operations.assignment_solver import solve

        warm_start = _greedy(problem.fork())
        chosen = solve(problem, time_limit=time_limit, warm_start=warm_start)
    else:
        chosen = _greedy(problem)
    return [chosen[s.id] for s in problem.open]


def _greedy(problem: AssignmentProblem) -> dict[str, Assignment]:
    """One pass in order of start; each session takes the best candidate left (see the module's docstring)."""
    load = {email: minutes / 60 for email, minutes in problem.load_minutes.items()}
    week_minutes = dict(problem.week_minutes)
    order = sorted(
        problem.open, key=lambda s: (problem.slots[s.id].start.astimezone(UTC), problem.qualified(s), s.id)
    )
    chosen: dict[str, Assignment] = {}
    for spec in order:
        slot = problem.slots[spec.id]
        hours = spec.minutes / 60
        preferred = problem.preferred(spec)
        candidates, turned_down = problem.screen(spec)  # the calendar holds the choices made so far
        ranked: list[tuple[int, float, str]] = []
        for instructor in candidates:
            taught = week_minutes.get((instructor.email, week_of(instructor, slot.start)), 0)
            over = problem.week_limit_reason(instructor, spec, taught)
            if over:
                turned_down[instructor.email] = over
                continue
            score = instructor.cost_per_hour * hours + LOAD_WEIGHT * load.get(instructor.email, 0.0)
            rank = preferred.index(instructor.email) if instructor.email in preferred else len(preferred)
            ranked.append((rank, score, instructor.email))
        if not ranked:
            chosen[spec.id] = Assignment(spec.id, None, ("no qualified instructor is free",), turned_down)
            continue
        ranked.sort()
        rank, score, email = ranked[0]
        for _, other_score, other in ranked[1:]:
            turned_down[other] = f"score {other_score:.1f} > {score:.1f}"
        reasons = [f"has {', '.join(spec.skills) or 'no required skill'}", "free in own zone", f"score {score:.1f}"]
        if rank < len(preferred):
            reasons.insert(0, "named as fallback")
        problem.calendar.add(email, slot.start, slot.end, spec.id)
        load[email] = load.get(email, 0.0) + hours
        key = (email, week_of(problem.by_email[email], slot.start))
        week_minutes[key] = week_minutes.get(key, 0) + spec.minutes
        chosen[spec.id] = Assignment(spec.id, email, tuple(reasons), turned_down)
    return chosen
