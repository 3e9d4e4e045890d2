"""A session as a CalDAV calendar object resource (RFC 4791 4.1), built and read with ``icalendar``.

What goes where (one VCALENDAR, one VEVENT, a VTIMEZONE for each zone used; no METHOD, which stored resources
must not carry):

=====================  ==================================================================================
session                VEVENT
=====================  ==================================================================================
id                     ``UID``: :func:`lms_connectors.invites.invite_uid`, the UID of every invite of the
                       session, so an invite and the stored event are one event to calendar clients
slot                   ``DTSTART``/``DTEND`` with ``TZID`` of the home zone (its VTIMEZONE included)
title, text, place     ``SUMMARY``, ``DESCRIPTION``, ``LOCATION``, ``URL``/``CONFERENCE`` (the join link)
sequence               ``SEQUENCE``, bumped on every reschedule
instructors            ``ATTENDEE;ROLE=CHAIR``
learners               ``ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=...`` (their answers are kept)
room                   ``ATTENDEE;CUTYPE=ROOM;ROLE=NON-PARTICIPANT`` when the room has an address
key, capacity          ``X-LMSC-KEY`` (the idempotency key of the create), ``X-LMSC-CAPACITY``
=====================  ==================================================================================

The event itself is written by the core (:func:`lms_connectors.invites.session_event`), the same code that
writes invites; this module adds what only a stored event needs and reads resources back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from lms_connectors.adapter import BusyInterval
from lms_connectors.errors import MalformedResponse
from lms_connectors.invites import PRODID, add_timezones, attendee_address, session_event
from lms_connectors.models import Person, ProviderRef, ProviderSession, RosterMember, Session

if TYPE_CHECKING:  # icalendar is imported by the functions that read or write iCalendar, on the first call
    from icalendar import Calendar, Event, vCalAddress

__all__ = [
    "CAPACITY_PROPERTY",
    "KEY_PROPERTY",
    "PROVIDER",
    "StoredEvent",
    "busy_from_events",
    "busy_from_freebusy",
    "new_event",
    "owned_fingerprint",
    "resource_name",
]

PROVIDER = "caldav"
KEY_PROPERTY = "X-LMSC-KEY"
"""Holds the idempotency key of the create that made the resource (RFC 5545 3.8.8.2 non-standard property)."""
CAPACITY_PROPERTY = "X-LMSC-CAPACITY"

# Properties a reschedule rewrites from the session; everything else on the event (attendees and their answers,
# alarms and properties other clients added) is kept as the server holds it.
_OWNED = ("DTSTART", "DTEND", "DURATION", "SUMMARY", "DESCRIPTION", "LOCATION", "URL", "CONFERENCE", "DTSTAMP",
          "SEQUENCE", "STATUS", "ORGANIZER", CAPACITY_PROPERTY)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_BUSY_TYPES = frozenset({"BUSY", "BUSY-UNAVAILABLE", "BUSY-TENTATIVE"})


def resource_name(key: str) -> str:
    """The resource name of the event a create with ``key`` makes: readable, URL-safe, unique per key.

    The key's own characters where they are safe, then a hash of the whole key (two keys that differ only in
    unsafe characters still get two names).
    """
    readable = _UNSAFE.sub("-", key).strip(".-")[:80] or "session"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}.ics"


def _email_of(address: Any) -> str:
    text = str(address)
    return text[7:].strip().lower() if text.lower().startswith("mailto:") else text.strip().lower()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def new_event(
    session: Session, *, key: str, uid_domain: str, organizer: Person | None, stamp: datetime | None = None
) -> Calendar:
    """The calendar object resource of a new session (no learners yet).

    Args:
        session: The session.
        key: The create's idempotency key, kept in ``X-LMSC-KEY``.
        uid_domain: Right-hand side of the UID (as invites are written with).
        organizer: ``ORGANIZER``; the first instructor when ``None``.
        stamp: ``DTSTAMP``; now by default.
    """
    from icalendar import Calendar, vCalAddress

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    event = _owned_part(session, uid_domain=uid_domain, organizer=organizer, stamp=stamp)
    event.add(KEY_PROPERTY, key)
    for instructor in session.instructors:
        event.add("attendee", attendee_address(instructor, partstat="ACCEPTED", role="CHAIR"))
    if session.room is not None and session.room.email:
        room = vCalAddress(f"mailto:{session.room.email}")
        room.params.update({"CN": session.room.name, "CUTYPE": "ROOM", "ROLE": "NON-PARTICIPANT",
                            "PARTSTAT": "NEEDS-ACTION"})
        event.add("attendee", room)
    calendar.add_component(event)
    add_timezones(calendar, session)
    return calendar


def _owned_part(
    session: Session, *, uid_domain: str, organizer: Person | None, stamp: datetime | None
) -> Event:
    sender = organizer or (session.instructors[0] if session.instructors else None)
    event = session_event(session, organizer=sender, uid_domain=uid_domain, stamp=stamp)
    if session.capacity is not None:
        event.add(CAPACITY_PROPERTY, str(session.capacity))
    return event


@dataclass
class StoredEvent:
    """A calendar object resource as the server holds it, with its session VEVENT.

    Attributes:
        href: Where it lives (absolute path).
        etag: Its ETag, when the server said.
        calendar: The whole VCALENDAR.
        event: Its VEVENT (the master, not an overridden instance).
    """

    href: str
    etag: str | None
    calendar: Calendar
    event: Event

    @classmethod
    def parse(cls, data: bytes | str, *, href: str, etag: str | None) -> StoredEvent:
        """Read a resource's iCalendar text.

        Raises:
            MalformedResponse: Not iCalendar, or no VEVENT in it.
        """
        from icalendar import Calendar, Event

        try:
            calendar = Calendar.from_ical(data)
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            raise MalformedResponse(f"{href} is not iCalendar data ({exc})", provider=PROVIDER) from None
        if not isinstance(calendar, Calendar):
            raise MalformedResponse(f"{href} holds no VCALENDAR", provider=PROVIDER)
        events = [item for item in calendar.walk("VEVENT") if isinstance(item, Event) and "RECURRENCE-ID" not in item]
        if not events:
            raise MalformedResponse(f"{href} holds no VEVENT", provider=PROVIDER)
        return cls(href=href, etag=etag, calendar=calendar, event=events[0])

    # -- reading --------------------------------------------------------------------------------------

    @property
    def key(self) -> str | None:
        """The idempotency key of the create that made it (``None``: not made by this SDK)."""
        value = self.event.get(KEY_PROPERTY)
        return str(value) if value is not None else None

    @property
    def uid(self) -> str:
        """The event's UID."""
        return str(self.event.get("UID", ""))

    @property
    def sequence(self) -> int:
        """The event's SEQUENCE (0 when absent)."""
        value = self.event.get("SEQUENCE")
        try:
            return int(value) if value is not None else 0
        except (TypeError, ValueError):
            return 0

    @property
    def cancelled(self) -> bool:
        """Whether another client set ``STATUS:CANCELLED``."""
        return str(self.event.get("STATUS", "")).upper() == "CANCELLED"

    def instant(self, name: str) -> datetime:
        """``DTSTART`` or ``DTEND`` as an aware datetime (``DTEND`` from ``DURATION`` when that is given).

        Raises:
            MalformedResponse: Missing, all-day, or floating (no zone: not an instant).
        """
        try:
            if name == "DTEND" and "DTEND" not in self.event and "DURATION" in self.event:
                value: Any = self.instant("DTSTART") + self.event.decoded("DURATION")
            else:
                value = self.event.decoded(name)
        except (KeyError, ValueError, TypeError) as exc:
            raise MalformedResponse(f"{self.href}: unreadable {name} ({exc})", provider=PROVIDER) from None
        if not isinstance(value, datetime):
            kind = "an all-day date" if isinstance(value, date) else type(value).__name__
            raise MalformedResponse(f"{self.href}: {name} is {kind}, not an instant", provider=PROVIDER)
        if value.tzinfo is None or value.utcoffset() is None:
            raise MalformedResponse(f"{self.href}: {name} is a floating time (no zone)", provider=PROVIDER)
        return value

    def zone(self) -> str | None:
        """The ``TZID`` of ``DTSTART`` (``UTC`` for a UTC time)."""
        prop = self.event.get("DTSTART")
        tzid = prop.params.get("TZID") if prop is not None and hasattr(prop, "params") else None
        if tzid:
            return str(tzid)
        start = self.instant("DTSTART")
        offset = start.utcoffset()
        return "UTC" if offset is not None and offset.total_seconds() == 0 else None

    def attendees(self) -> list[vCalAddress]:
        """Every ``ATTENDEE``, with its parameters."""
        from icalendar import vCalAddress

        return [item for item in _as_list(self.event.get("ATTENDEE")) if isinstance(item, vCalAddress)]

    def learners(self) -> list[RosterMember]:
        """The attendees who are learners: individuals that are neither the organizer nor a chair (instructor)."""
        organizer = _email_of(self.event.get("ORGANIZER", ""))
        members = []
        for address in self.attendees():
            params = getattr(address, "params", {})
            if str(params.get("ROLE", "REQ-PARTICIPANT")).upper() == "CHAIR":
                continue
            if str(params.get("CUTYPE", "INDIVIDUAL")).upper() not in ("INDIVIDUAL", "UNKNOWN"):
                continue
            email = _email_of(address)
            if email == organizer or "@" not in email:
                continue
            members.append(RosterMember(email=email, status=str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()))
        return members

    def capacity(self) -> int | None:
        """The session's capacity as written in ``X-LMSC-CAPACITY``."""
        value = self.event.get(CAPACITY_PROPERTY)
        try:
            return int(str(value)) if value is not None else None
        except ValueError:
            return None

    def ref(self) -> ProviderRef:
        """Where the session lives: the href, its ETag, UID, key and the fingerprint of what the SDK owns."""
        extra = {"uid": self.uid, "owned": owned_fingerprint(self)}
        if self.key:
            extra["key"] = self.key
        return ProviderRef(provider=PROVIDER, external_id=self.href, version=self.etag, extra=extra)

    def provider_session(self) -> ProviderSession:
        """The resource in SDK terms."""
        url = self.event.get("URL")
        location = self.event.get("LOCATION")
        return ProviderSession(
            ref=self.ref(),
            title=str(self.event.get("SUMMARY", "")),
            start=self.instant("DTSTART"),
            end=self.instant("DTEND"),
            timezone=self.zone(),
            location=str(location) if location is not None else None,
            join_url=str(url) if url is not None else None,
            cancelled=self.cancelled,
            attendees=tuple(_email_of(item) for item in self.attendees()),
            capacity=self.capacity(),
            raw={"uid": self.uid, "sequence": self.sequence, "key": self.key, "etag": self.etag},
        )

    # -- writing --------------------------------------------------------------------------------------

    def reschedule(self, session: Session, *, uid_domain: str, organizer: Person | None, stamp: datetime) -> None:
        """Rewrite the SDK-owned properties from ``session`` in place; SEQUENCE goes up by one at least.

        Attendees (with their PARTSTAT), alarms and properties other clients added stay as they are.
        """
        sequence = max(self.sequence + 1, session.sequence)
        fresh = _owned_part(session.model_copy(update={"sequence": sequence}), uid_domain=uid_domain,
                            organizer=organizer, stamp=stamp)
        for name in _OWNED:
            self.event.pop(name, None)
        for name, value in fresh.property_items(recursive=False):
            if name in _OWNED:
                self.event.add(name, value, encode=False)
        add_timezones(self.calendar, session)

    def change_learners(self, add: Sequence[Person] = (), remove: Iterable[str] = ()) -> bool:
        """Add learners (``PARTSTAT=NEEDS-ACTION``) and remove others; returns whether anything changed.

        Attendees already there keep their answer.
        """
        gone = {email.lower() for email in remove}
        kept = [item for item in self.attendees() if _email_of(item) not in gone]
        present = {_email_of(item) for item in kept}
        changed = len(kept) != len(self.attendees())
        for person in add:
            if person.email not in present:
                kept.append(attendee_address(person))
                present.add(person.email)
                changed = True
        if changed:
            self.event.pop("ATTENDEE", None)
            for item in kept:
                self.event.add("attendee", item, encode=False)
        return changed

    def to_ical(self) -> bytes:
        """The resource's iCalendar text."""
        return bytes(self.calendar.to_ical())


