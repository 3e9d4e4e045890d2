"""iCalendar invitations (RFC 5545 objects, RFC 5546 methods) for a session, built with ``icalendar``.

One session keeps one UID for its whole life, so that a reschedule updates the event already in the
learner's calendar instead of adding a second one; ``SEQUENCE`` (the session's, bumped on every reschedule)
tells clients which version is newest. A ``CANCEL`` carries the sequence *after* the one it cancels: RFC 5546
(2.1.4) makes the organizer increment it when STATUS changes, and Outlook, Apple Calendar and Thunderbird
ignore a cancellation whose sequence is not newer than the invitation they hold. A learner's copy is written in
her own zone, with the matching ``VTIMEZONE``, so that her calendar shows her wall time even when her zone and
the session's switch daylight saving time on different dates.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lms_connectors.errors import ValidationError
from lms_connectors.models import Modality, Person, Session, SessionStatus, utc_now
from lms_connectors.timezones import format_local, require_zone

if TYPE_CHECKING:  # icalendar is imported by the functions that write iCalendar, not by importing this module
    from icalendar import Calendar, Event, vCalAddress

__all__ = [
    "PRODID",
    "InviteMethod",
    "add_timezones",
    "attendee_address",
    "build_invite",
    "file_stems",
    "invite_sequence",
    "invite_uid",
    "session_event",
    "write_invites",
]

InviteMethod = Literal["REQUEST", "CANCEL"]
"""iTIP method: ``REQUEST`` creates or updates the event, ``CANCEL`` removes it."""

PRODID = "-//lms-connectors//invites//EN"
"""Identifies the program that wrote the calendar (RFC 5545 PRODID)."""

# A VTIMEZONE only has to describe the offsets in force around the event; a year either side keeps the file
# small while covering any client that expands the zone to show a neighbouring week.
_VTIMEZONE_MARGIN = timedelta(days=366)


def invite_uid(session: Session, uid_domain: str = "lms-connectors") -> str:
    """The UID of every invitation of a session: derived from its id only, so it survives reschedules.

    Args:
        session: The session.
        uid_domain: Right-hand side of the UID, to keep UIDs of different senders apart.

    Returns:
        ``"<session.id>@<uid_domain>"``.
    """
    return f"{session.id}@{uid_domain}"


def invite_sequence(session: Session, method: InviteMethod) -> int:
    """The ``SEQUENCE`` of a session's invitation: the session's, one more for a ``CANCEL`` (RFC 5546 2.1.4).

    Args:
        session: The session.
        method: ``"REQUEST"`` or ``"CANCEL"``.

    Returns:
        ``session.sequence`` for a REQUEST, ``session.sequence + 1`` for a CANCEL.
    """
    return session.sequence + (1 if method == "CANCEL" else 0)


def _address(person: Person) -> vCalAddress:
    from icalendar import vCalAddress

    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = person.name
    return address


def attendee_address(person: Person, *, partstat: str = "NEEDS-ACTION", role: str = "REQ-PARTICIPANT") -> vCalAddress:
    """A person as an ``ATTENDEE`` (an individual asked to reply) with her participation status.

    Args:
        person: Who attends.
        partstat: RFC 5545 ``PARTSTAT`` (``NEEDS-ACTION`` until she answers).
        role: RFC 5545 ``ROLE`` (``CHAIR`` for an instructor).
    """
    address = _address(person)
    address.params["CUTYPE"] = "INDIVIDUAL"
    address.params["ROLE"] = role
    address.params["PARTSTAT"] = partstat
    address.params["RSVP"] = "TRUE"
    return address


def _location(session: Session, join_url: str | None) -> str | None:
    if session.room is not None:
        place = session.room.name
        return f"{place}, {session.room.location}" if session.room.location else place
    return join_url


def _description(session: Session, zone: str, join_url: str | None) -> str:
    start, end = session.slot.start, session.slot.end
    lines = [session.description.strip()] if session.description.strip() else []
    if lines:
        lines.append("")
    lines.append(f"When ({zone}): {format_local(start, zone)} to {format_local(end, zone)}")
    if zone != session.slot.timezone:
        home = session.slot.timezone
        lines.append(f"Session time ({home}): {format_local(start, home)} to {format_local(end, home)}")
    if session.room is not None and session.modality is not Modality.VIRTUAL:
        lines.append(f"Where: {_location(session, None)}")
    if join_url is not None:
        lines.append(f"Join online: {join_url}")
        if session.meeting is not None and session.meeting.passcode:
            lines.append(f"Passcode: {session.meeting.passcode}")
    return "\n".join(lines)


def build_invite(
    session: Session,
    *,
    organizer: Person | None,
    attendees: Sequence[Person],
    method: InviteMethod = "REQUEST",
    for_person: Person | None = None,
    join_url: str | None = None,
    uid_domain: str = "lms-connectors",
    stamp: datetime | None = None,
    sequence: int | None = None,
    reminders: Sequence[timedelta] = (),
) -> bytes:
    """An iCalendar invitation (or cancellation) of a session.

    Args:
        session: The session; its ``sequence`` becomes ``SEQUENCE`` (one more for a CANCEL, see
            :func:`invite_sequence`).
        organizer: Who sends it. ``None`` takes the session's first instructor; with no instructor either,
            the calendar has no ORGANIZER and clients import it as a plain event rather than a meeting.
        attendees: One ``ATTENDEE`` each (duplicates by email are dropped), asked to reply.
        method: ``"REQUEST"`` to create or update, ``"CANCEL"`` to remove (adds ``STATUS:CANCELLED``).
        for_person: The reader of this copy: when she has a zone, ``DTSTART``/``DTEND`` are written in it
            (same instants) and the description shows her local time.
        join_url: The reader's own join link (a Zoom registrant's, see
            :meth:`~lms_connectors.models.Enrollment.join_url`); the meeting's link by default.
        uid_domain: Right-hand side of the UID (see :func:`invite_uid`).
        stamp: ``DTSTAMP`` (when this copy was made); now by default.
        sequence: ``SEQUENCE`` when the caller knows the reader holds a newer one than
            :func:`invite_sequence` gives (a learner re-enrolled after her cancellation); never lower than it.
        reminders: How long before the start the reader's calendar should remind her: one ``VALARM``
            (``ACTION:DISPLAY``, ``TRIGGER`` relative to the start) each, in a REQUEST only.

    Returns:
        The calendar as bytes (UTF-8, CRLF line ends), ready to attach as ``text/calendar``.

    Raises:
        ValidationError: An unknown method, a REQUEST for a cancelled session, a naive ``stamp``, or a
            ``sequence`` lower than :func:`invite_sequence`.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValidationError(f"unknown invite method {method!r}: use 'REQUEST' or 'CANCEL'")
    if method == "REQUEST" and session.status is SessionStatus.CANCELLED:
        raise ValidationError(f"session {session.id!r} is cancelled: send a CANCEL, not a REQUEST")
    if stamp is not None and (stamp.tzinfo is None or stamp.utcoffset() is None):
        raise ValidationError("the invite stamp must be an aware datetime")
    least = invite_sequence(session, method)
    if sequence is not None and sequence < least:
        raise ValidationError(f"sequence {sequence} is older than the session's ({least}): clients would ignore it")

    from icalendar import Alarm, Calendar

    zone_name = (for_person.timezone if for_person is not None else None) or session.slot.timezone
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = session_event(
        session,
        zone=zone_name,
        organizer=organizer or (session.instructors[0] if session.instructors else None),
        join_url=join_url,
        uid_domain=uid_domain,
        stamp=stamp,
        sequence=least if sequence is None else sequence,
        cancelled=method == "CANCEL",
    )
    if method == "REQUEST":
        for offset in sorted(set(reminders), reverse=True):
            if offset <= timedelta(0):
                raise ValidationError(f"a reminder comes before the start: {offset} is not a positive duration")
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", -offset)  # RFC 5545 3.8.6.3: relative to DTSTART by default
            alarm.add("description", f"Reminder: {session.title}")
            event.add_component(alarm)
    seen: set[str] = set()
    for person in attendees:
        if person.email not in seen:
            seen.add(person.email)
            event.add("attendee", attendee_address(person))

    calendar.add_component(event)
    add_timezones(calendar, session)
    return bytes(calendar.to_ical())


