"""A simulator of the Zoom API (meetings, registrants, Server-to-Server OAuth) for tests and the demo.

It answers with Zoom's status codes and error bodies (``{"code": 3001, "message": "Meeting does not exist:
..."}``) and keeps Zoom's behaviours that matter to a client:

* ``POST /oauth/token?grant_type=account_credentials&account_id=...`` with HTTP Basic; tokens live 3600 s.
  Minting a token revokes the app's previous ones (``single_token=True``), as the workers of one app
  experience it when each mints its own; an unknown, revoked or expired token answers 401 code 124.
* Meetings: create (201, int64 id above 2**32, ``start_time`` answered in UTC), read, update (204), delete
  (204; ``cancel_meeting_reminder`` sends the registrants an email, recorded in :attr:`ZoomSimulator.emails`),
  listing with ``page_size`` (max 300) and ``next_page_token``, of every ``type`` the current reference lists
  (``scheduled``, ``live``, ``upcoming``, ``upcoming_meetings``, ``previous_meetings``).
* A per-host daily limit (100 by default) on meeting create/update: the next one answers 429 with the
  "daily rate limit" message. As Zoom's forum shows it really answering, the refusal carries only headers of the
  account's per-category limit (``X-RateLimit-Category``), without ``X-RateLimit-Type`` or ``Retry-After``;
  with ``daily_limit_headers="documented"`` it carries what the rate-limit page documents instead
  (``X-RateLimit-Type: Daily-limit`` and ``Retry-After`` = the next 00:00 UTC).
* Per-second limits when configured (``simulator.throttle(calls=..., seconds=1)``): 429 with
  ``X-RateLimit-Type: QPS`` and no ``Retry-After`` (Zoom documents none for per-second limits).
* Registrants with approval: ``approval_type`` 0 approves at once, 1 keeps registrants ``pending`` (no
  ``join_url`` in the add answer) unless ``auto_approve``; 2 refuses registration. Status changes (approve,
  cancel, deny) take at most 30 registrants per call, and so does batch registration
  (``POST /meetings/{id}/batch_registrants``, scheduled meetings only), which checks every registrant before it
  adds any and answers each one's ``registrant_id`` and (when approved) ``join_url``. A meeting takes
  ``max_registrants`` (4,999 on Zoom); the next registration answers code 3043. The host cannot register (3027).
  Registering an email that is already registered answers its registration, but only a few times: the
  registration after ``registration_repeat_limit`` (3) of the same email on a meeting answers code 3000 "You
  have reached the limit for the number of attendees you can add", as Zoom's staff describe it.

Serve it with :class:`lms_connectors.testing.sandbox.SandboxServer`; paths work with or without ``/v2``.
The server serialises requests through :attr:`Simulator.lock`; the inspection helpers take the same lock.
"""

from __future__ import annotations

import base64
import itertools
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lms_connectors.testing.limits import CallLimit, LimitState
from lms_connectors.testing.paging import PageCodec, PageTokenError
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator, route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock
from lms_connectors.testing.tokens import GrantRefused, TokenEndpoint
from lms_connectors.timezones import format_utc

__all__ = ["SentEmail", "ZoomSimulator"]

_FIRST_MEETING_ID = 85_012_345_678  # 11 digits: above 2**32, as real meeting ids are
_TOKEN_LIFETIME = 3600
_MAX_PAGE_SIZE = 300
_MAX_STATUS_BATCH = 30
_MAX_BATCH_REGISTRANTS = 30
_MEETING_TYPES = (1, 2, 3, 8)
_LIST_TYPES = ("scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings")
_REPEAT_LIMIT_MESSAGE = (
    "You have reached the limit for the number of attendees you can add. Contact Zoom Support for more information."
)
_AUTO_RECORDING = ("none", "local", "cloud")
_DEFAULT_SETTINGS: dict[str, Any] = {
    "host_video": False,
    "participant_video": False,
    "join_before_host": False,
    "mute_upon_entry": False,
    "approval_type": 2,
    "registration_type": 1,
    "audio": "both",
    "auto_recording": "none",
    "alternative_hosts": "",
    "close_registration": False,
    "waiting_room": False,
    "registrants_email_notification": True,
    "registrants_confirmation_email": True,
}

