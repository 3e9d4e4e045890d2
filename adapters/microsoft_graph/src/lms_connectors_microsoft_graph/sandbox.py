"""A simulator of Microsoft Graph v1.0 (Outlook calendar, rooms, batching) and its identity platform.

Served on loopback by :class:`lms_connectors.testing.sandbox.SandboxServer`: Graph under ``/v1.0``, the identity
platform under ``/login`` (see :mod:`.sandbox_login`). Built on the kit's simulator toolkit: each endpoint is a
:func:`~lms_connectors.testing.routing.route`, a refusal is a :class:`~lms_connectors.testing.refusal.Refusal`
rendered in Graph's error shape (also inside ``$batch``), and the mailbox limit is a
:class:`~lms_connectors.testing.sandbox.ConcurrencyLimit`. It behaves as Graph is documented to (and as reported
where the docs are silent), including the parts that bite:

* ``dateTimeTimeZone`` with Windows or IANA names in, answers in the zone of ``Prefer: outlook.timezone``
  (UTC without it), seven fractional digits, ``originalStartTimeZone`` as sent;
* ``transactionId``: a create resent with the transaction id of a live event returns that event, no duplicate;
* ``PATCH`` replaces each property it names (``attendees`` whole), upserts extended properties by id, and
  refuses a stale ``If-Match`` with ``412 ErrorIrresolvableConflict``; every write changes ``changeKey``;
* ``POST .../cancel`` (202) moves the event to Deleted Items (still readable by id, ``isCancelled: true``, gone
  from listings; cancelling it again is refused with 400); ``DELETE`` (204) removes it; then ``404
  ErrorItemNotFound``;
* Teams links made asynchronously (:attr:`GraphSimulator.teams_pending_reads`), rooms that answer
  asynchronously (:attr:`GraphSimulator.room_pending_reads`) and decline a slot they have accepted already;
* ``$filter`` on a single-value extended property (the documented lambda form), ``$expand`` of extended
  properties, ``$top``/``$skip`` with ``@odata.nextLink``, ``calendarView`` (window required),
  ``calendarView/delta`` rounds (``$skiptoken`` pages, then a ``$deltatoken`` link; later rounds answer what
  changed, removals as ``@removed``), ``getSchedule``, ``places/microsoft.graph.room``;
* ``$batch`` (at most 20 items, ``dependsOn``, 424 for the dependants of a failed item, each item its own
  status);
* errors in Graph's shape ``{"error": {"code", "message", "innerError": {"date", "request-id",
  "client-request-id"}}}``: ``InvalidAuthenticationToken`` (401), ``ErrorInvalidUser`` (404),
  ``ErrorItemNotFound`` (404), ``ErrorInvalidRequest``/``BadRequest`` (400).

* Outlook's 4 concurrent requests per app and mailbox (:attr:`GraphSimulator.mailbox_concurrency`): a fifth
  request to ``/users/{mailbox}/...`` while four are in flight is refused at once with ``429
  ApplicationThrottled`` "Application is over its MailboxConcurrency limit." and ``Retry-After``, the body
  Outlook is reported to send; give the simulator a :attr:`~lms_connectors.testing.sandbox.Simulator.latency`
  to make requests overlap as they do against Outlook.

* a delta link it no longer accepts (:meth:`GraphSimulator.expire_delta_tokens`) is answered ``410 Gone``
  ``SyncStateNotFound`` (the code is this simulator's reading: the documentation says only that an expired
  state needs a new round);
* change-notification subscriptions with the validation handshake, ``clientState``, notifications after each
  change and lifecycle notifications (see :mod:`.sandbox_subscriptions`);
* each online event's Teams meeting, found by its join link, and the attendance reports derived from the joins
  a test declares (see :mod:`.sandbox_meetings`).

Not simulated: recurrence, attachments, and ``$batch`` items counted against the mailbox
limit (a batch counts as one request). All state is guarded by ``self.lock`` (the server takes it around
:meth:`handle`; the in-flight count is kept outside it).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from lms_connectors.errors import ValidationError
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import route
from lms_connectors.testing.sandbox import ConcurrencyLimit, SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock
from lms_connectors.timezones import zone_from_any_name
from lms_connectors_microsoft_graph.sandbox_login import SimulatedApplication, SimulatedLogin
from lms_connectors_microsoft_graph.sandbox_meetings import TeamsMeetings
from lms_connectors_microsoft_graph.sandbox_subscriptions import Subscriptions

__all__ = ["GraphSimulator", "SimulatedRoom", "graph_error"]

_GRAPH = "/v1.0"
_LOGIN = "/login"
_MAX_BATCH = 20
_UNANSWERED = {"response": "none", "time": "0001-01-01T00:00:00Z"}
_PROPERTY_FILTER = re.compile(
    r"^singleValueExtendedProperties/any\(\s*(?P<var>\w+)\s*:\s*(?P=var)/id eq '(?P<id>[^']+)' and "
    r"(?P=var)/value eq '(?P<value>(?:[^']|'')*)'\s*\)$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'([^']+)'")
_MAILBOX_PATH = re.compile(r"^/v1\.0/users/(?P<mailbox>[^/]+)")
_MAILBOX_CONCURRENCY = 4
"""Requests Outlook works on at once per app and mailbox (learn.microsoft.com/graph/throttling-limits)."""
_PREFER_ZONE = re.compile(r'outlook\.timezone\s*=\s*"([^"]+)"', re.IGNORECASE)


def graph_error(status: int, code: str, message: str, request: SandboxRequest | None = None) -> SandboxResponse:
    """An error answer in Graph's (Outlook's) shape."""
    client_request_id = request.headers.get("client-request-id", "") if request is not None else ""
    digest = hashlib.sha256(f"{code}{message}".encode()).hexdigest()
    request_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    body = {"error": {"code": code, "message": message, "innerError": {
        "date": "2027-01-04T12:00:00", "request-id": request_id, "client-request-id": client_request_id}}}
    return SandboxResponse(status, body, headers={"request-id": request_id})


def _bad(message: str, code: str = "ErrorInvalidRequest") -> Refusal:
    return Refusal(400, message, code)


@dataclass(frozen=True)
class SimulatedRoom:
    """A room mailbox of the tenant (``places/microsoft.graph.room``)."""

    email: str
    name: str
    capacity: int
    building: str = "Main"
    floor: int = 1
    accessible: bool = True
    tags: tuple[str, ...] = ()
    display_device: str | None = None
    room_list: str | None = None
    """The email of the room list (``microsoft.graph.roomList``) the room belongs to."""


def _instant(value: Any, which: str) -> datetime:
    if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
        raise _bad(f"Missing {which} dateTimeTimeZone.", "ErrorInvalidRequest")
    zone_name = value.get("timeZone") or "UTC"
    try:
        zone = zone_from_any_name(str(zone_name))
    except ValidationError:
        raise _bad(f"A valid TimeZone value must be specified. The following TimeZone value is not supported: "
                   f"'{zone_name}'.", "TimeZoneNotSupportedException") from None
    text = str(value["dateTime"])
    base, _, fraction = text.removesuffix("Z").partition(".")
    try:
        naive = datetime.fromisoformat(base + (f".{fraction[:6]}" if fraction else ""))
    except ValueError:
        raise _bad(f"Cannot convert the literal '{text}' to the expected type 'Edm.DateTimeOffset'.",
                   "BadRequest") from None
    if naive.tzinfo is not None:
        raise _bad("dateTime must not carry an offset: give the zone in timeZone.", "BadRequest")
    return naive.replace(tzinfo=ZoneInfo(zone))


def _render(instant: datetime, zone_name: str) -> dict[str, str]:
    try:
        zone = zone_from_any_name(zone_name)
    except ValidationError:
        zone, zone_name = "UTC", "UTC"
    local = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return {"dateTime": local.isoformat(timespec="microseconds") + "0", "timeZone": zone_name}


def _token(payload: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode().rstrip("=")


def _untoken(text: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise _bad("The skip or delta token is not valid.", "BadRequest") from None
    if not isinstance(value, dict):
        raise _bad("The skip or delta token is not valid.", "BadRequest")
    return value


def _mailbox_of(request: SandboxRequest) -> str | None:
    found = _MAILBOX_PATH.match(request.path)
    return found["mailbox"].lower() if found else None


def _over_mailbox_limit(request: SandboxRequest) -> SandboxResponse:
    answer = graph_error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", request)
    answer.headers["Retry-After"] = "1"
    return answer


class GraphSimulator(TeamsMeetings):
    """Graph v1.0 for one tenant: an organizer mailbox, rooms, other people, and the identity platform.

    Args:
        tenant_id: The tenant.
        applications: App registrations (client id -> secrets and certificates).
        organizer: The mailbox that holds the sessions.
        rooms: Room mailboxes.
        room_lists: Room lists by email -> display name (each room names its list).
        people: Other mailboxes of the tenant (their free/busy can be read).
        clock: The simulator's clock (tokens, timestamps); the wall clock by default.

    Attributes:
        teams_pending_reads: Reads of a new online event before Outlook attaches its Teams link (0: at once).
        room_pending_reads: Reads of an event before its rooms answer (0: they answer at once).
        mailbox_concurrency: Outlook's limit of requests in flight per mailbox; its ``peak`` and ``refused``
            counts show what clients did.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        applications: Iterable[SimulatedApplication],
        organizer: str = "training-desk@contoso.example",
        rooms: Iterable[SimulatedRoom] = (),
        room_lists: Mapping[str, str] | None = None,
        people: Iterable[str] = (),
        clock: SimClock | None = None,
    ) -> None:
        super().__init__(clock)
        self.login = SimulatedLogin(tenant_id, applications, self.clock)
        self.organizer = organizer.lower()
        self.rooms = {room.email.lower(): room for room in rooms}
        self.room_lists = {email.lower(): name for email, name in (room_lists or {}).items()}
        self.people = {email.lower() for email in people} | {self.organizer}
        self.events: dict[str, dict[str, Any]] = {}  # id -> stored event (instants in UTC, as sent otherwise)
        self.transactions: dict[str, str] = {}  # transactionId -> event id
        self.changes: list[str] = []  # event id per write, in order (delta rounds read it)
        self.teams_pending_reads = 0
        self.room_pending_reads = 0
        self.online_meeting_providers = ["teamsForBusiness"]  # the organizer calendar's allowed providers
        self._pending: dict[str, int] = {}  # event id -> reads left before Teams link / room answers appear
        self._serial = itertools.count(1)
        self._change_serial = itertools.count(1)
        self.subscriptions = Subscriptions(self.clock.now, tenant_id)
        self._notified = 0  # changes already told to the subscriptions
        self._created: set[str] = set()  # events whose creation was told
        self._delta_epoch = 0
        self.mailbox_concurrency = ConcurrencyLimit(_MAILBOX_CONCURRENCY, key=_mailbox_of, refuse=_over_mailbox_limit)
        self.concurrency_limits.append(self.mailbox_concurrency)

    # -- test controls ---------------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now."""
        with self.lock:
            self.login.tokens.expire()

    def revoke_application(self, client_id: str) -> None:
        """The application's credentials stop working, and its tokens expire."""
        with self.lock:
            self.login.tokens.revoke_client(client_id)
            self.login.tokens.expire()

    def live_events(self) -> list[dict[str, Any]]:
        """Copies of the events in the organizer's calendar (not cancelled)."""
        with self.lock:
            return [copy.deepcopy(e) for e in self.events.values() if not e["isCancelled"]]

    def edit_event(self, event_id: str, changes: Mapping[str, Any]) -> None:
        """Change an event as someone in Outlook would (a new ``changeKey``)."""
        with self.lock:
            event = self.events[event_id]
            event.update(copy.deepcopy(dict(changes)))
            self._touch(event)
            self._notify_subscriptions()

    def respond(self, event_id: str, email: str, response: str) -> None:
        """An attendee answers from her own Outlook (``accepted``, ``declined``, ``tentativelyAccepted``)."""
        with self.lock:
            event = self.events[event_id]
            found = [a for a in event.get("attendees") or () if a["emailAddress"]["address"].lower() == email.lower()]
            if not found:
                raise KeyError(f"{email} is not invited to {event_id}")
            found[0]["status"] = {"response": response, "time": self._now()}
            self._touch(event)
            self._notify_subscriptions()

    def expire_delta_tokens(self) -> None:
        """Every delta link issued so far is refused from now on (``410 SyncStateNotFound``)."""
        with self.lock:
            self._delta_epoch += 1

    def _notify_subscriptions(self) -> None:
        """Tell the subscriptions of each change since the last call (the caller holds the lock)."""
        for event_id in self.changes[self._notified:]:
            event = self.events.get(event_id)
            if event is None or event["isCancelled"]:
                kind = "deleted"
            elif event_id not in self._created:
                kind = "created"
            else:
                kind = "updated"
            self._created.add(event_id)
            self.subscriptions.changed(self.organizer, event_id, kind, event.get("changeKey") if event else None)
        self._notified = len(self.changes)

    # -- Graph's shapes (the toolkit routes, refuses and renders through these) --------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request: the identity platform under ``/login``, Graph's routes under ``/v1.0``."""
        if request.path.startswith(_LOGIN + "/"):
            with self.lock:
                return self.login.handle(request, request.path[len(_LOGIN):])
        with self.lock:
            try:
                return super().handle(request)
            finally:
                self._notify_subscriptions()

    def error_response(self, refusal: Refusal) -> SandboxResponse:
        """Graph's error body (its ``client-request-id`` is filled in by :meth:`finish`)."""
        return graph_error(refusal.status, str(refusal.code), refusal.message)

    def finish(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        """An error answer echoes the request's ``client-request-id``, as Outlook's do."""
        error = response.body.get("error") if isinstance(response.body, dict) else None
        inner = error.get("innerError") if isinstance(error, dict) else None
        if isinstance(inner, dict):
            inner["client-request-id"] = request.headers.get("client-request-id", "")
        return response

    def authenticate(self, request: SandboxRequest) -> None:
        """A live token the identity platform issued (401 ``InvalidAuthenticationToken`` otherwise)."""
        header = request.headers.get("authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        if not token or self.login.client_of(token) is None:
            raise Refusal(401, "Access token is empty." if not token else "Lifetime validation failed, the token is "
                          "expired.", "InvalidAuthenticationToken")

    def no_route(self, request: SandboxRequest) -> Refusal:
        """Graph's answers to what it does not serve: another version, another segment, another method."""
        if not request.path.startswith(_GRAPH + "/"):
            return Refusal(404, "Invalid version.", "BadRequest")
        self.authenticate(request)
        parts = request.path[len(_GRAPH):].strip("/").split("/")
        if len(parts) < 2 or parts[0] != "users":
            return Refusal(400, f"Resource not found for the segment '{parts[0]}'.", "BadRequest")
        self._mailbox(parts[1])
        if len(parts) >= 4 and parts[2] == "events":
            self._existing(parts[3])
        return Refusal(405, "The OData request is not supported.", "ErrorInvalidRequest")

    def _mailbox(self, mailbox: str) -> None:
        """Only the organizer's mailbox is the application's to use; others are refused as Outlook does."""
        lowered = mailbox.lower()
        if lowered == self.organizer:
            return
        if lowered in self.people or lowered in self.rooms:
            raise Refusal(403, "Access is denied. Check credentials and try again.", "ErrorAccessDenied")
        raise Refusal(404, f"The requested user '{mailbox}' is invalid.", "ErrorInvalidUser")

    # -- routes ----------------------------------------------------------------------------------------

    @route("POST", "/v1.0/subscriptions")
    def _subscribe_route(self, request: SandboxRequest) -> SandboxResponse:
        def mailbox_of(name: str) -> str:
            self._mailbox(name)
            return name.lower()

        return SandboxResponse(201, self.subscriptions.create(_json_body(request), mailbox_of).answer())

    @route("PATCH", "/v1.0/subscriptions/{subscription_id}")
    def _renew_route(self, request: SandboxRequest, subscription_id: str) -> SandboxResponse:
        return SandboxResponse(200, self.subscriptions.renew(subscription_id, _json_body(request)).answer())

    @route("DELETE", "/v1.0/subscriptions/{subscription_id}")
    def _unsubscribe_route(self, request: SandboxRequest, subscription_id: str) -> SandboxResponse:
        self.subscriptions.delete(subscription_id)
        return SandboxResponse(204)

    @route("POST", "/v1.0/$batch")
    def _batch_route(self, request: SandboxRequest) -> SandboxResponse:
        return self._batch(request, _json_body(request))

    @route("GET", "/v1.0/places/{kind}")
    def _places_route(self, request: SandboxRequest, kind: str) -> SandboxResponse:
        if kind.lower() not in ("microsoft.graph.room", "microsoft.graph.roomlist"):
            raise Refusal(400, f"Resource not found for the segment '{kind}'.", "BadRequest")
        return self._places(request, request.query, None, kind.lower())

    @route("GET", "/v1.0/places/{room_list}/{kind}/rooms")
    def _list_rooms_route(self, request: SandboxRequest, room_list: str, kind: str) -> SandboxResponse:
        return self._places(request, request.query, room_list, kind.lower())

    @route("GET", "/v1.0/users/{mailbox}")
    def _user(self, request: SandboxRequest, mailbox: str) -> SandboxResponse:
        self._mailbox(mailbox)
        return SandboxResponse(200, {"id": self.organizer_id, "mail": self.organizer,
                                     "userPrincipalName": self.organizer, "displayName": "Training Desk"})

    @route("GET", "/v1.0/users/{mailbox}/calendar")
    def _calendar(self, request: SandboxRequest, mailbox: str) -> SandboxResponse:
        self._mailbox(mailbox)
        return SandboxResponse(200, {"id": "AAMkCalendar", "name": "Calendar", "canEdit": True,
                                     "owner": {"address": self.organizer, "name": "Training Desk"},
                                     "allowedOnlineMeetingProviders": list(self.online_meeting_providers),
                                     "defaultOnlineMeetingProvider": (self.online_meeting_providers or ["none"])[0]})

    @route("POST", "/v1.0/users/{mailbox}/calendar/getSchedule")
    def _schedule_route(self, request: SandboxRequest, mailbox: str) -> SandboxResponse:
        self._mailbox(mailbox)
        return self._schedule(_json_body(request))

    @route("POST", "/v1.0/users/{mailbox}/events")
    def _create_route(self, request: SandboxRequest, mailbox: str) -> SandboxResponse:
        self._mailbox(mailbox)
        return self._create(request, _json_body(request), self._response_zone(request), request.query)

    @route("GET", "/v1.0/users/{mailbox}/events")
    def _list_route(self, request: SandboxRequest, mailbox: str) -> SandboxResponse:
        self._mailbox(mailbox)
        return self._list_events(request, request.query, self._response_zone(request))

    @route("GET", "/v1.0/users/{mailbox}/calendarView")
    def _view_route(self, request: SandboxRequest, mailbox: str) -> SandboxResponse:
        self._mailbox(mailbox)
        return self._calendar_view(request, request.query, self._response_zone(request))

    @route("GET", "/v1.0/users/{mailbox}/calendarView/delta")
    def _delta_route(self, request: SandboxRequest, mailbox: str) -> SandboxResponse:
        self._mailbox(mailbox)
        return self._delta(request, request.query, self._response_zone(request))

    @route("GET", "/v1.0/users/{mailbox}/events/{event_id}")
    def _get_route(self, request: SandboxRequest, mailbox: str, event_id: str) -> SandboxResponse:
        self._mailbox(mailbox)
        return self._answer(self._existing(event_id), self._response_zone(request), request.query)

    @route("PATCH", "/v1.0/users/{mailbox}/events/{event_id}")
    def _patch_route(self, request: SandboxRequest, mailbox: str, event_id: str) -> SandboxResponse:
        self._mailbox(mailbox)
        event = self._existing(event_id)
        return self._patch(request, event, _json_body(request), self._response_zone(request), request.query)

    @route("DELETE", "/v1.0/users/{mailbox}/events/{event_id}")
    def _delete_route(self, request: SandboxRequest, mailbox: str, event_id: str) -> SandboxResponse:
        self._mailbox(mailbox)
        event = self._existing(event_id)
        del self.events[event["id"]]
        self.changes.append(event["id"])
        return SandboxResponse(204)

    @route("POST", "/v1.0/users/{mailbox}/events/{event_id}/cancel")
    def _cancel_route(self, request: SandboxRequest, mailbox: str, event_id: str) -> SandboxResponse:
        self._mailbox(mailbox)
        return self._cancel(self._existing(event_id), _json_body(request))

    def _response_zone(self, request: SandboxRequest) -> str:
        found = _PREFER_ZONE.search(request.headers.get("prefer", ""))
        return found.group(1) if found else "UTC"

    # -- events ----------------------------------------------------------------------------------------

    def _existing(self, event_id: str) -> dict[str, Any]:
        event = self.events.get(event_id)
        if event is None:
            raise Refusal(404, "The specified object was not found in the store.", "ErrorItemNotFound")
        return event

    def _touch(self, event: dict[str, Any]) -> None:
        serial = next(self._change_serial)
        change_key = base64.b64encode(hashlib.sha256(f"{event['id']}-{serial}".encode()).digest()[:18]).decode()
        event["changeKey"] = change_key
        event["lastModifiedDateTime"] = self._now()
        self.changes.append(event["id"])

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")

    def _create(
        self, request: SandboxRequest, body: Any, zone: str, query: Mapping[str, list[str]]
    ) -> SandboxResponse:
        if not isinstance(body, dict):
            raise _bad("Empty Payload. JSON content expected.", "BadRequest")
        transaction = body.get("transactionId")
        if isinstance(transaction, str) and transaction in self.transactions:
            existing = self.events.get(self.transactions[transaction])
            if existing is not None:
                return self._answer(existing, zone, query, status=201)
        serial = next(self._serial)
        event_id = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A" + hashlib.sha256(f"event-{serial}".encode()).hexdigest()[:24]
        event: dict[str, Any] = {
            "id": event_id,
            "createdDateTime": self._now(),
            "iCalUId": "040000008200E00074C5B7101A82E008" + hashlib.md5(event_id.encode()).hexdigest().upper(),  # noqa: S324
            "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}&exvsurl=1&path=/calendar/item",
            "organizer": {"emailAddress": {"name": "Training Desk", "address": self.organizer}},
            "isOrganizer": True,
            "isCancelled": False,
            "type": "singleInstance",
            "showAs": "busy",
            "subject": "",
            "body": {"contentType": "text", "content": ""},
            "location": {"displayName": ""},
            "locations": [],
            "attendees": [],
            "isOnlineMeeting": False,
            "onlineMeetingProvider": "unknown",
            "onlineMeeting": None,
            "allowNewTimeProposals": True,
            "responseRequested": True,
            "transactionId": transaction if isinstance(transaction, str) else None,
            "singleValueExtendedProperties": [],
        }
        self._apply(event, body, created=True)
        self.events[event_id] = event
        if isinstance(transaction, str):
            self.transactions[transaction] = event_id
        if event["isOnlineMeeting"] and self.teams_pending_reads == 0:
            self._attach_teams(event)
        self._settle_rooms(event, answer_now=self.room_pending_reads == 0)
        self._pending[event_id] = max(self.teams_pending_reads, self.room_pending_reads)
        self._touch(event)
        return self._answer(event, zone, query, status=201, read=False)

    def _apply(self, event: dict[str, Any], body: Mapping[str, Any], *, created: bool) -> None:
        writable = {"subject", "body", "location", "locations", "attendees", "isOnlineMeeting",
                    "onlineMeetingProvider", "allowNewTimeProposals", "responseRequested", "showAs", "categories",
                    "importance", "sensitivity", "isReminderOn", "reminderMinutesBeforeStart", "hideAttendees"}
        for name, value in body.items():
            if name in ("start", "end"):
                instant = _instant(value, name)
                event[f"_{name}"] = instant
                event["originalStartTimeZone" if name == "start" else "originalEndTimeZone"] = value.get("timeZone")
            elif name == "singleValueExtendedProperties":
                self._upsert_properties(event, value)
            elif name == "transactionId":
                if not created and value != event.get("transactionId"):
                    raise _bad("transactionId cannot be changed once set.", "ErrorInvalidPropertyUpdateSentAsIs")
            elif name == "attendees":
                event["attendees"] = self._attendees(value, event.get("attendees") or [])
            elif name in writable:
                event[name] = copy.deepcopy(value)
            elif name.startswith("@odata"):
                continue
            else:
                raise _bad(f"The property '{name}' does not exist on type 'microsoft.graph.event'.",
                           "RequestBodyRead")
        if "_start" not in event or "_end" not in event:
            raise _bad("Your request can't be completed. The start and end of the event are required.")
        if event["_end"] < event["_start"]:
            raise _bad("The end time of the event must be after its start time.", "ErrorInvalidRequest")
        if event.get("isOnlineMeeting") and event.get("onlineMeetingProvider") not in ("teamsForBusiness", "unknown"):
            raise _bad("The online meeting provider is not supported for this organizer.")

    def _upsert_properties(self, event: dict[str, Any], value: Any) -> None:
        if not isinstance(value, list):
            raise _bad("singleValueExtendedProperties must be a collection.", "BadRequest")
        stored = {str(p["id"]).casefold(): p for p in event["singleValueExtendedProperties"]}
        for item in value:
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not isinstance(
                item.get("value"), str
            ):
                raise _bad("An extended property needs an id and a string value.", "ErrorInvalidExtendedProperty")
            if not re.match(r"^String \{[0-9a-fA-F-]{36}\} Name \S+$", item["id"]):
                raise _bad(f"The extended property id '{item['id']}' is not valid.", "ErrorInvalidExtendedProperty")
            stored[item["id"].casefold()] = {"id": item["id"], "value": item["value"]}
        event["singleValueExtendedProperties"] = list(stored.values())

    def _attendees(self, value: Any, previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise _bad("attendees must be a collection.", "BadRequest")
        before = {a["emailAddress"]["address"].lower(): a for a in previous}
        settled: list[dict[str, Any]] = []
        seen: set[str] = set()
        for item in value:
            address = item.get("emailAddress") if isinstance(item, Mapping) else None
            if not isinstance(address, Mapping):
                raise _bad("At least one recipient isn't valid.", "ErrorInvalidRecipients")
            email = str(address.get("address", "")).lower()
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
                raise _bad("At least one recipient isn't valid.", "ErrorInvalidRecipients")
            if email in seen:
                continue
            seen.add(email)
            kind = str(item.get("type") or "required")
            kind = kind[:1].lower() + kind[1:]  # the service accepts "Required" and answers "required"
            if kind not in ("required", "optional", "resource"):
                raise _bad(f"The attendee type '{item.get('type')}' is not valid.", "BadRequest")
            old = before.get(email)
            settled.append({
                "type": kind,
                "status": copy.deepcopy(old["status"]) if old else dict(_UNANSWERED),
                "emailAddress": {"name": str(address.get("name") or email), "address": email},
            })
        return settled

    def _attach_teams(self, event: dict[str, Any]) -> None:
        thread = hashlib.sha256(event["id"].encode()).hexdigest()[:32]
        event["onlineMeetingProvider"] = "teamsForBusiness"
        event["onlineMeeting"] = {
            "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0"
                       "?context=%7b%22Tid%22%3a%22sandbox%22%7d",
        }
        self.open_meeting(event["id"], event["onlineMeeting"]["joinUrl"], event["_start"], event["_end"])

    def _settle_rooms(self, event: dict[str, Any], *, answer_now: bool) -> None:
        for attendee in event["attendees"]:
            email = attendee["emailAddress"]["address"]
            if attendee["type"] != "resource" or email not in self.rooms:
                continue
            if attendee["status"]["response"] not in ("none", "notResponded") or not answer_now:
                continue
            answer = "declined" if self._room_busy(email, event) else "accepted"
            attendee["status"] = {"response": answer, "time": self._now()}

    def _room_busy(self, email: str, event: Mapping[str, Any]) -> bool:
        for other in self.events.values():
            if other["id"] == event["id"] or other["isCancelled"]:
                continue
            booked = any(a["emailAddress"]["address"] == email and a["status"]["response"] == "accepted"
                         for a in other["attendees"])
            if booked and other["_start"] < event["_end"] and event["_start"] < other["_end"]:
                return True
        return False

    def _progress(self, event: dict[str, Any]) -> None:
        """A read lets Outlook's asynchronous work advance: the Teams link and room answers appear."""
        left = self._pending.get(event["id"], 0)
        if left <= 0:
            return
        left -= 1
        self._pending[event["id"]] = left
        if left == 0:
            if event["isOnlineMeeting"] and event["onlineMeeting"] is None:
                self._attach_teams(event)
            self._settle_rooms(event, answer_now=True)
            self._touch(event)

    def _patch(
        self, request: SandboxRequest, event: dict[str, Any], body: Any, zone: str, query: Mapping[str, list[str]]
    ) -> SandboxResponse:
        if event["isCancelled"]:
            raise _bad("The item has been cancelled and can no longer be updated.", "ErrorInvalidRequest")
        if_match = request.headers.get("if-match")
        if if_match is not None and if_match != "*" and if_match != f'W/"{event["changeKey"]}"':
            raise Refusal(
                412,
                "The send or update operation could not be performed because the change key passed in the request "
                "does not match the current change key for the item.",
                "ErrorIrresolvableConflict",
            )
        if not isinstance(body, dict):
            raise _bad("Empty Payload. JSON content expected.", "BadRequest")
        updated = copy.deepcopy(event)
        self._apply(updated, body, created=False)
        if updated["isOnlineMeeting"] and updated["onlineMeeting"] is None and not self._pending.get(event["id"]):
            self._attach_teams(updated)
        moved = updated["_start"] != event["_start"] or updated["_end"] != event["_end"]
        if moved:  # Exchange asks resources again when a meeting moves
            for attendee in updated["attendees"]:
                if attendee["type"] == "resource":
                    attendee["status"] = dict(_UNANSWERED)
        self.events[event["id"]] = updated
        self._settle_rooms(updated, answer_now=True)
        self._touch(updated)
        return self._answer(updated, zone, query, read=False)

    def _cancel(self, event: dict[str, Any], body: Any) -> SandboxResponse:
        if not isinstance(body, dict) or not set(body) <= {"comment", "Comment"}:
            raise _bad("The cancel action takes one parameter, 'comment'.", "BadRequest")
        if event["isCancelled"]:
            raise _bad("Your request can't be completed. The meeting has already been cancelled.")
        event["isCancelled"] = True
        self._touch(event)
        return SandboxResponse(202)

    def _answer(
        self,
        event: dict[str, Any],
        zone: str,
        query: Mapping[str, list[str]],
        *,
        status: int = 200,
        read: bool = True,
    ) -> SandboxResponse:
        if read:
            self._progress(event)
        return SandboxResponse(status, self._render(event, zone, query), headers=self._applied(zone))

    def _applied(self, zone: str) -> dict[str, str]:
        return {"Preference-Applied": f'outlook.timezone="{zone}", IdType="ImmutableId"'}

    def _render(self, event: Mapping[str, Any], zone: str, query: Mapping[str, list[str]]) -> dict[str, Any]:
        shown = {name: copy.deepcopy(value) for name, value in event.items() if not name.startswith("_")}
        shown["@odata.etag"] = f'W/"{event["changeKey"]}"'
        shown["start"] = _render(event["_start"], zone)
        shown["end"] = _render(event["_end"], zone)
        expand = _first(query, "$expand") or ""
        properties = shown.pop("singleValueExtendedProperties")
        if expand.startswith("singleValueExtendedProperties"):
            wanted = {item.casefold() for item in _QUOTED.findall(expand)}
            shown["singleValueExtendedProperties"] = [p for p in properties if not wanted or p["id"].casefold() in
                                                      wanted]
        return shown

    # -- listings --------------------------------------------------------------------------------------

    def _page(
        self, request: SandboxRequest, items: list[dict[str, Any]], query: Mapping[str, list[str]], default: int
    ) -> dict[str, Any]:
        top = _int(query, "$top", default, maximum=1000)
        skip = _int(query, "$skip", 0)
        page: dict[str, Any] = {"value": items[skip : skip + top]}
        if skip + top < len(items):
            following = {name: values[0] for name, values in query.items()}
            following["$skip"] = str(skip + top)
            page["@odata.nextLink"] = self._self_url(request) + "?" + urlencode(following)
        return page

    def _self_url(self, request: SandboxRequest) -> str:
        return f"http://{request.headers.get('host', '127.0.0.1')}{_GRAPH}{request.path[len(_GRAPH):]}"

    def _list_events(self, request: SandboxRequest, query: Mapping[str, list[str]], zone: str) -> SandboxResponse:
        events = [e for e in self.events.values() if not e["isCancelled"]]
        wanted = _first(query, "$filter")
        if wanted is not None:
            found = _PROPERTY_FILTER.match(wanted.strip())
            if found is None:
                raise _bad("Invalid filter clause: only the extended-property lambda is simulated.", "BadRequest")
            key, value = found["id"].casefold(), found["value"].replace("''", "'")
            events = [e for e in events if any(p["id"].casefold() == key and p["value"] == value
                                               for p in e["singleValueExtendedProperties"])]
        rendered = [self._render(e, zone, query) for e in events]
        return SandboxResponse(200, self._page(request, rendered, query, 10), headers=self._applied(zone))

    def _window(self, query: Mapping[str, list[str]]) -> tuple[datetime, datetime]:
        start, end = _first(query, "startDateTime"), _first(query, "endDateTime")
        if not start or not end:
            raise _bad("This request requires a time window specified by the query string parameters "
                       "StartDateTime and EndDateTime.", "ErrorInvalidParameter")
        try:
            low, high = (datetime.fromisoformat(start.replace("Z", "+00:00")),
                         datetime.fromisoformat(end.replace("Z", "+00:00")))
        except ValueError:
            raise _bad("The time window is not valid.", "ErrorInvalidParameter") from None
        if low.tzinfo is None:
            low, high = low.replace(tzinfo=UTC), high.replace(tzinfo=UTC)
        return low, high

    def _in_window(self, low: datetime, high: datetime) -> list[dict[str, Any]]:
        found = [e for e in self.events.values() if not e["isCancelled"] and e["_start"] < high and low < e["_end"]]
        return sorted(found, key=lambda e: (e["_start"], e["id"]))

    def _calendar_view(self, request: SandboxRequest, query: Mapping[str, list[str]], zone: str) -> SandboxResponse:
        low, high = self._window(query)
        rendered = [self._render(e, zone, query) for e in self._in_window(low, high)]
        return SandboxResponse(200, self._page(request, rendered, query, 10), headers=self._applied(zone))

    def _delta(self, request: SandboxRequest, query: Mapping[str, list[str]], zone: str) -> SandboxResponse:
        """A delta round: pages of ``$skiptoken``, then a ``$deltatoken`` link naming where the round ended."""
        base = self._self_url(request)
        if "$skiptoken" in query:
            state = _untoken(query["$skiptoken"][0])
        elif "$deltatoken" in query:
            state = _untoken(query["$deltatoken"][0])
            if int(state.get("epoch", 0)) < self._delta_epoch:
                raise Refusal(410, "The sync state generation is not found or has expired.", "SyncStateNotFound")
            state["offset"] = 0
        else:
            low, high = self._window(query)
            state = {"low": low.isoformat(), "high": high.isoformat(), "since": None, "offset": 0}
        low, high = datetime.fromisoformat(state["low"]), datetime.fromisoformat(state["high"])
        since = state["since"]
        if since is None:
            items: list[dict[str, Any]] = [self._render(e, zone, query) for e in self._in_window(low, high)]
        else:
            touched = list(dict.fromkeys(self.changes[since:]))
            items = []
            for event_id in touched:
                event = self.events.get(event_id)
                if event is None or event["isCancelled"] or not (event["_start"] < high and low < event["_end"]):
                    items.append({"id": event_id, "@removed": {"reason": "deleted"}})
                else:
                    items.append(self._render(event, zone, query))
        size = _maxpagesize(request)
        offset = int(state["offset"])
        page: dict[str, Any] = {"value": items[offset : offset + size]}
        if offset + size < len(items):
            page["@odata.nextLink"] = base + "?" + urlencode({"$skiptoken": _token(dict(state, offset=offset + size))})
        else:
            done = {"low": state["low"], "high": state["high"], "since": len(self.changes), "offset": 0,
                    "epoch": self._delta_epoch}
            page["@odata.deltaLink"] = base + "?" + urlencode({"$deltatoken": _token(done)})
        return SandboxResponse(200, page, headers=self._applied(zone))

    def _places(
        self, request: SandboxRequest, query: Mapping[str, list[str]], room_list: str | None, kind: str
    ) -> SandboxResponse:
        """``places/microsoft.graph.room``, ``.../roomlist`` and ``places/{list}/microsoft.graph.roomlist/rooms``.

        Graph reads the type segment without regard to case (its documentation writes both ``roomList`` and
        ``roomlist``); a room list that does not exist is answered 404.
        """
        if kind == "microsoft.graph.roomlist" and room_list is None:
            lists = [
                {"id": _place_id(email), "emailAddress": email, "displayName": name, "address": None,
                 "geocoordinates": None, "phone": None}
                for email, name in sorted(self.room_lists.items())
            ]
            return SandboxResponse(200, self._page(request, lists, query, 100))
        members = sorted(self.rooms.values(), key=lambda r: r.email)
        if room_list is not None and kind != "microsoft.graph.roomlist":
            raise _bad(f"Resource not found for the segment '{room_list}'.", "BadRequest")
        if room_list is not None:
            wanted = unquote(room_list).lower()
            if wanted not in self.room_lists:
                raise Refusal(404, "The specified object was not found in the store.", "ErrorItemNotFound")
            members = [room for room in members if (room.room_list or "").lower() == wanted]
        rooms = [
            {"id": _place_id(room.email), "emailAddress": room.email,
             "displayName": room.name, "capacity": room.capacity, "building": room.building,
             "floorNumber": room.floor, "floorLabel": str(room.floor), "bookingType": "standard",
             "isWheelChairAccessible": room.accessible, "tags": list(room.tags),
             "audioDeviceName": None, "videoDeviceName": None, "displayDeviceName": room.display_device}
            for room in members
        ]
        return SandboxResponse(200, self._page(request, rooms, query, 100))

    def _schedule(self, body: Any) -> SandboxResponse:
        if not isinstance(body, dict):
            raise _bad("Empty Payload. JSON content expected.", "BadRequest")
        lowered = {name[:1].lower() + name[1:]: value for name, value in body.items()}  # both casings accepted
        schedules = lowered.get("schedules")
        if not isinstance(schedules, list) or not schedules:
            raise _bad("Schedules must be a non-empty collection.", "ErrorInvalidParameter")
        low, high = _instant(lowered.get("startTime"), "startTime"), _instant(lowered.get("endTime"), "endTime")
        value = []
        for email in schedules:
            address = str(email).lower()
            if address not in self.people and address not in self.rooms:
                value.append({"scheduleId": email, "availabilityView": "", "scheduleItems": [], "error": {
                    "message": "The user or room could not be found.", "responseCode": "ErrorMailRecipientNotFound"}})
                continue
            items = []
            for event in self._in_window(low, high):
                mine = address == self.organizer or any(
                    a["emailAddress"]["address"] == address and a["status"]["response"] in ("accepted",
                                                                                           "tentativelyAccepted")
                    for a in event["attendees"])
                if mine:
                    items.append({"isPrivate": False, "status": "busy", "subject": event["subject"],
                                  "start": _render(event["_start"], "UTC"), "end": _render(event["_end"], "UTC")})
            value.append({"scheduleId": email, "availabilityView": "2" if items else "0", "scheduleItems": items,
                          "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                                           "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                                           "timeZone": {"name": "UTC"}}})
        return SandboxResponse(200, {"value": value})

    # -- batch -----------------------------------------------------------------------------------------

    def _batch(self, request: SandboxRequest, body: Any) -> SandboxResponse:
        items = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise _bad("Invalid batch payload format.", "BadRequest")
        if len(items) > _MAX_BATCH:
            raise _bad(f"The batch request contains more than {_MAX_BATCH} requests.", "BadRequest")
        statuses: dict[str, int] = {}
        responses = []
        for item in items:
            if not isinstance(item, dict) or not {"id", "method", "url"} <= set(item):
                raise _bad("Each batch request needs id, method and url.", "BadRequest")
            item_id = str(item["id"])
            if item.get("body") is not None and "content-type" not in {k.lower() for k in item.get("headers") or {}}:
                raise _bad("Content-Type header is required when a body is present.", "BadRequest")
            depends = item.get("dependsOn") or []
            if any(statuses.get(str(d), 424) >= 400 for d in depends):
                answer = graph_error(424, "FailedDependency", "The request failed because of a failed dependency.")
            else:
                answer = self._batch_item(request, item)
            statuses[item_id] = answer.status
            responses.append({"id": item_id, "status": answer.status, "headers": answer.headers,
                              "body": answer.body if answer.body is not None else None})
        return SandboxResponse(200, {"responses": responses})

    def _batch_item(self, outer: SandboxRequest, item: Mapping[str, Any]) -> SandboxResponse:
        url = urlsplit(str(item["url"]))
        headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        headers.setdefault("prefer", outer.headers.get("prefer", ""))
        inner = SandboxRequest(method=str(item["method"]).upper(), path=_GRAPH + url.path,
                               query=parse_qs(url.query, keep_blank_values=True), headers=headers,
                               body=json.dumps(item["body"]).encode() if item.get("body") is not None else b"")
        authorization = outer.headers.get("authorization")
        if authorization is not None:
            inner.headers.setdefault("authorization", authorization)  # the batch is authenticated as a whole
        try:
            return self._dispatch(inner)
        except Refusal as refused:
            return self.finish(inner, self.error_response(refused))




def _place_id(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()[:36]


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _json_body(request: SandboxRequest) -> Any:
    try:
        return request.json()
    except ValueError:
        raise _bad("Unable to read JSON request payload.", "BadRequest") from None


def _int(query: Mapping[str, list[str]], name: str, default: int, *, maximum: int | None = None) -> int:
    text = _first(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _bad(f"Invalid value '{text}' for {name}.", "BadRequest") from None
    if value < 0 or (maximum is not None and value > maximum):
        raise _bad(f"Invalid value '{text}' for {name}.", "BadRequest")
    return value if value or name != "$top" else default


def _maxpagesize(request: SandboxRequest) -> int:
    found = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", request.headers.get("prefer", ""))
    return int(found.group(1)) if found else 10