def add_timezones(calendar: Calendar, session: Session) -> None:
    """Add a VTIMEZONE for every TZID ``calendar`` uses, covering the session's dates a year either side.

    icalendar writes each one from the zone's own tz data.
    """
    calendar.add_missing_timezones(
        first_date=(session.slot.start - _VTIMEZONE_MARGIN).date(),
        last_date=(session.slot.end + _VTIMEZONE_MARGIN).date(),
    )


def session_event(
    session: Session,
    *,
    zone: str | None = None,
    organizer: Person | None = None,
    join_url: str | None = None,
    uid_domain: str = "lms-connectors",
    stamp: datetime | None = None,
    sequence: int | None = None,
    cancelled: bool = False,
) -> Event:
    """The session's VEVENT, without attendees: what an invite sends and what a CalDAV calendar stores.

    Both carry the same UID (:func:`invite_uid`), times, text, place and link, so a learner's calendar client
    sees one event whether it got an invite or reads the organizer's calendar.

    Args:
        session: The session.
        zone: The zone ``DTSTART``/``DTEND`` are written in (same instants); the session's home zone by default.
        organizer: Written as ``ORGANIZER`` when given.
        join_url: The reader's own join link; the meeting's by default.
        uid_domain: Right-hand side of the UID.
        stamp: ``DTSTAMP``; now by default.
        sequence: ``SEQUENCE``; the session's by default.
        cancelled: ``STATUS:CANCELLED`` instead of ``CONFIRMED``.

    Raises:
        ValidationError: A naive ``stamp``.
    """
    from icalendar import Event, vUri

    if stamp is not None and (stamp.tzinfo is None or stamp.utcoffset() is None):
        raise ValidationError("the invite stamp must be an aware datetime")
    zone_name = zone or session.slot.timezone
    tz = require_zone(zone_name)
    start, end = session.slot.start.astimezone(tz), session.slot.end.astimezone(tz)

    event = Event()
    event.add("uid", invite_uid(session, uid_domain))
    event.add("sequence", session.sequence if sequence is None else sequence)
    # DTSTAMP is always UTC (RFC 5545 3.8.7.2); whole seconds, as most clients store it.
    event.add("dtstamp", (stamp or utc_now()).astimezone(require_zone("UTC")).replace(microsecond=0))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", session.title)
    link = (join_url or session.meeting.join_url) if session.is_virtual and session.meeting is not None else None
    event.add("description", _description(session, zone_name, link))
    location = _location(session, link)
    if location:
        event.add("location", location)
    if link is not None and session.meeting is not None:
        event.add("url", vUri(link), parameters={"VALUE": "URI"})
        # RFC 7986 CONFERENCE: how clients that understand it render a "Join" button.
        event.add(
            "conference",
            vUri(link),
            parameters={"VALUE": "URI", "FEATURE": "AUDIO,VIDEO", "LABEL": f"Join ({session.meeting.provider})"},
        )
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if organizer is not None:
        event.add("organizer", _address(organizer))
    return event


