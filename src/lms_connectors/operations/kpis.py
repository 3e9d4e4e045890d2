"""The numbers training teams report, computed from the ledger and its audit log.

Definitions (each a ratio of counts the report also prints, so a reader can check it):

- **utilisation**: seats filled / seats offered, over live sessions with a capacity (confirmed learners
  against capacity);
- **waitlist demand**: learners ever put on a waitlist; **waitlist conversion**: of those, the share promoted
  to a seat;
- **no-show rate**: no-shows / learners with a recorded outcome (:mod:`lms_connectors.operations.attendance`);
  **late rate** likewise;
- **learner cancellation rate**: enrolments cancelled / enrolments made; **session cancellation rate**:
  sessions cancelled / sessions scheduled;
- **time to schedule**: from a session's first ``schedule`` request to its last provider object made (median
  and maximum, seconds);
- **operations and failures per provider**: provider writes the scheduler logged (creates, moves, roster
  pushes) and those that failed.

Per course and ISO week (of the session's start in its own zone): utilisation and no-show rate, for the chart.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime

from lms_connectors.models import EnrollmentStatus, SessionStatus
from lms_connectors.operations.attendance import Outcome, attendance_of
from lms_connectors.store.base import LedgerStore

__all__ = ["CourseWeek", "Kpis", "compute_kpis"]

_PROVIDER_WRITES = {"created", "rescheduled", "orphan_removed", "slot_repaired", "rewritten"}
_PROVIDER_FAILURES = {"create_failed", "reschedule_failed", "roster_failed", "compensation_failed",
                      "reschedule_undo_failed"}


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class CourseWeek:
    """Utilisation and no-shows of one course in one week."""

    course: str
    week: str
    seats_offered: int = 0
    seats_filled: int = 0
    outcomes: int = 0
    no_shows: int = 0

    @property
    def utilisation(self) -> float | None:
        """Seats filled / seats offered."""
        return _ratio(self.seats_filled, self.seats_offered)

    @property
    def no_show_rate(self) -> float | None:
        """No-shows / recorded outcomes."""
        return _ratio(self.no_shows, self.outcomes)


@dataclass
class Kpis:
    """Every KPI with the counts it is made of."""

    sessions: int = 0
    sessions_cancelled: int = 0
    seats_offered: int = 0
    seats_filled: int = 0
    enrolments: int = 0
    enrolments_cancelled: int = 0
    waitlisted: int = 0
    promoted: int = 0
    outcomes: int = 0
    no_shows: int = 0
    late: int = 0
    time_to_schedule_s: list[float] = field(default_factory=list)
    provider_operations: dict[str, int] = field(default_factory=dict)
    provider_failures: dict[str, int] = field(default_factory=dict)
    by_course_week: list[CourseWeek] = field(default_factory=list)

    @property
    def utilisation(self) -> float | None:
        """Seats filled / seats offered."""
        return _ratio(self.seats_filled, self.seats_offered)

    @property
    def waitlist_conversion(self) -> float | None:
        """Promoted / ever waitlisted."""
        return _ratio(self.promoted, self.waitlisted)

    @property
    def no_show_rate(self) -> float | None:
        """No-shows / recorded outcomes."""
        return _ratio(self.no_shows, self.outcomes)

    @property
    def late_rate(self) -> float | None:
        """Late / recorded outcomes."""
        return _ratio(self.late, self.outcomes)

    @property
    def learner_cancellation_rate(self) -> float | None:
        """Enrolments cancelled / enrolments made."""
        return _ratio(self.enrolments_cancelled, self.enrolments)

    @property
    def session_cancellation_rate(self) -> float | None:
        """Sessions cancelled / sessions scheduled."""
        return _ratio(self.sessions_cancelled, self.sessions)

    @property
    def median_time_to_schedule_s(self) -> float | None:
        """Median seconds from a session's first schedule request to its last provider object."""
        return statistics.median(self.time_to_schedule_s) if self.time_to_schedule_s else None

    def rows(self) -> list[tuple[str, str, str]]:
        """``(KPI, value, made of)`` for a table or a CSV."""

        def pct(value: float | None) -> str:
            return "-" if value is None else f"{value:.1%}"

        median = self.median_time_to_schedule_s
        rows = [
            ("utilisation", pct(self.utilisation), f"{self.seats_filled} filled / {self.seats_offered} offered"),
            ("waitlist demand", str(self.waitlisted), "learners ever waitlisted"),
            ("waitlist conversion", pct(self.waitlist_conversion), f"{self.promoted} promoted / {self.waitlisted}"),
            ("no-show rate", pct(self.no_show_rate), f"{self.no_shows} / {self.outcomes} recorded outcomes"),
            ("late rate", pct(self.late_rate), f"{self.late} / {self.outcomes} recorded outcomes"),
            ("learner cancellation rate", pct(self.learner_cancellation_rate),
             f"{self.enrolments_cancelled} / {self.enrolments} enrolments"),
            ("session cancellation rate", pct(self.session_cancellation_rate),
             f"{self.sessions_cancelled} / {self.sessions} sessions"),
            ("time to schedule (median)", "-" if median is None else f"{median:.2f} s",
             f"{len(self.time_to_schedule_s)} sessions, max "
             + ("-" if not self.time_to_schedule_s else f"{max(self.time_to_schedule_s):.2f} s")),
        ]
        for provider in sorted(set(self.provider_operations) | set(self.provider_failures)):
            ops, fails = self.provider_operations.get(provider, 0), self.provider_failures.get(provider, 0)
            rows.append((f"{provider}: operations / failures", f"{ops} / {fails}", "provider writes logged"))
        return rows

    def as_dict(self) -> dict[str, object]:
        """Every count and KPI, for JSON."""
        data = asdict(self)
        data["by_course_week"] = [
            {**asdict(cw), "utilisation": cw.utilisation, "no_show_rate": cw.no_show_rate} for cw in self.by_course_week
        ]
        for name in ("utilisation", "waitlist_conversion", "no_show_rate", "late_rate", "learner_cancellation_rate",
                     "session_cancellation_rate", "median_time_to_schedule_s"):
            data[name] = getattr(self, name)
        return data


