"""Who joined a session's Teams meeting, from Graph's online-meeting attendance reports.

The event holds its Teams meeting only as a join link (``onlineMeeting.joinUrl``, made by ``isOnlineMeeting``);
the attendance reports belong to the ``onlineMeeting`` object, addressed by its own id under the organizer's
object id. So a read is:

1. ``GET users/{mailbox}/events/{id}``: the session's start and end, and its join link;
2. ``GET users/{mailbox}?$select=id``: the organizer's object id (``onlineMeetings`` paths take the object id;
   read once per adapter);
3. ``GET users/{organizerId}/onlineMeetings?$filter=JoinWebUrl eq '{joinUrl}'`` (the link URL-encoded inside the
   quotes, as documented): the meeting's id (read once per link);
4. ``GET users/{organizerId}/onlineMeetings/{meetingId}/attendanceReports`` and its ``@odata.nextLink`` pages:
   Teams writes a report each time the meeting ends, so a meeting that was left and reopened, or reused by a
   recurring series, has several; the ones of this session are those that started between
   :data:`OPENS_EARLY` before its start and its end;
5. ``GET .../attendanceReports/{reportId}/attendanceRecords`` and its pages, for each of them.

Every stay of a person (``attendanceIntervals``) becomes one :class:`~lms_connectors.adapter.Presence`;
the core sums them and decides attended, late or no-show. A record without an email (an anonymous guest)
cannot be matched to anyone and is left out.

Permissions (application): ``OnlineMeetings.Read.All`` for step 3 and ``OnlineMeetingArtifact.Read.All`` for
steps 4 and 5, both only for organizers an application access policy grants the app
(``New-CsApplicationAccessPolicy`` and ``Grant-CsApplicationAccessPolicy`` in Teams PowerShell).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lms_connectors.adapter import Presence
from lms_connectors.errors import MalformedResponse, NotFound, PermissionDenied
from lms_connectors.http.pagination import paginate_by_next_url
from lms_connectors.models import ProviderRef
from lms_connectors_microsoft_graph.answers import (
    AttendanceRecordPage,
    AttendanceReportPage,
    Mailbox,
    OnlineMeetingPage,
)
from lms_connectors_microsoft_graph.mapping import PROVIDER
from lms_connectors_microsoft_graph.times import parse_graph_datetime, parse_utc_instant

if TYPE_CHECKING:
    from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter

__all__ = [
    "OPENS_EARLY", "POLICY_HINT", "READ_ROLES", "granted_roles", "list_attendance", "missing_roles", "organizer_id",
    "presences",
]

OPENS_EARLY = timedelta(hours=1)
"""How long before a session's start a report's meeting may have started and still count as this session's
(the organizer opens the meeting early); reports of earlier or later occurrences are left out."""

POLICY_HINT = (
    "grant the application OnlineMeetings.Read.All and OnlineMeetingArtifact.Read.All, and an application access "
    "policy that includes the organizer ('New-CsApplicationAccessPolicy -Identity <name> -AppIds <client id>', "
    "then 'Grant-CsApplicationAccessPolicy -PolicyName <name> -Identity <organizer>')"
)

READ_ROLES = ("OnlineMeetings.Read.All", "OnlineMeetingArtifact.Read.All")
"""The application permissions attendance reads need (``OnlineMeetings.ReadWrite.All`` covers the first)."""


def granted_roles(token: str) -> frozenset[str] | None:
    """The application permissions an access token names (its ``roles`` claim), or ``None`` if it shows none.

    The token is only read, never validated: it is the one the identity platform just issued to this
    application, and Graph checks it on every call. A token that is not a readable JWT says nothing.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    if not isinstance(roles, list):
        return None
    return frozenset(role for role in roles if isinstance(role, str))


def missing_roles(roles: frozenset[str]) -> list[str]:
    """Which of :data:`READ_ROLES` ``roles`` lacks."""
    held = set(roles) | ({"OnlineMeetings.Read.All"} if "OnlineMeetings.ReadWrite.All" in roles else set())
    return [role for role in READ_ROLES if role not in held]


