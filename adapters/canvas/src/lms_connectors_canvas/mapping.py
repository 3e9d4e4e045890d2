"""Between SDK models and Canvas JSON: calendar events, sections, enrolments, appointment groups (no HTTP).

Field names follow Canvas's REST API documentation (its ``CalendarEvent``, ``Section``, ``Enrollment`` and
``AppointmentGroup`` models); the README lists where each comes from. Instants go out in ISO 8601 with the
session's own offset (``2027-03-16T09:00:00-04:00``) and come back in UTC (``...Z``).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lms_connectors.errors import MalformedResponse
from lms_connectors.markers import key_in, marker
from lms_connectors.models import ProviderRef, ProviderSession, RosterMember, Session

__all__ = [
    "PROVIDER",
    "appointment_group_body",
    "event_body",
    "event_session",
    "join_url_of",
    "roster_member",
    "section_body",
    "section_context",
    "section_sis_id",
]

PROVIDER = "canvas"

_JOIN_LINK = re.compile(r'Join: <a href="(?P<url>[^"]+)"')
_SIS_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _instant(value: datetime) -> str:
    """ISO 8601 with an explicit offset (never a naive time, which Canvas would read in the user's zone)."""
    return value.isoformat(timespec="seconds")


def read_instant(event: Mapping[str, Any], name: str) -> datetime:
    """An instant of a Canvas object (``...Z``), as an aware datetime.

    Raises:
        MalformedResponse: The field is missing or not an ISO 8601 instant with a zone.
    """
    raw = event.get(name)
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise MalformedResponse(f"Canvas object {event.get('id')} has no valid {name!r} ({raw!r})", provider=PROVIDER)
    return parsed


def section_sis_id(key: str) -> str:
    """The session section's ``sis_section_id``, derived from the key.

    Letters, digits, ``-`` and ``_`` only (it goes into URLs as ``sis_section_id:<id>``, where Canvas's routes take
    a ``.`` for a format), plus a digest of the key so that two keys never share one.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"lmsc-{_SIS_SAFE.sub('-', key)[:60]}-{digest}"


def section_context(section_id: str | int) -> str:
    """The context code of a section (``course_section_<id>``)."""
    return f"course_section_{section_id}"


def description_html(session: Session, key: str) -> str:
    """The event's HTML description: the session's text, the join link, and the marker of ``key``."""
    parts = [f"<p>{html.escape(line)}</p>" for line in session.description.splitlines() if line.strip()]
    if session.meeting is not None:
        url = html.escape(session.meeting.join_url, quote=True)
        parts.append(f'<p>Join: <a href="{url}">{url}</a></p>')
    parts.append(f"<p>{marker(key)}</p>")
    return "".join(parts)


def join_url_of(description: str | None) -> str | None:
    """The join link a description written by :func:`description_html` carries."""
    found = _JOIN_LINK.search(description or "")
    return html.unescape(found["url"]) if found else None


def _location(session: Session) -> dict[str, str]:
    room = session.room
    return {"location_name": room.name if room else "", "location_address": (room.location or "") if room else ""}


def event_body(session: Session, key: str, *, section_id: str, course_id: int | None = None) -> dict[str, Any]:
    """The ``calendar_event`` of a create (with ``course_id``) or of an update (without).

    The section's own time (``child_event_data``) makes the event show in the calendars of the section's learners.
    """
    start, end = _instant(session.slot.start), _instant(session.slot.end)
    event: dict[str, Any] = {
        "title": session.title,
        "description": description_html(session, key),
        "start_at": start,
        "end_at": end,
        **_location(session),
        "child_event_data": {"0": {"start_at": start, "end_at": end, "context_code": section_context(section_id)}},
    }
    if course_id is not None:
        event = {"context_code": f"course_{course_id}", **event}
    return {"calendar_event": event}


def section_body(session: Session, key: str) -> dict[str, Any]:
    """The ``course_section`` made for a session: named after it, its SIS and integration ids from the key."""
    return {
        "course_section": {
            "name": session.title,
            "sis_section_id": section_sis_id(key),
            "integration_id": marker(key),
        }
    }


def appointment_group_body(session: Session, key: str, *, course_id: int, section_id: str) -> dict[str, Any]:
    """An appointment group with one slot, the session's, that takes ``capacity`` participants from its section."""
    return {
        "appointment_group": {
            "context_codes": [f"course_{course_id}"],
            "sub_context_codes": [section_context(section_id)],
            "title": session.title,
            "description": marker(key),
            **_location(session),
            "participants_per_appointment": session.capacity,
            "max_appointments_per_participant": 1,
            "new_appointments": {"0": [_instant(session.slot.start), _instant(session.slot.end)]},
            "participant_visibility": "private",
            "publish": True,
        }
    }


def event_session(event: Mapping[str, Any], ref: ProviderRef) -> ProviderSession:
    """A Canvas calendar event in SDK terms (``workflow_state: deleted`` is a cancelled session)."""
    name, address = event.get("location_name") or "", event.get("location_address") or ""
    location = ", ".join(part for part in (name, address) if part) or None
    return ProviderSession(
        ref=ref,
        title=str(event.get("title") or ""),
        start=read_instant(event, "start_at"),
        end=read_instant(event, "end_at"),
        location=location,
        join_url=join_url_of(event.get("description")),
        cancelled=event.get("workflow_state") == "deleted",
        raw=dict(event),
    )


def event_key(event: Mapping[str, Any]) -> str | None:
    """The key marked in an event's description (``None``: not made by this SDK)."""
    return key_in(str(event.get("description") or ""))


def section_of(event: Mapping[str, Any]) -> str | None:
    """The section a session's event is shown to, from its child events (``course_section_<id>``)."""
    for child in event.get("child_events") or []:
        code = str(child.get("context_code") or "") if isinstance(child, Mapping) else ""
        if code.startswith("course_section_"):
            return code.removeprefix("course_section_")
    return None


def roster_member(enrollment: Mapping[str, Any]) -> RosterMember | None:
    """A section enrolment in SDK terms: the learner's login id is her email (``None``: no login id to read)."""
    user = enrollment.get("user")
    login = user.get("login_id") if isinstance(user, Mapping) else None
    if not isinstance(login, str) or "@" not in login:
        return None
    return RosterMember(
        email=login.lower(),
        external_id=str(enrollment.get("id")),
        status=str(enrollment.get("enrollment_state") or "") or None,
    )
