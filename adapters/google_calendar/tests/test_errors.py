"""The classifier table, rule by rule, on real ``requests`` responses (served by ``responses``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import responses

from lms_connectors.errors import (
    AuthError,
    Conflict,
    ConnectorError,
    CursorExpired,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from lms_connectors.http.auth import StaticTokenAuth
from lms_connectors.http.retry import RetryPolicy
from lms_connectors.http.transport import HttpTransport
from lms_connectors.testing.error_table import assert_readme_table_current
from lms_connectors_google_calendar.errors import RULES, classify_google_response

URL = "https://www.googleapis.com/calendar/v3/calendars/primary/events"


def google_body(code: int, message: str, reason: str, domain: str = "global") -> dict:
    return {"error": {"code": code, "message": message, "errors": [{"domain": domain, "reason": reason, "message": message}]}}


def answer(status: int, body: object = None, *, headers: dict | None = None, content_type: str = "application/json"):
    with responses.RequestsMock() as mock:
        text = body if isinstance(body, str) else json.dumps(body)
        mock.add(responses.GET, URL, body=text, status=status, headers=headers or {}, content_type=content_type)
        return requests.get(URL, timeout=5)


CASES = [
    pytest.param(403, google_body(403, "Rate Limit Exceeded", "rateLimitExceeded", "usageLimits"), RateLimited, id="403-rateLimitExceeded"),
    pytest.param(403, google_body(403, "User Rate Limit Exceeded", "userRateLimitExceeded", "usageLimits"), RateLimited, id="403-userRateLimitExceeded"),
    pytest.param(403, google_body(403, "Calendar usage limits exceeded.", "quotaExceeded", "usageLimits"), QuotaExceeded, id="403-quotaExceeded"),
    pytest.param(403, google_body(403, "Daily Limit Exceeded", "dailyLimitExceeded", "usageLimits"), QuotaExceeded, id="403-dailyLimitExceeded"),
    pytest.param(403, google_body(403, "Calendar usage limits exceeded.", "usageLimits", "usageLimits"), QuotaExceeded, id="403-usage-limits-message"),
    pytest.param(403, google_body(403, "Forbidden", "forbidden"), PermissionDenied, id="403-forbidden"),
    pytest.param(403, google_body(403, "Insufficient Permission", "insufficientPermissions"), PermissionDenied, id="403-insufficientPermissions"),
    pytest.param(429, google_body(429, "Too Many Requests", "rateLimitExceeded", "usageLimits"), RateLimited, id="429"),
    pytest.param(401, google_body(401, "Invalid Credentials", "authError"), AuthError, id="401"),
    pytest.param(404, google_body(404, "Not Found", "notFound"), NotFound, id="404"),
    pytest.param(410, google_body(410, "Resource has been deleted", "deleted"), NotFound, id="410"),
    pytest.param(410, google_body(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired"),
                 CursorExpired, id="410-fullSyncRequired"),
    pytest.param(409, google_body(409, "The requested identifier already exists.", "duplicate"), Conflict, id="409-duplicate"),
    pytest.param(412, google_body(412, "Precondition Failed", "conditionNotMet"), Conflict, id="412"),
    pytest.param(400, google_body(400, "Invalid conference type value.", "invalid"), InvalidRequest, id="400-conference"),
    pytest.param(400, google_body(400, "Bad Request", "badRequest"), InvalidRequest, id="400-badRequest"),
    pytest.param(500, google_body(500, "Backend Error", "backendError"), TransientError, id="500"),
    pytest.param(503, google_body(503, "Service unavailable", "backendError"), TransientError, id="503"),
]


@pytest.mark.parametrize(("status", "body", "expected"), CASES)
def test_rule(status: int, body: dict, expected: type[ConnectorError]) -> None:
    error = classify_google_response(answer(status, body))
    assert type(error) is expected
    assert error.status == status
    assert error.provider == "google_calendar"
    assert error.code == body["error"]["errors"][0]["reason"]
    assert body["error"]["message"] in (error.body_excerpt or "")


def test_quota_is_not_transient_and_throttle_is() -> None:
    quota = classify_google_response(answer(403, google_body(403, "Calendar usage limits exceeded.", "quotaExceeded")))
    throttle = classify_google_response(answer(403, google_body(403, "Rate Limit Exceeded", "rateLimitExceeded")))
    assert not isinstance(quota, TransientError)
    assert isinstance(throttle, TransientError)


def test_retry_after_is_read_when_google_sends_it() -> None:
    error = classify_google_response(answer(429, google_body(429, "Too Many Requests", "rateLimitExceeded"), headers={"Retry-After": "7"}))
    assert isinstance(error, RateLimited) and error.retry_after == 7


def test_html_page_on_4xx_is_malformed_and_on_5xx_transient() -> None:
    page = "<!DOCTYPE html><html><body>Error 404 (Not Found)!!1</body></html>"
    assert type(classify_google_response(answer(404, page, content_type="text/html"))) is MalformedResponse
    gateway = classify_google_response(answer(502, page, content_type="text/html"))
    assert isinstance(gateway, TransientError) and isinstance(gateway, MalformedResponse)


def test_success_is_no_error() -> None:
    assert classify_google_response(answer(200, {"kind": "calendar#event"})) is None
    assert classify_google_response(answer(204, "")) is None


def test_every_rule_is_exercised() -> None:
    # The table has no dead rows: each one is the first match for at least one case above.
    classifier = classify_google_response
    used = [classifier.rule_for(classifier.facts(answer(status, body))) for status, body, _ in (c.values for c in CASES)]
    used.append(classifier.rule_for(classifier.facts(answer(404, "<html></html>", content_type="text/html"))))
    assert all(rule in used for rule in RULES)


# -- through the transport: what is retried, what is not ------------------------------------------------


def transport(sleeps: list[float]) -> HttpTransport:
    return HttpTransport(
        provider="google_calendar",
        base_url="https://www.googleapis.com/calendar/v3",
        auth=StaticTokenAuth("ya29.test-token"),
        classifier=classify_google_response,
        retry=RetryPolicy(max_attempts=4, jitter=False),
        sleep=sleeps.append,
    )


@responses.activate
def test_transport_waits_out_429_with_retry_after() -> None:
    responses.add(responses.GET, URL, json=google_body(429, "Too Many Requests", "rateLimitExceeded"), status=429, headers={"Retry-After": "3"})
    responses.add(responses.GET, URL, json={"kind": "calendar#events", "items": []}, status=200)
    sleeps: list[float] = []
    assert transport(sleeps).request_json("GET", "calendars/primary/events")["items"] == []
    assert sleeps == [3.0]
    assert len(responses.calls) == 2


@responses.activate
def test_transport_backs_off_on_403_rate_limit_without_retry_after() -> None:
    responses.add(responses.GET, URL, json=google_body(403, "Rate Limit Exceeded", "rateLimitExceeded", "usageLimits"), status=403)
    responses.add(responses.GET, URL, json={"kind": "calendar#events", "items": []}, status=200)
    sleeps: list[float] = []
    transport(sleeps).request_json("GET", "calendars/primary/events")
    assert len(sleeps) == 1 and sleeps[0] > 0
    assert len(responses.calls) == 2


@responses.activate
def test_transport_does_not_retry_quota_exceeded() -> None:
    responses.add(responses.GET, URL, json=google_body(403, "Calendar usage limits exceeded.", "quotaExceeded", "usageLimits"), status=403)
    sleeps: list[float] = []
    with pytest.raises(QuotaExceeded) as raised:
        transport(sleeps).request_json("GET", "calendars/primary/events")
    assert raised.value.code == "quotaExceeded"
    assert sleeps == []
    assert len(responses.calls) == 1


def test_readme_lists_the_table() -> None:
    readme = Path(__file__).parents[1] / "README.md"
    assert_readme_table_current(readme, classify_google_response, "lms_connectors_google_calendar.errors:classify_google_response")
