"""Between SDK models and Acme LMS JSON objects, and the checked shapes of Acme's answers.

Acme keeps instants in UTC (``starts_at``/``ends_at`` as ``...Z``) next to the session's IANA ``timezone``, one
free-text ``location``, an optional ``meeting_url`` and a ``capacity`` it enforces itself. The adapter reads every
answer through a shape below, so an answer of another shape is a ``MalformedResponse`` naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lms_connectors.http.answers import AnswerShape
from lms_connectors.models import Person, ProviderRef, ProviderSession, RosterMember, Session
from lms_connectors.timezones import format_utc

__all__ = ["PROVIDER", "Enrolment", "SessionObject", "learner_payload", "provider_ref", "provider_session",
           "roster_member", "session_payload"]

PROVIDER = "acme_lms"


class SessionObject(AnswerShape):
    """An Acme session as answered: the fields read below, typed (the others pass through unchecked)."""

    id: str
    version: int
    starts_at: datetime
    ends_at: datetime
    capacity: int | None = None


class Enrolment(AnswerShape):
    """An Acme enrolment."""

    id: str
    email: str


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
