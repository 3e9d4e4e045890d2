"""Mapping between a :class:`~lms_connectors.models.Session` and a Moodle calendar event.

Moodle stores an event as Unix ``timestart`` + ``timeduration`` seconds and no zone, so the session's home
zone is kept on the SDK side (``ProviderRef.extra["timezone"]``). Events have no client key either: the
idempotency key is written into the description as a marker, ``[lmsc:<key>]``, and looked up there.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from typing import Any

from lms_connectors.markers import key_in, marker
from lms_connectors.models import Session

__all__ = [
    "description_html",
    "event_instants",
    "group_idnumber",
    "group_name",
    "join_url_of",
    "key_of",
    "location_of",
    "marker",
]

_JOIN = re.compile(r'<p class="lmsc-join">.*?<a href="([^"]+)"', re.S)
_IDNUMBER_LIMIT = 100  # groups.idnumber is varchar(100)
_GROUP_NAME_LIMIT = 254


def key_of(description: str) -> str | None:
    """The idempotency key in an event's description, if it carries our marker."""
    return key_in(description)


def description_html(session: Session, key: str) -> str:
    """The event description: the session's text, its join link (virtual sessions) and the marker."""
    parts = []
    if session.description:
        parts.append(f"<p>{html.escape(session.description)}</p>")
    if session.meeting is not None:
        url = html.escape(session.meeting.join_url, quote=True)
        parts.append(f'<p class="lmsc-join">Join online: <a href="{url}">{url}</a></p>')
    parts.append(f"<p>{marker(key)}</p>")
    return "".join(parts)


def join_url_of(description: str) -> str | None:
    """The join link written by :func:`description_html`, if any."""
    found = _JOIN.search(description or "")
    return html.unescape(found.group(1)) if found else None


def location_of(session: Session) -> str:
    """What goes into the event's location field: the room, and the join link for virtual sessions."""
    parts = []
    if session.room is not None:
        room = session.room
        parts.append(f"{room.name}, {room.location}" if room.location else room.name)
    if session.meeting is not None:
        parts.append(session.meeting.join_url)
    return " | ".join(parts)


def event_instants(event: dict[str, Any]) -> tuple[datetime, datetime]:
    """Start and end of an event as aware UTC datetimes."""
    start = datetime.fromtimestamp(int(event["timestart"]), UTC)
    end = datetime.fromtimestamp(int(event["timestart"]) + max(int(event["timeduration"]), 0), UTC)
    return start, end


def group_idnumber(key: str) -> str:
    """The session group's ID number (Moodle's natural dedupe key for groups), derived from ``key``."""
    candidate = f"lmsc:{key}"
    if len(candidate) <= _IDNUMBER_LIMIT:
        return candidate
    return "lmsc:" + hashlib.sha256(key.encode()).hexdigest()


def group_name(session: Session, key: str) -> str:
    """The session group's name (unique per course in Moodle, so it carries the key)."""
    return f"{session.title} [{key}]"[-_GROUP_NAME_LIMIT:]
