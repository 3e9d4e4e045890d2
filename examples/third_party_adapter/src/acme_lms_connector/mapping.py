"""Between SDK models and Acme LMS JSON objects.

Acme keeps instants in UTC (``starts_at``/``ends_at`` as ``...Z``) next to the session's IANA ``timezone``, one
free-text ``location``, an optional ``meeting_url`` and a ``capacity`` it enforces itself. Reading needs no
checks of its own: an answer of another shape (a missing ``id``, a bad instant) raises ``KeyError``/``ValueError``
here, which the base ``Adapter`` turns into a ``MalformedResponse`` naming the operation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lms_connectors.models import Person, ProviderRef, ProviderSession, RosterMember, Session
from lms_connectors.timezones import format_utc

__all__ = ["PROVIDER", "learner_payload", "provider_ref", "provider_session", "roster_member", "session_payload"]

PROVIDER = "acme_lms"


def session_payload(session: Session) -> dict[str, Any]:
    """The Acme session object for ``session`` (body of a create, or of a full update)."""
    payload: dict[str, Any] = {
        "title": session.title,
        "starts_at": format_utc(session.slot.start),
        "ends_at": format_utc(session.slot.end),
        "timezone": session.slot.timezone,
        "description": session.description,
        "capacity": session.capacity,
        "location": None,
        "meeting_url": session.meeting.join_url if session.meeting else None,
    }
    if session.room is not None:
        room = session.room
        payload["location"] = f"{room.name}, {room.location}" if room.location else room.name
    return payload


def provider_ref(payload: dict[str, Any]) -> ProviderRef:
    """Where an Acme session object lives."""
    return ProviderRef(provider=PROVIDER, external_id=str(payload["id"]), version=str(payload.get("version", "")))


def provider_session(payload: dict[str, Any]) -> ProviderSession:
    """An Acme session object in SDK terms."""
    return ProviderSession(
        ref=provider_ref(payload),
        title=str(payload.get("title", "")),
        start=datetime.fromisoformat(payload["starts_at"]),
        end=datetime.fromisoformat(payload["ends_at"]),
        timezone=payload.get("timezone"),
        location=payload.get("location"),
        join_url=payload.get("meeting_url"),
        cancelled=payload.get("status") == "cancelled",
        capacity=payload.get("capacity"),
        raw=payload,
    )


def learner_payload(person: Person) -> dict[str, Any]:
    """An Acme learner object."""
    return {"email": person.email, "name": person.name, "timezone": person.timezone}


def roster_member(payload: dict[str, Any]) -> RosterMember:
    """An Acme enrolment in SDK terms."""
    return RosterMember(email=payload["email"], external_id=payload.get("id"), status=payload.get("status"))
