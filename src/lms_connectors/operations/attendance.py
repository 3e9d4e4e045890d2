"""Who attended: matched to the roster by email and recorded in the ledger.

Sources give presence records (an email with when she joined and left); :func:`record_attendance` matches them
to the session's confirmed learners by email (case-insensitive, the ledger keeps emails lower case) and writes
one ``attendance`` entry per learner to the ledger's audit log: ``attended``, ``late`` (joined more than
:data:`LATE_AFTER` after the start) or ``no_show`` (no record). A learner's several records (she dropped out and
rejoined) count from her first join, and the time she was there is their intervals summed
(:func:`minutes_present`: overlapping ones, two devices at once, count once). Records of people not on the roster
are returned, not recorded.

Sources: :func:`read_attendance_csv` for in-person sessions (a sign-in sheet or badge export), and, through
:func:`collect_attendance`, every adapter of the session with the ``attendance`` capability (Zoom's participants
report, Microsoft Graph's Teams attendance reports). What an LMS can take back as completion is said per adapter
in its README.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from lms_connectors.adapter import Capability, Presence
from lms_connectors.errors import NotFound, ValidationError
from lms_connectors.models import EnrollmentStatus
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.base import AuditEntry, LedgerStore

__all__ = [
    "LATE_AFTER", "Outcome", "Presence", "attendance_of", "collect_attendance", "minutes_present",
    "read_attendance_csv", "record_attendance",
]

LATE_AFTER = timedelta(minutes=10)
"""Joining later than this after the start counts as late."""


class Outcome(StrEnum):
    """What a confirmed learner did."""

    ATTENDED = "attended"
    LATE = "late"
    NO_SHOW = "no_show"


def read_attendance_csv(path: Path) -> list[Presence]:
    """A sign-in CSV: columns ``email`` and ``joined`` (ISO 8601 with offset), ``left`` optional.

    Raises:
        ValidationError: A missing column, or a time without offset or unreadable (the line is named).
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = {name.strip().lower(): name for name in reader.fieldnames or ()}
        if "email" not in columns or "joined" not in columns:
            raise ValidationError(f"{path.name}: needs columns 'email' and 'joined' (header: {reader.fieldnames})")
        rows: list[Presence] = []
        for row in reader:
            try:
                joined = datetime.fromisoformat(row[columns["joined"]].strip())
                left_text = (row.get(columns.get("left", ""), "") or "").strip()
                left = datetime.fromisoformat(left_text) if left_text else None
            except ValueError as exc:
                raise ValidationError(f"{path.name}:{reader.line_num}: {exc}") from exc
            if joined.tzinfo is None or (left is not None and left.tzinfo is None):
                raise ValidationError(f"{path.name}:{reader.line_num}: times need an offset (e.g. 09:02:00-04:00)")
            rows.append(Presence(email=row[columns["email"]].strip().lower(), joined=joined, left=left))
        return rows


def minutes_present(records: Iterable[Presence]) -> float | None:
    """Minutes between join and leave over ``records``, overlaps counted once; ``None`` when no leave is known.

    Records without a leave time (a sign-in sheet, a report written before the person left) add nothing.
    """
    spans = sorted((r.joined, r.left) for r in records if r.left is not None and r.left > r.joined)
    if not spans:
        return None
    total = timedelta()
    start, end = spans[0]
    for joined, left in spans[1:]:
        if joined > end:
            total += end - start
            start, end = joined, left
        else:
            end = max(end, left)
    total += end - start
    return round(total.total_seconds() / 60, 1)


def record_attendance(ledger: LedgerStore, session_id: str, records: Iterable[Presence]) -> list[Presence]:
    """Record each confirmed learner's outcome for a session; returns the records matching nobody.

    Recording again replaces the earlier outcome (the newest entry counts, see :func:`attendance_of`).

    Raises:
        NotFound: The session is not in the ledger.
    """
    session = ledger.get_session(session_id)
    if session is None:
        raise NotFound(f"unknown session {session_id!r}")
    first_join: dict[str, datetime] = {}
    present: dict[str, list[Presence]] = {}
    unmatched: list[Presence] = []
    roster = {
        e.person.email for e in ledger.list_enrollments(session_id) if e.status is EnrollmentStatus.CONFIRMED
    }
    for record in records:
        email = record.email.strip().lower()
        if email not in roster:
            unmatched.append(record)
            continue
        first_join[email] = min(first_join.get(email, record.joined), record.joined)
        present.setdefault(email, []).append(record)
    for email in sorted(roster):
        joined = first_join.get(email)
        if joined is None:
            outcome, late_by = Outcome.NO_SHOW, None
        else:
            late_by = joined - session.slot.start
            outcome = Outcome.LATE if late_by > LATE_AFTER else Outcome.ATTENDED
        ledger.append_audit(
            AuditEntry(
                session_id=session_id,
                provider=None,
                action="attendance",
                detail={
                    "email": email,
                    "outcome": outcome.value,
                    "late_minutes": None if late_by is None else round(late_by.total_seconds() / 60, 1),
                    "attended_minutes": minutes_present(present.get(email, ())),
                },
            )
        )
    return unmatched


def attendance_of(ledger: LedgerStore, session_id: str | None = None) -> dict[tuple[str, str], Outcome]:
    """The latest recorded outcome per ``(session id, email)``."""
    outcomes: dict[tuple[str, str], Outcome] = {}
    for entry in ledger.iter_audit(session_id):
        if entry.action == "attendance" and entry.session_id is not None:
            outcomes[(entry.session_id, str(entry.detail["email"]))] = Outcome(str(entry.detail["outcome"]))
    return outcomes


def collect_attendance(scheduler: Scheduler, session_id: str) -> dict[str, list[Presence]]:
    """Read who joined from every adapter of the session that reports attendance, and record the outcomes.

    Meeting providers report joins (Zoom's participants report, Microsoft Graph's Teams attendance reports); the
    records of all of them are merged, so a learner who joined through any counts. Calls each such adapter's
    :meth:`~lms_connectors.adapter.Adapter.list_attendance` once (paged).

    Returns:
        The records matching nobody on the roster, per provider (guests, people who joined with another email).

    Raises:
        NotFound: The session is not in the ledger.
    """
    if scheduler.ledger.get_session(session_id) is None:
        raise NotFound(f"unknown session {session_id!r}")
    records: list[tuple[str, Presence]] = []
    for adapter in scheduler.adapters:
        ref = scheduler.ledger.get_ref(session_id, adapter.name)
        if ref is not None and adapter.supports(Capability.ATTENDANCE):
            records.extend((adapter.name, presence) for presence in adapter.list_attendance(ref))
    unmatched = record_attendance(scheduler.ledger, session_id, [presence for _, presence in records])
    strays: dict[str, list[Presence]] = {}
    for provider, presence in records:
        if presence in unmatched:
            strays.setdefault(provider, []).append(presence)
    return strays