def _invalid(message: str, field: str | None = None, reason: str = "Required.") -> Refusal:
    """Zoom's 400 code 300, with the field it blames when there is one."""
    if field is None:
        return Refusal(400, message, 300)
    return Refusal(400, message, 300, errors=[{"field": field, "message": reason}])


def _iso_z(moment: datetime) -> str:
    return format_utc(moment)


@dataclass(frozen=True)
class SentEmail:
    """An email the simulated Zoom sent (so tests can check who was notified)."""

    kind: str
    to: str
    meeting_id: str


@dataclass
class _Registrant:
    id: str
    email: str
    first_name: str
    last_name: str
    status: str
    create_time: datetime
    join_url: str | None = None

    def listed(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "status": self.status,
            "create_time": _iso_z(self.create_time),
        }
        if self.join_url:
            body["join_url"] = self.join_url
        return body


@dataclass
class _Meeting:
    id: int
    uuid: str
    host_id: str
    body: dict[str, Any]
    start: datetime
    created_at: datetime
    registrants: list[_Registrant] = field(default_factory=list)
    participants: list[dict[str, Any]] = field(default_factory=list)
    """Rows of the participants report: who joined, as a test records it with ``record_participant``."""

    @property
    def settings(self) -> dict[str, Any]:
        value = self.body.setdefault("settings", {})
        assert isinstance(value, dict)
        return value

    def view(self, *, listing: bool = False) -> dict[str, Any]:
        mid = str(self.id)
        view: dict[str, Any] = {
            "uuid": self.uuid,
            "id": self.id,
            "host_id": self.host_id,
            "topic": self.body.get("topic", "Zoom Meeting"),
            "type": self.body.get("type", 2),
            "start_time": _iso_z(self.start),
            "duration": self.body.get("duration", 60),
            "timezone": self.body.get("timezone", "UTC"),
            "agenda": self.body.get("agenda", ""),
            "created_at": _iso_z(self.created_at),
            "join_url": f"https://zoom.us/j/{mid}?pwd=sim{mid[-6:]}",
        }
        if listing:
            return view
        view.update(
            {
                "start_url": f"https://zoom.us/s/{mid}?zak=sim-start",
                "password": f"p{mid[-6:]}",
                "settings": dict(self.settings),
                "pre_schedule": False,
            }
        )
        if self.settings.get("approval_type") in (0, 1):
            view["registration_url"] = f"https://zoom.us/meeting/register/sim{mid}"
        return view


