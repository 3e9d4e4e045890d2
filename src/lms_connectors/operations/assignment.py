"""Pick an instructor for each session that names none: skilled, free in her own zone, cheapest, fairest.

A session is given the instructor who (1) has every skill it requires, (2) is inside one of her weekly
availability windows for the whole session, read as wall times in her own zone, (3) has no other session
(in the plan, or in the ledger) within her buffer of it, and among those (4) costs least, counting the load
she already carries so that hours spread over the team: ``cost_per_hour * hours + LOAD_WEIGHT * hours already
given``. Sessions are taken in order of start, the hardest first when they start together (fewest qualified
instructors). Each choice carries its reasons, and the candidates turned down with theirs, for the audit log.

This is a greedy pass: it never revisits a choice. For the plans this SDK is for (hundreds of sessions, tens of
instructors, most sessions open to several) it finds an assignment whenever one instructor per session exists
without reshuffling; ``benchmarks/assignment.py`` measures it at 500 sessions and 50 instructors.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lms_connectors.operations.plan_file import WEEKDAY_INDEX, InstructorSpec, SessionSpec
from lms_connectors.timezones import require_zone

__all__ = ["LOAD_WEIGHT", "Assignment", "BusyCalendar", "assign_instructors", "unavailable_reason"]

LOAD_WEIGHT = 10.0
"""What an hour already given to an instructor weighs against an hour of cost, so load spreads."""


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


def assign_instructors(
    sessions: Sequence[SessionSpec],
    instructors: Sequence[InstructorSpec],
    *,
    busy: BusyCalendar | None = None,
    declined: Iterable[tuple[str, str]] = (),
) -> list[Assignment]:
    """Give each session without a named instructor the best free, skilled one.

    Args:
        sessions: The plan's sessions; those naming an instructor keep her (and count as her load and busy time).
        instructors: Who may teach.
        busy: What instructors are already doing (the ledger's other sessions, providers' free/busy); updated
            with every choice.
        declined: ``(session id, instructor email)`` pairs to skip: she declined or became unavailable. Her
            ``fallbacks`` are tried first, in order, before anyone else.

    Returns:
        One assignment per session without a named instructor, in the order of ``sessions``.
    """
    calendar = busy or BusyCalendar()
    refused = set(declined)
    load: dict[str, float] = {i.email: 0.0 for i in instructors}
    by_email = {i.email: i for i in instructors}
    for spec in sessions:
        if spec.instructor is not None:
            slot = spec.slot()
            calendar.add(spec.instructor, slot.start, slot.end, spec.id)
            load[spec.instructor] = load.get(spec.instructor, 0.0) + spec.minutes / 60

    skill_sets = {i.email: frozenset(i.skills) for i in instructors}

    def qualified(spec: SessionSpec) -> int:
        needed = frozenset(spec.skills)
        return sum(needed <= skills for skills in skill_sets.values())

    open_specs = [s for s in sessions if s.instructor is None and not s.cancelled]
    slots = {s.id: s.slot() for s in open_specs}
    order = sorted(open_specs, key=lambda s: (slots[s.id].start.astimezone(UTC), qualified(s), s.id))
    chosen: dict[str, Assignment] = {}
    for spec in order:
        slot = slots[spec.id]
        hours = spec.minutes / 60
        turned_down: dict[str, str] = {}
        candidates: list[tuple[int, float, str]] = []
        preferred = [
            email
            for declined_session, declined_email in refused
            if declined_session == spec.id
            for email in by_email[declined_email].fallbacks
            if declined_email in by_email
        ]
        for instructor in instructors:
            if (spec.id, instructor.email) in refused:
                turned_down[instructor.email] = "declined or unavailable for this session"
                continue
            missing = sorted(set(spec.skills) - skill_sets[instructor.email])
            if missing:
                turned_down[instructor.email] = f"lacks {', '.join(missing)}"
                continue
            outside = unavailable_reason(instructor, slot.start, slot.end)
            if outside:
                turned_down[instructor.email] = outside
                continue
            clash = calendar.clash(instructor.email, slot.start, slot.end, timedelta(minutes=instructor.buffer_minutes))
            if clash:
                turned_down[instructor.email] = f"busy with {clash} (buffer {instructor.buffer_minutes} min)"
                continue
            score = instructor.cost_per_hour * hours + LOAD_WEIGHT * load[instructor.email]
            rank = preferred.index(instructor.email) if instructor.email in preferred else len(preferred)
            candidates.append((rank, score, instructor.email))
        if not candidates:
            chosen[spec.id] = Assignment(
                spec.id, None, ("no qualified instructor is free",), turned_down
            )
            continue
        candidates.sort()
        rank, score, email = candidates[0]
        for _, other_score, other in candidates[1:]:
            turned_down[other] = f"score {other_score:.1f} > {score:.1f}"
        reasons = [f"has {', '.join(spec.skills) or 'no required skill'}", "free in own zone", f"score {score:.1f}"]
        if rank < len(preferred):
            reasons.insert(0, "named as fallback")
        calendar.add(email, slot.start, slot.end, spec.id)
        load[email] += hours
        chosen[spec.id] = Assignment(spec.id, email, tuple(reasons), turned_down)
    return [chosen[s.id] for s in open_specs]
