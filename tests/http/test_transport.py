from __future__ import annotations

import http.client
import json as jsonlib
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from lms_connectors.errors import (
    AuthError,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    ResponseLost,
    TransientError,
)
from lms_connectors.http import (
    BearerTokenAuth,
    CallEvent,
    GatewayErrorPage,
    HttpTransport,
    RateLimiter,
    RetryPolicy,
    StaticTokenAuth,
)

if TYPE_CHECKING:
    from tests.http.conftest import FakeClock

BASE = "https://lms.example.test/api/v1"
THINGS = f"{BASE}/things"


def make_transport(clock: FakeClock, **overrides: object) -> HttpTransport:
    options: dict[str, object] = {
        "provider": "example",
        "base_url": BASE,
        "retry": RetryPolicy(jitter=False),
        "sleep": clock.sleep,
        "clock": clock,
    }
    options.update(overrides)
    return HttpTransport(**options)  # type: ignore[arg-type]


def dropped_after_send() -> requests.ConnectionError:
    # What requests raises when the server closes the socket without answering.
    return requests.ConnectionError(
        ProtocolError("Connection aborted.", http.client.RemoteDisconnected("Remote end closed connection"))
    )


def refused_before_send() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, THINGS, reason))  # type: ignore[arg-type]


# -- basics -----------------------------------------------------------------------------------------------


