"""What an adapter does when the provider refuses a write made with ``If-Match`` (412, a stale version).

A stale version does not by itself mean that someone else changed what the SDK owns: the provider changes an
event's version for anything (an attendee's answer, the SDK's own enrolments), and a write whose answer was lost
meets, on the transport's retry, the version it made itself. So the refused write is settled by reading the
object again: it already holds what the write sets (done); or the fields the SDK owns are as the caller last saw
them, fingerprinted in ``ref.extra["owned"]`` (write once more on the fresh version, and read once more if that
write is refused too: it may have landed before its answer was lost); or someone else changed them, a
:class:`~lms_connectors.errors.Conflict` the caller must resolve by reading first. One rule for every adapter
that writes with a version (Google Calendar's etags, Outlook's change keys, CalDAV's ETags).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from lms_connectors.errors import Conflict, MalformedResponse
from lms_connectors.models import ProviderRef, Session

__all__ = ["holds_slot", "settle_refused_write"]

T = TypeVar("T")


def settle_refused_write(
    refused: Conflict,
    ref: ProviderRef,
    *,
    read: Callable[[], T],
    landed: Callable[[T], bool],
    owned: Callable[[T], str],
    write_again: Callable[[T], T],
    someone_else: str,
) -> T:
    """Settle a write the provider refused as made on a stale version; return the object as it now stands.

    Args:
        refused: The provider's refusal of the write.
        ref: Where the object lives; ``ref.extra["owned"]`` fingerprints the SDK's fields as last seen.
        read: Reads the object now.
        landed: Whether an object as read already holds what the write sets.
        owned: The fingerprint of the SDK's fields of an object as read.
        write_again: Sends the write once more on the version of the object as read; returns the object after it.
        someone_else: The message of the :class:`Conflict` raised when someone else changed the SDK's fields.

    Raises:
        Conflict: Someone else changed the fields the SDK owns (the cause is ``refused``), or the second write
            was refused too and did not land.
    """
    current = read()
    if landed(current):
        return current  # the write landed before its answer was lost
    if ref.extra.get("owned") is None or owned(current) != ref.extra["owned"]:
        raise Conflict(
            someone_else,
            provider=refused.provider,
            status=refused.status,
            code=refused.code,
            body_excerpt=refused.body_excerpt,
            request_id=refused.request_id,
        ) from refused
    try:
        return write_again(current)
    except Conflict:
        # The second write may have landed too before its answer was lost (the transport's retry then meets the
        # version it made): the same check as for the first one.
        again = read()
        if not landed(again):
            raise
        return again


def holds_slot(
    session: Session, event: Mapping[str, Any], parse_instant: Callable[[Any, str], datetime], *, title_field: str
) -> bool:
    """Whether a calendar event as read holds the session's slot and title: the ``landed`` check of a reschedule.

    Args:
        session: The session as the reschedule writes it.
        event: The event as read, with its instants under ``start`` and ``end``.
        parse_instant: Reads one of them (the provider's date-time object and its field name), raising
            :class:`~lms_connectors.errors.MalformedResponse` when it cannot; such an event does not hold the slot.
        title_field: Where the event keeps its title (``summary``, ``subject``).
    """
    try:
        start, end = parse_instant(event.get("start"), "start"), parse_instant(event.get("end"), "end")
    except MalformedResponse:
        return False
    return session.held_by(start, end, event.get(title_field))
