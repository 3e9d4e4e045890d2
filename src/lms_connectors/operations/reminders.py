"""Reminders before each session, in each learner's own zone, computed from the ledger.

The SDK sends no mail. It computes, from what the ledger holds now, which reminders are due: an embedding app
reads :func:`due_reminders` on a timer and sends them its own way. Because they are computed, not stored, a
reschedule moves them and a cancel or an unenrolment drops them with no bookkeeping. The same offsets go into
the learners' invites as VALARMs (:func:`alarm_offsets` feeds
:func:`lms_connectors.invite_folder.sync_invites`), so a calendar client reminds her too.

Offsets are elapsed time before the start (``1d`` is 24 hours, even across a DST change); each reminder also
carries the start as the learner's wall clock shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lms_connectors.errors import ValidationError
from lms_connectors.models import Enrollment, EnrollmentStatus, Session, SessionStatus
from lms_connectors.store.base import LedgerStore
from lms_connectors.timezones import format_local

__all__ = ["DEFAULT_OFFSETS", "DueReminder", "alarm_offsets", "due_reminders", "parse_offset", "reminders_for"]

DEFAULT_OFFSETS = ("7d", "1d", "1h")
_OFFSET = re.compile(r"^\s*(\d+)\s*([wdhm])\s*$")
_UNIT = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_offset(text: str) -> timedelta:
    """``"7d"``, ``"1h"``, ``"30m"``, ``"2w"`` as a duration.

    Raises:
        ValidationError: Not a whole number followed by w, d, h or m, or zero.
    """
    match = _OFFSET.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValidationError(f"reminder offset {text!r}: write a whole number and w, d, h or m (e.g. '1d', '30m')")
    return int(match.group(1)) * _UNIT[match.group(2)]


def alarm_offsets(texts: Iterable[str]) -> tuple[timedelta, ...]:
    """Offsets parsed, longest first, without duplicates."""
    return tuple(sorted({parse_offset(t) for t in texts}, reverse=True))


@dataclass(frozen=True)
class DueReminder:
    """One reminder for one learner of one session."""

    session_id: str
    email: str
    offset: timedelta
    due_at: datetime
    """When to send it (UTC)."""
    starts_local: str
    """The session's start as the learner's clock shows it (``Tue 16 Mar 2027 23:00 JST (UTC+09:00)``)."""
    title: str
    join_url: str | None

    @property
    def key(self) -> str:
        """Stable id of this reminder: send it once (moves with a reschedule, as its due time changes)."""
        return f"{self.session_id}/{self.email}/{int(self.offset.total_seconds())}/{self.due_at.isoformat()}"


def reminders_for(session: Session, roster: Sequence[Enrollment], offsets: Sequence[timedelta]) -> list[DueReminder]:
    """Every reminder of a live session for its confirmed learners, soonest first.

    A cancelled session has none; waitlisted and cancelled learners have none.
    """
    if session.status is not SessionStatus.SCHEDULED:
        return []
    start = session.slot.start.astimezone(UTC)
    reminders = [
        DueReminder(
            session_id=session.id,
            email=enrollment.person.email,
            offset=offset,
            due_at=start - offset,
            starts_local=format_local(session.slot.start, enrollment.person.timezone or session.slot.timezone),
            title=session.title,
            join_url=enrollment.join_url(session) if session.is_virtual else None,
        )
        for enrollment in roster
        if enrollment.status is EnrollmentStatus.CONFIRMED
        for offset in offsets
    ]
    return sorted(reminders, key=lambda r: (r.due_at, r.email))


def due_reminders(
    ledger: LedgerStore,
    *,
    since: datetime,
    until: datetime,
    offsets: Sequence[timedelta] | None = None,
) -> Iterator[DueReminder]:
    """Reminders due in ``[since, until)`` across the ledger's live sessions.

    Run it on a timer with ``since`` = the previous run's ``until``: every reminder comes out once, and a
    session rescheduled in between has its reminders at the new times.

    Raises:
        ValidationError: A naive ``since`` or ``until``.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValidationError("since and until must be aware datetimes")
    chosen = tuple(offsets) if offsets is not None else alarm_offsets(DEFAULT_OFFSETS)
    longest = max(chosen, default=timedelta(0))
    for session in ledger.list_sessions():
        start = session.slot.start.astimezone(UTC)
        if session.status is not SessionStatus.SCHEDULED or start < since or start - longest >= until:
            continue
        for reminder in reminders_for(session, ledger.list_enrollments(session.id), chosen):
            if since <= reminder.due_at < until:
                yield reminder