def test_relative_url_joins_base_and_every_request_has_a_timeout(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    mocked.get(THINGS, json=[{"id": 1}])
    transport = make_transport(clock, timeout=(2.0, 7.0))
    assert transport.request_json("GET", "things") == [{"id": 1}]
    assert transport.request_json("get", "/things") == [{"id": 1}]
    assert [call.request.url for call in mocked.calls] == [THINGS, THINGS]
    assert all(call.request.req_kwargs["timeout"] == (2.0, 7.0) for call in mocked.calls)


def test_default_timeout_is_set(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, json={})
    make_transport(clock).request("GET", "things")
    assert mocked.calls[0].request.req_kwargs["timeout"] == (5.0, 30.0)


def test_absolute_url_is_kept(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    other = "https://other.example.test/page?page=bookmark:WzEwXQ"
    mocked.get(other, json=[])
    make_transport(clock).request("GET", other)
    assert mocked.calls[0].request.url == other


def test_one_session_per_transport_and_given_session_is_used(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    session = requests.Session()
    session.headers["User-Agent"] = "lms-connectors-test"
    mocked.get(THINGS, json={})
    transport = make_transport(clock, session=session)
    assert transport.session is session
    transport.request("GET", "things")
    transport.request("GET", "things")
    assert all(call.request.headers["User-Agent"] == "lms-connectors-test" for call in mocked.calls)
    assert make_transport(clock).session is not make_transport(clock).session


def test_error_statuses_raise_the_error_tree_with_provider(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=404, json={"code": 3001, "message": "no such thing"}, headers={"X-Request-Id": "r-1"})
    with pytest.raises(NotFound) as caught:
        make_transport(clock).request("GET", "things")
    assert caught.value.provider == "example"
    assert caught.value.status == 404
    assert caught.value.code == 3001
    assert caught.value.request_id == "r-1"
    assert "no such thing" in (caught.value.body_excerpt or "")
    assert len(mocked.calls) == 1  # a 4xx is never retried


def test_custom_classifier_is_used(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    # Moodle-style: the error arrives with HTTP 200.
    mocked.post(THINGS, json={"exception": "moodle_exception", "errorcode": "invalidparameter"})

    def classify(response: requests.Response) -> ConnectorError | None:
        body = response.json()
        if isinstance(body, dict) and "exception" in body:
            return InvalidRequest("invalid parameter", code=body["errorcode"])
        return None

    with pytest.raises(InvalidRequest) as caught:
        make_transport(clock, classifier=classify).request("POST", "things")
    assert caught.value.code == "invalidparameter"
    assert caught.value.provider == "example"


# -- retries ----------------------------------------------------------------------------------------------


def test_idempotent_get_retries_5xx_with_exponential_backoff(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=503)
    mocked.get(THINGS, status=502)
    mocked.get(THINGS, status=504)
    mocked.get(THINGS, json={"ok": True})
    transport = make_transport(clock)
    assert transport.request_json("GET", "things") == {"ok": True}
    assert len(mocked.calls) == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert transport.counter.total == 4


def test_backoff_is_capped_and_attempts_are_bounded(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=500)
    policy = RetryPolicy(max_attempts=6, backoff_base=1.0, backoff_max=3.0, total_timeout=600, jitter=False)
    with pytest.raises(TransientError) as caught:
        make_transport(clock, retry=policy).request("GET", "things")
    assert caught.value.status == 500
    assert len(mocked.calls) == 6
    assert clock.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_full_jitter_stays_within_the_exponential_ceiling(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=500)
    policy = RetryPolicy(max_attempts=8, backoff_base=1.0, backoff_max=8.0, total_timeout=1000, jitter=True)
    for _ in range(5):
        with pytest.raises(TransientError):
            make_transport(clock, retry=policy).request("GET", "things")
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0] * 5
    assert len(clock.sleeps) == len(ceilings)
    assert all(0 <= slept <= ceiling for slept, ceiling in zip(clock.sleeps, ceilings, strict=True))
    assert len(set(clock.sleeps)) > 1  # actually random


def test_total_time_bound_stops_retrying(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=503)
    policy = RetryPolicy(max_attempts=50, backoff_base=1.0, backoff_max=1.0, total_timeout=3.5, jitter=False)
    with pytest.raises(TransientError):
        make_transport(clock, retry=policy).request("GET", "things")
    # Attempts at t=0, 1, 2, 3; the wait after the fourth is cut to the 0.5 s left, then the bound stops it.
    assert clock.sleeps == [1.0, 1.0, 1.0, 0.5]
    assert len(mocked.calls) == 5
    assert sum(clock.sleeps) <= 3.5


def test_slow_attempts_count_against_the_total_bound(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    def slow_503(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        clock.advance(4.0)  # the provider took 4 s to fail
        return 503, {}, ""

    mocked.add_callback(responses.GET, THINGS, callback=slow_503)
    policy = RetryPolicy(max_attempts=10, total_timeout=10.0, jitter=False)
    with pytest.raises(TransientError):
        make_transport(clock, retry=policy).request("GET", "things")
    assert len(mocked.calls) == 3  # t=4 fail, t=8.5 fail, t=13.5 > 10 -> stop
    assert clock.now - 1000.0 <= 10.0 + 4.0 + 4.0


def test_429_retry_after_seconds_is_honoured(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=429, headers={"Retry-After": "7"})
    mocked.get(THINGS, json=[1])
    transport = make_transport(clock)
    assert transport.request_json("GET", "things") == [1]
    assert clock.sleeps == [7.0]


def test_429_retry_after_http_date_is_honoured(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    mocked.get(THINGS, status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    mocked.get(THINGS, json=[1])
    make_transport(clock).request("GET", "things")
    assert len(clock.sleeps) == 1
    assert 27.0 <= clock.sleeps[0] <= 30.0


def test_503_with_retry_after_is_waited_out(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=503, headers={"Retry-After": "3"})
    mocked.get(THINGS, json=[1])
    make_transport(clock).request("GET", "things")
    assert clock.sleeps == [3.0]


def test_retry_after_longer_than_max_raises_at_once(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as caught:
        make_transport(clock, retry=RetryPolicy(max_retry_after=120, total_timeout=10_000)).request("GET", "things")
    assert caught.value.retry_after == 3600
    assert clock.sleeps == []
    assert len(mocked.calls) == 1


def test_retry_after_beyond_total_bound_raises_at_once(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=429, headers={"Retry-After": "45"})
    with pytest.raises(RateLimited) as caught:
        make_transport(clock, retry=RetryPolicy(total_timeout=30)).request("GET", "things")
    assert caught.value.retry_after == 45
    assert clock.sleeps == []


def test_429_without_retry_after_backs_off(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=429)
    mocked.get(THINGS, json=[])
    make_transport(clock).request("GET", "things")
    assert clock.sleeps == [0.5]


def test_connection_errors_and_timeouts_are_retried_for_get(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, body=requests.exceptions.ReadTimeout("read timed out"))
    mocked.get(THINGS, body=dropped_after_send())
    mocked.get(THINGS, body=requests.exceptions.ConnectTimeout("connect timed out"))
    mocked.get(THINGS, json={"ok": 1})
    assert make_transport(clock).request_json("GET", "things") == {"ok": 1}
    assert len(mocked.calls) == 4


def test_exhausted_connection_errors_become_transient_error(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TransientError) as caught:
        make_transport(clock, retry=RetryPolicy(max_attempts=3, jitter=False)).request("GET", "things")
    assert not isinstance(caught.value, ResponseLost)
    assert "ReadTimeout" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert len(mocked.calls) == 3


# -- non-idempotent requests --------------------------------------------------------------------------------


def test_post_is_retried_after_throttling(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.post(THINGS, status=429)  # refused before processing
    mocked.post(THINGS, status=201, json={"id": 9})
    assert make_transport(clock).request_json("POST", "things", json={"a": 1}) == {"id": 9}
    assert len(mocked.calls) == 2


@pytest.mark.parametrize("status", [500, 503])
def test_post_without_idempotency_is_not_retried_after_a_server_error(
    mocked: responses.RequestsMock, clock: FakeClock, status: int
) -> None:
    mocked.post(THINGS, status=status)
    with pytest.raises(TransientError) as caught:
        make_transport(clock).request("POST", "things", json={})
    assert caught.value.status == status
    assert len(mocked.calls) == 1
    assert clock.sleeps == []


def test_idempotent_post_is_retried_after_503(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.post(THINGS, status=503)
    mocked.post(THINGS, status=201, json={"id": 9})
    assert make_transport(clock).request_json("POST", "things", json={"a": 1}, idempotent=True) == {"id": 9}
    assert len(mocked.calls) == 2


@pytest.mark.parametrize("status", [502, 504])
def test_post_gateway_failure_is_response_lost(mocked: responses.RequestsMock, clock: FakeClock, status: int) -> None:
    method = "PATCH" if status == 504 else "POST"
    mocked.add(method, THINGS, status=status)
    with pytest.raises(ResponseLost) as caught:
        make_transport(clock).request(method, "things", json={})
    assert caught.value.status == status
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda: requests.exceptions.ReadTimeout("read timed out"), id="read-timeout"),
        pytest.param(dropped_after_send, id="dropped-after-send"),
    ],
)
def test_post_lost_after_sending_is_never_resent(mocked: responses.RequestsMock, clock: FakeClock, failure) -> None:  # type: ignore[no-untyped-def]
    mocked.post(THINGS, body=failure())
    mocked.post(THINGS, status=201, json={"id": 2})
    transport = make_transport(clock)
    with pytest.raises(ResponseLost) as caught:
        transport.request("POST", "things", json={"title": "x"})
    assert caught.value.provider == "example"
    assert len(mocked.calls) == 1
    assert clock.sleeps == []
    assert transport.counter.total == 1  # it was sent


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda: requests.exceptions.ConnectTimeout("connect timed out"), id="connect-timeout"),
        pytest.param(refused_before_send, id="connection-refused"),
    ],
)
def test_post_failing_before_sending_is_retried(mocked: responses.RequestsMock, clock: FakeClock, failure) -> None:  # type: ignore[no-untyped-def]
    mocked.post(THINGS, body=failure())
    mocked.post(THINGS, status=201, json={"id": 2})
    transport = make_transport(clock)
    assert transport.request_json("POST", "things", json={}) == {"id": 2}
    assert len(mocked.calls) == 2
    assert transport.counter.total == 1  # the first never left the machine


def test_post_with_idempotency_guarantee_is_retried(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.post(THINGS, body=requests.exceptions.ReadTimeout("read timed out"))
    mocked.post(THINGS, status=500)
    mocked.post(THINGS, status=201, json={"id": 3})
    result = make_transport(clock).request_json("POST", "things", json={"id": "client-chosen"}, idempotent=True)
    assert result == {"id": 3}
    assert len(mocked.calls) == 3


def test_put_and_delete_are_idempotent_by_default(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.put(THINGS, body=dropped_after_send())
    mocked.put(THINGS, json={})
    mocked.delete(THINGS, status=502)
    mocked.delete(THINGS, status=204)
    transport = make_transport(clock)
    transport.request("PUT", "things", json={})
    assert transport.request_json("DELETE", "things") is None
    assert len(mocked.calls) == 4


def test_get_marked_non_idempotent_is_not_resent(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ResponseLost):
        make_transport(clock).request("GET", "things", idempotent=False)
    assert len(mocked.calls) == 1


# -- auth -----------------------------------------------------------------------------------------------


class TokenSource:
    def __init__(self) -> None:
        self.issued = 0

    def __call__(self) -> tuple[str, float | None]:
        self.issued += 1
        return f"token-{self.issued}", 3600.0


def test_401_refreshes_once_and_resends(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=401, json={"error": "invalid_token"})
    mocked.get(THINGS, json={"ok": True})
    source = TokenSource()
    transport = make_transport(clock, auth=BearerTokenAuth(source, clock=clock))
    assert transport.request_json("GET", "things") == {"ok": True}
    assert source.issued == 2
    assert [call.request.headers["Authorization"] for call in mocked.calls] == ["Bearer token-1", "Bearer token-2"]
    assert clock.sleeps == []  # a refresh is not a backoff


def test_second_401_propagates_as_auth_error(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.post(THINGS, status=401)
    source = TokenSource()
    with pytest.raises(AuthError) as caught:
        make_transport(clock, auth=BearerTokenAuth(source, clock=clock)).request("POST", "things", json={})
    assert caught.value.status == 401
    assert source.issued == 2  # one refresh only
    assert len(mocked.calls) == 2


def test_refresh_happens_once_per_call_even_across_retries(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=401)
    mocked.get(THINGS, status=503)
    mocked.get(THINGS, status=401)
    source = TokenSource()
    with pytest.raises(AuthError):
        make_transport(clock, auth=BearerTokenAuth(source, clock=clock)).request("GET", "things")
    assert source.issued == 2
    assert len(mocked.calls) == 3


def test_static_token_is_not_refreshed(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=401)
    with pytest.raises(AuthError):
        make_transport(clock, auth=StaticTokenAuth("pat-1")).request("GET", "things")
    assert len(mocked.calls) == 1
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer pat-1"


# -- rate limiter and observers -----------------------------------------------------------------------


def test_rate_limiter_is_acquired_before_every_attempt(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=503)
    mocked.get(THINGS, json={})
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock, sleep=clock.sleep)
    transport = make_transport(clock, rate_limiter=limiter, retry=RetryPolicy(backoff_base=0.25, jitter=False))
    transport.request("GET", "things")  # burst token, 503, backoff 0.25, then wait 0.75 for the next token
    transport.request("GET", "things")  # next token one second later
    assert clock.sleeps == [0.25, 0.75, 1.0]


def test_observer_can_pause_the_limiter_from_headers(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, json={}, headers={"X-Rate-Limit-Remaining": "0"})
    mocked.get(THINGS, json={}, headers={"X-Rate-Limit-Remaining": "50"})
    limiter = RateLimiter(rate=100.0, burst=100, clock=clock, sleep=clock.sleep)

    def observe(response: requests.Response) -> None:
        if float(response.headers.get("X-Rate-Limit-Remaining", "1")) <= 0:
            limiter.pause_until(clock() + 5.0)

    transport = make_transport(clock, rate_limiter=limiter, response_observers=[observe])
    transport.request("GET", "things")
    assert clock.sleeps == []
    transport.request("GET", "things")
    assert clock.sleeps == [5.0]


def test_throttling_answers_slow_the_limiter_but_a_quota_refusal_does_not(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, json={})
    mocked.get(THINGS, status=429, headers={"Retry-After": "3"})
    mocked.get(THINGS, json={})
    mocked.get(f"{BASE}/quota", status=429, headers={"Retry-After": "86400"})
    limiter = RateLimiter(rate=10.0, burst=10, clock=clock, sleep=clock.sleep, decrease=0.5)
    transport = make_transport(clock, rate_limiter=limiter)
    transport.request("GET", "things")
    transport.request("GET", "things")  # 429, Retry-After 3: the limiter slows down; the retry waits 3 s
    # Cut to 5 a second, then 3 s of the 30 s recovery made good while the retry waited: 5 + 5 * 3 / 30.
    assert limiter.rate == pytest.approx(5.5)
    assert clock.sleeps[0] == pytest.approx(3.0)
    with pytest.raises(RateLimited):
        transport.request("GET", "quota")  # a day-long wait is a quota for the caller, not a rate to adapt to
    assert limiter.throttles == 1


# -- counting and hooks -------------------------------------------------------------------------------


def test_counter_counts_every_sent_attempt_per_operation(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=500)
    mocked.get(THINGS, json={})
    mocked.get(f"{BASE}/things/1", json={})
    mocked.post(THINGS, json={})
    transport = make_transport(clock)
    transport.request("GET", "things")
    transport.request("GET", "things/1", operation="thing.get")
    transport.request("POST", "things")
    assert transport.counter.total == 4
    assert transport.counter.by_operation == {"GET /api/v1/things": 2, "thing.get": 1, "POST /api/v1/things": 1}
    assert transport.counter["thing.get"] == 1
    transport.counter.reset()
    assert transport.counter.total == 0


def test_hooks_receive_one_event_per_attempt(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    def slow_ok(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        clock.advance(0.2)
        return 200, {}, "{}"

    mocked.get(THINGS, status=429, headers={"Retry-After": "1"})
    mocked.add_callback(responses.GET, THINGS, callback=slow_ok)
    events: list[CallEvent] = []
    transport = make_transport(clock, hooks=[events.append])
    transport.request("GET", "things", params={"q": "a"})
    assert [(e.attempt, e.status, e.error) for e in events] == [(1, 429, "RateLimited"), (2, 200, None)]
    assert events[1].elapsed == pytest.approx(0.2)
    assert events[0].url == f"{THINGS}?q=a"
    assert {e.provider for e in events} == {"example"}
    assert {e.operation for e in events} == {"GET /api/v1/things"}


def test_hook_event_for_a_connection_that_never_opened(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, body=refused_before_send())
    mocked.get(THINGS, json={})
    events: list[CallEvent] = []
    make_transport(clock, hooks=[events.append]).request("GET", "things")
    assert [(e.status, e.error, e.sent) for e in events] == [(None, "ConnectionError", False), (200, None, True)]


# -- malformed answers ----------------------------------------------------------------------------------

PROXY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


def test_proxy_html_502_is_a_malformed_transient_error(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=502, body=PROXY_PAGE, content_type="text/html")
    with pytest.raises(MalformedResponse) as caught:
        make_transport(clock, retry=RetryPolicy(max_attempts=2, jitter=False)).request_json("GET", "things")
    assert isinstance(caught.value, GatewayErrorPage)
    assert isinstance(caught.value, TransientError)  # and so it was retried
    assert len(mocked.calls) == 2
    assert "502 Bad Gateway" in (caught.value.body_excerpt or "")


def test_proxy_html_502_then_success(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, status=502, body=PROXY_PAGE, content_type="text/html")
    mocked.get(THINGS, json={"ok": True})
    assert make_transport(clock).request_json("GET", "things") == {"ok": True}


def test_html_where_json_was_expected(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, body="<!DOCTYPE html><html><body>Please log in</body></html>", content_type="text/html")
    with pytest.raises(MalformedResponse) as caught:
        make_transport(clock).request_json("GET", "things")
    assert caught.value.status == 200
    assert caught.value.provider == "example"
    assert "Please log in" in (caught.value.body_excerpt or "")


def test_invalid_json_every_time(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(THINGS, body='{"items": [1, 2', content_type="application/json")
    with pytest.raises(MalformedResponse) as caught:
        make_transport(clock).request_json("GET", "things")
    assert "invalid JSON" in caught.value.message
    assert caught.value.body_excerpt == '{"items": [1, 2'
    assert len(mocked.calls) == RetryPolicy().max_attempts  # a garbled read is asked for again, within bounds


def test_a_garbled_answer_to_a_safe_request_is_asked_for_again(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    mocked.get(THINGS, body='{"items": [1, 2', content_type="application/json")
    mocked.get(THINGS, body="<html><body>Welcome</body></html>", status=200, content_type="text/html")
    mocked.get(THINGS, json={"items": [1, 2]})
    assert make_transport(clock).request_json("GET", "things") == {"items": [1, 2]}
    assert len(mocked.calls) == 3


def test_a_garbled_answer_to_a_post_is_not_sent_again(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.post(THINGS, body='{"id": 4', content_type="application/json")
    with pytest.raises(MalformedResponse):
        make_transport(clock).request_json("POST", "things", json={"name": "x"})
    assert len(mocked.calls) == 1  # it may have been carried out: the caller decides


def test_a_delete_answered_with_truncated_json_is_not_a_success(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    mocked.delete(THINGS, body='{"status": "del', status=200, content_type="application/json")
    with pytest.raises(MalformedResponse):
        make_transport(clock).request_json("DELETE", "things", idempotent=False)


def test_empty_body_is_none(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.delete(THINGS, status=204)
    assert make_transport(clock).request_json("DELETE", "things") is None


# -- redaction --------------------------------------------------------------------------------------------

ACCESS = "tok-ACCESS-5e3cr3t"
FORM_SECRET = "moodle-wstoken-777aaa"
EXTRA = "p@ss word/+=="
UNKNOWN_REFRESH = "refresh-never-seen-9f9f"


def _all_secret_forms() -> list[str]:
    from urllib.parse import quote, quote_plus

    values = [ACCESS, FORM_SECRET, EXTRA, UNKNOWN_REFRESH]
    return sorted({form for v in values for form in (v, quote(v, safe=""), quote_plus(v))})


def test_secrets_never_reach_logs_events_or_errors(
    mocked: responses.RequestsMock, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    echo = {
        "error": "invalid_request",
        "echo_authorization": f"Bearer {ACCESS}",
        "refresh_token": UNKNOWN_REFRESH,
        "password": EXTRA,
        "wstoken": FORM_SECRET,
    }
    mocked.post(THINGS, status=503)
    mocked.post(THINGS, status=400, json=echo)
    mocked.get(THINGS, status=500, body=f"upstream failed for wstoken={FORM_SECRET}&password={EXTRA}")
    mocked.get(THINGS, body=requests.exceptions.ReadTimeout(f"read timed out: {THINGS}?access_token={ACCESS}"))
    mocked.get(THINGS, body="<html>" + ACCESS + "</html>", content_type="text/html")
    events: list[CallEvent] = []
    transport = make_transport(
        clock,
        auth=BearerTokenAuth(lambda: (ACCESS, 3600.0), clock=clock),
        extra_secrets=[EXTRA],
        hooks=[events.append],
        retry=RetryPolicy(max_attempts=2, jitter=False),
    )
    errors: list[ConnectorError] = []
    with caplog.at_level(logging.DEBUG, logger="lms_connectors.http"):
        with pytest.raises(InvalidRequest) as caught:
            transport.request("POST", "things", params={"wstoken": FORM_SECRET, "q": "ok"}, data={"password": EXTRA},
                              idempotent=True)
        errors.append(caught.value)
        with pytest.raises(TransientError) as caught_transient:
            transport.request("GET", "things", params={"access_token": ACCESS, "client_secret": UNKNOWN_REFRESH})
        errors.append(caught_transient.value)
        with pytest.raises(MalformedResponse) as caught_html:
            transport.request_json("GET", "things")
        errors.append(caught_html.value)

    assert len(caplog.records) >= 5
    assert events
    haystacks = [record.getMessage() for record in caplog.records]
    haystacks += [e.url for e in events]
    for error in errors:
        haystacks += [str(error), repr(error), error.message, error.body_excerpt or "", jsonlib.dumps(error.evidence())]
    for text in haystacks:
        for secret in _all_secret_forms():
            assert secret not in text, f"{secret!r} leaked in {text!r}"
    # Redaction kept the text useful.
    assert "q=ok" in events[0].url
    assert "invalid_request" in (errors[0].body_excerpt or "")


def test_failing_hook_does_not_fail_the_call(
    mocked: responses.RequestsMock, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.get(THINGS, json={"ok": True})

    def broken(event: CallEvent) -> None:
        raise RuntimeError("metrics backend down")

    seen: list[CallEvent] = []
    transport = make_transport(clock, hooks=[broken, seen.append])
    with caplog.at_level(logging.ERROR, logger="lms_connectors.http"):
        assert transport.request_json("GET", "things") == {"ok": True}
    assert len(seen) == 1
    assert len(mocked.calls) == 1
    assert "hook" in caplog.text


@pytest.mark.parametrize("options", [{"max_attempts": 0}, {"total_timeout": -1.0}])
def test_retry_policy_is_validated(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"RetryPolicy|max_attempts"):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_retries_are_logged_with_their_wait(
    mocked: responses.RequestsMock, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.get(THINGS, status=429, headers={"Retry-After": "4"})
    mocked.get(THINGS, json={})
    with caplog.at_level(logging.DEBUG, logger="lms_connectors.http"):
        make_transport(clock).request("GET", "things")
    retry_lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert retry_lines == [
        "example: retrying GET /api/v1/things in 4.00s after attempt 1: "
        "RateLimited: the provider throttled the call (provider='example', status=429)"
    ]
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


# -- per-call work done once --------------------------------------------------------------------------------


class _CountingAuth(StaticTokenAuth):
    """A static token that counts how often the transport asks for the secrets to redact."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.secret_reads = 0

    def secrets(self) -> list[str]:
        self.secret_reads += 1
        return super().secrets()


def test_a_successful_call_reads_no_secrets_and_an_error_still_redacts_them(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    auth = _CountingAuth("pat-secret-1")
    transport = make_transport(clock, auth=auth)
    mocked.get(THINGS, json={"items": [1, 2]})
    for _ in range(3):
        assert transport.request_json("GET", "things") == {"items": [1, 2]}
    assert auth.secret_reads == 0
    mocked.get(f"{BASE}/broken", body="{not json pat-secret-1", content_type="application/json")
    with pytest.raises(MalformedResponse) as raised:
        transport.request_json("GET", "broken", idempotent=False)
    assert auth.secret_reads > 0
    assert "pat-secret-1" not in str(raised.value) and "pat-secret-1" not in (raised.value.body_excerpt or "")


def test_the_environment_is_read_once_per_host_and_again_when_the_session_changes(
    mocked: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    transport = make_transport(clock)
    reads: list[str] = []
    merge = transport.session.merge_environment_settings

    def counted(url: str, *args: object) -> object:
        reads.append(url)
        return merge(url, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(transport.session, "merge_environment_settings", counted)
    sent_proxies: list[object] = []
    send = transport.session.send

    def watched_send(request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        sent_proxies.append(kwargs.get("proxies"))
        return send(request, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(transport.session, "send", watched_send)
    mocked.get(THINGS, json={})
    mocked.get("https://other.example.test/x", json={})
    transport.request("GET", "things")
    transport.request("GET", "things")
    assert len(reads) == 1
    assert sent_proxies == [{"https": "http://proxy.example.test:3128"}] * 2  # as requests itself would send
    transport.request("GET", "https://other.example.test/x")
    assert len(reads) == 2  # another host: its own look-up (NO_PROXY is per host)
    transport.session.proxies = {"https": "http://elsewhere.example.test:8080"}
    transport.request("GET", "things")
    assert len(reads) == 3  # the session's settings changed: read again, and sent as requests would send them
    assert sent_proxies[-1] == merge(THINGS, {}, None, None, None)["proxies"]


def test_netrc_is_not_looked_up_for_a_request_the_transport_signs(
    mocked: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    monkeypatch.setattr(requests.sessions, "get_netrc_auth", lambda url, *args: lookups.append(url))
    mocked.get(THINGS, json={})
    make_transport(clock, auth=StaticTokenAuth("pat-1")).request("GET", "things")
    assert lookups == []
    assert mocked.calls[-1].request.headers["Authorization"] == "Bearer pat-1"
    make_transport(clock).request("GET", "things")  # no auth of its own: requests' netrc look-up as usual
    assert lookups == [THINGS]
