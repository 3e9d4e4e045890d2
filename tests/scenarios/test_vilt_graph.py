"""A virtual session with Microsoft Graph as the calendar *and* the meeting provider (Teams), then Moodle.

Outlook makes the Teams link when the event is created (``isOnlineMeeting``); the scheduler carries it to Moodle.
The fault matrix (create, reschedule, cancel, enrol, a fault at each step) is :mod:`vilt_matrix`'s, shared with
the Zoom chain; this file names the chain and what only Outlook does (a Teams link attached late).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import vilt_matrix as matrix  # registered by this folder's conftest

from lms_connectors.store.memory import MemoryLedger

TEAMS = "https://teams.microsoft.com/l/meetup-join/"


Leg = matrix.Leg


class TestGraphMoodle(matrix.ViltFaultMatrix):  # type: ignore[misc]
    ORDER: ClassVar[tuple[str, ...]] = ("microsoft_graph", "moodle")
    CREATE: ClassVar[dict[str, Any]] = {
        "microsoft_graph": ("POST", r"/users/[^/]+/events$", None),
        "moodle": ("POST", r"server\.php$", r"wsfunction=core_calendar_submit_create_update_form.*forms_create"),
    }
    MOVE: ClassVar[dict[str, Any]] = {
        "microsoft_graph": ("PATCH", r"/events/[^/]+$", None),
        "moodle": ("POST", r"server\.php$", r"wsfunction=core_calendar_submit_create_update_form"),
    }
    CANCEL: ClassVar[dict[str, Any]] = {
        # A refused cancel action falls back to DELETE by design: fail the action with a 503 instead.
        "microsoft_graph": (503, "POST", r"/events/[^/]+/cancel$", None),
        "moodle": (400, "POST", r"server\.php$", r"wsfunction=core_calendar_delete_calendar_events"),
    }
    SESSION_ID: ClassVar[str] = "vilt.teams.2027-03-26"
    TITLE: ClassVar[str] = "Advanced Excel (Teams)"

    @pytest.fixture(params=ORDER)
    def step(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    def assert_exactly_one_each_with_link(self, legs: dict[str, Leg], ledger: MemoryLedger, session_id: str) -> None:
        (event,) = legs["microsoft_graph"].live_objects()
        (course_event,) = [o for o in legs["moodle"].live_objects() if o.get("kind") != "group"]
        stored = ledger.get_session(session_id)
        assert stored is not None and stored.meeting is not None
        assert stored.meeting.provider == "microsoft_graph"
        assert stored.meeting.join_url == event["onlineMeeting"]["joinUrl"]
        assert stored.meeting.join_url.startswith(TEAMS)
        assert stored.meeting.join_url in legs["moodle"].text_of(course_event)

    def test_a_teams_link_outlook_attaches_late_reaches_moodle(self, legs: dict[str, Leg]) -> None:
        legs["microsoft_graph"].simulator.teams_pending_reads = 2
        scheduler, ledger, session = self.setup_session(legs)
        scheduler.schedule(session)
        self.assert_exactly_one_each_with_link(legs, ledger, session.id)
