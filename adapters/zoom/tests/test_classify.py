from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from lms_connectors.errors import (
    AuthError,
    CapacityFull,
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from lms_connectors.http.classify import RuleClassifier
from lms_connectors.testing.error_table import assert_readme_table_current
from lms_connectors_zoom.classify import (
    RegistrationNotEnabled,
    RegistrationRepeatLimit,
    ZoomClassifier,
    next_utc_midnight,
    parse_reset_time,
    token_endpoint_classifier,
)

NOW = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)
classify = ZoomClassifier(now=lambda: NOW)


def answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body or b""
    response.headers.update({"Content-Type": "application/json", **(headers or {})})
    response.url = "https://api.zoom.us/v2/meetings/1"
    return response


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (404, 3001, "Meeting does not exist: 85012345678.", NotFound),
        (401, 124, "Invalid access token.", AuthError),
        (400, 300, "Validation Failed.", InvalidRequest),
        (404, 1001, "User does not exist: nobody@example.com.", NotFound),
        (400, 3000, "Cannot access meeting info.", PermissionDenied),
        (400, 3003, "You are not the meeting host.", PermissionDenied),
        (400, 3043, "Meeting has reached maximum attendee capacity.", CapacityFull),
        (400, 3027, "Host cannot register.", InvalidRequest),
        (400, 3161, "Your user account is not allowed meeting hosting and scheduling capabilities.", PermissionDenied),
        (400, 3000, "Registration has not been enabled for this meeting: 85012345678.", RegistrationNotEnabled),
        (400, 3000, "You have reached the limit for the number of attendees you can add. Contact Zoom Support for "
         "more information.", RegistrationRepeatLimit),
        # Unknown codes fall back to the status.
        (409, 9999, "Something else.", Conflict),
        (500, 500, "Internal error.", TransientError),
    ],
)
def test_code_table(status: int, code: int, message: str, expected: type[ConnectorError]) -> None:
    error = classify(answer(status, {"code": code, "message": message}))
    assert type(error) is expected
    assert error is not None
    assert error.status == status
    assert error.code == code


def test_code_decides_over_status() -> None:
    # 3001 is "not found" whatever status carries it; 124 is an auth failure that the transport refreshes once.
    assert isinstance(classify(answer(400, {"code": 3001, "message": "Meeting does not exist: 1."})), NotFound)
    assert isinstance(classify(answer(401, {"code": 124, "message": "Access token is expired."})), AuthError)


def test_success_is_none() -> None:
    assert classify(answer(200, {"id": 1})) is None
    assert classify(answer(204)) is None


def test_per_second_429_is_rate_limited_with_retry_after() -> None:
    error = classify(
        answer(
            429,
            {"code": 429, "message": "You have reached the maximum per-second rate limit for this API. Try again later."},
            {"X-RateLimit-Type": "QPS", "Retry-After": "2"},
        )
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 2.0


def test_daily_limit_is_a_quota_with_zoom_reset_time() -> None:
    error = classify(
        answer(
            429,
            {"code": 429, "message": "You have exceeded the daily rate limit (100) of Meeting Create/Update API "
             "requests permitted for this particular user. You may resume these requests at GMT 00:00:00."},
            {"X-RateLimit-Type": "Daily-limit", "Retry-After": "2026-11-25T00:00:00Z"},
        )
    )
    assert isinstance(error, QuotaExceeded)
    assert not isinstance(error, TransientError)  # the transport must not wait it out
    assert error.resets_at == datetime(2026, 11, 25, tzinfo=UTC)


def test_daily_limit_recognised_by_message_alone_resets_next_midnight() -> None:
    error = classify(answer(429, {"code": 429, "message": "You have exceeded the daily rate limit (100) of ..."}))
    assert isinstance(error, QuotaExceeded)
    assert error.resets_at == datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25T00:00:00Z", datetime(2026, 11, 25, tzinfo=UTC)),
        ("Wed, 25 Nov 2026 00:00:00 GMT", datetime(2026, 11, 25, tzinfo=UTC)),
        ("3600", datetime(2026, 11, 24, 19, 30, tzinfo=UTC)),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_reset_time(value: str | None, expected: datetime | None) -> None:
    assert parse_reset_time(value, NOW) == expected


def test_next_utc_midnight() -> None:
    assert next_utc_midnight(datetime(2026, 11, 24, 23, 59, tzinfo=UTC)) == datetime(2026, 11, 25, tzinfo=UTC)


def test_html_gateway_page_is_not_mistaken_for_zoom() -> None:
    page = answer(502, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"})
    error = classify(page)
    assert isinstance(error, MalformedResponse) and isinstance(error, TransientError)


def test_unknown_4xx_without_body_is_provider_error() -> None:
    assert isinstance(classify(answer(418)), ProviderError)


def test_token_endpoint_refusal_is_auth_error() -> None:
    refused = answer(400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
    assert isinstance(token_endpoint_classifier(refused), AuthError)
    assert isinstance(token_endpoint_classifier(answer(429, {}, {"Retry-After": "1"})), RateLimited)
    assert token_endpoint_classifier(answer(200, {"access_token": "x"})) is None


@pytest.mark.parametrize(
    ("classifier", "reference", "name"),
    [
        (classify, "lms_connectors_zoom.classify:zoom_classifier", ""),
        (token_endpoint_classifier, "lms_connectors_zoom.classify:token_endpoint_classifier", "token"),
    ],
)
def test_readme_lists_the_tables(classifier: RuleClassifier, reference: str, name: str) -> None:
    readme = Path(__file__).parents[1] / "README.md"
    assert_readme_table_current(readme, classifier, reference, name)
