"""The simulated LibreBooking API (``/Web/Services/index.php``): the routes a live site answers, as it answers.

Session tokens slide by 30 minutes on every secure call; a refused sign-in is a 200 with ``isAuthenticated:
false``; secure routes refuse with a ``text/html`` 401. A reservation body missing a key is an HTML 500, an
update or delete of a reservation that does not exist is an empty 200, an owner listed among the participants is
stored and then answered 500. Administrators are above capacity, length and notice rules and approval.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock
from lms_connectors_librebooking.simulator import pages
from lms_connectors_librebooking.simulator.catalogue import CatalogueRoutes
from lms_connectors_librebooking.simulator.dates import api_text, parse_api_date, zone_of
from lms_connectors_librebooking.simulator.site import Blackout, Reservation, Resource, Site, User
from lms_connectors_librebooking.simulator.validation import ReservationRules

__all__ = ["API_PREFIX", "LibreBookingSimulator"]

API_PREFIX = "/Web/Services/index.php"
SESSION = timedelta(minutes=30)
_JSON = {"Content-Type": "application/json"}
DEFAULT_LAYOUT = [(time(0), time(8), False)] + [
    (time(8 + h // 2, 30 * (h % 2)), time(8 + (h + 1) // 2, 30 * ((h + 1) % 2)), True) for h in range(20)
] + [(time(18), time(0), False)]
"""LibreBooking's default schedule: 30-minute bookable slots from 08:00 to 18:00, the rest closed."""


def _json(status: int, body: dict[str, Any]) -> SandboxResponse:
    return SandboxResponse(status, body, dict(_JSON))


def _text_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _credits(fields: dict[str, Any], key: str) -> str | int:
    # Echoed with two decimals when the room was created with it; a room created without it answers 0.
    return f"{float(fields[key]):.2f}" if key in fields else 0


def _empty() -> SandboxResponse:
    """PHP died of a fatal error after the headers: HTTP 200, no body."""
    return SandboxResponse(200, b"", dict(_JSON))


