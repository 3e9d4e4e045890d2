"""Map a :class:`~lms_connectors.models.Session` to a Google Calendar event body, and an event back.

What goes where (Calendar API v3 ``Event``):

=====================  ==================================================================================
session                event
=====================  ==================================================================================
title                  ``summary``
slot                   ``start`` / ``end``: RFC 3339 ``dateTime`` with the offset of the home zone, plus
                       the IANA ``timeZone`` (Google shows the event in that zone)
room                   ``location`` (its location or name), and the room's resource calendar as an
                       attendee ``{email, resource: true}`` so that the room is booked
meeting made elsewhere ``location`` when there is no room, and a "Join:" line in ``description``
virtual, no meeting    ``conferenceData.createRequest`` (Google Meet), sent with ``conferenceDataVersion=1``
instructors            attendees
capacity               none in Google: kept in a private extended property so that it reads back
key                    ``extendedProperties.private.lmsc_key``, the marker of events this SDK made
=====================  ==================================================================================

Guests may not invite others (``guestsCanInviteOthers: false``): the roster is the SDK's to manage.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lms_connectors.adapter import RoomResponse
from lms_connectors.errors import MalformedResponse, ValidationError
from lms_connectors.models import Person, ProviderRef, ProviderSession, Room, RosterMember, Session
from lms_connectors_google_calendar.ids import conference_request_id

__all__ = [
    "MANAGED_MARKER",
    "MARKER_KEY",
    "PROVIDER",
    "room_answer",
    "room_attendee",
    "attendee_for",
    "event_body",
    "event_is_ours",
    "event_key",
    "event_reschedule_patch",
    "format_datetime",
    "is_cancelled",
    "learner_attendees",
    "meet_status",
    "merge_attendees",
    "owned_fingerprint",
    "parse_datetime",
    "provider_ref",
    "provider_session",
    "roster_member",
    "wants_meet",
]

PROVIDER = "google_calendar"
MARKER_KEY = "lmsc_key"
"""Private extended property holding the idempotency key of the create that made the event."""
MANAGED_MARKER = ("lmsc_managed", "1")
"""Private extended property on every event of this SDK; ``events.list`` filters on it server side."""
_CAPACITY_KEY = "lmsc_capacity"
_SESSION_KEY = "lmsc_session"
_JOIN_URL_KEY = "lmsc_join_url"
_INSTRUCTORS_KEY = "lmsc_instructors"
_MAX_PROPERTY_VALUE = 1024  # Google's limit on an extended property's value


def format_datetime(value: datetime, zone: str) -> str:
    """Render an instant as RFC 3339 with the UTC offset it has in ``zone``.

    Google reads the offset, not ``timeZone``, to place the instant; the offset of the home zone keeps the
    event readable in Google's UI and raw API answers.
    """
    return value.astimezone(ZoneInfo(zone)).isoformat()


def parse_datetime(value: Mapping[str, Any] | None, field: str) -> datetime:
    """Read an ``EventDateTime`` back as an aware datetime.

    Raises:
        MalformedResponse: The event has no ``dateTime`` (an all-day event, which this SDK never makes).
    """
    text = value.get("dateTime") if value else None
    if not isinstance(text, str):
        raise MalformedResponse(f"event {field} has no dateTime (all-day events are not sessions)", provider=PROVIDER)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedResponse(f"event {field}.dateTime {text!r} is not RFC 3339", provider=PROVIDER) from exc
    if parsed.tzinfo is None:  # Google may omit the offset only when timeZone is given
        zone = value.get("timeZone") if value else None
        if not isinstance(zone, str):
            raise MalformedResponse(f"event {field}.dateTime has neither offset nor timeZone", provider=PROVIDER)
        try:
            parsed = parsed.replace(tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise MalformedResponse(f"event {field}.timeZone {zone!r} is no IANA zone", provider=PROVIDER) from exc
    return parsed


def _event_datetime(value: datetime, zone: str) -> dict[str, str]:
    return {"dateTime": format_datetime(value, zone), "timeZone": zone}


def attendee_for(person: Person) -> dict[str, Any]:
    """The ``EventAttendee`` of a learner or instructor."""
    return {"email": person.email, "displayName": person.name}


def _location(session: Session) -> str | None:
    if session.room is not None:
        # The name first: it is what attendees look for; the address helps them find it.
        return f"{session.room.name}, {session.room.location}" if session.room.location else session.room.name
    if session.meeting is not None:
        return session.meeting.join_url
    return None


def _private_properties(session: Session, key: str) -> dict[str, str]:
    props = {MARKER_KEY: key, MANAGED_MARKER[0]: MANAGED_MARKER[1], _SESSION_KEY: session.id}
    if session.capacity is not None:
        props[_CAPACITY_KEY] = str(session.capacity)
    if session.meeting is not None:
        props[_JOIN_URL_KEY] = session.meeting.join_url
    if session.instructors:
        # Instructors are attendees too; this list tells them apart from learners when the roster is read.
        props[_INSTRUCTORS_KEY] = ",".join(person.email for person in session.instructors)
    for name, value in props.items():
        if len(value) > _MAX_PROPERTY_VALUE:
            raise ValidationError(f"{name} is longer than Google's {_MAX_PROPERTY_VALUE}-character property limit")
    return props


def room_attendee(room: Room) -> dict[str, Any] | None:
    """The room's resource calendar as an attendee, when Google Calendar books it (:meth:`Room.held_by`)."""
    if not room.email or not room.held_by(PROVIDER):
        return None
    return {"email": room.email, "displayName": room.name, "resource": True}


