"""Acme's error rows: each one decides its answer, and the README lists them as the code has them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from acme_lms_connector.classify import acme_classifier

from lms_connectors.errors import CapacityFull, Conflict, ConnectorError, InvalidRequest, NotFound
from lms_connectors.testing.error_table import assert_readme_table_current


def answer(status: int, code: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps({"error": {"code": code, "message": "said Acme"}}).encode()
    response.headers["Content-Type"] = "application/json"
    return response


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (409, "session_full", CapacityFull),
        (409, "session_cancelled", Conflict),
        (410, "session_cancelled", NotFound),
        (422, "validation_failed", InvalidRequest),
        (409, "something_new", Conflict),  # an unknown code keeps the status' meaning
    ],
)
def test_rows(status: int, code: str, expected: type[ConnectorError]) -> None:
    error = acme_classifier(answer(status, code))
    assert type(error) is expected
    assert error.code == code and error.provider == "acme_lms"
    assert error.message.endswith(": said Acme")


def test_readme_lists_the_table() -> None:
    readme = Path(__file__).parents[1] / "README.md"
    assert_readme_table_current(readme, acme_classifier, "acme_lms_connector.classify:acme_classifier")
