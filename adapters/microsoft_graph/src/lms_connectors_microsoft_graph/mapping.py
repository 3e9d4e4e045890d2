"""Map a :class:`~lms_connectors.models.Session` to a Graph event body, and an event back.

=====================  ==================================================================================
session                event (``microsoft.graph.event``)
=====================  ==================================================================================
title                  ``subject``
slot                   ``start`` / ``end``: wall time + Windows zone name (see :mod:`.times`)
description, meeting   ``body`` (text), with a "Join:" line for a meeting made elsewhere
room                   ``location`` and ``locations[]`` (with the room's ``locationEmailAddress``), and the
                       room mailbox as an attendee of ``type: resource`` so that Exchange books it
virtual, no meeting    ``isOnlineMeeting: true`` + ``onlineMeetingProvider: teamsForBusiness`` (Teams link)
instructors            attendees (``required``)
key                    ``transactionId`` (a UUID derived from the key) and a single-value extended
                       property holding the key itself, the marker a look-up filters on
capacity, home zone    a second extended property (JSON), so that they read back as they were written
=====================  ==================================================================================
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lms_connectors.adapter import RoomResponse
from lms_connectors.errors import MalformedResponse, ValidationError
from lms_connectors.models import Person, ProviderRef, ProviderSession, Room, RosterMember, Session
from lms_connectors_microsoft_graph.times import graph_datetime, iana_zone_of, parse_graph_datetime

__all__ = [
    "KEY_PROPERTY",
    "META_PROPERTY",
    "PROVIDER",
    "attendee_for",
    "event_body",
    "event_key",
    "expand_properties",
    "key_filter",
    "learner_attendees",
    "merge_attendees",
    "owned_fingerprint",
    "provider_ref",
    "provider_session",
    "reschedule_patch",
    "room_answer",
    "room_attendee",
    "room_response",
    "teams_pending",
    "roster_member",
    "transaction_id",
    "wants_teams",
]

PROVIDER = "microsoft_graph"
_PROPERTY_SET = "{6f0a4d6e-3b1c-4d4e-9a51-6c6d73636f6e}"
"""The SDK's own MAPI property set (a fixed GUID): its named properties cannot collide with another app's."""
KEY_PROPERTY = f"String {_PROPERTY_SET} Name lmscKey"
"""Single-value extended property holding the idempotency key of the create that made the event."""
META_PROPERTY = f"String {_PROPERTY_SET} Name lmscMeta"
"""Single-value extended property holding what Graph has no field for (capacity, IANA zone, instructors)."""
_TRANSACTION_NAMESPACE = uuid.UUID("1b0e4a35-8f63-5d2c-9d56-6c6d73632d74")


def transaction_id(key: str) -> str:
    """The ``transactionId`` of a create with ``key``: the same UUID every time, so Graph can drop a resend."""
    return str(uuid.uuid5(_TRANSACTION_NAMESPACE, key))


def expand_properties() -> str:
    """``$expand`` value that brings the SDK's two extended properties along with an event."""
    return f"singleValueExtendedProperties($filter=id eq '{KEY_PROPERTY}' or id eq '{META_PROPERTY}')"


def key_filter(key: str) -> str:
    """``$filter`` value that selects the events carrying ``key`` (Graph's documented lambda syntax)."""
    escaped = key.replace("'", "''")
    return f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_PROPERTY}' and ep/value eq '{escaped}')"


def wants_teams(session: Session) -> bool:
    """Whether Outlook should make a Teams link: online attendance and no meeting made elsewhere."""
    return session.is_virtual and session.meeting is None


def attendee_for(person: Person) -> dict[str, Any]:
    """The ``attendee`` of a learner or instructor."""
    return {"emailAddress": {"address": person.email, "name": person.name}, "type": "required"}


def room_attendee(room: Room) -> dict[str, Any] | None:
    """The room mailbox as a ``resource`` attendee, when Exchange books it (:meth:`Room.held_by`)."""
    if not room.email or not room.held_by(PROVIDER):
        return None
    return {"emailAddress": {"address": room.email, "name": room.name}, "type": "resource"}


def _room_attendee(session: Session) -> dict[str, Any] | None:
    return room_attendee(session.room) if session.room is not None else None


_ROOM_ANSWERS = {
    "accepted": RoomResponse.ACCEPTED,
    "organizer": RoomResponse.ACCEPTED,
    "tentativelyAccepted": RoomResponse.TENTATIVE,
    "declined": RoomResponse.DECLINED,
}


def room_answer(event: Mapping[str, Any], room: Room) -> RoomResponse | None:
    """The room mailbox's answer in SDK terms (``none``/``notResponded``: pending), ``None`` when not invited."""
    answer = room_response(event, room.email) if room.email else None
    return None if answer is None else _ROOM_ANSWERS.get(answer, RoomResponse.PENDING)