def room_answer(event: Mapping[str, Any], room: Room) -> RoomResponse | None:
    """The room attendee's ``responseStatus`` in SDK terms, or ``None`` when the event does not invite it."""
    for attendee in event.get("attendees") or ():
        if (
            isinstance(attendee, Mapping)
            and attendee.get("resource")
            and str(attendee.get("email", "")).lower() == (room.email or "").lower()
        ):
            return _ROOM_ANSWERS.get(str(attendee.get("responseStatus")), RoomResponse.PENDING)
    return None


_ROOM_ANSWERS = {
    "accepted": RoomResponse.ACCEPTED,
    "tentative": RoomResponse.TENTATIVE,
    "declined": RoomResponse.DECLINED,
    "needsAction": RoomResponse.PENDING,
}


def _fixed_attendees(session: Session) -> list[dict[str, Any]]:
    attendees = [attendee_for(person) for person in session.instructors]
    room = room_attendee(session.room) if session.room is not None else None
    if room is not None:
        attendees.append(room)
    return attendees


def wants_meet(session: Session) -> bool:
    """Whether Google should create a Meet link: online attendance and no meeting made elsewhere."""
    return session.is_virtual and session.meeting is None


def event_body(session: Session, *, key: str, event_id: str) -> dict[str, Any]:
    """Build the ``events.insert`` body for a session.

    Args:
        session: The session to create.
        key: Its idempotency key (stored as the event's marker).
        event_id: The client-chosen event id derived from ``key``.

    Returns:
        The JSON body. It carries ``conferenceData.createRequest`` when :func:`wants_meet`; the caller then
        sends ``conferenceDataVersion=1``, without which Google silently ignores the request.
    """
    body: dict[str, Any] = {
        "id": event_id,
        "summary": session.title,
        "start": _event_datetime(session.slot.start, session.slot.timezone),
        "end": _event_datetime(session.slot.end, session.slot.timezone),
        # Learners already confirmed go into the insert: no roster PATCH after it.
        "attendees": [*_fixed_attendees(session), *(attendee_for(person) for person in session.learners)],
        "guestsCanInviteOthers": False,
        "extendedProperties": {"private": _private_properties(session, key)},
    }
    location = _location(session)
    if location:
        body["location"] = location
    description = session.description_with_join_line()
    if description:
        body["description"] = description
    if wants_meet(session):
        body["conferenceData"] = {
            "createRequest": {
                "requestId": conference_request_id(key),
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return body


def event_reschedule_patch(session: Session, *, key: str | None) -> dict[str, Any]:
    """Build the ``events.patch`` body that moves an event to the session's slot and carries its text.

    The roster (attendees) and an existing Meet conference are left as they are: a patch replaces whole
    arrays, and the roster is changed only by enrol / unenrol.
    """
    body: dict[str, Any] = {
        "summary": session.title,
        "start": _event_datetime(session.slot.start, session.slot.timezone),
        "end": _event_datetime(session.slot.end, session.slot.timezone),
        "description": session.description_with_join_line(),
        "location": _location(session) or "",
    }
    if key is not None:
        body["extendedProperties"] = {"private": _private_properties(session, key)}
    return body


def _private(event: Mapping[str, Any]) -> Mapping[str, Any]:
    extended = event.get("extendedProperties")
    private = extended.get("private") if isinstance(extended, Mapping) else None
    return private if isinstance(private, Mapping) else {}


def event_key(event: Mapping[str, Any]) -> str | None:
    """The idempotency key stored on an event, or ``None`` when the SDK did not make it."""
    value = _private(event).get(MARKER_KEY)
    return value if isinstance(value, str) else None


def event_is_ours(event: Mapping[str, Any]) -> bool:
    """Whether the event carries this SDK's marker."""
    return event_key(event) is not None


def meet_status(event: Mapping[str, Any]) -> str | None:
    """``conferenceData.createRequest.status.statusCode`` (``pending``, ``success``, ``failure``), if any."""
    conference = event.get("conferenceData")
    create = conference.get("createRequest") if isinstance(conference, Mapping) else None
    status = create.get("status") if isinstance(create, Mapping) else None
    code = status.get("statusCode") if isinstance(status, Mapping) else None
    return code if isinstance(code, str) else None


def is_cancelled(event: Mapping[str, Any]) -> bool:
    """Whether the event was deleted (Google keeps deleted events, with ``status: cancelled``)."""
    return event.get("status") == "cancelled"


def _join_url(event: Mapping[str, Any]) -> str | None:
    link = event.get("hangoutLink")
    if isinstance(link, str):
        return link
    conference = event.get("conferenceData")
    if isinstance(conference, Mapping):
        for entry in conference.get("entryPoints") or ():
            if isinstance(entry, Mapping) and entry.get("entryPointType") == "video":
                uri = entry.get("uri")
                if isinstance(uri, str):
                    return uri
    stored = _private(event).get(_JOIN_URL_KEY)
    return stored if isinstance(stored, str) else None


def owned_fingerprint(event: Mapping[str, Any]) -> str:
    """A digest of the fields the SDK owns on an event: instants, zone, title, description, location.

    Attendees' answers and roster changes change the event's etag but not this fingerprint, so comparing it
    tells a harmless etag change from someone else moving or editing the session.
    """
    owned: dict[str, Any] = {name: event.get(name) or "" for name in ("summary", "description", "location")}
    for name in ("start", "end"):
        value = event.get(name)
        try:
            instant = parse_datetime(value if isinstance(value, Mapping) else None, name).timestamp()
        except MalformedResponse:
            instant = None
        owned[name] = [instant, value.get("timeZone") if isinstance(value, Mapping) else None]
    text = json.dumps(owned, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def provider_ref(event: Mapping[str, Any], calendar_id: str) -> ProviderRef:
    """The SDK's reference to an event.

    The etag is the version; ``extra`` holds the calendar, the key, and the fingerprint of the fields the SDK
    owns (see :func:`owned_fingerprint`).
    """
    return ProviderRef.of_versioned(
        PROVIDER, event.get("id"), event.get("etag"), owned=owned_fingerprint(event), key=event_key(event),
        join_url=_join_url(event), calendar_id=calendar_id,
    )


def _instructor_emails(event: Mapping[str, Any]) -> set[str]:
    value = _private(event).get(_INSTRUCTORS_KEY)
    return {email.strip().lower() for email in value.split(",")} if isinstance(value, str) and value else set()


def _attendees(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [item for item in event.get("attendees") or () if isinstance(item, Mapping) and item.get("email")]


def _people(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # The organizer appears among attendees when they invited themselves; rooms are resources, not people.
    return [item for item in _attendees(event) if not item.get("resource") and not item.get("organizer")]


def provider_session(event: Mapping[str, Any], calendar_id: str) -> ProviderSession:
    """Read an event back in SDK terms."""
    capacity = _private(event).get(_CAPACITY_KEY)
    start = event.get("start")
    zone = start.get("timeZone") if isinstance(start, Mapping) else None
    location = event.get("location")
    return ProviderSession(
        ref=provider_ref(event, calendar_id),
        title=str(event.get("summary") or ""),
        start=parse_datetime(start if isinstance(start, Mapping) else None, "start"),
        end=parse_datetime(event.get("end") if isinstance(event.get("end"), Mapping) else None, "end"),
        timezone=zone if isinstance(zone, str) else None,
        location=location if isinstance(location, str) and location else None,
        join_url=_join_url(event),
        cancelled=is_cancelled(event),
        attendees=tuple(str(item["email"]).lower() for item in _people(event)),
        capacity=int(capacity) if isinstance(capacity, str) and capacity.isdigit() else None,
        raw=dict(event),
    )


def roster_member(attendee: Mapping[str, Any]) -> RosterMember:
    """A learner on the event, with Google's ``responseStatus`` as status."""
    status = attendee.get("responseStatus")
    return RosterMember(email=str(attendee["email"]), status=status if isinstance(status, str) else None)


def learner_attendees(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The event's learners: attendees that are neither rooms, the organizer, nor instructors."""
    instructors = _instructor_emails(event)
    return [item for item in _people(event) if str(item["email"]).lower() not in instructors]


def merge_attendees(
    current: Sequence[Mapping[str, Any]], add: Iterable[Person] = (), remove: Iterable[str] = ()
) -> tuple[list[dict[str, Any]], bool]:
    """Compute an event's new attendee list: ``add`` joined, ``remove`` left, everyone else kept as they are.

    Args:
        current: The event's ``attendees`` as read.
        add: People to add (those already present are kept unchanged, with their response).
        remove: Emails to remove.

    Returns:
        The new list and whether it differs from ``current``.
    """
    removed = {email.lower() for email in remove}
    kept = [dict(item) for item in current if str(item.get("email", "")).lower() not in removed]
    changed = len(kept) != len(current)
    present = {str(item.get("email", "")).lower() for item in kept}
    for person in add:
        if person.email not in present:
            kept.append(attendee_for(person))
            present.add(person.email)
            changed = True
    return kept, changed
