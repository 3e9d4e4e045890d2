"""Canvas's error answers through the adapter's classifier (bodies as Canvas and canvasapi's fixtures show them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from lms_connectors.errors import (
    AuthError,
    CapacityFull,
    Conflict,
    ConnectorError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from lms_connectors.testing.error_table import assert_readme_table_current
from lms_connectors_canvas.classify import CanvasClassifier, canvas_classifier, is_throttled

README = Path(__file__).parents[1] / "README.md"


def _answer(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    if isinstance(body, str):
        response._content = body.encode()
        response.headers["Content-Type"] = "text/plain"
    else:
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
    response.headers.update(headers or {})
    response.url = "https://canvas.example.edu/api/v1/calendar_events"
    return response


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "message"),
    [
        (403, "403 Forbidden (Rate Limit Exceeded)", {"X-Rate-Limit-Remaining": "0.0"}, RateLimited,
         "Rate Limit Exceeded"),
        (429, "429 Forbidden (Rate Limit Exceeded)", {}, RateLimited, "Rate Limit Exceeded"),
        (401, {"errors": [{"message": "Invalid access token."}]}, {"WWW-Authenticate": 'Bearer realm="canvas-lms"'},
         AuthError, "Invalid access token."),
        (401, {"status": "unauthorized", "errors": [{"message": "user not authorized to perform that action"}]}, {},
         PermissionDenied, "user not authorized"),
        (403, {"errors": [{"message": "forbidden"}]}, {}, PermissionDenied, "forbidden"),
        (404, {"errors": [{"message": "The specified resource does not exist."}]}, {}, NotFound, "does not exist"),
        (400, {"errors": {"title": [{"attribute": "title", "type": "blank", "message": "can't be blank"}]}}, {},
         InvalidRequest, "title: can't be blank"),
        (400, {"errors": {"sis_source_id": [{"attribute": "sis_source_id", "type": "taken",
                                             "message": 'SIS ID "x" is already in use'}]}}, {}, Conflict, "in use"),
        (400, [{"attribute": "reservation", "type": "calendar_event", "message": "this time slot is full"}], {},
         CapacityFull, "slot is full"),
        (400, [{"attribute": "reservation", "type": "calendar_event", "message": "ineligible participant"}], {},
         InvalidRequest, "ineligible participant"),
        (500, {"errors": [{"message": "An error occurred."}]}, {}, TransientError, "An error occurred."),
    ],
)
def test_canvas_answers_map_onto_the_error_tree(
    status: int, body: object, headers: dict[str, str], expected: type[ConnectorError], message: str
) -> None:
    error = CanvasClassifier()(_answer(status, body, headers))
    assert type(error) is expected or (expected is TransientError and isinstance(error, TransientError))
    assert message in error.message


def test_only_a_401_with_www_authenticate_asks_for_a_refresh() -> None:
    table = CanvasClassifier()
    expired = table.rule_for(table.facts(_answer(401, {"errors": [{"message": "Invalid access token."}]},
                                                 {"WWW-Authenticate": 'Bearer realm="canvas-lms"'})))
    forbidden = table.rule_for(table.facts(_answer(401, {"errors": [{"message": "user not authorized"}]})))
    assert expired is not None and expired.refresh
    assert forbidden is not None and not forbidden.refresh and forbidden.error is PermissionDenied


def test_a_plain_403_is_not_throttling_and_a_429_always_is() -> None:
    assert not is_throttled(_answer(403, {"errors": [{"message": "forbidden"}]}))
    assert is_throttled(_answer(403, "403 Forbidden (Rate Limit Exceeded)"))
    assert is_throttled(_answer(429, ""))
    assert not is_throttled(_answer(200, []))


def test_readme_table_is_current() -> None:
    assert_readme_table_current(README, canvas_classifier, "lms_connectors_canvas.classify:canvas_classifier")
