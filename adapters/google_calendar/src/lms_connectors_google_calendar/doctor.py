"""Checks of a Google Calendar configuration for ``lms-connectors doctor`` (see ``GoogleCalendarAdapter.diagnose``).

Each check reads only; none creates an event. Functions take the adapter's parts, not the adapter, so that this
module and the adapter do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote

from lms_connectors.adapter import DiagnosticCheck
from lms_connectors.http.auth import JwtBearerAuth, OAuthTokenAuth
from lms_connectors.http.transport import HttpTransport
from lms_connectors.models import Room
from lms_connectors_google_calendar.answers import EventPage
from lms_connectors_google_calendar.config import GoogleCalendarConfig

__all__ = ["WRITE_ROLES", "calendar_access", "meet_permission", "room_access"]

WRITE_ROLES = frozenset({"writer", "owner"})
"""``accessRole`` values that let the organizer insert and change events."""

_EVENT_SCOPES = frozenset({
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.events",
})
"""Scopes under which ``events.insert`` may ask for a Meet conference (``conferenceData.createRequest``)."""


def calendar_access(transport: HttpTransport, config: GoogleCalendarConfig) -> DiagnosticCheck:
    """Whether the organizer may write events on the configured calendar.

    :calls: ``GET calendars/{calendarId}/events?maxResults=1`` (its ``accessRole`` says what the caller may do).
    """

    def read() -> tuple[bool, str]:
        page = transport.request_json(
            "GET", f"calendars/{quote(config.calendar_id, safe='')}/events", params={"maxResults": 1},
            operation="events.list", shape=EventPage,
        )
        role = page.get("accessRole") if isinstance(page, dict) else None
        if role in WRITE_ROLES:
            return True, f"calendar {config.calendar_id!r}: {role}"
        return False, f"calendar {config.calendar_id!r}: access role {role!r}; events need writer or owner"

    return DiagnosticCheck.probe("calendar access", read)


def meet_permission(auth: OAuthTokenAuth, config: GoogleCalendarConfig) -> DiagnosticCheck:
    """Whether creates may ask for Meet links: events scope granted, and a user (not a bare service account) acts.

    Run it after the credentials check (it reads the scopes the token endpoint granted). Whether the Workspace
    lets this user make Meet conferences at all only shows at the first create (Google answers it there).
    """
    granted = set(auth.granted_scopes or config.scopes)
    if not granted & _EVENT_SCOPES:
        return DiagnosticCheck.of("Meet links", False, "the token lacks the calendar.events scope")
    if isinstance(auth, JwtBearerAuth):
        subject = getattr(auth.assertion, "subject", None)
        if not subject:
            return DiagnosticCheck.of(
                "Meet links", False, "a service account acting as itself cannot make Meet conferences: set subject"
            )
        return DiagnosticCheck.of("Meet links", True, f"the service account acts as {subject} (delegation)")
    return DiagnosticCheck.of("Meet links", True, "the organizer's own OAuth token, with the events scope")


def room_access(first_rooms: Callable[[], Iterator[Room]], config: GoogleCalendarConfig) -> DiagnosticCheck:
    """Whether the Workspace's rooms can be read (Admin SDK Directory, read-only resource scope).

    :calls: ``GET admin/directory/v1/customer/{customer}/resources/calendars?maxResults=1``
    """

    def read() -> str:
        room = next(first_rooms(), None)
        if room is None:
            return f"customer {config.customer!r} has no room resources"
        return f"rooms readable (first: {room.name})"

    return DiagnosticCheck.probe("rooms", read)
