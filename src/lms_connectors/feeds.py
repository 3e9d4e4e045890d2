"""Change feeds: what changed at a provider since a cursor, the cursor kept in the ledger per adapter and calendar.

An adapter offers a feed by having the two members of :class:`ChangeFeed`: ``feed_scope`` (the calendar, mailbox
or course it reads) and ``read_changes(cursor, start, end)``. A provider with incremental sync answers only what
changed since the cursor (Google's sync token, Graph's delta link) and a new cursor; a provider without one (an
LMS) answers every object of the window, each time, at a bounded number of calls. Either way the answer is a
:class:`FeedPage` of :class:`FeedItem` (the object as it is now, its roster when the read carried it).

:func:`read_feed` reads an adapter's feed from the cursor the ledger keeps (starting with a full read when there
is none, or when the provider refused the cursor as expired: :class:`~lms_connectors.errors.CursorExpired`) and
turns what changed on the ledger's live sessions into :class:`~lms_connectors.changes.Change` records.
:func:`follow_feed` then decides them under a policy and keeps the new cursor only once they are decided, so a
crash in between reads the same changes again. An adapter without a feed is polled
(:func:`~lms_connectors.changes.poll_changes`): polling stays the fallback for every adapter.

A push (a webhook, a channel notification) says only that something changed: its receiver calls
:func:`follow_feed` for that adapter, which reads from the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from lms_connectors.adapter import Adapter
from lms_connectors.changes import (
    AppliedChange,
    Change,
    ChangePolicy,
    apply_changes,
    changes_of,
    live_sessions,
    poll_changes,
    window_of,
)
from lms_connectors.errors import CursorExpired, NotFound
from lms_connectors.models import ProviderRef, ProviderSession, RosterMember
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.base import AuditEntry

__all__ = [
    "ChangeFeed",
    "FeedItem",
    "FeedPage",
    "FeedRead",
    "change_feed_of",
    "follow_feed",
    "follow_feeds",
    "read_feed",
]


@dataclass(frozen=True)
class FeedItem:
    """One object a feed answered.

    Attributes:
        ref: The object (its provider id at least).
        session: The object as the provider shows it now; ``None`` when it was deleted (a provider may then
            answer its id only).
        roster: Its roster, when the read carried it (a calendar event's attendees with their answers);
            ``None`` has it read with ``list_roster`` where the adapter keeps rosters.
    """

    ref: ProviderRef
    session: ProviderSession | None
    roster: tuple[RosterMember, ...] | None = None


@dataclass(frozen=True)
class FeedPage:
    """What one read of a feed answered.

    Attributes:
        items: The objects read.
        cursor: Where the next read starts (``None``: the feed keeps none and reads the window each time).
        complete: ``True`` when ``items`` is every object in scope (a first or full read, an LMS's window);
            ``False`` when it is only what changed since the cursor.
    """

    items: tuple[FeedItem, ...]
    cursor: str | None
    complete: bool


@runtime_checkable
class ChangeFeed(Protocol):
    """What an adapter with a change feed offers."""

    @property
    def feed_scope(self) -> str:
        """What the feed reads (a calendar id, a mailbox, a course): the ledger keeps one cursor per scope."""
        ...  # pragma: no cover - a protocol

    def read_changes(self, cursor: str | None, start: datetime, end: datetime) -> FeedPage:
        """What changed since ``cursor`` (``None``: everything, starting the feed).

        Args:
            cursor: Where the last read stopped.
            start: Start of the window the ledger's live sessions span (a feed that lists windows reads it;
                an incremental feed may ignore it).
            end: End of that window.

        Raises:
            CursorExpired: The provider no longer accepts ``cursor``; a read with ``None`` starts over.
        """
        ...  # pragma: no cover - a protocol


def change_feed_of(adapter: Adapter) -> ChangeFeed | None:
    """The adapter's change feed, or ``None`` when it has none (it is then polled)."""
    return adapter if isinstance(adapter, ChangeFeed) else None


@dataclass(frozen=True)
class FeedRead:
    """What :func:`read_feed` found.

    Attributes:
        adapter: The adapter read.
        scope: The feed's scope (``None`` when the adapter was polled).
        changes: What differs from the ledger on its live sessions.
        cursor: The cursor to keep once the changes are decided (``None``: nothing to keep).
        full: Every object was read (a first read, an expired cursor, a listing feed, a poll).
        calls: Provider calls the read cost.
    """

    adapter: str
    scope: str | None
    changes: list[Change]
    cursor: str | None
    full: bool
    calls: int
    seen: tuple[str, ...] = field(default=())
    """Ids of the objects the read answered (for logs and tests)."""


def read_feed(scheduler: Scheduler, adapter: Adapter) -> FeedRead:
    """Read ``adapter``'s feed from the ledger's cursor and compare what changed with the ledger; reads only.

    Raises:
        ConnectorError: The provider could not be read (nothing is decided from a partial read).
    """
    before = adapter.call_count
    feed = change_feed_of(adapter)
    if feed is None:
        polled = poll_changes(scheduler, adapter)
        return FeedRead(adapter.name, None, polled, None, True, adapter.call_count - before)
    sessions = live_sessions(scheduler, adapter)
    if not sessions:
        return FeedRead(adapter.name, feed.feed_scope, [], None, False, 0)
    start, end = window_of(sessions)
    ledger = scheduler.ledger
    cursor = ledger.get_cursor(adapter.name, feed.feed_scope)
    try:
        page = feed.read_changes(cursor, start, end)
    except CursorExpired as exc:
        ledger.append_audit(AuditEntry(session_id=None, provider=adapter.name, action="feed.cursor_expired",
                                       detail={"scope": feed.feed_scope, "reason": exc.message}))
        ledger.delete_cursor(adapter.name, feed.feed_scope)
        page = feed.read_changes(None, start, end)
    refs = {session.id: ledger.get_ref(session.id, adapter.name) for session in sessions}
    by_object = {ref.external_id: session for session in sessions if (ref := refs[session.id]) is not None}
    changes: list[Change] = []
    answered: set[str] = set()
    source = f"{adapter.name}-feed"
    for item in page.items:
        session = by_object.get(item.ref.external_id)
        if session is None:  # not ours, or not live in the ledger
            continue
        answered.add(session.id)
        ref = refs[session.id]
        assert ref is not None  # by_object holds sessions with a ref only
        changes.extend(changes_of(scheduler, adapter, session, ref, item.session, item.roster, source=source))
    if page.complete:
        # A complete read that did not answer a live session's object: it moved out of the window or is gone.
        for session in sessions:
            ref = refs[session.id]
            if session.id in answered or ref is None:
                continue
            found = _read(adapter, ref)
            changes.extend(changes_of(scheduler, adapter, session, ref, found, source=source))
    return FeedRead(
        adapter.name, feed.feed_scope, changes, page.cursor, cursor is None or page.complete,
        adapter.call_count - before, tuple(item.ref.external_id for item in page.items),
    )


def _read(adapter: Adapter, ref: ProviderRef) -> ProviderSession | None:
    try:
        return adapter.get_session(ref)
    except NotFound:
        return None


def follow_feed(
    scheduler: Scheduler, adapter: Adapter, policy: ChangePolicy | None = None
) -> tuple[FeedRead, list[AppliedChange]]:
    """Read ``adapter``'s feed, decide its changes under ``policy``, then keep the new cursor in the ledger.

    The cursor is kept only after the changes are decided: a process that dies in between reads them again
    (deciding a change twice is harmless: each decision is idempotent).

    Returns:
        The read (changes, cost, cursor) and what was decided for each change.

    Raises:
        ConnectorError: The provider could not be read; no cursor moves.
    """
    read = read_feed(scheduler, adapter)
    applied = apply_changes(scheduler, read.changes, policy)
    if read.cursor is not None and read.scope is not None:
        scheduler.ledger.put_cursor(adapter.name, read.scope, read.cursor)
    return read, applied


def follow_feeds(
    scheduler: Scheduler, adapters: Sequence[Adapter] | None = None, policy: ChangePolicy | None = None
) -> list[AppliedChange]:
    """:func:`follow_feed` for each adapter (every adapter of the scheduler by default), then decide conflicts.

    Changes of all adapters are decided together, so two providers that moved one session differently are
    settled by the ledger (see :func:`~lms_connectors.changes.apply_changes`).
    """
    reads = [read_feed(scheduler, adapter) for adapter in (adapters or scheduler.adapters)]
    applied = apply_changes(scheduler, [change for read in reads for change in read.changes], policy)
    for read in reads:
        if read.cursor is not None and read.scope is not None:
            scheduler.ledger.put_cursor(read.adapter, read.scope, read.cursor)
    return applied
