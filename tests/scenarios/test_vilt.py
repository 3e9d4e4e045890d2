"""A virtual session end to end: Zoom first, then Google Calendar carries the join link, then Moodle publishes it.

The fault matrix (create, reschedule, cancel, enrol, a fault at each step) is :mod:`vilt_matrix`'s, shared with
the Microsoft Graph chain; this file names the chain and what only Zoom does (a join link per learner).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import vilt_matrix as matrix  # registered by this folder's conftest

from lms_connectors.invites import build_invite
from lms_connectors.models import Person
from lms_connectors.store.memory import MemoryLedger

Leg = matrix.Leg


class TestZoomGoogleMoodle(matrix.ViltFaultMatrix):  # type: ignore[misc]
    ORDER: ClassVar[tuple[str, ...]] = ("zoom", "google_calendar", "moodle")
    CREATE: ClassVar[dict[str, Any]] = {
        "zoom": ("POST", r"/meetings$", None),
        "google_calendar": ("POST", r"/events$", None),
        "moodle": ("POST", r"server\.php$", r"wsfunction=core_calendar_submit_create_update_form.*forms_create"),
    }
    MOVE: ClassVar[dict[str, Any]] = {
        "zoom": ("PATCH", r"/meetings/\d+$", None),
        "google_calendar": ("PATCH", r"/events/\w+$", None),
        "moodle": ("POST", r"server\.php$", r"wsfunction=core_calendar_submit_create_update_form"),
    }
    CANCEL: ClassVar[dict[str, Any]] = {
        "zoom": (400, "DELETE", r"/meetings/\d+$", None),
        "google_calendar": (400, "DELETE", r"/events/\w+$", None),
        "moodle": (400, "POST", r"server\.php$", r"wsfunction=core_calendar_delete_calendar_events"),
    }
    SESSION_ID: ClassVar[str] = "vilt.excel-advanced.2027-03-26"
    TITLE: ClassVar[str] = "Advanced Excel (virtual)"

    @pytest.fixture(params=ORDER)
    def step(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    def assert_exactly_one_each_with_link(self, legs: dict[str, Leg], ledger: MemoryLedger, session_id: str) -> None:
        (meeting,) = legs["zoom"].live_objects()
        (event,) = legs["google_calendar"].live_objects()
        (course_event,) = [o for o in legs["moodle"].live_objects() if o.get("kind") != "group"]
        assert len([o for o in legs["moodle"].live_objects() if o.get("kind") == "group"]) == 1
        stored = ledger.get_session(session_id)
        assert stored is not None and stored.meeting is not None
        zoom_ref = ledger.get_ref(session_id, "zoom")
        assert zoom_ref is not None and zoom_ref.external_id == str(meeting["id"])
        join_url = legs["zoom"].adapter.get_session(zoom_ref).join_url
        assert join_url and join_url == stored.meeting.join_url
        assert join_url in legs["google_calendar"].text_of(event) or join_url in str(event)
        assert join_url in legs["moodle"].text_of(course_event)

    def test_each_learner_keeps_her_own_zoom_link_and_leaving_costs_zoom_one_call(
        self, legs: dict[str, Leg]
    ) -> None:
        """Zoom makes a join link per registrant; the ledger keeps it for her invite and her registrant id for
        unenrolling her without listing the meeting's registrants."""
        scheduler, ledger, session = self.setup_session(legs)
        scheduler.schedule(session)
        ines = Person(email="ines@example.org", name="Ines Duarte", timezone="Europe/Lisbon")
        kofi = Person(email="kofi@example.org", name="Kofi Mensah", timezone="Africa/Accra")
        scheduler.enrol_many(session.id, [ines, kofi])
        stored = ledger.get_session(session.id)
        assert stored is not None and stored.meeting is not None
        with legs["zoom"].simulator.lock:
            (meeting,) = legs["zoom"].simulator.meetings.values()
            held = {r.email: (r.id, r.join_url) for r in meeting.registrants}
        links = {}
        for person in (ines, kofi):
            enrollment = ledger.get_enrollment(session.id, person.email)
            assert enrollment is not None
            registration = enrollment.registrations["zoom"]
            assert (registration.external_id, registration.join_url) == held[person.email]
            links[person.email] = enrollment.join_url(stored)
            assert links[person.email] == registration.join_url != stored.meeting.join_url
        assert len(set(links.values())) == 2

        invite = build_invite(stored, organizer=None, attendees=[ines], for_person=ines, join_url=links[ines.email])
        assert links[ines.email].encode() in invite.replace(b"\r\n ", b"")
        assert stored.meeting.join_url.encode() not in invite.replace(b"\r\n ", b"")

        before = len(legs["zoom"].server.requests)
        scheduler.unenrol(session.id, ines.email)
        zoom_calls = [(r.method, r.path) for r in legs["zoom"].server.requests[before:]]
        assert zoom_calls == [("PUT", f"/meetings/{meeting.id}/registrants/status")]
        with legs["zoom"].simulator.lock:
            assert {r.email: r.status for r in meeting.registrants}[ines.email] == "cancelled"
        left = ledger.get_enrollment(session.id, ines.email)
        assert left is not None and "zoom" not in left.registrations and "zoom" not in left.pushed_to
