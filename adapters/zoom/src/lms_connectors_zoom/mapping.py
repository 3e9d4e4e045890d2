"""Mapping between a training session and a Zoom meeting (and a learner and a registrant).

Time: ``start_time`` is always sent in **UTC with a ``Z`` suffix**, together with ``timezone`` = the session's
IANA zone (which Zoom then uses for display, invitations and recurrence). Zoom also accepts a local wall time
without ``Z`` plus ``timezone``, but a wall time cannot say which of the two 01:30 a fall-back night has, and it
depends on Zoom's copy of the tz rules matching ours; a UTC instant is exact for every instant. Never is a
non-UTC wall time labelled ``Z`` (the classic bug of Zoom clients). Zoom answers ``start_time`` in UTC too.

Idempotency: Zoom has no idempotency key, so the agenda's first line carries a marker of the create's key,
``[lmsc:<key>]``, by which :meth:`ZoomAdapter.find_session` recognises a meeting it made. It is the first line
so that it survives any shortening of a long agenda.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lms_connectors.adapter import Presence
from lms_connectors.errors import MalformedResponse
from lms_connectors.markers import key_in, marker
from lms_connectors.models import Person, ProviderRef, ProviderSession, RosterMember, Session
from lms_connectors.timezones import format_utc
from lms_connectors_zoom.answers import AddedRegistrant, Meeting, Participant, Registrant
from lms_connectors_zoom.settings import ApprovalType, ZoomMeetingSettings

__all__ = [
    "AGENDA_MAX",
    "MEETING_TYPE_SCHEDULED",
    "TOPIC_MAX",
    "agenda_for",
    "batch_registrants_body",
    "capacity_in",
    "create_body",
    "duration_minutes",
    "format_start_time",
    "key_in",
    "meeting_ref",
    "parse_start_time",
    "presence",
    "provider_session",
    "roster_member",
    "update_body",
]

MEETING_TYPE_SCHEDULED = 2
TOPIC_MAX = 200
AGENDA_MAX = 2000

_CAPACITY = re.compile(r"\[lmsc-capacity:(?P<n>\d+)\]")


def capacity_in(agenda: str | None) -> int | None:
    """The session capacity recorded in an agenda, or None (Zoom itself stores no seat count)."""
    match = _CAPACITY.search(agenda or "")
    return int(match.group("n")) if match else None


def agenda_for(session: Session, key: str) -> str:
    """The agenda: a first line with the key marker (and capacity), then the session's description."""
    head = marker(key)
    if session.capacity is not None:
        head += f" [lmsc-capacity:{session.capacity}]"
    if not session.description:
        return head
    room = AGENDA_MAX - len(head) - 2
    description = session.description if len(session.description) <= room else session.description[: room - 1] + "…"
    return f"{head}\n\n{description}"


def format_start_time(start: datetime) -> str:
    """An aware instant as Zoom's UTC form ``yyyy-MM-ddTHH:mm:ssZ`` (seconds precision)."""
    return format_utc(start)  # a naive one is refused (ValidationError, a ValueError)


def parse_start_time(value: str, timezone: str | None) -> datetime:
    """Read Zoom's ``start_time``: UTC with ``Z`` (or an offset), or a wall time in ``timezone``.

    Raises:
        MalformedResponse: The value is not a date-time, or is a wall time without a zone.
    """
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedResponse(f"Zoom start_time {value!r} is not a date-time", provider="zoom") from exc
    if parsed.tzinfo is not None:
        return parsed
    if not timezone:
        raise MalformedResponse(f"Zoom start_time {value!r} has neither an offset nor a timezone", provider="zoom")
    return parsed.replace(tzinfo=ZoneInfo(timezone))


def duration_minutes(session: Session) -> int:
    """The slot's length in whole minutes, rounded up (a session is never cut short)."""
    return max(1, math.ceil(session.slot.duration / timedelta(minutes=1)))


def _alternative_hosts(session: Session) -> list[str]:
    # The host is the configured user; every instructor becomes an alternative host (Zoom ignores the host's own
    # address there, and a co-instructor can then start the meeting).
    return [person.email for person in session.instructors]


def _meeting_fields(
    session: Session, key: str, settings: ZoomMeetingSettings, approval_type: ApprovalType
) -> dict[str, Any]:
    return {
        "topic": session.title[:TOPIC_MAX],
        "type": MEETING_TYPE_SCHEDULED,
        "start_time": format_start_time(session.slot.start),
        "timezone": session.slot.timezone,
        "duration": duration_minutes(session),
        "agenda": agenda_for(session, key),
        "settings": settings.to_zoom(approval_type=approval_type, alternative_hosts=_alternative_hosts(session)),
    }