_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


def _safe(text: str) -> str:
    # Leading dots would hide the file on Unix; the rest keeps names portable to Windows file systems.
    return _UNSAFE.sub("_", text).lstrip(".") or "_"


def file_stems(session: Session, people: Sequence[Person]) -> dict[str, str]:
    """A file name (without suffix) per reader: ``<session id>-<email>`` with unsafe characters replaced.

    Names are portable (no path separators, no leading dot) and distinct even on case-insensitive file systems:
    a short hash of the address is added when two addresses would share a name.

    Returns:
        Email -> name, in the order of ``people`` (duplicates by email once).
    """
    stems: dict[str, str] = {}
    used: set[str] = set()
    for person in people:
        if person.email in stems:
            continue
        name = f"{_safe(session.id)}-{_safe(person.email)}"
        if name.casefold() in used:
            name = f"{name}-{hashlib.sha256(person.email.encode()).hexdigest()[:8]}"
        used.add(name.casefold())
        stems[person.email] = name
    return stems


def write_invites(
    session: Session,
    people: Sequence[Person],
    folder: str | Path,
    *,
    organizer: Person | None = None,
    method: InviteMethod = "REQUEST",
    join_urls: Mapping[str, str] | None = None,
    uid_domain: str = "lms-connectors",
    stamp: datetime | None = None,
) -> list[Path]:
    """Write one ``.ics`` per person, each in that person's own zone.

    Each file lists only its reader as attendee, so learners never see one another's addresses.

    Args:
        session: The session.
        people: The readers (duplicates by email are written once).
        folder: Where to write; created when missing.
        organizer: See :func:`build_invite`.
        method: See :func:`build_invite`.
        join_urls: Email -> that reader's own join link (see :func:`build_invite`'s ``join_url``).
        uid_domain: See :func:`build_invite`.
        stamp: See :func:`build_invite`; one stamp is used for every file.

    Returns:
        The files written, in the order of ``people``: ``<session id>-<email>.ics`` with unsafe characters
        replaced (and a short hash added when two addresses would share a name).
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    moment = stamp or utc_now()
    written: list[Path] = []
    stems = file_stems(session, people)
    by_email: dict[str, Person] = {}
    for person in people:
        by_email.setdefault(person.email, person)
    for email, name in stems.items():
        person = by_email[email]
        path = target / f"{name}.ics"
        path.write_bytes(
            build_invite(
                session,
                organizer=organizer,
                attendees=[person],
                method=method,
                for_person=person,
                join_url=(join_urls or {}).get(person.email),
                uid_domain=uid_domain,
                stamp=moment,
            )
        )
        written.append(path)
    return written