def compute_kpis(ledger: LedgerStore) -> Kpis:
    """Every KPI of the ledger's sessions (the tenant the ledger handle is bound to)."""
    kpis = Kpis()
    outcomes = attendance_of(ledger)
    weeks: dict[tuple[str, str], CourseWeek] = {}
    requested: dict[str, datetime] = {}
    finished: dict[str, datetime] = {}
    operations: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    waitlisted: set[tuple[str, str]] = set()
    promoted: set[tuple[str, str]] = set()
    for entry in ledger.iter_audit():
        sid = entry.session_id
        if entry.action == "schedule" and sid is not None:
            requested.setdefault(sid, entry.at)
        elif entry.action == "created" and sid is not None:
            finished[sid] = entry.at
        if entry.action == "enrolled" and entry.detail.get("status") == EnrollmentStatus.WAITLISTED.value:
            waitlisted.add((sid or "", str(entry.detail.get("email"))))
        if entry.action == "promoted":
            promoted.add((sid or "", str(entry.detail.get("email"))))
        if entry.provider is not None and entry.action in _PROVIDER_WRITES:
            operations[entry.provider] += 1
        if entry.provider is not None and entry.action in _PROVIDER_FAILURES:
            failures[entry.provider] += 1
    kpis.waitlisted, kpis.promoted = len(waitlisted), len(promoted & waitlisted)
    kpis.provider_operations, kpis.provider_failures = dict(operations), dict(failures)
    kpis.time_to_schedule_s = [
        (finished[sid] - requested[sid]).total_seconds() for sid in sorted(requested) if sid in finished
    ]
    per_course: defaultdict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for (sid, _email), outcome in outcomes.items():
        per_course[(sid, "")].append(outcome)
    for session in ledger.list_sessions():
        kpis.sessions += 1
        roster = ledger.list_enrollments(session.id)
        kpis.enrolments += len(roster)
        kpis.enrolments_cancelled += sum(e.status is EnrollmentStatus.CANCELLED for e in roster)
        if session.status is SessionStatus.CANCELLED:
            kpis.sessions_cancelled += 1
            continue
        if session.status is not SessionStatus.SCHEDULED:
            continue
        local = session.slot.start.astimezone(session.slot.start.tzinfo)
        year, week, _ = local.isocalendar()
        key = (session.course_id or session.title, f"{year}-W{week:02d}")
        cell = weeks.setdefault(key, CourseWeek(course=key[0], week=key[1]))
        filled = sum(e.status is EnrollmentStatus.CONFIRMED for e in roster)
        if session.capacity is not None:
            kpis.seats_offered += session.capacity
            kpis.seats_filled += filled
            cell.seats_offered += session.capacity
            cell.seats_filled += filled
        for outcome in per_course.get((session.id, ""), []):
            kpis.outcomes += 1
            cell.outcomes += 1
            kpis.no_shows += outcome is Outcome.NO_SHOW
            cell.no_shows += outcome is Outcome.NO_SHOW
            kpis.late += outcome is Outcome.LATE
    kpis.by_course_week = sorted(weeks.values(), key=lambda cw: (cw.week, cw.course))
    return kpis
