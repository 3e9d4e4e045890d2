"""Graph's error answers through the rule table (bodies as Microsoft documents them or as reported publicly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from lms_connectors.errors import (
    AuthError,
    ConfigurationError,
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from lms_connectors.http.classify import GatewayErrorPage
from lms_connectors.testing.error_table import assert_readme_table_current
from lms_connectors_microsoft_graph.errors import classify_graph_response, classify_login_response

README = Path(__file__).parents[1] / "README.md"


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response.headers.update({"Content-Type": "application/json", **(headers or {})})
    return response


def graph(code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": "2027-01-04T12:00:00", "request-id": "req-1", "client-request-id": "c-1"}}}


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "code"),
    [
        # concepts/throttling.md sample: fractional Retry-After.
        (429, {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}, {"Retry-After": "2.128"},
         RateLimited, "TooManyRequests"),
        # Reported mailbox-concurrency refusal (4 requests per app and mailbox).
        (429, {"error": {"code": "ApplicationThrottled",
                         "message": "Application is over its MailboxConcurrency limit."}}, {}, RateLimited,
         "ApplicationThrottled"),
        (503, graph("ServiceUnavailable", "busy"), {"Retry-After": "5"}, RateLimited, "ServiceUnavailable"),
        (504, graph("GatewayTimeout", "busy"), {"Retry-After": "3"}, RateLimited, "GatewayTimeout"),
        (503, graph("ConcurrentItemSave", "The item was saved concurrently."), {}, TransientError,
         "ConcurrentItemSave"),
        (412, graph("ErrorIrresolvableConflict", "The send or update operation could not be performed because the "
                    "change key passed in the request does not match the current change key for the item."), {},
         Conflict, "ErrorIrresolvableConflict"),
        (401, graph("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."), {}, AuthError,
         "InvalidAuthenticationToken"),
        (403, graph("ErrorAccessDenied", "Access is denied. Check credentials and try again."), {}, PermissionDenied,
         "ErrorAccessDenied"),
        (404, graph("ErrorItemNotFound", "The specified object was not found in the store."), {}, NotFound,
         "ErrorItemNotFound"),
        (404, graph("ErrorInvalidUser", "The requested user 'x@contoso.example' is invalid."), {}, ConfigurationError,
         "ErrorInvalidUser"),
        (400, graph("ErrorInvalidIdMalformed", "Id is malformed."), {}, InvalidRequest, "ErrorInvalidIdMalformed"),
        (400, graph("ErrorInvalidRequest", "Your request can't be completed."), {}, InvalidRequest,
         "ErrorInvalidRequest"),
        (500, graph("UnknownError", ""), {}, TransientError, "UnknownError"),
        (404, "<html><body>Not Found</body></html>", {"Content-Type": "text/html"}, MalformedResponse, None),
    ],
)
def test_rows(status: int, body: object, headers: dict[str, str], expected: type[ConnectorError],
              code: str | None) -> None:
    error = classify_graph_response(answer(status, body, headers))
    assert type(error) is expected, error
    assert error.code == code
    assert error.provider == "microsoft_graph"
    if isinstance(error, RateLimited) and "Retry-After" in headers:
        assert error.retry_after == float(headers["Retry-After"])


def test_success_is_no_error() -> None:
    assert classify_graph_response(answer(202, "")) is None


def test_the_request_id_header_is_kept_as_evidence() -> None:
    error = classify_graph_response(answer(404, graph("ErrorItemNotFound", "gone"), {"request-id": "abc-123"}))
    assert error is not None and error.request_id == "abc-123"


def test_login_refusals_go_back_to_msal_while_failures_are_transient() -> None:
    refusal = {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
    assert classify_login_response(answer(401, refusal)) is None
    assert classify_login_response(answer(400, refusal)) is None
    assert isinstance(classify_login_response(answer(500, {"error": "server_error"})), TransientError)
    assert isinstance(classify_login_response(answer(502, "<html>bad gateway</html>", {"Content-Type": "text/html"})),
                      GatewayErrorPage)
    throttled = classify_login_response(answer(429, "", {"Retry-After": "7"}))
    assert isinstance(throttled, RateLimited) and throttled.retry_after == 7


def test_readme_tables_are_current() -> None:
    assert_readme_table_current(README, classify_graph_response,
                                "lms_connectors_microsoft_graph.errors:classify_graph_response")
    assert_readme_table_current(README, classify_login_response,
                                "lms_connectors_microsoft_graph.errors:classify_login_response", "login")
