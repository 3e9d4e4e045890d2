"""A simulator of the Google Calendar API v3, its OAuth token endpoint and the Directory's room list.

Served on loopback by :class:`lms_connectors.testing.sandbox.SandboxServer`, it lets the adapter run against
real HTTP with Google's behaviour, including the parts that bite:

* client-chosen event ids (base32hex, 5-1024 characters, ``400 Invalid resource id value.``), and ids never
  freed: inserting an id that exists, even as a deleted event, answers ``409 The requested identifier
  already exists.``;
* deleted events stay on the organizer's calendar with ``status: cancelled``, readable and writable with their
  details, and a patch setting ``status: confirmed`` restores one (the discovery document's ``Event.status``:
  "cancelled events continue to expose event details ... so that they can be restored"); deleting one again
  answers ``410``;
* ``If-Match`` on patch, update and delete (``412 conditionNotMet`` on a stale etag, as Google's guide "Get
  specific versions of resources" says for updates and deletes), etags that change on every write;
* Meet links only when ``conferenceDataVersion=1`` (otherwise ``createRequest`` is silently ignored), and
  ``400 Invalid conference type value.`` for a service account acting as itself; Meet creation is
  asynchronous on Google's side: with :attr:`GoogleCalendarSimulator.meet_pending_reads` set, a new conference
  answers ``status.statusCode: pending`` (no link yet) until the event has been read that many times; with
  :meth:`GoogleCalendarSimulator.fail_meet_requests` the next conferences end in ``status.statusCode: failure``
  (no entry points, no ``hangoutLink``);
* short and empty pages: with :attr:`GoogleCalendarSimulator.page_scan` set, a page of ``events.list`` looks at
  that many events of the calendar and answers those that match, so a page may hold fewer items than
  ``maxResults``, or none, and still carry a ``nextPageToken`` (the discovery document's ``maxResults``: "may be
  less than this value, or none at all, even if there are more events matching the query");
* a room (resource attendee) declines an event that overlaps one it has accepted;
* ``events.list`` with ``timeMin``/``timeMax`` (overlap), ``singleEvents``, ``orderBy``, ``showDeleted``,
  ``privateExtendedProperty``, ``maxResults`` and opaque page tokens;
* incremental sync: the last page of a listing carries a ``nextSyncToken``; a listing with ``syncToken`` answers
  every event changed since (deleted ones included, with their id and status only unless ``showDeleted=true``,
  as the discovery document's ``Event.status`` says), refuses the parameters the discovery document forbids
  beside it (``iCalUID``, ``orderBy``, ``privateExtendedProperty``, ``q``, ``sharedExtendedProperty``,
  ``timeMin``, ``timeMax``, ``updatedMin``) and ``showDeleted=false`` with ``400``, and answers a token it no
  longer accepts (:meth:`GoogleCalendarSimulator.expire_sync_tokens`) with ``410 fullSyncRequired`` ("Sync token
  is no longer valid, a full sync is required."); a token it never issued is ``400 Invalid sync token value.``;
* push channels (``events.watch``, ``channels.stop``, notifications posted to the channel's address: see
  :mod:`~lms_connectors_google_calendar.sandbox_push`);
* ``freeBusy``, and ``resources.calendars.list`` of the Admin SDK Directory (paged);
* the OAuth token endpoint (see :mod:`~lms_connectors_google_calendar.sandbox_oauth`); the API answers 401 in
  Google's shape to missing, unknown or expired access tokens;
* usage limits when configured (``simulator.throttle(calls=600, seconds=60)``, ``simulator.quota(calls=...)``):
  Google's 403 ``rateLimitExceeded`` and 403 ``quotaExceeded`` ("Calendar usage limits exceeded."), or with
  ``refuse=simulator.user_rate_limit_exceeded`` / ``refuse=simulator.too_many_requests`` the 403
  ``userRateLimitExceeded`` and the 429 of Google's error guide; none carries ``Retry-After``;
* transient failures when configured (``simulator.failures(0.1, seed=...)``): a share of the calls answers
  500 ``backendError`` ("Backend Error").

Error bodies have Google's shape ``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}],
"status"}}``. All state is guarded by ``self.lock`` (the server takes it around :meth:`handle`).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lms_connectors.testing.limits import LimitState
from lms_connectors.testing.paging import PageCodec, PageTokenError
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator, route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock
from lms_connectors.testing.tokens import IssuedToken
from lms_connectors_google_calendar.ids import is_valid_event_id
from lms_connectors_google_calendar.sandbox_oauth import GoogleOAuth
from lms_connectors_google_calendar.sandbox_push import PushChannels

__all__ = ["GoogleCalendarSimulator", "SimulatedRoom", "google_error"]

_EVENTS = "/calendar/v3/calendars/{calendar}/events"
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "NOT_FOUND",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}
_SEND_UPDATES = frozenset({"all", "externalOnly", "none"})
_NOT_WITH_SYNC_TOKEN = (
    "iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def google_error(
    status: int, message: str, reason: str, domain: str = "global", **where: str
) -> SandboxResponse:
    """An error answer in the Calendar API's shape (``where``: ``locationType`` and ``location`` of the error)."""
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message, **where}],
            "status": _STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }
    return SandboxResponse(status=status, body=body)


