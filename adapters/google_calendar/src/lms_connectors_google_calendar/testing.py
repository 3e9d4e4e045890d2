"""Contract-kit harness of the Google Calendar adapter (used by the package's ``tests/test_contract.py``).

Recording against the sandbox serves :class:`~lms_connectors_google_calendar.sandbox.GoogleCalendarSimulator`
on loopback: the Calendar API under ``/calendar/v3``, the Directory under ``/admin/directory/v1`` and the
OAuth token endpoint at ``/token``; :attr:`GoogleCalendarHarness.canonical_hosts` maps each back to Google's
real host in the cassettes. Replay builds the adapter on Google's real URLs with placeholder credentials.

Re-recording against a live Google Workspace tenant reads its credentials from the environment, see
:meth:`GoogleCalendarHarness.live_adapter`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from lms_connectors.errors import ConfigurationError
from lms_connectors.http.auth import RefreshTokenAuth
from lms_connectors.models import Session, TimeSlot
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter
from lms_connectors_google_calendar.config import (
    CALENDAR_BASE_URL,
    DIRECTORY_BASE_URL,
    TOKEN_URI,
    GoogleCalendarConfig,
)
from lms_connectors_google_calendar.sandbox import GoogleCalendarSimulator, SimulatedRoom

__all__ = ["GoogleCalendarHarness"]

PLACEHOLDER_CLIENT_ID = "lmsc-placeholder.apps.googleusercontent.com"
PLACEHOLDER_CLIENT_SECRET = "placeholder-client-secret"  # noqa: S105 - a placeholder, never a real secret
PLACEHOLDER_REFRESH_TOKEN = "placeholder-refresh-token"  # noqa: S105 - a placeholder, never a real secret
REVOKED_REFRESH_TOKEN = "revoked-refresh-token"  # noqa: S105 - a placeholder the token endpoint refuses
STALE_ACCESS_TOKEN = "ya29.stale-access-token"  # noqa: S105 - an access token the API no longer accepts
SANDBOX_ORGANIZER = "training-desk@example.com"

RATE_LIMIT_BODY = {
    "error": {
        "code": 403,
        "message": "Rate Limit Exceeded",
        "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}],
    }
}
"""Google's throttling answer: a 403 with reason ``rateLimitExceeded`` (and, usually, no Retry-After)."""


ORGANIZER_MEETINGS: tuple[tuple[str, str], ...] = tuple(
    (f"{day}T{hour}:00:00-0{offset}:00", f"{day}T{hour}:30:00-0{offset}:00")
    for day, offset in (("2027-02-10", 5), ("2027-04-06", 4))
    for hour in (13, 15, 17)
)
"""The organizer's own meetings (no SDK marker) on the days the contract's sessions start: listings look at
them and leave them out."""

_Sandbox = SandboxServer[GoogleCalendarSimulator] | None


