"""Google answers of another shape than the adapter reads: a MalformedResponse naming the endpoint and the field,
with a redacted excerpt of the body (never a KeyError, a TypeError, or a wrong value used)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from lms_connectors.errors import MalformedResponse
from lms_connectors.models import ProviderRef, TimeSlot
from lms_connectors.testing.answers import GARBLED, LEAKY_FIELD, assert_malformed
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter

from .conftest import NY, ROOM, make_session

Call = Callable[[GoogleCalendarAdapter, ProviderRef], object]
WINDOW = (datetime(2026, 3, 1, tzinfo=NY), datetime(2026, 4, 1, tzinfo=NY))


def _later(adapter: GoogleCalendarAdapter, ref: ProviderRef) -> object:
    start = datetime(2026, 3, 11, 9, 0, tzinfo=NY)
    slot = TimeSlot(start=start, end=start + timedelta(hours=2), timezone="America/New_York")
    return adapter.reschedule_session(ref, make_session().rescheduled(slot))


ENDPOINTS: dict[str, tuple[str, str, Call]] = {
    # name: (method, path pattern, the adapter call that reads its answer)
    "events.get": ("GET", r"/events/[^/]+$", lambda a, r: a.get_session(r)),
    "events.list": ("GET", r"/events$", lambda a, _r: list(a.list_sessions(*WINDOW))),
    "events.insert": ("POST", r"/events$", lambda a, _r: a.create_session(make_session("s-2"), key="s-2.g.g1")),
    "events.patch": ("PATCH", r"/events/[^/]+$", _later),
    "freebusy.query": ("POST", r"/freeBusy$", lambda a, _r: a.free_busy([ROOM.email or ""], *WINDOW)),
    "resources.calendars.list": ("GET", r"/resources/calendars$", lambda a, _r: list(a.list_rooms())),
}

WRONG_SHAPES: dict[str, tuple[Any, str]] = {
    # endpoint: (an answer of another shape, the field the error names)
    "events.get": ({"etag": '"1"', "summary": "Forklift safety", **LEAKY_FIELD}, "id"),
    "events.list": ({"items": [{"id": "e1", "start": "2026-03-10T09:00:00-05:00"}], **LEAKY_FIELD}, "items.0.start"),
    "events.insert": ({"id": "e1", "attendees": {"email": "learner1@example.org"}, **LEAKY_FIELD}, "attendees"),
    "events.patch": ({"id": "e1", "start": {"dateTime": 1_773_147_600}, **LEAKY_FIELD}, "start.dateTime"),
    "freebusy.query": ({"calendars": [ROOM.email], **LEAKY_FIELD}, "calendars"),
    "resources.calendars.list": ({"items": [{"resourceName": "Room 101"}], **LEAKY_FIELD}, "items.0.resourceId"),
}


@pytest.fixture
def event(adapter: GoogleCalendarAdapter) -> ProviderRef:
    return adapter.create_session(make_session(), key="s-1.g.g1")


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_json_of_another_shape_names_the_endpoint_and_the_field(
    server: SandboxServer, adapter: GoogleCalendarAdapter, event: ProviderRef, name: str
) -> None:
    method, path, call = ENDPOINTS[name]
    body, field = WRONG_SHAPES[name]
    # times=2: a create's answer of another shape is looked up by key and sent once more.
    server.faults.add(Fault.error(200, body, method=method, path=path, times=2))
    with pytest.raises(MalformedResponse) as caught:
        call(adapter, event)
    assert_malformed(caught.value, provider="google_calendar", endpoint=f"{name} ({method} ", field=field)
    assert caught.value.code == "unexpected_shape" and caught.value.status == 200


@pytest.mark.parametrize("garbled", sorted(GARBLED))
@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_an_answer_that_is_not_json_names_the_endpoint(
    server: SandboxServer, adapter: GoogleCalendarAdapter, event: ProviderRef, name: str, garbled: str
) -> None:
    method, path, call = ENDPOINTS[name]
    headers, body = GARBLED[garbled]
    server.faults.add(Fault.error(200, body, headers=headers, method=method, path=path, times=30))
    with pytest.raises(MalformedResponse) as caught:
        call(adapter, event)
    assert_malformed(caught.value, provider="google_calendar", endpoint=f"{name} ({method} ")