def _bad_request(message: str, reason: str = "invalid") -> Refusal:
    return Refusal(400, message, reason)


@dataclass(frozen=True)
class SimulatedRoom:
    """A room resource of the simulated Workspace.

    Attributes:
        resource_id: Directory id.
        name: Display name.
        email: The room's resource calendar.
        capacity: Seats.
        building_id: Building.
        floor_name: Floor.
        features: Names of the room's features (``featureInstances``).
    """

    resource_id: str
    name: str
    email: str
    capacity: int
    building_id: str = "main"
    floor_name: str = "1"
    features: tuple[str, ...] = ()


@dataclass
class _Calendar:
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


def _parse_instant(value: Mapping[str, Any] | None, which: str) -> datetime:
    if not isinstance(value, Mapping):
        raise _bad_request(f"Missing {which} time.", "required")
    zone_name = value.get("timeZone")
    zone = None
    if zone_name is not None:
        try:
            zone = ZoneInfo(str(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            raise _bad_request(f"Invalid time zone definition for {which} time.") from None
    text = value.get("dateTime")
    if not isinstance(text, str):
        raise _bad_request(f"Missing {which} time.", "required")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _bad_request(f"Invalid {which} time.") from None
    if parsed.tzinfo is None:
        if zone is None:
            raise _bad_request(f"Missing time zone definition for {which} time.", "required")
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    # Patch semantics: objects merge field by field, arrays and scalars replace.
    for name, value in patch.items():
        if isinstance(value, Mapping) and isinstance(target.get(name), dict):
            _merge(target[name], value)
        else:
            target[name] = json.loads(json.dumps(value))


def _meet_code(request_id: str) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    digest = hashlib.sha256(request_id.encode("utf-8")).digest()
    code = "".join(letters[byte % 26] for byte in digest[:10])
    return f"{code[:3]}-{code[3:7]}-{code[7:10]}"


class GoogleCalendarSimulator(RoutedSimulator):
    """Calendar API v3 + token endpoint + Directory rooms, for one organizer in one Workspace.

    Args:
        organizer: Email of the user whose ``primary`` calendar holds the events.
        clients: OAuth clients, ``{client_id: client_secret}``.
        refresh_tokens: Valid refresh tokens, ``{refresh_token: client_id}``.
        service_accounts: Service accounts' public keys, ``{client_email: {key_id: public_key_pem}}``.
        rooms: Room resources of the Workspace.
        customer_id: The Workspace customer id (``my_customer`` always works).
        clock: The simulator's clock, for token expiry and timestamps.

    Attributes:
        meet_pending_reads: Reads of an event after which its new Meet conference is ready (0: at once).
        meet_failures: How many of the next Meet conferences Google fails to make (see :meth:`fail_meet_requests`).
        page_scan: Events of the calendar one ``events.list`` page looks at (None: pages are always full).
    """

    def __init__(
        self,
        *,
        organizer: str = "organizer@example.com",
        clients: Mapping[str, str] | None = None,
        refresh_tokens: Mapping[str, str] | None = None,
        service_accounts: Mapping[str, Mapping[str, str]] | None = None,
        rooms: Iterable[SimulatedRoom] = (),
        customer_id: str = "C0sandbox",
        clock: SimClock | None = None,
    ) -> None:
        super().__init__(clock)
        self.organizer = organizer.lower()
        self.oauth = GoogleOAuth(
            self.clock, user=self.organizer, clients=clients, refresh_tokens=refresh_tokens,
            service_accounts=service_accounts,
        )
        self.rooms = list(rooms)
        self.customer_id = customer_id
        self.calendars: dict[str, _Calendar] = {self.organizer: _Calendar()}
        self.pages = PageCodec()
        self._serial = itertools.count(1)
        self._etag_serial = itertools.count(3_000_000_000_000_000, 1_000)
        self.meet_pending_reads = 0
        self.meet_failures = 0
        self.page_scan: int | None = None
        self._pending_meet: dict[str, tuple[int, dict[str, Any]]] = {}  # event id -> (reads left, conference)
        self.push = PushChannels(self.clock)
        self._handling = False
        self._sync_tokens: dict[str, tuple[str, int]] = {}  # token -> (calendar, etag serial when issued)
        self._expired_tokens: set[str] = set()
        self._changed_calendars: set[str] = set()

    # -- test controls ---------------------------------------------------------------------------------

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (the API then answers 401)."""
        with self.lock:
            self.oauth.expire()

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """Revoke a refresh token (the token endpoint then answers ``invalid_grant``)."""
        with self.lock:
            self.oauth.revoke(refresh_token)

    def expire_sync_tokens(self) -> None:
        """Make every sync token issued so far invalid (``410 fullSyncRequired``), as Google does after a while."""
        with self.lock:
            self._expired_tokens.update(self._sync_tokens)
            self._sync_tokens.clear()

    def fail_meet_requests(self, count: int = 1) -> None:
        """Make Google fail the next ``count`` Meet conferences (``status.statusCode: failure``, no link)."""
        with self.lock:
            self.meet_failures = count

    def put_event(self, calendar_id: str, event: Mapping[str, Any]) -> dict[str, Any]:
        """Store an event made by someone else (another client, the Calendar UI): it has no SDK marker.

        Args:
            calendar_id: The calendar (``primary`` for the organizer's).
            event: ``summary``, ``start`` and ``end`` at least.

        Returns:
            The stored event.
        """
        with self.lock:
            events = self.calendars.setdefault(self._calendar_key(calendar_id), _Calendar()).events
            event_id = hashlib.sha256(f"other-{next(self._serial)}".encode()).hexdigest()[:26]
            now = self._now()
            stored = {"kind": "calendar#event", "id": event_id, "status": "confirmed", "created": now,
                      "updated": now, "organizer": {"email": self.organizer, "self": True}, "sequence": 0,
                      **json.loads(json.dumps(event)), "etag": self._etag()}
            self._validate_times(stored)
            events[event_id] = stored
            self._changed(self._calendar_key(calendar_id))
            copy: dict[str, Any] = json.loads(json.dumps(stored))
            return copy

    def event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """A copy of one event, as stored (a read that changes nothing, not even the Meet countdown)."""
        with self.lock:
            copy: dict[str, Any] = json.loads(
                json.dumps(self._existing(self.calendars[self._calendar_key(calendar_id)].events, event_id))
            )
            return copy

    def edit_event(self, calendar_id: str, event_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change an event as a person would in the Calendar UI (a new title, description, times).

        Args:
            calendar_id: The calendar (``primary`` for the organizer's).
            event_id: The event.
            changes: Fields to set, merged as a patch merges them.

        Returns:
            The event as stored.
        """
        with self.lock:
            event = self._existing(self.calendars[self._calendar_key(calendar_id)].events, event_id)
            _merge(event, changes)
            self._validate_times(event)
            self._touched(event, calendar_id)
            copy: dict[str, Any] = json.loads(json.dumps(event))
            return copy

    def respond(self, calendar_id: str, event_id: str, email: str, response: str) -> None:
        """An attendee answers the invitation from her own calendar (``accepted``, ``declined``, ``tentative``).

        Raises:
            KeyError: The event has no such attendee.
        """
        with self.lock:
            event = self._existing(self.calendars[self._calendar_key(calendar_id)].events, event_id)
            found = [a for a in event.get("attendees") or () if a.get("email") == email.lower()]
            if not found:
                raise KeyError(f"{email} is not invited to {event_id}")
            found[0]["responseStatus"] = response
            self._touched(event, calendar_id)

    def _touched(self, event: dict[str, Any], calendar_id: str) -> None:
        event["updated"] = self._now()
        event["etag"] = self._etag()
        self._changed(self._calendar_key(calendar_id))

    def _changed(self, calendar_key: str) -> None:
        """An event of ``calendar_key`` changed: its channels are told once the request is answered."""
        self._changed_calendars.add(calendar_key)
        if not self._handling:
            self._notify_changes()

    def _notify_changes(self) -> None:
        for calendar_key in sorted(self._changed_calendars):
            self.push.changed(calendar_key)
        self._changed_calendars.clear()

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer ``request``, then tell the channels of every calendar whose events it changed."""
        with self.lock:
            self._handling = True
            try:
                return super().handle(request)
            finally:
                self._handling = False
                self._notify_changes()

    def events(self, calendar_id: str = "primary", *, include_deleted: bool = True) -> list[dict[str, Any]]:
        """A copy of a calendar's events, in insertion order."""
        with self.lock:
            calendar = self.calendars.get(self._calendar_key(calendar_id))
            events = list(calendar.events.values()) if calendar else []
            return [json.loads(json.dumps(e)) for e in events if include_deleted or e.get("status") != "cancelled"]

    # -- Google's shapes ---------------------------------------------------------------------------------

    def error_response(self, refusal: Refusal) -> SandboxResponse:
        """Google's error body (``domain`` defaults to ``global``)."""
        return google_error(refusal.status, refusal.message, str(refusal.code), **refusal.details)

    def no_route(self, request: SandboxRequest) -> Refusal:
        """Google's answer to an unknown path."""
        return Refusal(404, "Not Found", "notFound")

    def throttled(self, state: LimitState) -> Refusal:
        """Google's per-minute limit: 403 ``usageLimits`` ``rateLimitExceeded``, without a ``Retry-After``."""
        return Refusal(403, "Rate Limit Exceeded", "rateLimitExceeded", domain="usageLimits")

    def user_rate_limit_exceeded(self, state: LimitState) -> Refusal:
        """Google's per-user limit: 403 ``usageLimits`` ``userRateLimitExceeded``, without a ``Retry-After``."""
        return Refusal(403, "User Rate Limit Exceeded", "userRateLimitExceeded", domain="usageLimits")

    def too_many_requests(self, state: LimitState) -> Refusal:
        """Google's other throttling answer: 429 ``usageLimits`` ``rateLimitExceeded``, without a ``Retry-After``."""
        return Refusal(429, "Rate Limit Exceeded", "rateLimitExceeded", domain="usageLimits")

    def quota_exhausted(self, state: LimitState) -> Refusal:
        """Calendar usage limits (too many creates or invites): 403 ``quotaExceeded``, for hours, no reset given."""
        return Refusal(403, "Calendar usage limits exceeded.", "quotaExceeded", domain="usageLimits")

    def server_error(self) -> Refusal:
        """Google's transient failure: 500 ``backendError`` ("Backend Error"), to be retried with backoff."""
        return Refusal(500, "Backend Error", "backendError")

    def authenticate(self, request: SandboxRequest) -> None:
        """A live access token the token endpoint issued (Google's 401s otherwise)."""
        self._caller(request)

    def _caller(self, request: SandboxRequest) -> IssuedToken:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            raise Refusal(401, "Request is missing required authentication credential. Expected OAuth 2 access "
                          "token, login cookie or other valid authentication credential.", "required")
        token = self.oauth.bearer(request)
        if token is None:
            raise Refusal(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                "other valid authentication credential.",
                "authError",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
            )
        return token

    # -- routes ----------------------------------------------------------------------------------------

    @route("POST", "/token", auth=False)
    def _token(self, request: SandboxRequest) -> SandboxResponse:
        return self.oauth.token_endpoint(request)

    @route("POST", _EVENTS)
    def _insert_route(self, request: SandboxRequest, calendar: str) -> SandboxResponse:
        calendar_key, events = self._events_of(request, calendar)
        answer = self._insert(request, events, self._caller(request))
        self._changed(calendar_key)
        return answer

    @route("GET", _EVENTS)
    def _list_route(self, request: SandboxRequest, calendar: str) -> SandboxResponse:
        return self._list(request, *self._events_of(request, calendar))

    @route("GET", _EVENTS + "/{event}")
    def _get(self, request: SandboxRequest, calendar: str, event: str) -> SandboxResponse:
        calendar_key, events = self._events_of(request, calendar)
        found = self._existing(events, event)
        if self._progress_meet(found):
            self._changed(calendar_key)  # the conference Google finished making is a change of the event
        return SandboxResponse(200, found)

    @route("PATCH", _EVENTS + "/{event}")
    def _patch_route(self, request: SandboxRequest, calendar: str, event: str) -> SandboxResponse:
        calendar_key, events = self._events_of(request, calendar)
        answer = self._patch(request, events, event, self._caller(request), replace=False)
        self._changed(calendar_key)
        return answer

    @route("PUT", _EVENTS + "/{event}")
    def _put_route(self, request: SandboxRequest, calendar: str, event: str) -> SandboxResponse:
        calendar_key, events = self._events_of(request, calendar)
        answer = self._patch(request, events, event, self._caller(request), replace=True)
        self._changed(calendar_key)
        return answer

    @route("DELETE", _EVENTS + "/{event}")
    def _delete_route(self, request: SandboxRequest, calendar: str, event: str) -> SandboxResponse:
        calendar_key, events = self._events_of(request, calendar)
        answer = self._delete(request, events, event)
        self._changed(calendar_key)
        return answer

    @route("POST", _EVENTS + "/watch")
    def _watch(self, request: SandboxRequest, calendar: str) -> SandboxResponse:
        calendar_key, _ = self._events_of(request, calendar)
        return SandboxResponse(200, self.push.open(calendar_key, self._body(request)).answer())

    @route("POST", "/calendar/v3/channels/stop")
    def _stop_channel(self, request: SandboxRequest) -> SandboxResponse:
        self.push.stop(self._body(request))
        return SandboxResponse(204)

    def _events_of(self, request: SandboxRequest, calendar: str) -> tuple[str, dict[str, dict[str, Any]]]:
        self._check_send_updates(request)
        calendar_key = self._calendar_key(calendar)
        if calendar_key not in self.calendars:
            raise Refusal(404, "Not Found", "notFound")
        return calendar_key, self.calendars[calendar_key].events

    # -- events ----------------------------------------------------------------------------------------

    def _calendar_key(self, calendar: str) -> str:
        return self.organizer if calendar == "primary" else calendar.lower()

    def _check_send_updates(self, request: SandboxRequest) -> None:
        value = request.query_one("sendUpdates")
        if value is not None and value not in _SEND_UPDATES:
            raise _bad_request(f"Invalid value for: {value} is not a valid value")

    def _conference_version(self, request: SandboxRequest) -> int:
        value = request.query_one("conferenceDataVersion", "0") or "0"
        if value not in ("0", "1"):
            raise _bad_request("Invalid conference data version.")
        return int(value)

    def _existing(self, events: Mapping[str, dict[str, Any]], event_id: str) -> dict[str, Any]:
        event = events.get(event_id)
        if event is None:
            raise Refusal(404, "Not Found", "notFound")
        return event

    def _body(self, request: SandboxRequest) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise _bad_request("Parse Error", "parseError") from None
        if not isinstance(body, dict):
            raise _bad_request("Parse Error", "parseError")
        return body

    def _insert(
        self, request: SandboxRequest, events: dict[str, dict[str, Any]], token: IssuedToken
    ) -> SandboxResponse:
        body = self._body(request)
        event_id = body.get("id")
        if event_id is None:
            event_id = hashlib.sha256(f"server-{next(self._serial)}".encode()).hexdigest()[:26]
        elif not isinstance(event_id, str) or not is_valid_event_id(event_id):
            raise _bad_request("Invalid resource id value.")
        if event_id in events:  # deleted events keep their id forever
            raise Refusal(409, "The requested identifier already exists.", "duplicate")
        now = self._now()
        event: dict[str, Any] = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": now,
            "updated": now,
            "creator": {"email": self.organizer, "self": True},
            "organizer": {"email": self.organizer, "self": True},
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        conference = body.pop("conferenceData", None)
        _merge(event, {name: value for name, value in body.items() if name != "id"})
        self._validate_times(event)
        self._settle_attendees(event, events, previous={})
        if self._conference_version(request) == 1 and isinstance(conference, Mapping):
            self._apply_conference(event, conference, token)
        event["etag"] = self._etag()
        events[event_id] = event
        return SandboxResponse(200, event)

    def _patch(
        self,
        request: SandboxRequest,
        events: dict[str, dict[str, Any]],
        event_id: str,
        token: IssuedToken,
        *,
        replace: bool,
    ) -> SandboxResponse:
        event = self._existing(events, event_id)
        # A cancelled event stays writable on the organizer's calendar (it keeps its details so that it can be
        # restored): the patch applies, and the event stays cancelled unless the patch sets another status.
        self._check_if_match(request, event)
        body = self._body(request)
        if "id" in body and body["id"] != event_id:
            raise _bad_request("Invalid resource id value.")
        updated = json.loads(json.dumps(event))
        conference = body.pop("conferenceData", None)
        previous = {str(a.get("email", "")).lower(): a for a in event.get("attendees") or ()}
        if replace:
            for name in list(updated):
                if name not in {"kind", "id", "created", "creator", "organizer", "iCalUID", "sequence", "etag"}:
                    updated.pop(name)
            updated["status"] = "confirmed"
        _merge(updated, body)
        self._validate_times(updated)
        self._settle_attendees(updated, events, previous=previous)
        if self._conference_version(request) == 1 and isinstance(conference, Mapping):
            self._apply_conference(updated, conference, token)
        if updated.get("start") != event.get("start") or updated.get("end") != event.get("end"):
            updated["sequence"] = int(event.get("sequence", 0)) + 1
        updated["updated"] = self._now()
        updated["etag"] = self._etag()
        events[event_id] = updated
        return SandboxResponse(200, updated)

    def _check_if_match(self, request: SandboxRequest, event: Mapping[str, Any]) -> None:
        if_match = request.headers.get("if-match")
        if if_match is not None and if_match != "*" and if_match != event["etag"]:
            raise Refusal(412, "Precondition Failed", "conditionNotMet", locationType="header", location="If-Match")

    def _delete(self, request: SandboxRequest, events: dict[str, dict[str, Any]], event_id: str) -> SandboxResponse:
        event = self._existing(events, event_id)
        if event.get("status") == "cancelled":
            raise Refusal(410, "Resource has been deleted", "deleted")
        self._check_if_match(request, event)
        event["status"] = "cancelled"
        event["updated"] = self._now()
        event["etag"] = self._etag()
        return SandboxResponse(204)

    def _validate_times(self, event: Mapping[str, Any]) -> None:
        start = _parse_instant(event.get("start"), "start")
        end = _parse_instant(event.get("end"), "end")
        if end < start:
            raise _bad_request("The specified time range is empty.", "timeRangeEmpty")

    def _settle_attendees(
        self, event: dict[str, Any], events: Mapping[str, dict[str, Any]], previous: Mapping[str, Mapping[str, Any]]
    ) -> None:
        attendees = event.get("attendees")
        if attendees is None:
            return
        seen: set[str] = set()
        settled = []
        for attendee in attendees:
            email = str(attendee.get("email", "")).lower() if isinstance(attendee, Mapping) else ""
            if not _EMAIL.match(email):
                raise _bad_request("Invalid attendee email.")
            if email in seen:
                continue  # Google folds duplicates into one attendee
            seen.add(email)
            entry = dict(attendee)
            entry["email"] = email
            old = previous.get(email)
            if old is not None and "responseStatus" in old:
                entry["responseStatus"] = old["responseStatus"]
            elif entry.get("resource"):
                # A room's calendar answers by itself: it declines when it is already booked.
                entry["responseStatus"] = "declined" if self._room_busy(email, event, events) else "accepted"
            else:
                entry.setdefault("responseStatus", "needsAction")
            if email == self.organizer:
                entry["organizer"] = True
                entry["self"] = True
            settled.append(entry)
        event["attendees"] = settled

    def _room_busy(self, email: str, event: Mapping[str, Any], events: Mapping[str, dict[str, Any]]) -> bool:
        start = _parse_instant(event.get("start"), "start")
        end = _parse_instant(event.get("end"), "end")
        for other in events.values():
            if other.get("id") == event.get("id") or other.get("status") == "cancelled":
                continue
            booked = any(
                a.get("email") == email and a.get("responseStatus") == "accepted" for a in other.get("attendees") or ()
            )
            if booked and _parse_instant(other["start"], "start") < end and start < _parse_instant(other["end"], "end"):
                return True
        return False

    def _apply_conference(self, event: dict[str, Any], conference: Mapping[str, Any], token: IssuedToken) -> None:
        create = conference.get("createRequest")
        if not isinstance(create, Mapping):
            event["conferenceData"] = json.loads(json.dumps(conference))
            return
        existing = event.get("conferenceData")
        if isinstance(existing, Mapping) and existing.get("createRequest", {}).get("requestId") == create.get(
            "requestId"
        ):
            return  # the same request again: Google keeps the conference it made
        solution = create.get("conferenceSolutionKey") or {}
        if solution.get("type") != "hangoutsMeet" or not token.delegated:
            # Google's answer to an unknown solution type, and to a service account acting as itself.
            raise _bad_request("Invalid conference type value.")
        request_id = create.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            raise _bad_request("Invalid conference create request: missing requestId.", "required")
        if self.meet_failures > 0:
            self.meet_failures -= 1
            failed = {
                "createRequest": {
                    "requestId": request_id,
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                    "status": {"statusCode": "failure"},
                }
            }
            # Google reports the outcome on the event: no entry points, no hangoutLink.
            event["conferenceData"] = failed
            event.pop("hangoutLink", None)
            return
        code = _meet_code(request_id)
        link = f"https://meet.google.com/{code}"
        ready = {
            "createRequest": {
                "requestId": request_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
                "status": {"statusCode": "success"},
            },
            "entryPoints": [{"entryPointType": "video", "uri": link, "label": f"meet.google.com/{code}"}],
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            "conferenceId": code,
        }
        if self.meet_pending_reads > 0:
            event["conferenceData"] = {
                "createRequest": {
                    "requestId": request_id,
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                    "status": {"statusCode": "pending"},
                }
            }
            self._pending_meet[str(event["id"])] = (self.meet_pending_reads, ready)
            return
        event["hangoutLink"] = link
        event["conferenceData"] = ready

    def _progress_meet(self, event: dict[str, Any]) -> bool:
        """Count one read of an event whose Meet conference is pending; attach it once it is ready (``True``)."""
        pending = self._pending_meet.get(str(event.get("id")))
        if pending is None:
            return False
        reads_left, ready = pending
        if reads_left > 1:
            self._pending_meet[str(event["id"])] = (reads_left - 1, ready)
            return False
        del self._pending_meet[str(event["id"])]
        event["conferenceData"] = ready
        event["hangoutLink"] = ready["entryPoints"][0]["uri"]
        event["etag"] = self._etag()
        return True

    def _list(
        self, request: SandboxRequest, calendar_key: str, events: Mapping[str, dict[str, Any]]
    ) -> SandboxResponse:
        sync_token = request.query_one("syncToken")
        if sync_token is not None:
            return self._list_changes(request, calendar_key, events, sync_token)
        max_results = self._int_param(request, "maxResults", 250, 1, 2500)
        time_min = self._time_param(request, "timeMin")
        time_max = self._time_param(request, "timeMax")
        single = request.query_one("singleEvents") == "true"
        show_deleted = request.query_one("showDeleted") == "true"
        order_by = request.query_one("orderBy")
        if order_by == "startTime" and not single:
            raise _bad_request("The requested ordering is not available for the particular query.")
        wanted = [value.split("=", 1) for value in request.query.get("privateExtendedProperty", [])]
        if any(len(pair) != 2 for pair in wanted):
            raise _bad_request("Invalid privateExtendedProperty value: expected propertyName=value.")
        def shown(event: Mapping[str, Any]) -> bool:
            if event.get("status") == "cancelled" and not show_deleted:
                return False
            private = (event.get("extendedProperties") or {}).get("private") or {}
            return all(private.get(name) == value for name, value in wanted)

        # The time window is Google's index (an overlap: timeMin bounds the end, timeMax bounds the start); the
        # other filters are applied to what a page looks at.
        in_window = [
            event for event in events.values()
            if not (time_min is not None and _parse_instant(event["end"], "end") <= time_min)
            and not (time_max is not None and _parse_instant(event["start"], "start") >= time_max)
        ]
        if order_by == "startTime":
            in_window.sort(key=lambda e: _parse_instant(e["start"], "start"))
        offset = self._page_offset(request.query_one("pageToken"), calendar_key)
        if self.page_scan is None:  # full pages: filter everything, then cut
            selected = [event for event in in_window if shown(event)]
            page, following = selected[offset : offset + max_results], offset + max_results
            more = following < len(selected)
        else:  # a page looks at page_scan events and answers the ones that match: short, even empty, pages
            page, following = [], offset
            while following < min(len(in_window), offset + self.page_scan) and len(page) < max_results:
                if shown(in_window[following]):
                    page.append(in_window[following])
                following += 1
            more = following < len(in_window)
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": self._etag(),
            "summary": calendar_key,
            "updated": self._now(),
            "timeZone": "UTC",
            "accessRole": "owner",
            "defaultReminders": [],
            "items": page,
        }
        if more:
            body["nextPageToken"] = self.pages.encode(following, calendar_key)
        else:
            body["nextSyncToken"] = self._issue_sync_token(calendar_key)
        return SandboxResponse(200, body)

    def _issue_sync_token(self, calendar_key: str) -> str:
        # The etag serial orders every write: events written after this mark are the changes since the token.
        mark = int(self._etag().strip('"'))
        token = base64.urlsafe_b64encode(f"sync-{next(self._serial)}-{mark}".encode()).decode().rstrip("=")
        self._sync_tokens[token] = (calendar_key, mark)
        return token

    def _list_changes(
        self, request: SandboxRequest, calendar_key: str, events: Mapping[str, dict[str, Any]], sync_token: str
    ) -> SandboxResponse:
        for name in _NOT_WITH_SYNC_TOKEN:
            if request.query_one(name) is not None:
                raise _bad_request(f"The parameter {name} cannot be used with syncToken.")
        show_deleted = request.query_one("showDeleted")
        if show_deleted == "false":
            raise _bad_request("showDeleted cannot be false with syncToken: deleted events are always listed.")
        if sync_token in self._expired_tokens:
            raise Refusal(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
        issued = self._sync_tokens.get(sync_token)
        if issued is None or issued[0] != calendar_key:
            raise _bad_request("Invalid sync token value.")
        max_results = self._int_param(request, "maxResults", 250, 1, 2500)
        changed = [event for event in events.values() if int(str(event["etag"]).strip('"')) > issued[1]]
        offset = self._page_offset(request.query_one("pageToken"), f"{calendar_key}|{sync_token}")
        page = changed[offset : offset + max_results]
        items = [
            # Deleted events are only guaranteed their id: without showDeleted their details are left out.
            {"kind": "calendar#event", "etag": e["etag"], "id": e["id"], "status": "cancelled"}
            if e.get("status") == "cancelled" and show_deleted != "true" else e
            for e in page
        ]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": self._etag(),
            "summary": calendar_key,
            "updated": self._now(),
            "timeZone": "UTC",
            "accessRole": "owner",
            "defaultReminders": [],
            "items": items,
        }
        if offset + max_results < len(changed):
            body["nextPageToken"] = self.pages.encode(offset + max_results, f"{calendar_key}|{sync_token}")
        else:
            body["nextSyncToken"] = self._issue_sync_token(calendar_key)
        return SandboxResponse(200, body)

    # -- free/busy and rooms ---------------------------------------------------------------------------

    @route("POST", "/calendar/v3/freeBusy")
    def _free_busy(self, request: SandboxRequest) -> SandboxResponse:
        body = self._body(request)
        time_min = _parse_instant({"dateTime": body.get("timeMin")}, "start") if body.get("timeMin") else None
        time_max = _parse_instant({"dateTime": body.get("timeMax")}, "end") if body.get("timeMax") else None
        if time_min is None or time_max is None:
            raise _bad_request("Missing timeMin or timeMax.", "required")
        if time_max < time_min:
            raise _bad_request("The specified time range is empty.", "timeRangeEmpty")
        items = body.get("items") or []
        if len(items) > 50:
            raise _bad_request("Too many calendars requested.", "tooManyCalendarsRequested")
        room_emails = {room.email.lower() for room in self.rooms}
        calendars: dict[str, Any] = {}
        for item in items:
            calendar_id = str(item.get("id", ""))
            email = self._calendar_key(calendar_id)
            busy = []
            known = email == self.organizer or email in room_emails
            for event in self.calendars[self.organizer].events.values():
                if event.get("status") == "cancelled":
                    continue
                attendee = next((a for a in event.get("attendees") or () if a.get("email") == email), None)
                if attendee is not None:
                    known = True
                if email != self.organizer and (attendee is None or attendee.get("responseStatus") == "declined"):
                    continue
                start = _parse_instant(event["start"], "start")
                end = _parse_instant(event["end"], "end")
                if start < time_max and end > time_min:
                    busy.append((max(start, time_min), min(end, time_max)))
            if not known:
                calendars[calendar_id] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            busy.sort()
            calendars[calendar_id] = {"busy": [{"start": _rfc3339(s), "end": _rfc3339(e)} for s, e in busy]}
        body = {
            "kind": "calendar#freeBusy",
            "timeMin": _rfc3339(time_min),
            "timeMax": _rfc3339(time_max),
            "calendars": calendars,
        }
        return SandboxResponse(200, body)

    @route("GET", "/admin/directory/v1/customer/{customer}/resources/calendars")
    def _list_rooms(self, request: SandboxRequest, customer: str) -> SandboxResponse:
        if customer not in ("my_customer", self.customer_id):
            raise Refusal(404, "Resource Not Found: customer", "notFound")
        max_results = self._int_param(request, "maxResults", 100, 1, 500)
        offset = self._page_offset(request.query_one("pageToken"))
        page = self.rooms[offset : offset + max_results]
        body: dict[str, Any] = {
            "kind": "admin#directory#resources#calendars#calendarResourcesList",
            "etag": self._etag(),
            "items": [
                {
                    "kind": "admin#directory#resources#calendars#CalendarResource",
                    "etag": self._etag(),
                    "resourceId": room.resource_id,
                    "resourceName": room.name,
                    "generatedResourceName": f"{room.building_id}-{room.floor_name}-{room.name} ({room.capacity})",
                    "resourceType": "Conference room",
                    "resourceEmail": room.email,
                    "capacity": room.capacity,
                    "buildingId": room.building_id,
                    "floorName": room.floor_name,
                    "resourceCategory": "CONFERENCE_ROOM",
                    **(
                        {"featureInstances": [{"feature": {"name": name}} for name in room.features]}
                        if room.features
                        else {}
                    ),
                }
                for room in page
            ],
        }
        if offset + max_results < len(self.rooms):
            body["nextPageToken"] = self.pages.encode(offset + max_results)
        return SandboxResponse(200, body)

    # -- small helpers ---------------------------------------------------------------------------------

    def _now(self) -> str:
        return _rfc3339(self.clock.now())

    def _etag(self) -> str:
        return f'"{next(self._etag_serial)}"'

    def _int_param(self, request: SandboxRequest, name: str, default: int, low: int, high: int) -> int:
        raw = request.query_one(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _bad_request(f"Invalid value '{raw}'. Values must match the regular expression '-?\\d+'") from None
        if not low <= value:
            raise _bad_request(f"Invalid value '{raw}' for {name}.")
        return min(value, high)

    def _time_param(self, request: SandboxRequest, name: str) -> datetime | None:
        raw = request.query_one(name)
        if raw is None:
            return None
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise _bad_request("Bad Request", "badRequest") from None
        if parsed.tzinfo is None:  # Google requires the offset in timeMin / timeMax
            raise _bad_request("Bad Request", "badRequest")
        return parsed

    def _page_offset(self, token: str | None, scope: str = "") -> int:
        try:
            return self.pages.decode(token, scope)
        except PageTokenError:
            raise _bad_request("Invalid page token", "invalid") from None
