"""``doctor`` for Google Calendar, against the simulator: credentials, calendar access, Meet links, rooms."""

from __future__ import annotations

from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter

from .conftest import config_for


def by_name(adapter: GoogleCalendarAdapter) -> dict[str, tuple[bool, str]]:
    return {check.name: (check.ok, check.detail) for check in adapter.diagnose()}


def test_a_working_configuration_passes_every_check(server: SandboxServer) -> None:
    with GoogleCalendarAdapter(config_for(server.url)) as adapter:
        checks = by_name(adapter)
    assert list(checks) == ["credentials", "calendar access", "Meet links", "rooms"]
    assert all(ok for ok, _ in checks.values()), checks
    assert "calendar.events" in checks["credentials"][1]  # the granted scopes are shown
    assert checks["calendar access"][1] == "calendar 'primary': owner"
    assert "Room 101" in checks["rooms"][1]


def test_a_revoked_refresh_token_stops_at_the_credentials_with_google_s_reason(server: SandboxServer) -> None:
    server.simulator.oauth.refresh_tokens.clear()
    with GoogleCalendarAdapter(config_for(server.url)) as adapter:
        checks = adapter.diagnose()
    assert [(c.name, c.ok) for c in checks] == [("credentials", False)]
    assert "invalid_grant" in checks[0].detail


def test_rooms_refused_by_the_directory_fail_that_check_only(server: SandboxServer) -> None:
    server.faults.add(Fault.error(403, {"error": {"code": 403, "message": "Not Authorized to access this resource/api",
                                                  "errors": [{"reason": "forbidden", "message": "Not Authorized"}]}},
                                  method="GET", path="/resources/calendars$"))
    with GoogleCalendarAdapter(config_for(server.url)) as adapter:
        checks = by_name(adapter)
    assert checks["rooms"][0] is False and "PermissionDenied" in checks["rooms"][1]
    assert checks["calendar access"][0] and checks["Meet links"][0]
