"""Zoom answers of another shape than the adapter reads: a MalformedResponse naming the endpoint and the field,
with a redacted excerpt of the body (never a KeyError, a TypeError, or a wrong value used)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lms_connectors.models import ProviderRef
from lms_connectors.testing.answers import LEAKY_FIELD, AnswerCase, AnswerShapeChecks
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_zoom.adapter import ZoomAdapter

from .conftest import AdapterFactory, learner, make_session

Call = Callable[[ZoomAdapter, ProviderRef], object]

ENDPOINTS: dict[str, tuple[str, str, str, Call]] = {
    # name: (method, path pattern, endpoint named in the error, the adapter call that reads it)
    "create meeting": ("POST", r"/users/[^/]+/meetings$", "create meeting (POST /users/me/meetings)",
                       lambda a, _r: a.create_session(make_session("s-2"), key="s-2.zoom.g1", fresh=True)),
    "get meeting": ("GET", r"/meetings/\d+$", "get meeting (GET /meetings/", lambda a, r: a.get_session(r)),
    "list meetings": ("GET", r"/users/[^/]+/meetings$", "list meetings (GET /users/me/meetings)",
                      lambda a, _r: a.find_session("s-9.zoom.g1")),
    "list registrants": ("GET", r"/registrants$", "list registrants (GET /meetings/",
                         lambda a, r: list(a.list_roster(r))),
    "add registrants": ("POST", r"/batch_registrants$", "add registrants (POST /meetings/",
                        lambda a, r: a.enrol(r, make_session(), [learner(1)])),
}

WRONG_SHAPES: dict[str, tuple[Any, str]] = {
    # endpoint: (an answer of another shape, the field the error names)
    "create meeting": ({"id": 85012345678, "start_time": 1_900_000_000, "duration": 60, **LEAKY_FIELD},
                       "start_time"),
    "get meeting": ({"id": 85012345678, "duration": 60, **LEAKY_FIELD}, "start_time"),
    "list meetings": ({"meetings": [{"id": True, "topic": "x"}], **LEAKY_FIELD}, "meetings.0.id"),
    "list registrants": ({"registrants": [{"id": "r1", "status": "approved"}], **LEAKY_FIELD},
                         "registrants.0.email"),
    "add registrants": ({"registrants": "learner1@example.com", **LEAKY_FIELD}, "registrants"),
}


CASES = {
    name: AnswerCase(method, path, call, *WRONG_SHAPES[name], endpoint=endpoint, status=200 if method == "GET" else 201)
    for name, (method, path, endpoint, call) in ENDPOINTS.items()
}


@pytest.fixture
def answer_target(make_adapter: AdapterFactory) -> tuple[ZoomAdapter, ProviderRef]:
    adapter = make_adapter()
    return adapter, adapter.create_session(make_session(), key="s-1.zoom.g1", fresh=True)


class TestAnswerShapes(AnswerShapeChecks):
    provider = "zoom"
    cases = CASES
    garbled_answers = 20  # every attempt: a read is asked again by the transport, a create looked up and sent again


def test_a_meeting_id_that_is_a_string_is_read(server: SandboxServer, answer_target: tuple[ZoomAdapter, ProviderRef]) -> None:
    """Zoom's ids are int64; a string id (as some answers and webhooks give) is read as it is, not refused."""
    adapter, ref = answer_target
    server.faults.add(Fault.error(200, {"id": "85012345678", "start_time": "2031-03-20T14:00:00Z", "duration": 90},
                                  method="GET", path=r"/meetings/\d+$"))
    assert adapter.get_session(ref).ref.external_id == "85012345678"