def owned_fingerprint(stored: StoredEvent) -> str:
    """A digest of what the SDK owns on the event (title, instants, place): another writer's change shows in it."""
    try:
        start = stored.instant("DTSTART").astimezone(UTC).isoformat()
        end = stored.instant("DTEND").astimezone(UTC).isoformat()
    except MalformedResponse:
        start = end = "?"
    parts = [str(stored.event.get("SUMMARY", "")), start, end, str(stored.event.get("LOCATION", ""))]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def busy_from_freebusy(data: bytes | str, *, what: str) -> list[BusyInterval]:
    """The busy periods of a ``free-busy-query`` answer (a VCALENDAR with one VFREEBUSY).

    ``FBTYPE=FREE`` periods are left out; BUSY, BUSY-TENTATIVE and BUSY-UNAVAILABLE are busy.

    Raises:
        MalformedResponse: Not iCalendar, no VFREEBUSY, or a period that is not one.
    """
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise MalformedResponse(f"{what}: not iCalendar data ({exc})", provider=PROVIDER) from None
    blocks = list(calendar.walk("VFREEBUSY"))
    if not blocks:
        raise MalformedResponse(f"{what}: the answer holds no VFREEBUSY", provider=PROVIDER)
    busy: list[BusyInterval] = []
    for block in blocks:
        for prop in _as_list(block.get("FREEBUSY")):
            if str(prop.params.get("FBTYPE", "BUSY")).upper() not in _BUSY_TYPES:
                continue
            for period in _as_list(getattr(prop, "dt", None) or getattr(prop, "dts", None) or prop):
                busy.append(_interval(period, what))
    return sorted(busy, key=lambda item: item.start)


