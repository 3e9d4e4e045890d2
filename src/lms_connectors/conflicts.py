"""No double bookings: find the clashes of a session's instructors and room before anything is sent.

Two sources are checked, cheapest first:

* **the ledger's own sessions**, through an :class:`IntervalIndex` (per person or room, intervals sorted by start
  with a running maximum of their ends, so a query costs a binary search plus the overlaps it returns);
* **the providers' free/busy** (Google ``freeBusy``, Graph ``getSchedule``, a room-booking system's availability
  through :meth:`Adapter.room_busy <lms_connectors.adapter.Adapter.room_busy>`): what people and rooms hold
  outside this ledger. A busy interval equal to one of this ledger's own sessions on that resource is that
  session's own event, already judged by the index, and is not counted twice.

A clash refuses the operation with :class:`~lms_connectors.errors.DoubleBooked`, which names every resource,
the overlap and what holds it. The index is this process's view of the ledger: :meth:`ConflictChecker.refresh`
reads it again (sessions another process wrote since); the free/busy check covers what no ledger knows.
"""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lms_connectors.adapter import Adapter, AdapterKind, BusyInterval, Capability
from lms_connectors.errors import Clash, NotFound
from lms_connectors.models import Person, Room, Session, SessionStatus, TimeSlot
from lms_connectors.store.base import Booking, LedgerStore

__all__ = ["ConflictChecker", "IntervalIndex", "Row", "books_room"]


def books_room(adapter: Adapter, room: Room) -> bool:
    """Whether ``adapter`` books ``room``.

    The adapter its :attr:`Room.provider` names; with none named, a room-booking system (by the room's id) or a
    calendar (by the room's resource email).
    """
    if room.provider is None and adapter.kind is AdapterKind.ROOM:
        return True
    return room.held_by(adapter.name)


Row = tuple[float, float, str]
"""An interval of the index: ``(start, end, owner)``, instants in POSIX seconds."""


@dataclass
class _Track:
    """The intervals of one resource, as parallel arrays sorted by start, rebuilt on the first query after a change.

    ``reach[i]`` is the latest end among the first ``i + 1`` intervals: walking back from the last interval that
    starts before a query's end, the walk stops as soon as no earlier interval can reach the query's start.
    """

    rows: list[Row] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    reach: list[float] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    dirty: bool = False

    def sort(self) -> None:
        self.rows.sort()
        starts, ends, owners = zip(*self.rows, strict=True) if self.rows else ((), (), ())
        self.starts, self.ends, self.owners = list(starts), list(ends), list(owners)
        self.reach = list(itertools.accumulate(self.ends, max))
        self.dirty = False


