"""The rule-table classifier: how rows match, what their flags build, and the Markdown the READMEs hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import responses

from lms_connectors.errors import (
    AuthError,
    CapacityFull,
    ConnectorError,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ProviderError,
    QuotaExceeded,
    RateLimited,
)
from lms_connectors.http import HttpTransport, RetryPolicy
from lms_connectors.http.classify import (
    ANY_STATUS,
    DEFAULT_RULES,
    SUCCESS,
    ErrorBody,
    ErrorRule,
    Flag,
    RuleClassifier,
    common_error_body,
    default_classifier,
    parse_reset_at,
)
from lms_connectors.http.error_table import main, markers, render_markdown, update_readme

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_response(status: int, body: object = None, content_type: str = "application/json", **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    if isinstance(body, bytes):
        response._content = body
    elif isinstance(body, str):
        response._content = body.encode()
    else:
        response._content = json.dumps(body).encode() if body is not None else b""
    response.headers["Content-Type"] = content_type
    response.headers.update({name.replace("_", "-"): value for name, value in headers.items()})
    return response


PAGE = "<!DOCTYPE html><html><body>Sign in</body></html>"


@pytest.mark.parametrize("status", [200, 201])
def test_html_page_on_a_success_is_never_success(status: int) -> None:
    error = default_classifier(make_response(status, PAGE, "text/html; charset=utf-8"))
    assert type(error) is MalformedResponse
    assert error.status == status
    # Recognised by its first characters too, whatever the content type claims.
    assert type(default_classifier(make_response(status, PAGE))) is MalformedResponse


@responses.activate
def test_transport_refuses_a_200_html_page_even_without_reading_json() -> None:
    responses.add(responses.DELETE, "https://api.example.com/things/1", body=PAGE, status=200, content_type="text/html")
    transport = HttpTransport(provider="example", base_url="https://api.example.com", retry=RetryPolicy(max_attempts=1))
    with pytest.raises(MalformedResponse, match="HTML page"):
        transport.request("DELETE", "things/1")


def test_json_and_empty_successes_are_none() -> None:
    assert default_classifier(make_response(200, {"code": "x", "message": "a field called code"})) is None
    assert default_classifier(make_response(204)) is None
    assert default_classifier(make_response(200, "not json", "text/plain")) is None


ROWS = (
    ErrorRule(CapacityFull, "full", status={409}, codes={"session_full", 3043}),
    ErrorRule(NotFound, "gone", message=r"does not exist"),
    ErrorRule(QuotaExceeded, "daily quota", status={429}, header=("X-RateLimit-Type", "^daily")),
    ErrorRule(PermissionDenied, "disabled", status={403}, body="empty"),
    ErrorRule(ProviderError, "error in a success", status=SUCCESS, body="error"),
)


def read_errors(payload: object) -> ErrorBody | None:
    # A provider whose successes may carry {"failure": {...}}.
    if isinstance(payload, dict) and isinstance(payload.get("failure"), dict):
        return ErrorBody((payload["failure"]["code"],), payload["failure"]["text"])
    return common_error_body(payload)


classify = RuleClassifier(ROWS, provider="example", read_body=read_errors, now=lambda: NOW)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (make_response(409, {"code": "session_full"}), CapacityFull),
        (make_response(409, {"code": 3043}), CapacityFull),  # codes compare as text
        (make_response(409, {"code": "other"}), ConnectorError),  # the core's 409 row
        (make_response(400, {"code": 1, "message": "Meeting does not exist: 5"}), NotFound),
        (make_response(400, {"code": "Meeting does not exist"}), NotFound),  # the pattern is searched in codes too
        (make_response(429, {}, X_RateLimit_Type="Daily-limit"), QuotaExceeded),
        (make_response(429, {}, X_RateLimit_Type="QPS"), RateLimited),
        (make_response(403), PermissionDenied),
        (make_response(200, {"failure": {"code": "E1", "text": "nope"}}), ProviderError),
        (make_response(200, {"result": 1}), type(None)),
    ],
)
def test_rows_match_in_order_then_the_core(response: requests.Response, expected: type) -> None:
    error = classify(response)
    assert isinstance(error, expected)
    if error is not None:
        assert error.provider == "example"


def test_first_matching_row_decides_and_evidence_code_is_the_providers() -> None:
    error = classify(make_response(200, {"failure": {"code": "E1", "text": "nope"}}))
    assert error is not None
    assert error.code == "E1"
    assert error.message == "error in a success: nope"
    assert classify.rule_for(classify.facts(make_response(403, b""))) is ROWS[3]


def test_a_row_applies_only_to_its_body_kind() -> None:
    assert type(classify(make_response(403, {"message": "no"}))) is PermissionDenied
    assert classify.rule_for(classify.facts(make_response(403, {"message": "no"}))) is not ROWS[3]


def test_throttling_row_reads_retry_after_and_quota_row_its_reset() -> None:
    throttled = classify(make_response(429, {}, Retry_After="7"))
    assert isinstance(throttled, RateLimited) and throttled.retry_after == 7.0
    quota = classify(make_response(429, {}, X_RateLimit_Type="daily", Retry_After="3600"))
    assert isinstance(quota, QuotaExceeded)
    assert quota.resets_at == datetime(2026, 3, 1, 13, 0, tzinfo=UTC)


def test_flags() -> None:
    assert ROWS[2].flags == Flag.QUOTA
    assert ErrorRule(RateLimited, "slow down", status={429}).flags == Flag.THROTTLING
    assert ErrorRule(AuthError, "final", status={401}).flags == Flag.NONE
    assert ErrorRule(AuthError, "expired", status={401}, refresh=True).flags == Flag.AUTH_REFRESH
    with pytest.raises(ValueError, match="only an AuthError row"):
        ErrorRule(NotFound, "x", refresh=True)


def test_classify_body_for_an_item_of_a_batch() -> None:
    error = classify.classify_body({"failure": {"code": "E2", "text": "item 3"}}, status=200, request_id="r-1")
    assert type(error) is ProviderError
    assert (error.code, error.request_id, error.provider) == ("E2", "r-1", "example")
    assert classify.classify_body({"result": 1}) is None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"code": 3001, "message": "Meeting does not exist"}, ErrorBody((3001,), "Meeting does not exist")),
        ({"error": {"code": "ErrorItemNotFound", "message": "gone"}}, ErrorBody(("ErrorItemNotFound",), "gone")),
        ({"error": "invalid_grant", "error_description": "revoked"}, ErrorBody(("invalid_grant",), "revoked")),
        ({"message": "only words"}, ErrorBody((), "only words")),
        ({"id": 1}, None),
        ([1], None),
    ],
)
def test_common_error_body(payload: object, expected: ErrorBody | None) -> None:
    assert common_error_body(payload) == expected


def test_parse_reset_at_forms() -> None:
    assert parse_reset_at("2026-03-02T00:00:00Z", NOW) == datetime(2026, 3, 2, tzinfo=UTC)
    assert parse_reset_at("Mon, 02 Mar 2026 00:00:00 GMT", NOW) == datetime(2026, 3, 2, tzinfo=UTC)
    assert parse_reset_at("60", NOW) == datetime(2026, 3, 1, 12, 1, tzinfo=UTC)
    assert parse_reset_at("later", NOW) is None


def test_markdown_lists_rows_in_order_with_their_selectors() -> None:
    table = render_markdown(classify)
    lines = table.splitlines()
    assert lines[0] == "| # | Status | When | Error | Flags | Meaning |"
    assert lines[2] == "| 1 | 409 | code `3043`, `session_full` | `CapacityFull` | - | full |"
    assert lines[3] == "| 2 | any but 2xx | message ~ `does not exist` | `NotFound` | - | gone |"
    assert lines[4] == "| 3 | 429 | header X-RateLimit-Type ~ `^daily` | `QuotaExceeded` | quota | daily quota |"
    assert lines[5] == "| 4 | 403 | empty body | `PermissionDenied` | - | disabled |"
    assert lines[6] == "| 5 | 2xx | provider's error body | `ProviderError` | - | error in a success |"
    assert len(lines) == 2 + len(ROWS)
    everything = render_markdown(classify, include_fallback=True).splitlines()
    assert len(everything) == 2 + len(ROWS) + len(DEFAULT_RULES)
    assert "| 4xx but 429 |" in render_markdown(RuleClassifier([ErrorRule(AuthError, "x", status=set(range(400, 500)) - {429})]))
    assert "| 400, 409-410 |" in render_markdown(RuleClassifier([ErrorRule(AuthError, "x", status={400, 409, 410})]))
    assert "| any |" in render_markdown(RuleClassifier([ErrorRule(AuthError, "x", status=ANY_STATUS)]))


def test_readme_section_is_replaced_between_its_markers(tmp_path: Path) -> None:
    begin, end = markers()
    readme = tmp_path / "README.md"
    readme.write_text(f"# Adapter\n\n{begin}\nold\n{end}\n\nmore\n", encoding="utf-8")
    assert main([str(readme), "tests.http.test_rule_table:classify"]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text == f"# Adapter\n\n{begin}\n{render_markdown(classify)}{end}\n\nmore\n"
    with pytest.raises(ValueError, match="error-table:begin token"):
        update_readme(text, "x", "token")