def _interval(period: Any, what: str) -> BusyInterval:
    value = getattr(period, "dt", period)
    if isinstance(value, tuple) and len(value) == 2:
        start, finish = value
        if not isinstance(finish, datetime):
            finish = start + finish  # start/duration form
        if isinstance(start, datetime) and start.tzinfo is not None and finish.tzinfo is not None:
            return BusyInterval(start=start, end=finish)
    raise MalformedResponse(f"{what}: a FREEBUSY period that is not one ({value!r})", provider=PROVIDER)


def busy_from_events(resources: Iterable[StoredEvent], start: datetime, end: datetime) -> list[BusyInterval]:
    """Busy intervals computed from events (the fallback where the server has no free-busy-query).

    As RFC 4791 7.10 asks of a server: cancelled and transparent events are free time; intervals are clipped to
    the window. Each resource's VEVENTs are read as the server expanded them.
    """
    from icalendar import Event

    busy: list[BusyInterval] = []
    for resource in resources:
        for component in resource.calendar.walk("VEVENT"):
            if not isinstance(component, Event):
                continue
            if str(component.get("STATUS", "")).upper() == "CANCELLED":
                continue
            if str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            instance = StoredEvent(href=resource.href, etag=None, calendar=resource.calendar, event=component)
            try:
                begin, finish = instance.instant("DTSTART"), instance.instant("DTEND")
            except MalformedResponse:
                continue  # all-day and floating events: no instant to block
            begin, finish = max(begin, start), min(finish, end)
            if begin < finish:
                busy.append(BusyInterval(start=begin, end=finish))
    return sorted(busy, key=lambda item: item.start)