def list_attendance(adapter: MicrosoftGraphAdapter, ref: ProviderRef, event: dict[str, Any]) -> Iterator[Presence]:
    """Every stay in the Teams meeting of ``ref``'s event (as just read) during its session, one per interval.

    Raises:
        NotFound: The event does not exist, has no Teams meeting (an in-person session: use a sign-in sheet),
            Graph does not know its meeting, or no report of this session exists yet (Teams writes one when
            the meeting ends).
        PermissionDenied: The permissions or the application access policy are missing (the message says which
            to grant).
    """
    online = event.get("onlineMeeting")
    join_url = online.get("joinUrl") if isinstance(online, dict) else None
    if not isinstance(join_url, str) or not join_url:
        raise NotFound(f"event {ref.external_id} has no Teams meeting: its attendance comes from a sign-in sheet",
                       provider=PROVIDER, code="noOnlineMeeting")
    start = parse_graph_datetime(event.get("start"), "start")
    end = parse_graph_datetime(event.get("end"), "end")
    base = f"users/{quote(organizer_id(adapter), safe='')}/onlineMeetings"
    meeting = quote(_meeting_id(adapter, base, join_url), safe="")
    try:
        listed = list(_pages(adapter, f"{base}/{meeting}/attendanceReports", "attendanceReports.list",
                             AttendanceReportPage))
    except NotFound as gone:
        adapter.meeting_ids.pop(join_url, None)  # looked up again next time
        raise NotFound(f"Graph does not know the Teams meeting of event {ref.external_id} (any more): {gone}",
                       provider=PROVIDER, status=gone.status, code=gone.code, request_id=gone.request_id) from gone
    reports = [
        report for report in listed
        if start - OPENS_EARLY <= parse_utc_instant(report["meetingStartDateTime"], "meetingStartDateTime") < end
    ]
    if not reports:
        raise NotFound(f"no attendance report of the session of event {ref.external_id} yet: Teams writes one when "
                       "the meeting ends", provider=PROVIDER, code="noAttendanceReport")
    return _records(adapter, base, meeting, reports)


def _records(adapter: MicrosoftGraphAdapter, base: str, meeting: str, reports: list[dict[str, Any]]
             ) -> Iterator[Presence]:
    for report in reports:
        opened = parse_utc_instant(report["meetingStartDateTime"], "meetingStartDateTime")
        path = f"{base}/{meeting}/attendanceReports/{quote(report['id'], safe='')}/attendanceRecords"
        for record in _pages(adapter, path, "attendanceRecords.list", AttendanceRecordPage):
            yield from presences(record, opened)


def presences(record: dict[str, Any], opened: datetime) -> list[Presence]:
    """An ``attendanceRecord`` as one presence per interval (none without an email).

    An interval whose join Teams could not tell (``null``) counts from ``opened``, the report's meeting start:
    the person was there, and she cannot have joined before it.

    Raises:
        MalformedResponse: A time is not a date-time with an offset.
    """
    email = (record.get("emailAddress") or "").strip().lower()
    if not email:
        return []
    found = []
    for interval in record.get("attendanceIntervals") or ():
        joined_text, left_text = interval.get("joinDateTime"), interval.get("leaveDateTime")
        joined = parse_utc_instant(joined_text, "joinDateTime") if joined_text is not None else opened
        left = parse_utc_instant(left_text, "leaveDateTime") if left_text is not None else None
        found.append(Presence(email=email, joined=joined, left=left))
    return found


def organizer_id(adapter: MicrosoftGraphAdapter) -> str:
    """The organizer's object id (``onlineMeetings`` paths need it), read once per adapter.

    :calls: ``GET users/{mailbox}?$select=id`` the first time.
    """
    if adapter.organizer_object_id is None:
        user = adapter.call("GET", f"users/{quote(adapter.config.organizer, safe='@')}", params={"$select": "id"},
                            operation="users.get", shape=Mailbox)
        if not user.get("id"):
            raise MalformedResponse("GET users/{mailbox} answered without the user's id", provider=PROVIDER)
        adapter.organizer_object_id = str(user["id"])
    return adapter.organizer_object_id


def _meeting_id(adapter: MicrosoftGraphAdapter, base: str, join_url: str) -> str:
    known = adapter.meeting_ids.get(join_url)
    if known is not None:
        return known
    # The link goes URL-encoded inside the quotes (onlinemeeting-get: "joinWebUrl must be URL encoded"); the
    # query string is encoded once more on the way.
    wanted = f"JoinWebUrl eq '{quote(join_url, safe='')}'"
    page = _guarded(lambda: adapter.call("GET", base, params={"$filter": wanted}, operation="onlineMeetings.find",
                                         shape=OnlineMeetingPage))
    items = page["value"]
    if not items:
        raise NotFound(f"Graph knows no online meeting with join link {join_url}", provider=PROVIDER,
                       code="onlineMeetingNotFound")
    adapter.meeting_ids[join_url] = str(items[0]["id"])
    return adapter.meeting_ids[join_url]


def _pages(adapter: MicrosoftGraphAdapter, path: str, operation: str, shape: type[Any]) -> Iterator[dict[str, Any]]:
    def fetch_page(url: str) -> tuple[list[dict[str, Any]], str | None]:
        page = _guarded(lambda: adapter.call("GET", url, operation=operation, shape=shape))
        following = page.get("@odata.nextLink")
        return list(page["value"]), following if isinstance(following, str) and following else None

    return paginate_by_next_url(fetch_page, adapter.transport.url_for(path))


def _guarded(read: Callable[[], Any]) -> Any:
    """A read of the online-meeting API; a 403 names what to grant."""
    try:
        return read()
    except PermissionDenied as denied:
        raise PermissionDenied(
            f"Graph refused to show the Teams meeting or its attendance ({denied}): {POLICY_HINT}",
            provider=PROVIDER, status=denied.status, code=denied.code, body_excerpt=denied.body_excerpt,
            request_id=denied.request_id,
        ) from denied
