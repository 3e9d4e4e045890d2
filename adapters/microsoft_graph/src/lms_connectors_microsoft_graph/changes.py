"""Outlook's delta feed as changes: a ``calendarView/delta`` round becomes :class:`lms_connectors.changes.Change`.

An embedding application keeps the delta link between rounds and hands each round's page over; an event of the
ledger that Outlook shows at another time is a move, one deleted or cancelled there is a deletion. Events the
ledger does not hold, and changes that leave the slot as the ledger has it (a title, an attendee's answer), give
no change. Decide them with :func:`lms_connectors.changes.apply_changes`; re-asserting the ledger for both::

    page = graph.ex_changes(start, end, delta_link=saved_link)
    policy = ChangePolicy(moved=Decision.REASSERT, deleted=Decision.REASSERT)
    apply_changes(scheduler, changes_from_delta(page, scheduler.ledger), policy)
    saved_link = page.delta_link
"""

from __future__ import annotations

from datetime import UTC

from lms_connectors.changes import Change, ChangeKind
from lms_connectors.models import Session, SessionStatus, TimeSlot
from lms_connectors.store.base import LedgerStore
from lms_connectors_microsoft_graph.adapter import DeltaPage
from lms_connectors_microsoft_graph.mapping import PROVIDER

__all__ = ["SOURCE", "changes_from_delta"]

SOURCE = "graph-delta"


def _live_by_event(ledger: LedgerStore) -> dict[str, Session]:
    """The ledger's live sessions by the id of their Outlook event (a scan of the ledger's sessions)."""
    found: dict[str, Session] = {}
    for session in ledger.list_sessions():
        if session.status is not SessionStatus.SCHEDULED:
            continue
        ref = ledger.get_ref(session.id, PROVIDER)
        if ref is not None:
            found[ref.external_id] = session
    return found


def changes_from_delta(page: DeltaPage, ledger: LedgerStore) -> list[Change]:
    """The changes one delta round stands for: moves and deletions of the ledger's own events."""
    sessions = _live_by_event(ledger)
    changes: list[Change] = []
    for found in page.changed:
        session = sessions.get(found.ref.external_id)
        if session is None:
            continue
        if found.cancelled:
            changes.append(Change(PROVIDER, session.id, ChangeKind.DELETED, source=SOURCE))
            continue
        start, end = found.start.astimezone(UTC), found.end.astimezone(UTC)
        if (start, end) == (session.slot.start_utc(), session.slot.end_utc()):
            continue
        zone = session.slot.start.tzinfo
        slot = TimeSlot(start=start.astimezone(zone), end=end.astimezone(zone), timezone=session.slot.timezone)
        changes.append(Change(PROVIDER, session.id, ChangeKind.MOVED, slot=slot, source=SOURCE))
    for event_id in page.removed:
        session = sessions.get(event_id)
        if session is not None:
            changes.append(Change(PROVIDER, session.id, ChangeKind.DELETED, source=SOURCE))
    return changes