def create_body(
    session: Session, key: str, settings: ZoomMeetingSettings, approval_type: ApprovalType
) -> dict[str, Any]:
    """Body of ``POST /users/{userId}/meetings`` for ``session`` (a scheduled meeting, type 2)."""
    return _meeting_fields(session, key, settings, approval_type)


def update_body(
    session: Session, key: str, settings: ZoomMeetingSettings, approval_type: ApprovalType
) -> dict[str, Any]:
    """Body of ``PATCH /meetings/{meetingId}``: every field the adapter owns, settings included.

    The settings are sent again on purpose: a meeting whose ``approval_type`` was never pushed on update refuses
    registrants ("Registration has not been enabled for this meeting").
    """
    return _meeting_fields(session, key, settings, approval_type)


def batch_registrants_body(people: Sequence[Person], *, auto_approve: bool | None = None) -> dict[str, Any]:
    """Body of ``POST /meetings/{meetingId}/batch_registrants`` for at most 30 learners.

    Args:
        people: The learners.
        auto_approve: Under manual approval, whether Zoom approves them at once; not sent when None.
    """
    body: dict[str, Any] = {
        "registrants": [
            {"email": p.email, "first_name": p.given_name, "last_name": p.family_name} for p in people
        ],
    }
    if auto_approve is not None:
        body["auto_approve"] = auto_approve
    return body


def meeting_ref(meeting: Meeting, *, key: str | None = None) -> ProviderRef:
    """A :class:`ProviderRef` for a meeting (its checked shape); the int64 meeting id is kept as a string."""
    extra: dict[str, str] = {}
    found_key = key or key_in(meeting.agenda)
    if found_key:
        extra["key"] = found_key
    if meeting.uuid:
        extra["uuid"] = meeting.uuid
    return ProviderRef(
        provider="zoom", external_id=str(meeting.id), join_url=meeting.join_url or None, extra=extra
    )


def provider_session(meeting: Meeting, ref: ProviderRef | None = None) -> ProviderSession:
    """A meeting read back (``GET /meetings/{meetingId}``, or listed) in SDK terms.

    Raises:
        MalformedResponse: ``start_time`` or ``duration`` is missing (a listed recurring meeting without a fixed
            time has none; the adapter skips those) or ``start_time`` is unreadable.
    """
    timezone = meeting.timezone or None
    if meeting.start_time is None or meeting.duration is None:
        raise MalformedResponse(
            f"Zoom meeting {meeting.id} without start_time or duration", provider="zoom", field="start_time"
        )
    start = parse_start_time(meeting.start_time, timezone)
    actual = meeting_ref(meeting)
    if ref is not None:
        actual = ref.model_copy(update={"join_url": actual.join_url or ref.join_url})
    return ProviderSession(
        ref=actual,
        title=meeting.topic,
        start=start,
        end=start + timedelta(minutes=meeting.duration),
        timezone=timezone,
        join_url=actual.join_url,
        capacity=capacity_in(meeting.agenda),
        raw=meeting.model_dump(),
    )


def roster_member(
    registrant: Registrant | AddedRegistrant, *, email: str | None = None, status: str | None = None
) -> RosterMember:
    """A registrant as a :class:`RosterMember`; its own ``join_url`` is kept when Zoom gave one.

    Under manual approval Zoom answers an add-registrant without ``join_url`` (the registrant is pending):
    that is a normal answer, not a malformed one.

    Args:
        registrant: A registrant of a listing, or a registration of an add-registrants answer.
        email: The email, when it is to be taken from the request rather than the answer.
        status: The status, when the object has none (an add-registrants answer never has).
    """
    # An add-registrants answer names the registrant "registrant_id"; a listing "id".
    registrant_id = registrant.registrant_id if isinstance(registrant, AddedRegistrant) else registrant.id
    own_status = registrant.status if isinstance(registrant, Registrant) else None
    return RosterMember(
        email=email or registrant.email,
        external_id=str(registrant_id) if registrant_id else None,
        join_url=registrant.join_url or None,
        status=status or own_status,
    )


def presence(participant: Participant) -> Presence | None:
    """A participants-report row as a presence record; ``None`` for one without an email (a guest).

    Raises:
        MalformedResponse: A time is not ISO 8601 in UTC as Zoom writes it.
    """
    email = (participant.user_email or "").strip().lower()
    if not email:
        return None
    joined = parse_start_time(participant.join_time, None)
    left = parse_start_time(participant.leave_time, None) if participant.leave_time else None
    return Presence(email=email, joined=joined, left=left)
