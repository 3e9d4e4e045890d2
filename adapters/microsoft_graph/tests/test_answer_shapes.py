"""Graph answers of another shape than the adapter reads: a MalformedResponse naming the endpoint and the field,
with a redacted excerpt of the body (never a KeyError, a TypeError, or a wrong value used)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.models import Modality, ProviderRef
from lms_connectors.testing.answers import LEAKY_FIELD, AnswerCase, AnswerShapeChecks
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter
from lms_connectors_microsoft_graph.sandbox import GraphSimulator
from lms_connectors_microsoft_graph.sandbox_meetings import Join

from .conftest import ROOM, session, slot

NY = ZoneInfo("America/New_York")
WINDOW = (datetime(2027, 3, 1, tzinfo=NY), datetime(2027, 4, 1, tzinfo=NY))

Call = Callable[[MicrosoftGraphAdapter, ProviderRef], object]

ENDPOINTS: dict[str, tuple[str, str, Call]] = {
    # operation: (method, path pattern, the adapter call that reads its answer)
    "events.get": ("GET", r"/events/[^/]+$", lambda a, r: a.get_session(r)),
    "events.create": ("POST", r"/events$", lambda a, _r: a.create_session(session(id="s-2"), key="s-2.graph.g1")),
    "events.find": ("GET", r"/events$", lambda a, _r: a.find_session("s-9.graph.g1")),
    "events.update": ("PATCH", r"/events/[^/]+$",
                      lambda a, r: a.reschedule_session(r, session().rescheduled(slot(day=17)))),
    "calendarView.list": ("GET", r"/calendarView$", lambda a, _r: list(a.list_sessions(*WINDOW))),
    "calendar.getSchedule": ("POST", r"/getSchedule$", lambda a, _r: a.free_busy([ROOM.email], *WINDOW)),
    "places.rooms": ("GET", r"/places/microsoft\.graph\.room$", lambda a, _r: list(a.list_rooms())),
    "batch.cancel": ("POST", r"/\$batch$", lambda a, r: a.ex_cancel_many([r])),
    "onlineMeetings.find": ("GET", r"/onlineMeetings$", lambda a, r: list(a.list_attendance(r))),
    "attendanceReports.list": ("GET", r"/attendanceReports$", lambda a, r: list(a.list_attendance(r))),
    "attendanceRecords.list": ("GET", r"/attendanceRecords$", lambda a, r: list(a.list_attendance(r))),
}

WRONG_SHAPES: dict[str, tuple[Any, str]] = {
    # operation: (an answer of another shape, the field the error names)
    "events.get": ({"subject": "Forklift safety", **LEAKY_FIELD}, "id"),
    "events.create": ({"id": "AAMk1", "start": "2027-03-16T09:00:00", **LEAKY_FIELD}, "start"),
    "events.find": ({"value": {"id": "AAMk1"}, **LEAKY_FIELD}, "value"),
    "events.update": ({"id": "AAMk1", "attendees": [{"type": "required"}], **LEAKY_FIELD},
                      "attendees.0.emailAddress"),
    "calendarView.list": ({"value": [], "@odata.nextLink": {"href": "next"}, **LEAKY_FIELD}, "@odata.nextLink"),
    "calendar.getSchedule": ({"value": [{"scheduleItems": []}], **LEAKY_FIELD}, "value.0.scheduleId"),
    "places.rooms": ({"value": [{"displayName": "Harbour", "capacity": "twenty"}], **LEAKY_FIELD},
                     "value.0.capacity"),
    "batch.cancel": ({"responses": [{"id": "1", "status": "204"}], **LEAKY_FIELD}, "responses.0.status"),
    "onlineMeetings.find": ({"value": [{"joinWebUrl": "https://teams.microsoft.com/l/x"}], **LEAKY_FIELD},
                            "value.0.id"),
    "attendanceReports.list": ({"value": [{"id": "c9b6db1c", "meetingStartDateTime": 1633408703}], **LEAKY_FIELD},
                               "value.0.meetingStartDateTime"),
    "attendanceRecords.list": ({"value": [{"emailAddress": "amara.okafor@example.org",
                                           "attendanceIntervals": [{"joinDateTime": None, "durationInSeconds": "322"}]}],
                                **LEAKY_FIELD}, "value.0.attendanceIntervals.0.durationInSeconds"),
}


CASES = {name: AnswerCase(method, path, call, *WRONG_SHAPES[name]) for name, (method, path, call) in ENDPOINTS.items()}


@pytest.fixture
def answer_target(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> tuple[MicrosoftGraphAdapter, ProviderRef]:
    # A Teams session whose meeting has ended with one learner in it: every answer, attendance included, is read.
    ref = adapter.create_session(session(modality=Modality.VIRTUAL), key="s-1.graph.g1")
    start = session().slot.start
    simulator.record_join(ref.external_id, Join("amara.okafor@example.org", start, start + timedelta(minutes=50)))
    simulator.end_meeting(ref.external_id)
    return adapter, ref


class TestAnswerShapes(AnswerShapeChecks):
    provider = "microsoft_graph"
    cases = CASES
