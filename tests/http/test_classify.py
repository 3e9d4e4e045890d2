from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from lms_connectors.errors import (
    AuthError,
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
)
from lms_connectors.http import (
    GatewayErrorPage,
    body_excerpt,
    default_classifier,
    json_body,
    parse_retry_after,
    provider_code,
)
from lms_connectors.http.classify import ErrorFacts, ErrorRule, RuleClassifier


def make_response(
    status: int, body: str | bytes = b"", content_type: str = "application/json", **headers: str
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else body
    response.headers["Content-Type"] = content_type
    response.headers.update({name.replace("_", "-"): value for name, value in headers.items()})
    response.encoding = "utf-8"
    return response


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_success_is_none(status: int) -> None:
    assert default_classifier(make_response(status, "{}")) is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequest),
        (422, InvalidRequest),
        (401, AuthError),
        (403, PermissionDenied),
        (404, NotFound),
        (410, NotFound),
        (409, Conflict),
        (412, Conflict),
        (429, RateLimited),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
        (504, TransientError),
        (418, ProviderError),
        (501, ProviderError),
        (302, ProviderError),
    ],
)
def test_status_table(status: int, expected: type[ConnectorError]) -> None:
    error = default_classifier(make_response(status, '{"message": "x"}'))
    assert type(error) is expected
    assert error.status == status


def test_unmapped_status_with_html_is_malformed() -> None:
    error = default_classifier(make_response(418, "<html><body>teapot</body></html>", "text/html"))
    assert type(error) is MalformedResponse


def test_gateway_html_page_is_malformed_and_transient() -> None:
    error = default_classifier(make_response(504, "<!DOCTYPE html><html>timeout</html>", "text/html; charset=utf-8"))
    assert isinstance(error, GatewayErrorPage)
    assert isinstance(error, MalformedResponse)
    assert isinstance(error, TransientError)


def test_429_carries_retry_after() -> None:
    error = default_classifier(make_response(429, "", Retry_After="12"))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 12.0
    assert default_classifier(make_response(429)).retry_after is None  # type: ignore[union-attr]


def test_503_with_retry_after_is_rate_limited() -> None:
    error = default_classifier(make_response(503, "", Retry_After="2"))
    assert isinstance(error, RateLimited)
    assert error.status == 503


def test_evidence_code_and_request_id() -> None:
    body = '{"error": {"code": "ErrorItemNotFound", "message": "The specified object was not found."}}'
    error = default_classifier(make_response(404, body, request_id="abc-123"))
    assert error is not None
    assert error.code == "ErrorItemNotFound"
    assert error.request_id == "abc-123"
    assert error.body_excerpt == body


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"errorcode": "invalidtoken", "exception": "moodle_exception"}', "invalidtoken"),
        ('{"code": 3001, "message": "Meeting does not exist"}', 3001),
        ('{"error": {"code": 403, "errors": []}}', 403),
        ('{"error": "invalid_grant"}', "invalid_grant"),
        ('{"error": {"status": "PERMISSION_DENIED"}}', "PERMISSION_DENIED"),
        ('{"errors": [{"message": "Invalid access token."}]}', None),
        ("[1, 2]", None),
        ("not json", None),
    ],
)
def test_provider_code_shapes(body: str, code: str | int | None) -> None:
    assert provider_code(make_response(400, body)) == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("nan", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


def test_body_excerpt_collapses_whitespace_truncates_and_redacts() -> None:
    body = '{"access_token":   "abc.def.ghi",\n\n "data": "' + "x" * 1000 + '"}'
    excerpt = body_excerpt(make_response(200, body), secrets=["never-there"])
    assert "abc.def.ghi" not in excerpt
    assert excerpt.startswith('{"access_token": "[REDACTED]", "data": "xxx')
    assert len(excerpt) == 300


def test_body_excerpt_redacts_known_secrets() -> None:
    assert body_excerpt(make_response(500, "token was s3cr3t-value"), secrets=["s3cr3t-value"]) == (
        "token was [REDACTED]"
    )


def test_body_excerpt_survives_bad_charset() -> None:
    response = make_response(500, b"\xff\xfe bad bytes")
    response.encoding = "no-such-charset"
    assert "bad bytes" in body_excerpt(response)


def test_json_body() -> None:
    assert json_body(make_response(200, '{"a": [1]}')) == {"a": [1]}
    assert json_body(make_response(200, "null")) is None
    assert json_body(make_response(204, "")) is None
    with pytest.raises(MalformedResponse, match="HTML"):
        json_body(make_response(200, "  <html>login</html>", "application/json"))  # sniffed, whatever the header
    with pytest.raises(MalformedResponse, match="invalid JSON"):
        json_body(make_response(200, "{'single': 'quotes'}"))


def test_a_success_no_row_can_match_is_decided_without_reading_its_body() -> None:
    class Counting(RuleClassifier):
        looked = 0

        def facts(self, response: requests.Response) -> ErrorFacts:
            Counting.looked += 1
            return super().facts(response)

    classify = Counting()
    assert classify(make_response(200, b'{"id": 1}')) is None
    assert classify(make_response(204, b"")) is None
    assert Counting.looked == 0
    assert isinstance(classify(make_response(200, b"<html><body>Sign in</body></html>", "text/html")), MalformedResponse)
    assert isinstance(classify(make_response(404, b'{"error": "gone"}')), NotFound)
    assert Counting.looked == 2
    # A provider row for a 2xx status that is not about HTML (an error inside a 200) takes the full path.
    in_200 = Counting([ErrorRule(InvalidRequest, "an error inside a 200", status={200}, codes=("bad",))])
    assert isinstance(in_200(make_response(200, b'{"error": {"code": "bad", "message": "no"}}')),
                      InvalidRequest)
    assert in_200(make_response(200, b'{"id": 1}')) is None
    assert Counting.looked == 4
