"""A simulator of the Zoom API (meetings, registrants, Server-to-Server OAuth) for tests and the demo.

It answers with Zoom's status codes and error bodies (``{"code": 3001, "message": "Meeting does not exist:
..."}``) and keeps Zoom's behaviours that matter to a client:

* ``POST /oauth/token?grant_type=account_credentials&account_id=...`` with HTTP Basic; tokens live 3600 s.
  Minting a token revokes the app's previous ones (``single_token=True``), as the workers of one app
  experience it when each mints its own; an unknown, revoked or expired token answers 401 code 124.
* Meetings: create (201, int64 id above 2**32, ``start_time`` answered in UTC), read, update (204), delete
  (204; ``cancel_meeting_reminder`` sends the registrants an email, recorded in :attr:`ZoomSimulator.emails`),
  listing with ``page_size`` (max 300) and ``next_page_token``.
* A per-host daily limit (100 by default) on meeting create/update: the next one answers 429 with the
  "daily rate limit" message, ``X-RateLimit-Type: Daily-limit`` and ``Retry-After`` = the next 00:00 UTC.
* Registrants with approval: ``approval_type`` 0 approves at once, 1 keeps registrants ``pending`` (no
  ``join_url`` in the add answer) unless ``auto_approve``; 2 refuses registration. Status changes (approve,
  cancel, deny) take at most 30 registrants per call, and so does batch registration
  (``POST /meetings/{id}/batch_registrants``, scheduled meetings only), which checks every registrant before it
  adds any and answers each one's ``registrant_id`` and (when approved) ``join_url``. A meeting takes
  ``max_registrants`` (4,999 on Zoom); the next registration answers code 3043. The host cannot register (3027).

Serve it with :class:`lms_connectors.testing.sandbox.SandboxServer`; paths work with or without ``/v2``.
The server serialises requests through :attr:`Simulator.lock`; the inspection helpers take the same lock.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lms_connectors.models import utc_now
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, Simulator

__all__ = ["SentEmail", "ZoomSimulator"]

_FIRST_MEETING_ID = 85_012_345_678  # 11 digits: above 2**32, as real meeting ids are
_TOKEN_LIFETIME = 3600
_MAX_PAGE_SIZE = 300
_MAX_STATUS_BATCH = 30
_MAX_BATCH_REGISTRANTS = 30
_MEETING_TYPES = (1, 2, 3, 8)
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

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/oauth/token$"), "_token"),
    ("GET", re.compile(r"^/users/(?P<user>[^/]+)/meetings$"), "_list_meetings"),
    ("POST", re.compile(r"^/users/(?P<user>[^/]+)/meetings$"), "_create_meeting"),
    ("GET", re.compile(r"^/meetings/(?P<mid>[^/]+)$"), "_get_meeting"),
    ("PATCH", re.compile(r"^/meetings/(?P<mid>[^/]+)$"), "_update_meeting"),
    ("DELETE", re.compile(r"^/meetings/(?P<mid>[^/]+)$"), "_delete_meeting"),
    ("GET", re.compile(r"^/meetings/(?P<mid>[^/]+)/registrants$"), "_list_registrants"),
    ("POST", re.compile(r"^/meetings/(?P<mid>[^/]+)/registrants$"), "_add_registrant"),
    ("PUT", re.compile(r"^/meetings/(?P<mid>[^/]+)/registrants/status$"), "_registrant_status"),
    ("POST", re.compile(r"^/meetings/(?P<mid>[^/]+)/batch_registrants$"), "_batch_registrants"),
]


def _error(status: int, code: int, message: str, **extra: Any) -> SandboxResponse:
    return SandboxResponse(status, {"code": code, "message": message, **extra})


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SentEmail:
    """An email the simulated Zoom sent (so tests can check who was notified)."""

    kind: str
    to: str
    meeting_id: str


@dataclass
class _Page:
    scope: str
    offset: int


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


class ZoomSimulator(Simulator):
    """The Zoom API for one account with one licensed host.

    Args:
        account_id: The account of the Server-to-Server OAuth app.
        client_id: The app's client id.
        client_secret: The app's client secret.
        host_email: The host's email (``userId`` may be ``"me"``, the host's id or this email).
        default_timezone: The host's zone, used for a wall-time ``start_time`` sent without ``timezone``.
        daily_meeting_limit: Meeting create/update calls allowed per host per UTC day.
        max_registrants: Registrants a meeting takes before answering 3043.
        single_token: Whether minting a token revokes the app's earlier ones.
        now: The current time (injected by tests).
    """

    def __init__(
        self,
        *,
        account_id: str = "sim-account",
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",  # noqa: S107 - a fictional account's fixed credentials
        host_email: str = "host@example.com",
        default_timezone: str = "America/Los_Angeles",
        daily_meeting_limit: int = 100,
        max_registrants: int = 4999,
        single_token: bool = True,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        self.account_id = account_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.host_email = host_email.lower()
        self.host_id = "sim-host-" + base64.b32encode(self.host_email.encode()).decode("ascii")[:10].lower()
        self.default_timezone = default_timezone
        self.daily_meeting_limit = daily_meeting_limit
        self.max_registrants = max_registrants
        self.single_token = single_token
        self._now = now
        self.meetings: dict[int, _Meeting] = {}
        self.deleted: set[int] = set()
        self.tokens: dict[str, datetime] = {}
        self.tokens_minted = 0
        self.emails: list[SentEmail] = []
        self._daily: dict[tuple[str, str], int] = {}
        self._pages: dict[str, _Page] = {}
        self._ids = itertools.count(_FIRST_MEETING_ID, 7919)
        self._registrant_ids = itertools.count(1)
        self._request_ids = itertools.count(1)

    # -- helpers for tests -------------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (the next call with one answers 401 code 124)."""
        with self.lock:
            past = self._now() - timedelta(seconds=1)
            self.tokens = dict.fromkeys(self.tokens, past)

    def rotate_client_secret(self, new_secret: str = "rotated-secret") -> None:  # noqa: S107
        """Change the app's secret: the adapter's credentials stop working and its tokens are revoked."""
        with self.lock:
            self.client_secret = new_secret
            self.tokens.clear()

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
            return self._daily.get((self.host_id, self._now().date().isoformat()), 0)

    # -- dispatch ----------------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Route a request to its handler (after checking the bearer token, except for the token endpoint)."""
        path = request.path[3:] if request.path.startswith("/v2/") else request.path
        for method, pattern, name in _ROUTES:
            match = pattern.match(path)
            if match is None or method != request.method:
                continue
            if name != "_token":
                refused = self._check_token(request)
                if refused is not None:
                    return refused
            response: SandboxResponse = getattr(self, name)(request, **match.groupdict())
            response.headers.setdefault("x-zm-trackingid", f"v=2.0;clid=sim;rid={next(self._request_ids)}")
            return response
        return _error(404, 404, "Invalid api. Please check the request URL.")

    # -- OAuth -------------------------------------------------------------------------------------------

    def _token(self, request: SandboxRequest) -> SandboxResponse:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode("ascii")
        if request.headers.get("authorization", "") != f"Basic {expected}":
            return SandboxResponse(400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
        if request.query_one("grant_type") != "account_credentials":
            return SandboxResponse(400, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"})
        if request.query_one("account_id") != self.account_id:
            return SandboxResponse(400, {"reason": "Invalid account_id", "error": "invalid_request"})
        if self.single_token:
            self.tokens.clear()
        token = "sim-" + secrets.token_urlsafe(24)
        self.tokens[token] = self._now() + timedelta(seconds=_TOKEN_LIFETIME)
        self.tokens_minted += 1
        return SandboxResponse(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": _TOKEN_LIFETIME,
                "scope": "meeting:read:admin meeting:write:admin",
                "api_url": "https://api.zoom.us",
            },
        )

    def _check_token(self, request: SandboxRequest) -> SandboxResponse | None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        expires = self.tokens.get(token)
        if expires is None:
            return _error(401, 124, "Invalid access token.")
        if expires <= self._now():
            return _error(401, 124, "Access token is expired.")
        return None

    # -- users and limits --------------------------------------------------------------------------------

    def _user(self, user: str) -> str | None:
        return self.host_id if user.lower() in ("me", self.host_id, self.host_email) else None

    def _count_daily(self, host_id: str) -> SandboxResponse | dict[str, str]:
        """Count one meeting create/update; answer the 429 when the day's allowance is spent."""
        now = self._now()
        day = (host_id, now.date().isoformat())
        used = self._daily.get(day, 0)
        reset = (now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
        if used >= self.daily_meeting_limit:
            return SandboxResponse(
                429,
                {
                    "code": 429,
                    "message": f"You have exceeded the daily rate limit ({self.daily_meeting_limit}) of Meeting "
                    "Create/Update API requests permitted for this particular user. You may resume these requests "
                    "at GMT 00:00:00.",
                },
                headers={
                    "X-RateLimit-Category": "Medium",
                    "X-RateLimit-Type": "Daily-limit",
                    "X-RateLimit-Limit": str(self.daily_meeting_limit),
                    "X-RateLimit-Remaining": "0",
                    "Retry-After": _iso_z(reset),
                },
            )
        self._daily[day] = used + 1
        return {
            "X-RateLimit-Category": "Medium",
            "X-RateLimit-Type": "Daily-limit",
            "X-RateLimit-Limit": str(self.daily_meeting_limit),
            "X-RateLimit-Remaining": str(self.daily_meeting_limit - used - 1),
        }

    # -- meetings ----------------------------------------------------------------------------------------

    def _find(self, mid: str) -> _Meeting | SandboxResponse:
        meeting = self.meetings.get(int(mid)) if mid.isdigit() else None
        if meeting is None:
            return _error(404, 3001, f"Meeting does not exist: {mid}.")
        return meeting

    def _validate_meeting(
        self, body: Any, *, partial: bool
    ) -> tuple[dict[str, Any], datetime | None] | SandboxResponse:
        if not isinstance(body, dict):
            return _error(400, 300, "Request Body should be a valid JSON object.")
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
            return _error(400, 300, "Validation Failed.", errors=errors)
        return body, start

    def _list_meetings(self, request: SandboxRequest, user: str) -> SandboxResponse:
        host = self._user(user)
        if host is None:
            return _error(404, 1001, f"User does not exist: {user}.")
        kind = request.query_one("type", "live")
        now = self._now()
        meetings = sorted(self.meetings.values(), key=lambda m: (m.start, m.id))
        if kind == "upcoming":
            chosen = [m for m in meetings if m.start + timedelta(minutes=int(m.body.get("duration", 60))) >= now]
        elif kind == "scheduled":
            chosen = meetings
        elif kind == "live":
            chosen = []
        else:
            return _error(400, 300, f"Invalid field: type={kind}.")
        return self._page(request, f"meetings:{host}:{kind}", [m.view(listing=True) for m in chosen], "meetings")

    def _create_meeting(self, request: SandboxRequest, user: str) -> SandboxResponse:
        host = self._user(user)
        if host is None:
            return _error(404, 1001, f"User does not exist: {user}.")
        checked = self._validate_meeting(request.json(), partial=False)
        if isinstance(checked, SandboxResponse):
            return checked
        body, start = checked
        limit = self._count_daily(host)
        if isinstance(limit, SandboxResponse):
            return limit
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

    def _get_meeting(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        if isinstance(meeting, SandboxResponse):
            return meeting
        return SandboxResponse(200, meeting.view())

    def _update_meeting(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        if isinstance(meeting, SandboxResponse):
            return meeting
        checked = self._validate_meeting(request.json(), partial=True)
        if isinstance(checked, SandboxResponse):
            return checked
        body, start = checked
        limit = self._count_daily(meeting.host_id)
        if isinstance(limit, SandboxResponse):
            return limit
        settings = {**meeting.settings, **body.get("settings", {})}
        meeting.body.update({k: v for k, v in body.items() if k != "settings"})
        meeting.body["settings"] = settings
        if start is not None:
            meeting.start = start
        return SandboxResponse(204, None, headers=limit)

    def _delete_meeting(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        if isinstance(meeting, SandboxResponse):
            return meeting
        if request.query_one("cancel_meeting_reminder") == "true":
            for registrant in meeting.registrants:
                if registrant.status in ("approved", "pending"):
                    self.emails.append(SentEmail("meeting_cancelled", registrant.email, mid))
        del self.meetings[meeting.id]
        self.deleted.add(meeting.id)
        return SandboxResponse(204, None)

    # -- registrants -------------------------------------------------------------------------------------

    def _list_registrants(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        if isinstance(meeting, SandboxResponse):
            return meeting
        status = request.query_one("status", "approved")
        if status not in ("pending", "approved", "denied"):
            return _error(400, 300, f"Invalid field: status={status}.")
        chosen = [r.listed() for r in meeting.registrants if r.status == status]
        return self._page(request, f"registrants:{mid}:{status}", chosen, "registrants")

    def _add_registrant(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        if isinstance(meeting, SandboxResponse):
            return meeting
        body = request.json()
        refused = self._refuse_registration(meeting, [body])
        if refused is not None:
            return refused
        assert isinstance(body, dict)  # checked by _refuse_registration
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

    def _batch_registrants(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        if isinstance(meeting, SandboxResponse):
            return meeting
        body = request.json()
        wanted = body.get("registrants") if isinstance(body, dict) else None
        if not isinstance(wanted, list) or not wanted:
            return _error(400, 300, "Validation Failed.", errors=[{"field": "registrants", "message": "Required."}])
        if len(wanted) > _MAX_BATCH_REGISTRANTS:
            return _error(400, 300, f"You can only add up to {_MAX_BATCH_REGISTRANTS} registrants at once.")
        if meeting.body.get("type", 2) != 2:
            return _error(400, 300, "Batch registration is only available for scheduled meetings.")
        refused = self._refuse_registration(meeting, wanted)
        if refused is not None:
            return refused
        assert isinstance(body, dict)
        auto_approve = body.get("auto_approve") is True
        answers: list[dict[str, Any]] = []
        for item in wanted:
            registrant = self._register(meeting, item, auto_approve=auto_approve)
            answer: dict[str, Any] = {"registrant_id": registrant.id, "email": registrant.email}
            if registrant.join_url:
                answer["join_url"] = registrant.join_url
            answers.append(answer)
        return SandboxResponse(201, {"registrants": answers})

    def _refuse_registration(self, meeting: _Meeting, bodies: list[Any]) -> SandboxResponse | None:
        """Zoom's refusal of these registrations, checked for all of them before any is added; None if none."""
        for body in bodies:
            if not isinstance(body, dict) or not body.get("email") or not body.get("first_name"):
                return _error(400, 300, "Validation Failed.", errors=[{"field": "email", "message": "Required."}])
        if meeting.settings.get("approval_type", 2) == 2:
            return _error(400, 3000, f"Registration has not been enabled for this meeting: {meeting.id}.")
        emails = {str(body["email"]).lower() for body in bodies}
        if self.host_email in emails:
            return _error(400, 3027, "Host cannot register.")
        active = {r.email for r in meeting.registrants if r.status in ("approved", "pending")}
        if len(active | emails) > self.max_registrants:
            return _error(400, 3043, "Meeting has reached maximum attendee capacity.")
        return None

    def _register(self, meeting: _Meeting, body: dict[str, Any], *, auto_approve: bool) -> _Registrant:
        """Add one registrant, or answer the active registration of that email (Zoom does not register twice)."""
        email = str(body["email"]).lower()
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

    def _registrant_status(self, request: SandboxRequest, mid: str) -> SandboxResponse:
        meeting = self._find(mid)
        if isinstance(meeting, SandboxResponse):
            return meeting
        body = request.json()
        action = body.get("action") if isinstance(body, dict) else None
        wanted = body.get("registrants", []) if isinstance(body, dict) else []
        if action not in ("approve", "cancel", "deny") or not isinstance(wanted, list):
            return _error(400, 300, "Validation Failed.", errors=[{"field": "action", "message": "Invalid action."}])
        if len(wanted) > _MAX_STATUS_BATCH:
            return _error(400, 300, f"You can only update the status of up to {_MAX_STATUS_BATCH} registrants at once.")
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

    # -- pagination --------------------------------------------------------------------------------------

    def _page(self, request: SandboxRequest, scope: str, items: list[dict[str, Any]], key: str) -> SandboxResponse:
        try:
            size = min(_MAX_PAGE_SIZE, max(1, int(request.query_one("page_size", "30") or "30")))
        except ValueError:
            return _error(400, 300, "Invalid field: page_size.")
        offset = 0
        token = request.query_one("next_page_token")
        if token:
            page = self._pages.get(token)
            if page is None or page.scope != scope:
                return _error(400, 300, "The next page token is invalid or expired.")
            offset = page.offset
        chunk = items[offset : offset + size]
        next_token = ""
        if offset + size < len(items):
            next_token = secrets.token_urlsafe(24)
            self._pages[next_token] = _Page(scope=scope, offset=offset + size)
        return SandboxResponse(
            200,
            {
                "page_count": (len(items) + size - 1) // size,
                "page_size": size,
                "total_records": len(items),
                "next_page_token": next_token,
                key: chunk,
            },
        )