class GoogleCalendarHarness(ContractHarness[GoogleCalendarAdapter, GoogleCalendarSimulator]):
    """How the contract kit builds, records and breaks the Google Calendar adapter."""

    canonical_hosts: ClassVar[dict[str, str]] = {
        "/calendar/v3": CALENDAR_BASE_URL,
        "/admin/directory/v1": DIRECTORY_BASE_URL,
        "/token": TOKEN_URI,
    }
    keeps: ClassVar[frozenset[str]] = frozenset({"timezone", "location", "capacity"})
    missing_external_id: ClassVar[str] = "contractmissing0"  # a well-formed base32hex id that names no event

    page_scan: ClassVar[int] = 2
    """Events one ``events.list`` page of the contract simulator looks at: short and empty pages, as Google's."""

    def make_simulator(self) -> GoogleCalendarSimulator:
        """A fresh Calendar simulator that knows the placeholder OAuth client and refresh token."""
        return GoogleCalendarSimulator(
            organizer=SANDBOX_ORGANIZER,
            clients={PLACEHOLDER_CLIENT_ID: PLACEHOLDER_CLIENT_SECRET},
            refresh_tokens={PLACEHOLDER_REFRESH_TOKEN: PLACEHOLDER_CLIENT_ID},
            rooms=[
                SimulatedRoom("room-101", "Room 101", "c_room101@resource.calendar.google.com", capacity=12,
                              features=("Projector", "Whiteboard")),
                SimulatedRoom("room-102", "Room 102", "c_room102@resource.calendar.google.com", capacity=6,
                              features=("Whiteboard",)),
            ],
        )

    def contract_simulator(self) -> GoogleCalendarSimulator:
        """The simulator of contract recordings: Google's incomplete pages, and the organizer's own meetings.

        A page looks at :attr:`page_scan` events and the organizer's calendar holds meetings of its own beside the
        contract's sessions, so that listings meet short and empty pages that still carry a ``nextPageToken``.
        """
        simulator = self.make_simulator()
        simulator.page_scan = self.page_scan
        for start, end in ORGANIZER_MEETINGS:
            simulator.put_event("primary", {
                "summary": "Training desk stand-up",
                "start": {"dateTime": start, "timeZone": "America/New_York"},
                "end": {"dateTime": end, "timeZone": "America/New_York"},
            })
        return simulator

    def adapter_settings(self, base_url: str) -> dict[str, Any]:
        """Google's three hosts (on the sandbox: one loopback origin), with the placeholder OAuth client."""
        return {
            "base_url": self.provider_url(CALENDAR_BASE_URL, base_url),
            "directory_base_url": self.provider_url(DIRECTORY_BASE_URL, base_url),
            "token_uri": self.provider_url(TOKEN_URI, base_url),
            "client_id": PLACEHOLDER_CLIENT_ID,
            "client_secret": PLACEHOLDER_CLIENT_SECRET,
            "refresh_token": PLACEHOLDER_REFRESH_TOKEN,
        }

    def live_adapter(self, *, sleep: Callable[[float], None]) -> GoogleCalendarAdapter:
        """The adapter on a live Google account, from environment variables.

        OAuth refresh token: ``LMSC_GOOGLE_CLIENT_ID``, ``LMSC_GOOGLE_CLIENT_SECRET``, ``LMSC_GOOGLE_REFRESH_TOKEN``.
        Or a service account with domain-wide delegation: ``LMSC_GOOGLE_SERVICE_ACCOUNT_FILE`` (key JSON) and
        ``LMSC_GOOGLE_SUBJECT`` (the organizer it acts as). ``LMSC_GOOGLE_CALENDAR_ID`` defaults to ``primary``
        (keep it so: cassettes replay against ``primary``).

        Raises:
            ConfigurationError: Neither set of variables is complete.
        """
        env = os.environ
        values: dict[str, Any] = {"calendar_id": env.get("LMSC_GOOGLE_CALENDAR_ID", "primary")}
        if env.get("LMSC_GOOGLE_SERVICE_ACCOUNT_FILE") and env.get("LMSC_GOOGLE_SUBJECT"):
            values["service_account_file"] = env["LMSC_GOOGLE_SERVICE_ACCOUNT_FILE"]
            values["subject"] = env["LMSC_GOOGLE_SUBJECT"]
        elif all(env.get(f"LMSC_GOOGLE_{name}") for name in ("CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN")):
            values["client_id"] = env["LMSC_GOOGLE_CLIENT_ID"]
            values["client_secret"] = env["LMSC_GOOGLE_CLIENT_SECRET"]
            values["refresh_token"] = env["LMSC_GOOGLE_REFRESH_TOKEN"]
        else:
            raise ConfigurationError(
                "live recording needs LMSC_GOOGLE_CLIENT_ID, LMSC_GOOGLE_CLIENT_SECRET and LMSC_GOOGLE_REFRESH_TOKEN, "
                "or LMSC_GOOGLE_SERVICE_ACCOUNT_FILE and LMSC_GOOGLE_SUBJECT",
                provider=self.adapter_name,
            )
        return GoogleCalendarAdapter(GoogleCalendarConfig.model_validate(values), sleep=sleep)

    def secret_values(self) -> list[str]:
        """The placeholder credentials; recorded cassettes are proven free of them."""
        return [PLACEHOLDER_CLIENT_SECRET, PLACEHOLDER_REFRESH_TOKEN, REVOKED_REFRESH_TOKEN, STALE_ACCESS_TOKEN]

    def throttle_fault(self) -> Fault:
        """Google's throttling answer: 403 ``rateLimitExceeded`` without Retry-After (the transport backs off)."""
        return Fault.throttle(status=403, retry_after=None, body=json.loads(json.dumps(RATE_LIMIT_BODY)))

    def expire_auth(self, adapter: GoogleCalendarAdapter, sandbox: _Sandbox) -> None:
        """Send a stale access token next: the API answers 401 and the adapter refreshes once.

        This works the same against the sandbox, on replay and against Google itself (which cannot be told to
        expire a token), so the recorded 401 is the provider's own answer to a token it does not accept.
        """
        adapter.auth.invalidate(STALE_ACCESS_TOKEN)

    def break_auth(self, adapter: GoogleCalendarAdapter, sandbox: _Sandbox) -> None:
        """Swap in a revoked refresh token and a stale access token: 401, then ``invalid_grant`` on refresh."""
        if not isinstance(adapter.auth, RefreshTokenAuth):
            raise TypeError("break_auth needs the refresh-token flow")
        adapter.auth.use_refresh_token(REVOKED_REFRESH_TOKEN)
        adapter.auth.invalidate(STALE_ACCESS_TOKEN)

    def provoke_invalid_request(self, adapter: GoogleCalendarAdapter, sandbox: _Sandbox) -> None:
        """List events ordered by start time without expanding recurrences: Google answers 400.

        Its message is "The requested ordering is not available for the particular query.". The SDK's own
        window checks refuse an inverted free/busy window before any call, so the provider is asked something
        only it can refuse.
        """
        calendar = quote(adapter.config.calendar_id, safe="")
        adapter.transport.request_json("GET", f"calendars/{calendar}/events", params={"orderBy": "startTime"})

    def provoke_conflict(self, adapter: GoogleCalendarAdapter, sandbox: _Sandbox) -> None:
        """Create, cancel, and create again under the same key: Google never reuses a deleted event's id (409)."""
        start = datetime(2027, 5, 4, 10, 0, tzinfo=ZoneInfo("America/New_York"))
        session = Session(
            id="contract-typed-errors-conflict",
            title="Contract typed errors conflict",
            slot=TimeSlot(start=start, end=start + timedelta(hours=1), timezone="America/New_York"),
        )
        key = f"{session.id}.{self.adapter_name}.g1"
        ref = adapter.create_session(session, key=key)
        adapter.cancel_session(ref, notify=False)
        adapter.create_session(session, key=key)