class IntervalIndex:
    """Busy intervals per resource (a person's email, a room's key), each owned by a session id.

    Times are POSIX seconds, so every comparison is between absolute instants and a query does no date
    arithmetic. Intervals are half-open: one ending when another starts does not overlap it.
    """

    def __init__(self) -> None:
        self._tracks: dict[str, _Track] = {}
        self._held: dict[str, list[str]] = {}  # owner -> resources

    @classmethod
    def of(cls, bookings: Iterable[Booking]) -> IntervalIndex:
        """An index of ``bookings`` (as :meth:`LedgerStore.iter_bookings` gives them), sorted at once."""
        index = cls()
        tracks, held = index._tracks, index._held
        for owner, start, end, resources in bookings:
            row = (start, end, owner)
            held.setdefault(owner, []).extend(resources)
            for resource in resources:
                track = tracks.get(resource)
                if track is None:
                    tracks[resource] = _Track(rows=[row], dirty=True)
                else:
                    track.rows.append(row)
        for track in tracks.values():
            track.sort()
        return index

    def __len__(self) -> int:
        return len(self._held)

    def add(self, owner: str, resources: Iterable[str], start: float, end: float) -> None:
        """Record that ``owner`` holds each of ``resources`` during ``[start, end)``."""
        tracks = self._tracks
        held = self._held.setdefault(owner, [])
        row = (start, end, owner)
        for resource in resources:
            track = tracks.get(resource)
            if track is None:
                track = tracks[resource] = _Track()
            track.rows.append(row)
            track.dirty = True
            held.append(resource)

    def remove(self, owner: str) -> None:
        """Forget every interval ``owner`` holds."""
        for resource in set(self._held.pop(owner, ())):
            track = self._tracks[resource]
            track.rows = [row for row in track.rows if row[2] != owner]
            track.dirty = True

    def overlapping(self, resource: str, start: float, end: float, *, besides: str | None = None) -> list[Row]:
        """Every interval of ``resource`` that overlaps ``[start, end)``, as ``(start, end, owner)``, by start.

        Args:
            resource: A person's email or a room's key.
            start: Start of the window, POSIX seconds.
            end: End of the window, POSIX seconds.
            besides: Leave out the intervals of this owner (the session being checked).
        """
        track = self._tracks.get(resource)
        if track is None:
            return []
        if track.dirty:
            track.sort()
        reach = track.reach
        # Intervals starting before ``end`` are the first ``i + 1``; the common case (nothing reaches ``start``)
        # costs this one binary search.
        i = bisect.bisect_left(track.starts, end) - 1
        if i < 0 or reach[i] <= start:
            return []
        starts, ends, owners = track.starts, track.ends, track.owners
        found: list[Row] = []
        while i >= 0 and reach[i] > start:
            if ends[i] > start and owners[i] != besides:
                found.append((starts[i], ends[i], owners[i]))
            i -= 1
        found.reverse()
        return found

    def overlapping_pairs(self) -> Iterator[tuple[str, Row, Row]]:
        """Every pair of intervals of different owners that overlap on one resource, as ``(resource, a, b)``.

        Intervals sorted by start: one overlaps a later one exactly when the next one starts before it ends, so a
        comparison of two arrays (in C) picks the few that do, and only those are walked forward. The cost is the
        intervals plus the pairs found.
        """
        for resource, track in self._tracks.items():
            if track.dirty:
                track.sort()
            starts, ends, owners = track.starts, track.ends, track.owners
            count = len(starts)
            for i in itertools.compress(range(count - 1), map(operator.lt, itertools.islice(starts, 1, None), ends)):
                end, owner = ends[i], owners[i]
                j = i + 1
                while j < count and starts[j] < end:
                    if owners[j] != owner:
                        yield resource, (starts[i], end, owner), (starts[j], ends[j], owners[j])
                    j += 1


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class ConflictChecker:
    """Find double bookings of a session against the ledger's sessions and the providers' free/busy.

    Args:
        ledger: The scheduler's ledger; its scheduled sessions are indexed on first use.
        index: An index already built from the ledger's sessions (:meth:`build`), instead of reading them.
    """

    def __init__(self, ledger: LedgerStore, *, index: IntervalIndex | None = None) -> None:
        self.ledger = ledger
        self._index = index

    # -- the ledger's own sessions ----------------------------------------------------------------------

    @property
    def index(self) -> IntervalIndex:
        """The interval index of the ledger's scheduled sessions (built on first use)."""
        if self._index is None:
            self._index = IntervalIndex.of(self.ledger.iter_bookings())
        return self._index

    @staticmethod
    def build(sessions: Iterable[Session]) -> IntervalIndex:
        """An index of the scheduled ones of ``sessions`` (a ledger's own are read with :meth:`index`)."""
        scheduled = (session for session in sessions if session.status is SessionStatus.SCHEDULED)
        return IntervalIndex.of(Booking.of(session) for session in scheduled)

    def refresh(self) -> None:
        """Read the ledger again on next use (sessions another process scheduled, moved or cancelled)."""
        self._index = None

    def note(self, session: Session) -> None:
        """Keep the index equal to the ledger after the scheduler saved ``session`` (any status)."""
        if self._index is None:
            return
        self._index.remove(session.id)
        if session.status is SessionStatus.SCHEDULED:
            booking = Booking.of(session)
            self._index.add(session.id, booking.resources, booking.start, booking.end)

    def ledger_clashes(self, session: Session, slot: TimeSlot | None = None) -> list[Clash]:
        """Clashes of ``session`` (at ``slot``, default its own) with the ledger's other scheduled sessions."""
        slot = slot or session.slot
        return self._index_clashes(session.id, session.resources(), slot.start.timestamp(), slot.end.timestamp())

    def double_bookings(self) -> dict[str, list[Clash]]:
        """Every double booking among the ledger's scheduled sessions, by session (both sides of each).

        The whole ledger in one sweep of the index (see :meth:`IntervalIndex.overlapping_pairs`): what sessions
        booked with ``allow_conflicts=True``, imported, or written by two processes at once left behind.
        """
        found: dict[str, list[Clash]] = {}
        instants: dict[float, datetime] = {}  # sessions start and end on few instants: each converted once
        for resource, (a_start, a_end, a), (b_start, b_end, b) in self.index.overlapping_pairs():
            low_at, high_at = max(a_start, b_start), min(a_end, b_end)
            low = instants.get(low_at) or instants.setdefault(low_at, _instant(low_at))
            high = instants.get(high_at) or instants.setdefault(high_at, _instant(high_at))
            found.setdefault(a, []).append(Clash(resource=resource, start=low, end=high, session_id=b))
            found.setdefault(b, []).append(Clash(resource=resource, start=low, end=high, session_id=a))
        return found

    def _index_clashes(self, owner: str | None, resources: Sequence[str], start: float, end: float) -> list[Clash]:
        """Clashes on ``resources`` during ``[start, end)`` (POSIX seconds) with sessions other than ``owner``.

        A :class:`Clash` (and its two datetimes) is made only for a real overlap.
        """
        overlapping = self.index.overlapping
        clashes: list[Clash] = []
        for resource in resources:
            for other_start, other_end, other in overlapping(resource, start, end, besides=owner):
                clashes.append(Clash(resource=resource, start=_instant(max(start, other_start)),
                                     end=_instant(min(end, other_end)), session_id=other))
        return clashes

    # -- the providers' free/busy -----------------------------------------------------------------------

    def provider_clashes(
        self, session: Session, adapters: Sequence[Adapter], slot: TimeSlot | None = None
    ) -> list[Clash]:
        """Clashes of ``session``'s instructors and room (at ``slot``) in the free/busy of ``adapters``.

        Instructors are asked of every adapter that reads free/busy (one that does not know a person is
        skipped for her); the room only of the adapter that holds it (:meth:`Room.held_by`), through
        :meth:`Adapter.room_busy`. Busy intervals that are this ledger's own sessions are left out.

        Raises:
            ConnectorError: A provider could not answer (other than not knowing someone): nothing is decided.
        """
        slot = slot or session.slot
        people = [person.email for person in session.instructors]
        clashes: list[Clash] = []
        for adapter in adapters:
            busy: dict[str, list[BusyInterval]] = {}
            if people and adapter.supports(Capability.FREE_BUSY):
                busy.update(_people_busy(adapter, people, slot))
            room = session.room
            if room is not None and adapter.supports(Capability.ROOMS) and books_room(adapter, room):
                busy[room.key] = adapter.room_busy([room], slot.start, slot.end).get(room.id, [])
            for resource, intervals in busy.items():
                clashes.extend(self._busy_clashes(session.id, resource, intervals, slot, adapter.name))
        return clashes

    def _busy_clashes(
        self, owner: str, resource: str, intervals: Sequence[BusyInterval], slot: TimeSlot, provider: str
    ) -> list[Clash]:
        start, end = slot.start.timestamp(), slot.end.timestamp()
        # What this ledger's own sessions hold on the resource is their events (free/busy clips them to the
        # window asked, so they are subtracted, not matched): the index has judged those already.
        ours = [(s, e) for s, e, _ in self.index.overlapping(resource, start, end)]
        ours.extend(self._own_spans(owner, resource))
        clashes: list[Clash] = []
        for interval in intervals:
            pieces = [(max(start, interval.start.timestamp()), min(end, interval.end.timestamp()))]
            for own_start, own_end in ours:
                pieces = [rest for piece in pieces for rest in _minus(piece, own_start, own_end)]
            clashes.extend(
                Clash(resource=resource, start=_instant(low), end=_instant(high), provider=provider)
                for low, high in pieces
                if high > low
            )
        return clashes

    def _own_spans(self, owner: str, resource: str) -> list[tuple[float, float]]:
        """Where ``owner`` itself sits on ``resource`` in the ledger (its event before a reschedule)."""
        stored = self.ledger.get_session(owner) if owner else None
        if stored is None or stored.status is not SessionStatus.SCHEDULED or resource not in stored.resources():
            return []
        return [(stored.slot.start.timestamp(), stored.slot.end.timestamp())]

    # -- queries ----------------------------------------------------------------------------------------

    def clashes(
        self, session: Session, adapters: Sequence[Adapter], *, slot: TimeSlot | None = None, free_busy: bool = True
    ) -> list[Clash]:
        """Every clash of ``session`` at ``slot``: the ledger's first, then (with ``free_busy``) the providers'.

        The providers are asked only when the ledger shows none (a refusal needs no provider call).
        """
        found = self.ledger_clashes(session, slot)
        if found or not free_busy:
            return found
        return self.provider_clashes(session, adapters, slot)

    def free_rooms(self, rooms: Iterable[Room], slot: TimeSlot, adapters: Sequence[Adapter]) -> list[Room]:
        """The ones of ``rooms`` that no ledger session holds at ``slot`` and whose holder shows free."""
        start, end = slot.start.timestamp(), slot.end.timestamp()
        candidates = [room for room in rooms if not self._index_clashes(None, [room.key], start, end)]
        free: list[Room] = []
        for adapter in adapters:
            mine = [room for room in candidates if books_room(adapter, room)]
            if not mine or not adapter.supports(Capability.ROOMS):
                continue
            busy = adapter.room_busy(mine, slot.start, slot.end)
            for room in mine:
                if not self._busy_clashes("", room.key, busy.get(room.id, []), slot, adapter.name) and room not in free:
                    free.append(room)
        return free

    def free_people(self, people: Iterable[Person], slot: TimeSlot, adapters: Sequence[Adapter]) -> list[Person]:
        """The ones of ``people`` that no ledger session holds at ``slot`` and no provider shows busy."""
        start, end = slot.start.timestamp(), slot.end.timestamp()
        candidates = [person for person in people if not self._index_clashes(None, [person.email], start, end)]
        busy_people = {clash.resource for clash in self.people_busy([p.email for p in candidates], slot, adapters)}
        return [person for person in candidates if person.email not in busy_people]

    def people_busy(self, emails: Sequence[str], slot: TimeSlot, adapters: Sequence[Adapter]) -> list[Clash]:
        """What the providers show ``emails`` busy with during ``slot``, outside this ledger's sessions.

        One free/busy question per adapter that reads it, for everyone at once, so a whole term's window costs
        one call per adapter (e.g. to plan a term's assignment). Each clash names the person and the provider.

        Raises:
            ConnectorError: A provider could not answer (other than not knowing someone): nothing is decided.
        """
        clashes: list[Clash] = []
        for adapter in adapters:
            if not emails or not adapter.supports(Capability.FREE_BUSY):
                continue
            for email, intervals in _people_busy(adapter, emails, slot).items():
                clashes.extend(self._busy_clashes("", email, intervals, slot, adapter.name))
        return clashes


def _minus(piece: tuple[float, float], low: float, high: float) -> list[tuple[float, float]]:
    """``piece`` without ``[low, high)``: zero, one or two pieces."""
    start, end = piece
    if high <= start or low >= end:
        return [piece]
    return [part for part in ((start, low), (high, end)) if part[1] > part[0]]


def _people_busy(adapter: Adapter, emails: Sequence[str], slot: TimeSlot) -> dict[str, list[BusyInterval]]:
    """Free/busy of ``emails`` at ``adapter``; people it does not know are left out (asked one by one then)."""
    try:
        return adapter.free_busy(list(emails), slot.start, slot.end)
    except NotFound:
        if len(emails) == 1:
            return {}
    found: dict[str, list[BusyInterval]] = {}
    for email in emails:
        found.update(_people_busy(adapter, [email], slot))
    return found
