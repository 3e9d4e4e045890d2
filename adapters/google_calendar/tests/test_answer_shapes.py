"""Google answers of another shape than the adapter reads: a MalformedResponse naming the endpoint and the field,
with a redacted excerpt of the body (never a KeyError, a TypeError, or a wrong value used)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lms_connectors.models import ProviderRef, TimeSlot
from lms_connectors.testing.answers import LEAKY_FIELD, AnswerCase, AnswerShapeChecks
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter

from .conftest import NY, ROOM, make_session

WINDOW = (datetime(2026, 3, 1, tzinfo=NY), datetime(2026, 4, 1, tzinfo=NY))


def _later(adapter: GoogleCalendarAdapter, ref: ProviderRef) -> object:
    start = datetime(2026, 3, 11, 9, 0, tzinfo=NY)
    slot = TimeSlot(start=start, end=start + timedelta(hours=2), timezone="America/New_York")
    return adapter.reschedule_session(ref, make_session().rescheduled(slot))


CASES: dict[str, AnswerCase] = {
    # name: the request, the adapter call that reads its answer, an answer of another shape, the field named
    "events.get": AnswerCase("GET", r"/events/[^/]+$", lambda a, r: a.get_session(r),
                             {"etag": '"1"', "summary": "Forklift safety", **LEAKY_FIELD}, "id"),
    "events.list": AnswerCase("GET", r"/events$", lambda a, _r: list(a.list_sessions(*WINDOW)),
                              {"items": [{"id": "e1", "start": "2026-03-10T09:00:00-05:00"}], **LEAKY_FIELD},
                              "items.0.start"),
    "events.insert": AnswerCase("POST", r"/events$",
                                lambda a, _r: a.create_session(make_session("s-2"), key="s-2.g.g1"),
                                {"id": "e1", "attendees": {"email": "learner1@example.org"}, **LEAKY_FIELD},
                                "attendees"),
    "events.patch": AnswerCase("PATCH", r"/events/[^/]+$", _later,
                               {"id": "e1", "start": {"dateTime": 1_773_147_600}, **LEAKY_FIELD}, "start.dateTime"),
    "freebusy.query": AnswerCase("POST", r"/freeBusy$", lambda a, _r: a.free_busy([ROOM.email or ""], *WINDOW),
                                 {"calendars": [ROOM.email], **LEAKY_FIELD}, "calendars"),
    "resources.calendars.list": AnswerCase("GET", r"/resources/calendars$", lambda a, _r: list(a.list_rooms()),
                                           {"items": [{"resourceName": "Room 101"}], **LEAKY_FIELD},
                                           "items.0.resourceId"),
}


@pytest.fixture
def answer_target(adapter: GoogleCalendarAdapter) -> tuple[GoogleCalendarAdapter, ProviderRef]:
    return adapter, adapter.create_session(make_session(), key="s-1.g.g1")


class TestAnswerShapes(AnswerShapeChecks):
    provider = "google_calendar"
    cases = CASES
