"""Zoom webhooks as changes: a verified delivery becomes :class:`lms_connectors.changes.Change` records.

``meeting.updated`` with a new ``start_time`` (or ``duration``) is a move, ``meeting.deleted`` a deletion, and
``meeting.registration_cancelled`` or ``_denied`` a learner who left. The meeting is found in the ledger by
its id; a delivery about a meeting the ledger does not hold, or that changes nothing the ledger keeps, gives no
change. Decide the changes with :func:`lms_connectors.changes.apply_changes`::

    event = receiver.handle(headers, body)          # refuses forged and replayed deliveries
    if not isinstance(event, UrlValidation):
        apply_changes(scheduler, changes_from_event(event, scheduler.ledger))
"""

from __future__ import annotations

from datetime import UTC, timedelta

from lms_connectors.changes import Change, ChangeKind
from lms_connectors.models import EnrollmentStatus, Session, SessionStatus, TimeSlot
from lms_connectors.store.base import LedgerStore
from lms_connectors_zoom.webhooks import MeetingChangeEvent, RegistrationEvent, ZoomEvent

__all__ = ["SOURCE", "changes_from_event", "session_of_meeting"]

SOURCE = "zoom-webhook"


def session_of_meeting(ledger: LedgerStore, meeting_id: str) -> Session | None:
    """The live session whose Zoom meeting is ``meeting_id`` (a scan of the ledger's sessions)."""
    for session in ledger.list_sessions():
        if session.status is not SessionStatus.SCHEDULED:
            continue
        ref = ledger.get_ref(session.id, "zoom")
        if ref is not None and ref.external_id == meeting_id:
            return session
    return None


def changes_from_event(event: ZoomEvent, ledger: LedgerStore) -> list[Change]:
    """The changes a verified Zoom event stands for (none for events that change nothing the ledger keeps)."""
    if not isinstance(event, MeetingChangeEvent | RegistrationEvent):
        return []
    session = session_of_meeting(ledger, event.meeting_id)
    if session is None:
        return []
    if isinstance(event, RegistrationEvent):
        if event.action not in ("cancelled", "denied"):
            return []
        enrollment = ledger.get_enrollment(session.id, event.registrant.email.lower())
        if enrollment is None or enrollment.status is not EnrollmentStatus.CONFIRMED:
            return []
        return [Change("zoom", session.id, ChangeKind.LEARNER_LEFT, email=enrollment.person.email, source=SOURCE)]
    if event.event == "meeting.deleted":
        return [Change("zoom", session.id, ChangeKind.DELETED, source=SOURCE)]
    if event.start_time is None and event.duration is None:
        return []  # a topic or settings change: nothing the ledger keeps
    tz = session.slot.start.tzinfo
    start = event.start_time.astimezone(tz) if event.start_time is not None else session.slot.start
    length = timedelta(minutes=event.duration) if event.duration is not None else session.slot.end - session.slot.start
    end = (start.astimezone(UTC) + length).astimezone(tz)  # elapsed time, right across a DST change
    if (start, end) == (session.slot.start, session.slot.end):
        return []
    slot = TimeSlot(start=start, end=end, timezone=session.slot.timezone)
    return [Change("zoom", session.id, ChangeKind.MOVED, slot=slot, source=SOURCE)]