def _location(session: Session) -> dict[str, Any] | None:
    room = session.room
    if room is not None:
        name = f"{room.name}, {room.location}" if room.location else room.name
        location: dict[str, Any] = {"displayName": name, "locationType": "conferenceRoom"}
        if room.email and room.held_by(PROVIDER):
            location["locationEmailAddress"] = room.email
        return location
    if session.meeting is not None:
        return {"displayName": session.meeting.join_url, "locationType": "default"}
    return None


def _meta(session: Session) -> str:
    meta: dict[str, Any] = {"session": session.id, "zone": session.slot.timezone}
    if session.capacity is not None:
        meta["capacity"] = session.capacity
    if session.instructors:
        meta["instructors"] = [person.email for person in session.instructors]
    if session.meeting is not None:
        meta["joinUrl"] = session.meeting.join_url
    return json.dumps(meta, sort_keys=True, separators=(",", ":"))


def _owned_fields(session: Session) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": session.title,
        "body": {"contentType": "text", "content": session.description_with_join_line()},
        "start": graph_datetime(session.slot.start, session.slot.timezone),
        "end": graph_datetime(session.slot.end, session.slot.timezone),
    }
    location = _location(session)
    body["location"] = location if location is not None else {"displayName": ""}
    body["locations"] = [location] if location is not None else []
    return body


def event_body(session: Session, *, key: str) -> dict[str, Any]:
    """The ``POST /users/{id}/events`` body of a session.

    Raises:
        ValidationError: The key is longer than the SDK allows for a property value.
    """
    if len(key) > 255:
        raise ValidationError("an idempotency key for Graph is at most 255 characters")
    attendees = [attendee_for(person) for person in session.instructors]
    room = _room_attendee(session)
    if room is not None:
        attendees.append(room)
    body = _owned_fields(session)
    body.update(
        {
            "attendees": attendees,
            "allowNewTimeProposals": False,
            "responseRequested": True,
            "transactionId": transaction_id(key),
            "singleValueExtendedProperties": [
                {"id": KEY_PROPERTY, "value": key},
                {"id": META_PROPERTY, "value": _meta(session)},
            ],
        }
    )
    if wants_teams(session):
        body["isOnlineMeeting"] = True
        body["onlineMeetingProvider"] = "teamsForBusiness"
    return body


def reschedule_patch(session: Session) -> dict[str, Any]:
    """The ``PATCH`` body that moves an event and carries its text; attendees and the Teams link stay."""
    body = _owned_fields(session)
    body["singleValueExtendedProperties"] = [{"id": META_PROPERTY, "value": _meta(session)}]
    return body


