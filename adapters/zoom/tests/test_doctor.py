"""``doctor`` for Zoom, against the simulator: token and scopes, host user type, daily quota headroom."""

from __future__ import annotations

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_zoom.adapter import ZoomAdapter
from lms_connectors_zoom.sandbox import ZoomSimulator

from .conftest import AdapterFactory, make_session


def by_name(adapter: ZoomAdapter) -> dict[str, tuple[bool, str]]:
    return {check.name: (check.ok, check.detail) for check in adapter.diagnose()}


def test_a_working_app_passes_and_the_quota_shows_after_a_create(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter()
    checks = by_name(adapter)
    assert list(checks) == ["credentials", "scopes", "host user", "daily quota"]
    assert all(ok for ok, _ in checks.values()), checks
    assert checks["scopes"][1] == "meeting:read:admin meeting:write:admin"
    assert checks["host user"][1] == "host@example.com: Licensed, active"
    assert checks["daily quota"][1] == "unknown until the first meeting create or update"
    adapter.create_session(make_session(), key="doctor.zoom.g1", fresh=True)
    assert by_name(adapter)["daily quota"] == (True, "99 meeting create/update call(s) left today")


def test_a_basic_host_fails_the_user_check(server: SandboxServer, simulator: ZoomSimulator,
                                           make_adapter: AdapterFactory) -> None:
    simulator.host_type = 1
    ok, detail = by_name(make_adapter())["host user"]
    assert not ok
    assert detail == "host@example.com: Basic, active; registration (the roster) needs a Licensed host"


def test_wrong_credentials_stop_at_the_token(make_adapter: AdapterFactory) -> None:
    checks = make_adapter(client_secret="not-the-secret").diagnose()
    assert [(c.name, c.ok) for c in checks] == [("credentials", False)]
    assert "AuthError" in checks[0].detail and "invalid_client" in checks[0].detail
    assert "not-the-secret" not in checks[0].detail


def test_an_exhausted_daily_quota_fails(make_adapter: AdapterFactory, simulator: ZoomSimulator) -> None:
    simulator.daily_meeting_limit = 1
    adapter = make_adapter()
    adapter.create_session(make_session(), key="doctor.zoom.g1", fresh=True)
    assert by_name(adapter)["daily quota"] == (False, "no meeting create/update left today (resets 00:00 UTC)")