class ZoomSimulator(RoutedSimulator):
    """The Zoom API for one account with one licensed host.

    Args:
        account_id: The account of the Server-to-Server OAuth app.
        client_id: The app's client id.
        client_secret: The app's client secret.
        host_email: The host's email (``userId`` may be ``"me"``, the host's id or this email).
        host_type: The host's user ``type`` (1 Basic, 2 Licensed): registration needs a licensed host.
        default_timezone: The host's zone, used for a wall-time ``start_time`` sent without ``timezone``.
        daily_meeting_limit: Meeting create/update calls allowed per host per UTC day.
        max_registrants: Registrants a meeting takes before answering 3043.
        registration_repeat_limit: Registrations of one email a meeting accepts (the first included) before
            answering code 3000.
        daily_limit_headers: Headers of the daily-limit 429: ``"reported"`` (the account's category, limit and
            remaining only, as Zoom was seen answering) or ``"documented"`` (``X-RateLimit-Type: Daily-limit`` and
            a ``Retry-After`` date, as the rate-limit page shows).
        single_token: Whether minting a token revokes the app's earlier ones.
        clock: The simulator's clock (injected by tests).
    """

    path_prefixes = ("/v2",)

    def __init__(
        self,
        *,
        account_id: str = "sim-account",
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",  # noqa: S107 - a fictional account's fixed credentials
        host_email: str = "host@example.com",
        host_type: int = 2,
        default_timezone: str = "America/Los_Angeles",
        daily_meeting_limit: int = 100,
        max_registrants: int = 4999,
        registration_repeat_limit: int = 3,
        daily_limit_headers: Literal["reported", "documented"] = "reported",
        single_token: bool = True,
        clock: SimClock | None = None,
    ) -> None:
        super().__init__(clock)
        self.account_id = account_id
        self.client_id = client_id
        self.host_email = host_email.lower()
        self.host_id = "sim-host-" + base64.b32encode(self.host_email.encode()).decode("ascii")[:10].lower()
        self.host_type = host_type
        self.default_timezone = default_timezone
        self.max_registrants = max_registrants
        self.registration_repeat_limit = registration_repeat_limit
        self.daily_limit_headers = daily_limit_headers
        self._registrations: Counter[tuple[int, str]] = Counter()  # (meeting, email) -> registrations accepted
        self.tokens = TokenEndpoint(
            self.clock, clients={client_id: client_secret}, lifetime=_TOKEN_LIFETIME, single_token=single_token,
            mint=lambda n: "sim-" + secrets.token_urlsafe(24),
        )
        # Zoom counts meeting create/update calls per host per UTC day (a quota, answered with its own 429).
        self.daily = CallLimit(daily_meeting_limit, 86_400, clock=self.clock, refuse=self._daily_limit, kind="quota")
        self.meetings: dict[int, _Meeting] = {}
        self.deleted: set[int] = set()
        self.emails: list[SentEmail] = []
        self.pages = PageCodec()
        self._ids = itertools.count(_FIRST_MEETING_ID, 7919)
        self._registrant_ids = itertools.count(1)
        self._request_ids = itertools.count(1)

    # -- helpers for tests -------------------------------------------------------------------------------

    @property
    def daily_meeting_limit(self) -> int:
        """Meeting create/update calls allowed per host per UTC day."""
        return self.daily.calls

    @daily_meeting_limit.setter
    def daily_meeting_limit(self, calls: int) -> None:
        self.daily.calls = calls

    @property
    def tokens_minted(self) -> int:
        """Access tokens issued so far."""
        return self.tokens.issued

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (the next call with one answers 401 code 124)."""
        with self.lock:
            self.tokens.expire()

    def rotate_client_secret(self, new_secret: str = "rotated-secret") -> None:  # noqa: S107
        """Change the app's secret: the adapter's credentials stop working and its tokens are revoked."""
        with self.lock:
            self.tokens.rotate_secret(self.client_id, new_secret)

    def meeting_count(self) -> int:
        """Meetings that exist (deleted ones excluded)."""
        with self.lock:
            return len(self.meetings)

    def meeting(self, meeting_id: str | int) -> dict[str, Any]:
        """A meeting as ``GET /meetings/{id}`` answers it."""
        with self.lock:
            return self.meetings[int(meeting_id)].view()

    def registrants(self, meeting_id: str | int) -> list[dict[str, Any]]:
        """Every registrant of a meeting, cancelled and denied ones included, in order of registration."""
        with self.lock:
            return [r.listed() for r in self.meetings[int(meeting_id)].registrants]

    def daily_count(self) -> int:
        """Meeting create/update calls counted today for the host."""
        with self.lock:
            return self.daily.state(self.host_id).used

    # -- Zoom's shapes -----------------------------------------------------------------------------------

    def error_response(self, refusal: Refusal) -> SandboxResponse:
        """Zoom's error body: ``{"code": <int>, "message": ..., "errors"?: [...]}``."""
        return SandboxResponse(refusal.status, {"code": refusal.code, "message": refusal.message, **refusal.details})

    def authenticate(self, request: SandboxRequest) -> None:
        """A live access token the app minted (401 code 124 otherwise)."""
        if self.tokens.bearer(request) is None:
            _, _, value = request.headers.get("authorization", "").partition(" ")
            expired = self.tokens.is_expired(value.strip())
            raise Refusal(401, "Access token is expired." if expired else "Invalid access token.", 124)

    def no_route(self, request: SandboxRequest) -> Refusal:
        """Zoom's answer to an unknown path."""
        return Refusal(404, "Invalid api. Please check the request URL.", 404)

    def throttled(self, state: LimitState) -> Refusal:
        """Zoom's per-second limit: 429 with ``X-RateLimit-Type: QPS`` and no ``Retry-After`` (none is documented)."""
        return Refusal(429, "You have reached the maximum per-second rate limit for this API. Try again later.", 429,
                       headers={"X-RateLimit-Category": "Light", "X-RateLimit-Type": "QPS",
                                "X-RateLimit-Limit": str(state.limit), "X-RateLimit-Remaining": "0"})

    def finish(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        """Every answer carries Zoom's tracking id."""
        response.headers.setdefault("x-zm-trackingid", f"v=2.0;clid=sim;rid={next(self._request_ids)}")
        return response

    # -- OAuth -------------------------------------------------------------------------------------------

    @route("POST", "/oauth/token", auth=False)
    def _token(self, request: SandboxRequest) -> SandboxResponse:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
            self.tokens.check_client(client_id, secret) if scheme == "Basic" else self.tokens.check_client("", "")
        except (GrantRefused, ValueError):
            return SandboxResponse(400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
        if request.query_one("grant_type") != "account_credentials":
            return SandboxResponse(400, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"})
        if request.query_one("account_id") != self.account_id:
            return SandboxResponse(400, {"reason": "Invalid account_id", "error": "invalid_request"})
        token = self.tokens.issue(client_id, principal=self.account_id, scope="meeting:read:admin meeting:write:admin")
        answer = self.tokens.answer(token, api_url="https://api.zoom.us")
        return SandboxResponse(200, {**answer, "token_type": "bearer"})

    # -- users and limits --------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock.now()

    def _user(self, user: str) -> str:
        if user.lower() not in ("me", self.host_id, self.host_email):
            raise Refusal(404, f"User does not exist: {user}.", 1001)
        return self.host_id

    def _daily_limit(self, state: LimitState) -> Refusal:
        if self.daily_limit_headers == "documented":
            headers = {**self._limit_headers(state), "Retry-After": _iso_z(state.resets_at)}
        else:
            # What Zoom was seen answering (developer forum, thread 18928): headers of the account's Light bucket
            # (not modelled here, so only its category), no type, no Retry-After; only the message says that the
            # host's daily limit was hit.
            headers = {"X-RateLimit-Category": "Light"}
        return Refusal(
            429,
            f"You have exceeded the daily rate limit ({state.limit}) of Meeting Create/Update API requests permitted "
            "for this particular user. You may resume these requests at GMT 00:00:00.",
            429,
            headers=headers,
        )

    @staticmethod
    def _limit_headers(state: LimitState) -> dict[str, str]:
        return {"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "Daily-limit",
                "X-RateLimit-Limit": str(state.limit), "X-RateLimit-Remaining": str(state.remaining)}

    def _count_daily(self, host_id: str) -> dict[str, str]:
        """Count one meeting create/update; the 429 when the day's allowance is spent."""
        return self._limit_headers(self.daily.take(host_id))

    # -- meetings ----------------------------------------------------------------------------------------

    def _find(self, mid: str) -> _Meeting:
        meeting = self.meetings.get(int(mid)) if mid.isdigit() else None
        if meeting is None:
            raise Refusal(404, f"Meeting does not exist: {mid}.", 3001)
        return meeting

    def _validate_meeting(self, body: Any, *, partial: bool) -> tuple[dict[str, Any], datetime | None]:
        if not isinstance(body, dict):
            raise _invalid("Request Body should be a valid JSON object.")
        errors: list[dict[str, str]] = []
        topic = body.get("topic")
        if topic is not None and (not isinstance(topic, str) or len(topic) > 200):
            errors.append({"field": "topic", "message": "Topic is a string of at most 200 characters."})
        if "type" in body and body["type"] not in _MEETING_TYPES:
            errors.append({"field": "type", "message": "Invalid meeting type."})
        duration = body.get("duration")
        if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool) or duration < 0):
            errors.append({"field": "duration", "message": "Duration must be a whole number of minutes."})
        timezone = body.get("timezone")
        if timezone is not None:
            try:
                ZoneInfo(str(timezone))
            except (ZoneInfoNotFoundError, ValueError):
                errors.append({"field": "timezone", "message": f"Invalid timezone: {timezone}."})
                timezone = None
        start: datetime | None = None
        if body.get("start_time") is not None:
            try:
                parsed = datetime.fromisoformat(str(body["start_time"]).replace("Z", "+00:00"))
            except ValueError:
                errors.append({"field": "start_time", "message": "Invalid start_time."})
            else:
                # Zoom's rule: with Z (or an offset) it is an instant; without, a wall time in `timezone`.
                zone = ZoneInfo(str(timezone or self.default_timezone))
                start = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)
        elif not partial:
            start = self._now()
        settings = body.get("settings", {})
        if not isinstance(settings, dict):
            errors.append({"field": "settings", "message": "Settings must be an object."})
            settings = {}
        if "approval_type" in settings and settings["approval_type"] not in (0, 1, 2):
            errors.append({"field": "settings.approval_type", "message": "Invalid approval_type."})
        if "auto_recording" in settings and settings["auto_recording"] not in _AUTO_RECORDING:
            errors.append({"field": "settings.auto_recording", "message": "Invalid auto_recording."})
        if errors:
            raise Refusal(400, "Validation Failed.", 300, errors=errors)
        return body, start

    @route("GET", "/users/{user}")
    def _get_user(self, request: SandboxRequest, user: str) -> SandboxResponse:
        """The host's user object (``type`` 1 Basic, 2 Licensed)."""
        host = self._user(user)
        return SandboxResponse(200, {
            "id": host, "first_name": "Sim", "last_name": "Host", "display_name": "Sim Host",
            "email": self.host_email, "type": self.host_type, "role_name": "Owner", "status": "active",
            "timezone": self.default_timezone, "verified": 1, "account_id": self.account_id,
        })

    @route("GET", "/users/{user}/meetings")
    def _list_meetings(self, request: SandboxRequest, user: str) -> SandboxResponse:
        host = self._user(user)
        kind = request.query_one("type", "live") or "live"
        if kind not in _LIST_TYPES:
            raise _invalid(f"Invalid field: type={kind}.")
        now = self._now()
        meetings = sorted(self.meetings.values(), key=lambda m: (m.start, m.id))

        def ended(meeting: _Meeting) -> bool:
            return meeting.start + timedelta(minutes=int(meeting.body.get("duration", 60))) < now

        if kind in ("upcoming", "upcoming_meetings"):
            chosen = [m for m in meetings if not ended(m)]
        elif kind == "previous_meetings":
            chosen = [m for m in meetings if ended(m)]
        elif kind == "scheduled":
            chosen = meetings
        else:  # live: no meeting of the simulator is ever in progress
            chosen = []
        return self._page(request, f"meetings:{host}:{kind}", [m.view(listing=True) for m in chosen], "meetings")

    @route("POST", "/users/{user}/meetings")
    def _create_meeting(self, request: SandboxRequest, user: str) -> SandboxResponse:
        host = self._user(user)
        body, start = self._validate_meeting(request.json(), partial=False)
        limit = self._count_daily(host)
        mid = next(self._ids)
        settings = {**_DEFAULT_SETTINGS, **body.get("settings", {})}
        stored = {**body, "settings": settings}
        stored.setdefault("type", 2)
        stored.setdefault("timezone", self.default_timezone)
        meeting = _Meeting(
            id=mid,
            uuid=base64.b64encode(mid.to_bytes(16, "big")).decode("ascii"),
            host_id=host,
            body=stored,
            start=start or self._now(),
            created_at=self._now(),
        )
        self.meetings[mid] = meeting
        return SandboxResponse(
            201, meeting.view(), headers={**limit, "Content-Location": f"https://api.zoom.us/v2/meetings/{mid}"}
        )

    @route("GET", "/meetings/{mid}")
    def _get_meeting(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        return SandboxResponse(200, self._find(mid).view())

    @route("PATCH", "/meetings/{mid}")
    def _update_meeting(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        body, start = self._validate_meeting(request.json(), partial=True)
        limit = self._count_daily(meeting.host_id)
        settings = {**meeting.settings, **body.get("settings", {})}
        meeting.body.update({k: v for k, v in body.items() if k != "settings"})
        meeting.body["settings"] = settings
        if start is not None:
            meeting.start = start
        return SandboxResponse(204, None, headers=limit)

    @route("DELETE", "/meetings/{mid}")
    def _delete_meeting(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        if request.query_one("cancel_meeting_reminder") == "true":
            for registrant in meeting.registrants:
                if registrant.status in ("approved", "pending"):
                    self.emails.append(SentEmail("meeting_cancelled", registrant.email, mid))
        del self.meetings[meeting.id]
        self.deleted.add(meeting.id)
        return SandboxResponse(204, None)

    # -- registrants -------------------------------------------------------------------------------------

    @route("GET", "/meetings/{mid}/registrants")
    def _list_registrants(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        status = request.query_one("status", "approved")
        if status not in ("pending", "approved", "denied"):
            raise _invalid(f"Invalid field: status={status}.")
        chosen = [r.listed() for r in meeting.registrants if r.status == status]
        return self._page(request, f"registrants:{mid}:{status}", chosen, "registrants")

    @route("POST", "/meetings/{mid}/registrants")
    def _add_registrant(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        body = request.json()
        self._refuse_registration(meeting, [body])
        registrant = self._register(meeting, body, auto_approve=body.get("auto_approve") is True)
        answer: dict[str, Any] = {
            "id": meeting.id,
            "registrant_id": registrant.id,
            "topic": meeting.body.get("topic", ""),
            "start_time": _iso_z(meeting.start),
            "occurrences": [],
        }
        if registrant.join_url:  # omitted while the registrant is pending (manual approval)
            answer["join_url"] = registrant.join_url
        return SandboxResponse(201, answer)

    @route("POST", "/meetings/{mid}/batch_registrants")
    def _batch_registrants(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        body = request.json()
        wanted = body.get("registrants") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(wanted, list) or not wanted:
            raise _invalid("Validation Failed.", "registrants")
        if len(wanted) > _MAX_BATCH_REGISTRANTS:
            raise _invalid(f"You can only add up to {_MAX_BATCH_REGISTRANTS} registrants at once.")
        if meeting.body.get("type", 2) != 2:
            raise _invalid("Batch registration is only available for scheduled meetings.")
        self._refuse_registration(meeting, wanted)
        auto_approve = body.get("auto_approve") is True
        answers: list[dict[str, Any]] = []
        for item in wanted:
            registrant = self._register(meeting, item, auto_approve=auto_approve)
            answer: dict[str, Any] = {"registrant_id": registrant.id, "email": registrant.email}
            if registrant.join_url:
                answer["join_url"] = registrant.join_url
            answers.append(answer)
        return SandboxResponse(201, {"registrants": answers})

    def _refuse_registration(self, meeting: _Meeting, bodies: list[Any]) -> None:
        """Raise Zoom's refusal of these registrations, checked for all of them before any is added."""
        for body in bodies:
            if not isinstance(body, dict) or not body.get("email") or not body.get("first_name"):
                raise _invalid("Validation Failed.", "email")
        if meeting.settings.get("approval_type", 2) == 2:
            raise Refusal(400, f"Registration has not been enabled for this meeting: {meeting.id}.", 3000)
        emails = {str(body["email"]).lower() for body in bodies}
        if self.host_email in emails:
            raise Refusal(400, "Host cannot register.", 3027)
        active = {r.email for r in meeting.registrants if r.status in ("approved", "pending")}
        if len(active | emails) > self.max_registrants:
            raise Refusal(400, "Meeting has reached maximum attendee capacity.", 3043)
        if any(self._registrations[(meeting.id, email)] >= self.registration_repeat_limit for email in emails):
            raise Refusal(400, _REPEAT_LIMIT_MESSAGE, 3000)

    def _register(self, meeting: _Meeting, body: dict[str, Any], *, auto_approve: bool) -> _Registrant:
        """Add one registrant, or answer the active registration of that email (Zoom does not register twice)."""
        email = str(body["email"]).lower()
        self._registrations[(meeting.id, email)] += 1
        existing = next(
            (r for r in meeting.registrants if r.email == email and r.status in ("approved", "pending")), None
        )
        if existing is not None:
            return existing
        approval = meeting.settings.get("approval_type", 2)
        approved = approval == 0 or (approval == 1 and auto_approve)
        registrant = _Registrant(
            id=f"sim-reg-{next(self._registrant_ids):06d}",
            email=email,
            first_name=str(body["first_name"]),
            last_name=str(body.get("last_name", "")),
            status="approved" if approved else "pending",
            create_time=self._now(),
        )
        if approved:
            registrant.join_url = self._registrant_join_url(meeting, registrant)
        meeting.registrants.append(registrant)
        if meeting.settings.get("registrants_email_notification", True):
            self.emails.append(SentEmail(f"registration_{registrant.status}", email, str(meeting.id)))
        return registrant

    @route("PUT", "/meetings/{mid}/registrants/status")
    def _registrant_status(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        body = request.json()
        action = body.get("action") if isinstance(body, dict) else None
        wanted = body.get("registrants", []) if isinstance(body, dict) else []
        if action not in ("approve", "cancel", "deny") or not isinstance(wanted, list):
            raise _invalid("Validation Failed.", "action", "Invalid action.")
        if len(wanted) > _MAX_STATUS_BATCH:
            raise _invalid(f"You can only update the status of up to {_MAX_STATUS_BATCH} registrants at once.")
        by_id = {r.id: r for r in meeting.registrants if r.status != "cancelled"}
        by_email = {r.email: r for r in meeting.registrants if r.status != "cancelled"}
        for item in wanted:
            if not isinstance(item, dict):
                continue
            registrant = by_id.get(str(item.get("id", ""))) or by_email.get(str(item.get("email", "")).lower())
            if registrant is None:
                continue  # Zoom ignores registrants it does not know
            if action == "approve" and registrant.status != "approved":
                registrant.status = "approved"
                registrant.join_url = self._registrant_join_url(meeting, registrant)
            elif action == "cancel":
                registrant.status = "cancelled"
                registrant.join_url = None
            elif action == "deny":
                registrant.status = "denied"
                registrant.join_url = None
            if meeting.settings.get("registrants_email_notification", True):
                self.emails.append(SentEmail(f"registration_{registrant.status}", registrant.email, mid))
        return SandboxResponse(204, None)

    @staticmethod
    def _registrant_join_url(meeting: _Meeting, registrant: _Registrant) -> str:
        return f"https://zoom.us/w/{meeting.id}?tk=sim-{registrant.id}"

    # -- reports -----------------------------------------------------------------------------------------

    def record_participant(
        self, meeting_id: int | str, email: str, joined: datetime, left: datetime | None = None, *, name: str = ""
    ) -> None:
        """Someone joined the meeting (what a test makes happen): a row of its participants report."""
        meeting = self._find(str(meeting_id))
        meeting.participants.append({
            "id": f"sim-participant-{len(meeting.participants) + 1}",
            "user_id": str(16778240 + len(meeting.participants)),
            "name": name or email.split("@")[0],
            "user_email": email,
            "join_time": _iso_z(joined),
            "leave_time": _iso_z(left) if left is not None else "",
            "duration": int((left - joined).total_seconds()) if left is not None else 0,
        })

    @route("GET", "/report/meetings/{mid}/participants")
    def _participants_report(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        return self._page(request, f"participants:{mid}", list(meeting.participants), "participants")

    # -- pagination --------------------------------------------------------------------------------------

    def _page(self, request: SandboxRequest, scope: str, items: list[dict[str, Any]], key: str) -> SandboxResponse:
        try:
            size = min(_MAX_PAGE_SIZE, max(1, int(request.query_one("page_size", "30") or "30")))
        except ValueError:
            raise _invalid("Invalid field: page_size.") from None
        try:
            offset = self.pages.decode(request.query_one("next_page_token"), scope)
        except PageTokenError:
            raise _invalid("The next page token is invalid or expired.") from None
        chunk, next_token = self.pages.page(items, offset, size, scope)
        return SandboxResponse(200, {"page_count": (len(items) + size - 1) // size, "page_size": size,
                                     "total_records": len(items), "next_page_token": next_token or "", key: chunk})
