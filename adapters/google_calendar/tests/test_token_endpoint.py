"""Google's token endpoint is called through the SDK transport: retried, bounded in time, with the injected sleep."""

from __future__ import annotations

import time

import pytest

from lms_connectors.errors import AuthError, TransientError
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter

from .conftest import config_for

TOKEN_PATH = "^/token$"
SERVER_ERROR = {"error": "internal_failure", "error_description": "Backend Error"}


class FakeTime:
    """A monotonic clock that only moves when the adapter sleeps, and the record of those sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def token_requests(server: SandboxServer) -> int:
    return sum(1 for request in server.requests if request.path == "/token")


def adapter_on(server: SandboxServer, fake: FakeTime, **overrides: object) -> GoogleCalendarAdapter:
    return GoogleCalendarAdapter(config_for(server.url, **overrides), sleep=fake.sleep, clock=fake.clock)


def test_token_endpoint_500_is_retried_with_the_injected_sleep(server: SandboxServer) -> None:
    server.faults.add(Fault.error(500, SERVER_ERROR, method="POST", path=TOKEN_PATH, times=2))
    fake = FakeTime()
    with adapter_on(server, fake) as adapter:
        assert adapter.find_session("k.google_calendar.g1") is None
    assert token_requests(server) == 3
    assert len(fake.sleeps) == 2  # two backoffs, taken through the injected sleep


def test_token_endpoint_failing_for_good_is_transient_not_auth_and_bounded(server: SandboxServer) -> None:
    server.faults.add(Fault.error(500, SERVER_ERROR, method="POST", path=TOKEN_PATH, times=100))
    fake = FakeTime()
    started = time.monotonic()
    with adapter_on(server, fake, max_attempts=50, total_timeout=12.0) as adapter, pytest.raises(
        TransientError
    ) as raised:
        adapter.find_session("k.google_calendar.g1")
    assert not isinstance(raised.value, AuthError)
    assert raised.value.status == 500
    assert sum(fake.sleeps) <= 12.0, "the waits stay within the total time bound"
    assert 2 <= token_requests(server) < 50, "the time bound, not the attempts, ended the retries"
    assert time.monotonic() - started < 5, "no real sleep"


def test_token_endpoint_retry_after_is_honoured(server: SandboxServer) -> None:
    server.faults.add(Fault.throttle(429, retry_after="7", method="POST", path=TOKEN_PATH))
    fake = FakeTime()
    with adapter_on(server, fake) as adapter:
        assert adapter.find_session("k.google_calendar.g1") is None
    assert fake.sleeps == [7.0]
    assert token_requests(server) == 2


def test_lost_token_answer_is_retried(server: SandboxServer) -> None:
    server.faults.add(Fault.drop_after_commit(method="POST", path=TOKEN_PATH))
    fake = FakeTime()
    with adapter_on(server, fake) as adapter:
        assert adapter.find_session("k.google_calendar.g1") is None
    assert token_requests(server) == 2


def test_refused_grant_is_an_auth_error_with_google_s_reason(server: SandboxServer) -> None:
    server.simulator.oauth.refresh_tokens.clear()  # the refresh token was revoked
    fake = FakeTime()
    with adapter_on(server, fake) as adapter, pytest.raises(AuthError) as raised:
        adapter.find_session("k.google_calendar.g1")
    assert raised.value.code == "invalid_grant"
    assert "invalid_grant: Token has been expired or revoked." in str(raised.value)
    assert token_requests(server) == 1, "a refusal is not retried"
    assert fake.sleeps == []


def test_token_requests_are_counted_and_their_secrets_redacted(server: SandboxServer) -> None:
    fake = FakeTime()
    with adapter_on(server, fake) as adapter:
        adapter.find_session("k.google_calendar.g1")
        transports = adapter.transports()
        assert set(transports) == {"api", "token"}
        assert transports["token"].counter.total == 1
        assert adapter.call_count == transports["api"].counter.total + 1
        secrets = adapter.secrets()
    assert "test-refresh-token" in secrets
    assert "test-client-secret" in secrets