def _properties(event: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in event.get("singleValueExtendedProperties") or ():
        if isinstance(item, Mapping) and isinstance(item.get("id"), str) and isinstance(item.get("value"), str):
            found[str(item["id"]).casefold()] = str(item["value"])
    return found


def event_key(event: Mapping[str, Any]) -> str | None:
    """The idempotency key stored on an event (``None`` when the SDK did not make it)."""
    return _properties(event).get(KEY_PROPERTY.casefold())


def _meta_of(event: Mapping[str, Any]) -> dict[str, Any]:
    text = _properties(event).get(META_PROPERTY.casefold())
    try:
        meta = json.loads(text) if text else {}
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _join_url(event: Mapping[str, Any]) -> str | None:
    online = event.get("onlineMeeting")
    if isinstance(online, Mapping) and isinstance(online.get("joinUrl"), str) and online["joinUrl"]:
        return str(online["joinUrl"])
    stored = _meta_of(event).get("joinUrl")
    return stored if isinstance(stored, str) else None


def teams_pending(event: Mapping[str, Any]) -> bool:
    """Whether the event asked for a Teams link that Outlook has not attached yet."""
    if not event.get("isOnlineMeeting"):
        return False
    online = event.get("onlineMeeting")
    return not (isinstance(online, Mapping) and online.get("joinUrl"))


def _attendees(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        item
        for item in event.get("attendees") or ()
        if isinstance(item, Mapping) and isinstance(item.get("emailAddress"), Mapping)
        and item["emailAddress"].get("address")
    ]


def _email(attendee: Mapping[str, Any]) -> str:
    return str(attendee["emailAddress"]["address"]).lower()


def _response(attendee: Mapping[str, Any]) -> str | None:
    status = attendee.get("status")
    response = status.get("response") if isinstance(status, Mapping) else None
    return response if isinstance(response, str) else None


def room_response(event: Mapping[str, Any], room_email: str) -> str | None:
    """The room mailbox's answer (``none``, ``accepted``, ``declined``, ``tentativelyAccepted``), if invited."""
    for attendee in _attendees(event):
        if _email(attendee) == room_email.lower() and attendee.get("type") == "resource":
            return _response(attendee) or "none"
    return None


def _people(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    organizer = event.get("organizer")
    address = organizer.get("emailAddress") if isinstance(organizer, Mapping) else None
    organizer_email = str(address.get("address", "")).lower() if isinstance(address, Mapping) else ""
    return [a for a in _attendees(event) if a.get("type") != "resource" and _email(a) != organizer_email]


def learner_attendees(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The event's learners: attendees that are neither rooms, the organizer, nor instructors."""
    instructors = {str(email).lower() for email in _meta_of(event).get("instructors") or ()}
    return [item for item in _people(event) if _email(item) not in instructors]


def roster_member(attendee: Mapping[str, Any]) -> RosterMember:
    """A learner on the event, with Outlook's response as status."""
    return RosterMember(email=_email(attendee), status=_response(attendee))


def merge_attendees(
    current: Sequence[Mapping[str, Any]], add: Iterable[Person] = (), remove: Iterable[str] = ()
) -> tuple[list[dict[str, Any]], bool]:
    """The event's new attendee list: ``add`` joined, ``remove`` left, everyone else kept.

    A ``PATCH`` of ``attendees`` replaces the whole list, so the list sent is the one read, changed only where
    asked: an attendee someone added in Outlook stays. Only writable fields are sent (``status`` is read-only).

    Returns:
        The new list and whether it differs from ``current``.
    """
    removed = {email.lower() for email in remove}
    kept: list[dict[str, Any]] = []
    for item in current:
        address = item.get("emailAddress")
        if not isinstance(address, Mapping) or not address.get("address"):
            continue
        if str(address["address"]).lower() in removed:
            continue
        entry: dict[str, Any] = {"emailAddress": {"address": address["address"]}, "type": item.get("type", "required")}
        if address.get("name"):
            entry["emailAddress"]["name"] = address["name"]
        kept.append(entry)
    changed = len(kept) != len([i for i in current if isinstance(i.get("emailAddress"), Mapping)])
    present = {str(item["emailAddress"]["address"]).lower() for item in kept}
    for person in add:
        if person.email.lower() not in present:
            kept.append(attendee_for(person))
            present.add(person.email.lower())
            changed = True
    return kept, changed


def owned_fingerprint(event: Mapping[str, Any]) -> str:
    """A digest of what the SDK owns on an event: instants, subject, body text, location.

    Attendees' answers and roster changes change ``changeKey`` but not this digest, so comparing it tells a
    harmless change from someone else moving or retitling the session in Outlook.
    """
    owned: dict[str, Any] = {"subject": event.get("subject") or ""}
    location = event.get("location")
    owned["location"] = location.get("displayName") if isinstance(location, Mapping) else None
    for name in ("start", "end"):
        try:
            owned[name] = parse_graph_datetime(event.get(name), name).timestamp()
        except MalformedResponse:
            owned[name] = None
    text = json.dumps(owned, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def provider_ref(event: Mapping[str, Any], mailbox: str) -> ProviderRef:
    """The SDK's reference to an event: its (immutable) id, its ``@odata.etag`` as version, and extras."""
    return ProviderRef.of_versioned(
        PROVIDER, event.get("id"), event.get("@odata.etag"), owned=owned_fingerprint(event), key=event_key(event),
        join_url=_join_url(event), mailbox=mailbox,
    )


def provider_session(event: Mapping[str, Any], mailbox: str) -> ProviderSession:
    """Read an event back in SDK terms (zone: the one written, else ``originalStartTimeZone``)."""
    meta = _meta_of(event)
    zone = meta.get("zone") if isinstance(meta.get("zone"), str) else iana_zone_of(event.get("originalStartTimeZone"))
    location = event.get("location")
    name = location.get("displayName") if isinstance(location, Mapping) else None
    capacity = meta.get("capacity")
    return ProviderSession(
        ref=provider_ref(event, mailbox),
        title=str(event.get("subject") or ""),
        start=parse_graph_datetime(event.get("start"), "start"),
        end=parse_graph_datetime(event.get("end"), "end"),
        timezone=zone,
        location=name if isinstance(name, str) and name else None,
        join_url=_join_url(event),
        cancelled=bool(event.get("isCancelled")),
        attendees=tuple(_email(item) for item in _people(event)),
        capacity=capacity if isinstance(capacity, int) and not isinstance(capacity, bool) else None,
        raw=dict(event),
    )