class LibreBookingSimulator(CatalogueRoutes):
    """A LibreBooking site in memory.

    Args:
        clock: The site's clock (session expiry, notice rules, "now" windows).
        with_defaults: Start with LibreBooking's default data: schedule 1 "Default" (Etc/UTC, 08:00-18:00).
    """

    path_prefixes = (API_PREFIX,)

    def __init__(self, clock: SimClock | None = None, *, with_defaults: bool = True) -> None:
        super().__init__(clock)
        self.site = Site()
        self.rules = ReservationRules(self)
        self.base = "http://librebooking.example.org" + API_PREFIX
        self.caller: User | None = None
        self.php_errors: list[str] = []
        if with_defaults:
            self.site.add_schedule("Default", "Etc/UTC", list(DEFAULT_LAYOUT), is_default=True)

    # -- helpers for tests --------------------------------------------------------------------------------------

    def fail_next_write_after_saving(self) -> None:
        """The next reservation create or update is stored, then answered with the 500 page of a failed query.

        What LibreBooking does when a write trips over a duplicate row after saving (an owner who is also listed
        as a participant, an invitee taking a reservation over): the change is there, the answer is an error.
        """
        with self.lock:
            self.rules.fail_after_saving = True

    def expire_sessions(self) -> None:
        """Every session token expires now (as a site's ``inactivity.timeout`` would)."""
        with self.lock:
            self.site.sessions.clear()

    def now(self) -> datetime:
        """The site's current instant."""
        return self.clock.now().astimezone(UTC)

    def link(self, path: str, title: str) -> dict[str, str]:
        """A HATEOAS link as LibreBooking writes them."""
        return {"href": f"{self.base}/{path}", "title": title}

    # -- routing ------------------------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer as LibreBooking: links carry the host the request named."""
        host = request.headers.get("host")
        if host:
            self.base = f"http://{host}{API_PREFIX}"
        self.caller = None
        return super().handle(request)

    def error_response(self, refusal: Refusal) -> SandboxResponse:
        """LibreBooking's refusals: the 401 text, Slim's pages, or its JSON message with ``errors``."""
        prepared = refusal.details.get("response")
        if isinstance(prepared, SandboxResponse):
            return prepared
        if refusal.code == "not_authenticated":
            return pages.not_authenticated(self.base)
        if refusal.code == "no_route":
            return pages.not_found_page()
        if refusal.status == 404:
            return _json(404, {"links": [], "message": "The requested resource was not found"})
        errors = refusal.details.get("errors", [refusal.message])
        return _json(refusal.status, {"links": [], "message": "There were errors processing your request",
                                      "errors": errors})

    def no_route(self, request: SandboxRequest) -> Refusal:
        """Slim's HTML 404, or its 405 when the path exists with other methods."""
        path = request.path.removeprefix(API_PREFIX)
        allowed = sorted({r.method for r in self.routes if r.match(path) is not None})
        if allowed:
            methods: list[str] = [m for m in ("GET", "HEAD", "POST", "DELETE")
                                  if m in allowed or (m == "HEAD" and "GET" in allowed)]
            return Refusal(405, "method", "method", response=pages.method_not_allowed(methods))
        return Refusal(404, "no route", "no_route")

    def authenticate(self, request: SandboxRequest) -> None:
        """Both headers, a known token of that user, not expired; the session's expiry slides."""
        token = request.headers.get("x-booked-sessiontoken")
        user_id = request.headers.get("x-booked-userid")
        session = self.site.sessions.get(token or "")
        if token is None or user_id is None or session is None or str(session[0]) != user_id:
            raise Refusal(401, "not authenticated", "not_authenticated")
        if self.now() - session[1] > SESSION:
            del self.site.sessions[token]
            raise Refusal(401, "not authenticated", "not_authenticated")
        self.site.sessions[token] = (session[0], self.now())
        self.caller = self.site.users[session[0]]

    def _admin(self) -> User:
        if self.caller is None or not self.caller.admin:
            raise Refusal(401, "not authenticated", "not_authenticated")
        return self.caller

    def _user(self) -> User:
        assert self.caller is not None
        return self.caller

    def caller_user(self) -> User:
        """The authenticated caller."""
        return self._user()

    # -- authentication -----------------------------------------------------------------------------------------

    @route("POST", "/Authentication/Authenticate", auth=False)
    def sign_in(self, request: SandboxRequest) -> SandboxResponse:
        """A token for the right password; a 200 with ``isAuthenticated: false`` otherwise."""
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Refusal(500, "php", "php", response=self.rules.php_error(
                'Attempt to read property "username" on null', "WebServices/AuthenticationWebService.php", 46,
                ["[internal function]: AuthenticationWebService->Authenticate()"]))
        user = self.site.user_named(str(body.get("username") or ""))
        if user is None or user.password != body.get("password"):
            return _json(200, {"links": [], "message": "Login failed. Invalid username or password.",
                               "sessionToken": None, "sessionExpires": None, "userId": None,
                               "isAuthenticated": False, "version": None})
        token = self.site.open_session(user, self.now())
        user.last_login = self.now()
        return _json(200, {"links": [self.link("Authentication/SignOut", "logout")], "message": None,
                           "sessionToken": token, "sessionExpires": api_text(self.now() + SESSION),
                           "userId": str(user.id), "isAuthenticated": True, "version": "2.9"})

    @route("POST", "/Authentication/SignOut", auth=False)
    def sign_out(self, request: SandboxRequest) -> SandboxResponse:
        """Ends the session named in the body; always ``signedOut: true``."""
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = None
        if isinstance(body, dict):
            session = self.site.sessions.get(str(body.get("sessionToken")))
            if session is not None and str(session[0]) == str(body.get("userId")):
                del self.site.sessions[str(body.get("sessionToken"))]
        return _json(200, {"links": [], "message": None, "signedOut": True})

    # -- users --------------------------------------------------------------------------------------------------

    def user_json(self, user: User, *, full: bool) -> dict[str, Any]:
        """A user as ``GET /Users/{id}`` (full) or a list item answers it."""
        common = {"userName": user.username, "firstName": user.first, "lastName": user.last,
                  "emailAddress": user.email, "phoneNumber": user.phone}
        if full:
            login = api_text(user.last_login) if user.last_login else ""
            return {"links": [], "message": None, "id": str(user.id), **common, "lastLogin": login, "statusId": "1",
                    "timezone": user.timezone, "organization": user.organization, "position": user.position,
                    "language": user.language, "icsUrl": None, "defaultScheduleId": None, "currentCredits": "0.00",
                    "reservationColor": None, "customAttributes": [], "permissions": [
                        {"links": [self.link(f"Resources/{r.id}", "get_resource")], "message": None, "id": str(r.id),
                         "name": "", "type": None, "groups": []}
                        for r in self.site.resources.values() if r.visible_to_users and not user.admin],
                    "groups": []}
        return {"links": [self.link(f"Users/{user.id}", "get_user")], "message": None, "id": str(user.id), **common,
                "dateCreated": api_text(user.created),
                "lastLogin": api_text(user.last_login) if user.last_login else "", "statusId": "1",
                "timezone": user.timezone,
                "organization": user.organization, "position": user.position, "language": user.language,
                "customAttributes": [], "currentCredits": "0.00", "reservationColor": None}

    @route("GET", "/Users/")
    def list_users(self, request: SandboxRequest) -> SandboxResponse:
        """Every user, or those whose whole e-mail (any case) or user name matches."""
        users = sorted(self.site.users.values(), key=lambda u: (u.last.lower(), u.first.lower(), u.id))
        email, username = request.query_one("email"), request.query_one("username")
        if email is not None:
            users = [u for u in users if u.email.lower() == email.lower()]
        if username is not None:
            users = [u for u in users if u.username.lower() == username.lower()]
        return _json(200, {"links": [], "message": None, "users": [self.user_json(u, full=False) for u in users]})

    @route("GET", "/Users/{user_id}")
    def get_user(self, request: SandboxRequest, user_id: str) -> SandboxResponse:
        """One user, with the zone the API reads their requests in."""
        user = self.site.users.get(int(user_id)) if user_id.isdigit() else None
        if user is None:
            raise Refusal(404, "not found", "not_found")
        return _json(200, self.user_json(user, full=True))

    @route("POST", "/Users/")
    def create_user(self, request: SandboxRequest) -> SandboxResponse:
        """An administrator registers an account (every key must be sent)."""
        self._admin()
        return self.rules.create_user(request)

    # -- resources, schedules, attributes ------------------------------------------------------------------------

    def visible_resources(self) -> list[Resource]:
        """The rooms the caller may book (administrators: all of them)."""
        caller = self._user()
        return [r for r in self.site.resources.values() if caller.admin or r.visible_to_users]

    def resource_json(self, resource: Resource) -> dict[str, Any]:
        """A resource as ``GET /Resources/{id}`` and the list answer it (values echoed as they were sent)."""
        f = resource.fields
        return {
            "links": [self.link(f"Resources/{resource.id}", "get_resource")], "message": None,
            "resourceId": str(resource.id), "name": resource.name, "location": f.get("location"),
            "contact": f.get("contact"), "notes": f.get("notes"), "minLength": resource.text("minLength"),
            "maxLength": resource.text("maxLength"), "requiresApproval": 1 if resource.requires_approval else 0,
            "allowMultiday": "1" if f.get("allowMultiday", True) else "0",
            "maxParticipants": None if f.get("maxParticipants") in (None, "") else str(f.get("maxParticipants")),
            "minNoticeAdd": resource.text("minNoticeAdd"), "minNoticeUpdate": resource.text("minNoticeUpdate"),
            "minNoticeDelete": resource.text("minNoticeDelete"), "maxNotice": resource.text("maxNotice"),
            "description": f.get("description"), "scheduleId": str(resource.schedule_id), "icsUrl": None,
            "statusId": str(f.get("statusId", 1)), "statusReasonId": None, "customAttributes": [], "typeId": None,
            "groupIds": [], "bufferTime": resource.text("bufferTime"),
            "autoReleaseMinutes": f.get("autoReleaseMinutes"), "requiresCheckIn": 1 if f.get("requiresCheckIn") else 0,
            "color": f.get("color") or "", "creditsPerSlot": _credits(f, "creditsPerSlot"),
            "peakCreditsPerSlot": _credits(f, "peakCreditsPerSlot"),
            "maxConcurrentReservations": 1,
        }

    @route("GET", "/Resources/")
    def list_resources(self, request: SandboxRequest) -> SandboxResponse:
        """The rooms the caller may book."""
        return _json(200, {"links": [], "message": None,
                           "resources": [self.resource_json(r) for r in self.visible_resources()]})

    @route("GET", "/Resources/{resource_id}")
    def get_resource(self, request: SandboxRequest, resource_id: str) -> SandboxResponse:
        """One room."""
        resource = self.site.resources.get(int(resource_id)) if resource_id.isdigit() else None
        if resource is None:
            raise Refusal(404, "not found", "not_found")
        return _json(200, self.resource_json(resource))

    @route("POST", "/Resources/")
    def create_resource(self, request: SandboxRequest) -> SandboxResponse:
        """An administrator adds a room."""
        self._admin()
        return self.rules.create_resource(request)

    @route("GET", "/Schedules/{schedule_id}")
    def get_schedule(self, request: SandboxRequest, schedule_id: str) -> SandboxResponse:
        """A schedule with the periods of the seven days from today (in its zone), Sunday first."""
        schedule = self.site.schedules.get(int(schedule_id)) if schedule_id.isdigit() else None
        if schedule is None:
            raise Refusal(404, "not found", "not_found")
        zone = zone_of(schedule.timezone)
        today = self.now().astimezone(zone).date()
        days: list[list[dict[str, Any]]] = [[] for _ in range(7)]
        for offset in range(7):
            day = today + timedelta(days=offset)
            index = (day.weekday() + 1) % 7
            for start, end, bookable in schedule.layout:
                begins = datetime.combine(day, start, zone)
                ends = datetime.combine(day + timedelta(days=1) if end == time(0) else day, end, zone)
                days[index].append({"start": api_text(begins), "end": api_text(ends),
                                    "label": begins.strftime("%-I:%M %p"), "startTime": start.strftime("%H:%M:%S"),
                                    "endTime": end.strftime("%H:%M:%S"), "isReservable": bookable})
        return _json(200, {
            "links": [], "message": None, "daysVisible": "7", "id": str(schedule.id),
            "isDefault": "1" if schedule.is_default else "0", "name": schedule.name, "timezone": schedule.timezone,
            "weekdayStart": "0", "icsUrl": None, "availabilityStart": "", "availabilityEnd": "",
            "maxResourcesPerReservation": 0, "totalConcurrentReservationsAllowed": 0, "periods": days,
        })

    # -- reservations -------------------------------------------------------------------------------------------

    def reservation_json(self, reservation: Reservation, reader: tzinfo) -> dict[str, Any]:
        """``GET /Reservations/{ref}``: instants in the reader's zone, people as users, no guests."""
        resource = self.site.resources[reservation.resource_id]

        def person(user_id: int) -> dict[str, Any]:
            user = self.site.users[user_id]
            return {"links": [self.link(f"Users/{user_id}", "get_user")], "message": None, "userId": str(user_id),
                    "firstName": user.first, "lastName": user.last, "emailAddress": user.email}

        links = [self.link(f"Schedules/{resource.schedule_id}", "get_schedule")]
        if reservation.pending:
            links.append(self.link(f"Reservations/{reservation.reference}/Approval", "approve_reservation"))
        attributes = [
            {"links": [self.link(f"Attributes/{aid}", "get_custom_attribute")], "message": None, "id": str(aid),
             "label": self.site.attributes[aid]["label"], "value": reservation.attributes.get(aid)}
            for aid in sorted(self.site.attributes)
        ]
        return {
            "links": links, "message": None, "referenceNumber": reservation.reference,
            "startDate": api_text(reservation.start, reader), "endDate": api_text(reservation.end, reader),
            "title": reservation.title, "description": reservation.description,
            "requiresApproval": reservation.pending, "isRecurring": False, "scheduleId": str(resource.schedule_id),
            "resourceId": str(resource.id), "owner": person(reservation.owner_id),
            "participants": [person(u) for u in reservation.participants],
            "invitees": [person(u) for u in reservation.invitees], "customAttributes": attributes,
            "recurrenceRule": {"type": "none", "interval": None, "monthlyType": None, "weekdays": None,
                               "repeatTerminationDate": ""},
            "attachments": [],
            "resources": {str(resource.id): {"links": [self.link(f"Resources/{resource.id}", "get_resource")],
                                             "message": None, "id": str(resource.id), "name": resource.name,
                                             "type": None, "groups": []}},
            "accessories": [], "startReminder": None, "endReminder": None, "allowParticipation": False,
            "checkInDate": "", "checkOutDate": "",
            "originalEndDate": api_text(reservation.original_end, reader) if reservation.original_end else "",
            "isCheckInAvailable": bool(resource.fields.get("requiresCheckIn"))
            and reservation.start - timedelta(minutes=5) <= self.now() < reservation.end,
            "isCheckoutAvailable": False,
            "autoReleaseMinutes": _text_or_none(resource.fields.get("autoReleaseMinutes")),
        }

    def listed_json(self, reservation: Reservation) -> dict[str, Any]:
        """A list item: instants in UTC, people as ``{id: name}``, guests included, buffers applied."""
        resource = self.site.resources[reservation.resource_id]
        owner = self.site.users[reservation.owner_id]
        buffer = resource.duration("bufferTime") or timedelta()
        minutes = int((reservation.end - reservation.start).total_seconds() // 60)
        length = " ".join(part for part in (
            f"{minutes // 1440} days" if minutes >= 1440 else "",
            f"{minutes % 1440 // 60} hours" if minutes % 1440 // 60 else "",
            f"{minutes % 60} minutes" if minutes % 60 else "") if part)

        def names(ids: list[int]) -> dict[str, str] | list[Any]:
            return {str(u): self.site.users[u].full_name for u in ids} if ids else []

        return {
            "links": [self.link(f"Resources/{resource.id}", "get_resource"),
                      self.link(f"Reservations/{reservation.reference}", "get_reservation"),
                      self.link(f"Users/{owner.id}", "get_user"),
                      self.link(f"Schedules/{resource.schedule_id}", "get_schedule")],
            "message": None, "referenceNumber": reservation.reference, "startDate": api_text(reservation.start),
            "endDate": api_text(reservation.end), "firstName": owner.first, "lastName": owner.last,
            "resourceName": resource.name, "title": reservation.title, "description": reservation.description,
            "requiresApproval": reservation.pending, "isRecurring": False, "scheduleId": str(resource.schedule_id),
            "userId": str(owner.id), "resourceId": str(resource.id), "duration": length or "0 minutes",
            "bufferTime": resource.text("bufferTime"),
            "bufferedStartDate": api_text(reservation.start - buffer),
            "bufferedEndDate": api_text(reservation.end + buffer), "participants": names(reservation.participants),
            "invitees": names(reservation.invitees), "participatingGuests": list(reservation.participating_guests),
            "invitedGuests": list(reservation.invited_guests), "startReminder": None, "endReminder": None,
            "color": "", "textColor": "", "checkInDate": "", "checkOutDate": "", "originalEndDate": "",
            "isCheckInEnabled": bool(resource.fields.get("requiresCheckIn")),
            "autoReleaseMinutes": _text_or_none(resource.fields.get("autoReleaseMinutes")), "resourceStatusId": "1",
            "creditsConsumed": None,
        }

    def _bound(self, request: SandboxRequest, name: str, default_days: int) -> tuple[datetime | None, tzinfo]:
        """A list bound and the zone LibreBooking echoes it in: UTC when given with ``T``, else the reader's."""
        value = request.query_one(name)
        reader = zone_of(self._user().timezone)
        if value is None:
            return self.now() + timedelta(days=default_days), reader
        return parse_api_date(value, reader), UTC if "T" in value else reader

    @route("GET", "/Reservations/")
    def list_reservations(self, request: SandboxRequest) -> SandboxResponse:
        """Reservations overlapping the window (default: now to now + 14 days), filtered by owner/room/schedule."""
        (start, start_zone), (end, end_zone) = self._bound(request, "startDateTime", 0), self._bound(
            request, "endDateTime", 14)
        found = []
        if start is not None and end is not None:
            user_id, resource_id = request.query_one("userId"), request.query_one("resourceId")
            schedule_id = request.query_one("scheduleId")
            for reservation in sorted(self.site.reservations.values(),
                                      key=lambda r: (r.start, r.resource_id, r.reference)):
                resource = self.site.resources[reservation.resource_id]
                if not (reservation.start < end and reservation.end > start):
                    continue
                if user_id is not None and str(reservation.owner_id) != user_id:
                    continue
                if resource_id is not None and str(reservation.resource_id) != resource_id:
                    continue
                if schedule_id is not None and str(resource.schedule_id) != schedule_id:
                    continue
                if not (self._user().admin or resource.visible_to_users):
                    continue
                found.append(reservation)
        window = (api_text(start, start_zone), api_text(end, end_zone)) if found and start and end else (None, None)
        return _json(200, {"links": [], "message": None, "reservations": [self.listed_json(r) for r in found],
                           "startDateTime": window[0], "endDateTime": window[1]})

    @route("GET", "/Reservations/{reference}")
    def get_reservation(self, request: SandboxRequest, reference: str) -> SandboxResponse:
        """One reservation, its instants in the reader's zone."""
        reservation = self.site.reservations.get(reference)
        if reservation is None:
            raise Refusal(404, "not found", "not_found")
        return _json(200, self.reservation_json(reservation, zone_of(self._user().timezone)))

    @route("POST", "/Reservations/")
    def create_reservation(self, request: SandboxRequest) -> SandboxResponse:
        """Validate and store a reservation (see :class:`ReservationRules`)."""
        return self.rules.create(request, self._user())

    @route("POST", "/Reservations/{reference}")
    def update_reservation(self, request: SandboxRequest, reference: str) -> SandboxResponse:
        """Replace a reservation (``updateScope`` this, full or future; the owner becomes ``userId``)."""
        return self.rules.update(request, self._user(), reference)

    @route("DELETE", "/Reservations/{reference}")
    def delete_reservation(self, request: SandboxRequest, reference: str) -> SandboxResponse:
        """Delete; a reservation that is not there is a PHP fatal error (an empty 200)."""
        if self.site.reservations.pop(reference, None) is None:
            self.php_errors.append(f"delete of unknown reservation {reference}")
            return _empty()
        return _json(200, {"links": [], "message": "The item was deleted"})

    @route("POST", "/Reservations/{reference}/Approval")
    def approve(self, request: SandboxRequest, reference: str) -> SandboxResponse:
        """An administrator approves a pending reservation; anything else is an empty 200."""
        reservation = self.site.reservations.get(reference)
        if reservation is None or not reservation.pending or not self._user().admin:
            return _empty()
        reservation.pending = False
        return _json(200, {"links": [self.link(f"Reservations/{reference}", "get_reservation")],
                           "message": "The reservation was approved", "referenceNumber": reference})

    # -- set-up only the site's pages can do ---------------------------------------------------------------------

    def add_blackout(self, resource_id: int, start: datetime, end: datetime, title: str) -> None:
        """A blackout on a room (LibreBooking's API has no route for blackouts)."""
        with self.lock:
            self.site.blackouts.append(Blackout(resource_id, start.astimezone(UTC), end.astimezone(UTC), title))
