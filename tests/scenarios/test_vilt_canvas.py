"""A virtual session end to end with Canvas as the LMS: Zoom first, then Google Calendar, then Canvas publishes it.

Each provider is its simulator served on 127.0.0.1. Faults are injected at every step of create, and at Canvas's
step of reschedule, cancel and enrol; whatever happens, no provider is left with an orphan (for Canvas: a course
event, or a session's section without its event) and none holds a duplicate. The simulators' own state is the
ground truth.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import Adapter
from lms_connectors.errors import ConnectorError, SchedulingFailed
from lms_connectors.models import EnrollmentStatus, Modality, Person, Session, SessionStatus, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import Fault, SandboxServer

ORDER = ("zoom", "google_calendar", "canvas")
CREATE = {
    "zoom": ("POST", r"/meetings$"),
    "google_calendar": ("POST", r"/events$"),
    "canvas": ("POST", r"/calendar_events$"),
}
FAULTS = {
    "persistent 503": lambda m, p: Fault.error(503, method=m, path=p, times=50),
    "refused 400": lambda m, p: Fault.error(400, {"errors": [{"message": "refused"}]}, method=m, path=p, times=50),
    "commit then drop": lambda m, p: Fault.drop_after_commit(method=m, path=p, times=1),
}


@dataclass
class Leg:
    name: str
    simulator: Any
    server: SandboxServer
    adapter: Adapter

    def live_objects(self) -> list[dict[str, Any]]:
        """What the provider holds now, straight from the simulator's state."""
        sim = self.simulator
        with sim.lock:
            if self.name == "zoom":
                return [dict(m.body, id=m.id) for m in sim.meetings.values()]
            if self.name == "google_calendar":
                events = sim.calendars[sim.organizer].events.values()
                return [dict(e) for e in events if e.get("status") != "cancelled"]
            events = [e.view() for e in sim.events.values() if e.workflow_state != "deleted"
                      and e.context_code.startswith("course_") and not e.context_code.startswith("course_section_")]
            sections = [dict(s.view(), kind="section") for s in sim.sections.values()
                        if s.workflow_state != "deleted" and (s.sis_section_id or "").startswith("lmsc-")]
            return events + sections


@pytest.fixture
def legs() -> Iterator[dict[str, Leg]]:
    with contextlib.ExitStack() as stack:
        found: dict[str, Leg] = {}
        for name in ORDER:
            harness = load_harness(name)
            simulator = harness.make_simulator()
            server = stack.enter_context(SandboxServer(simulator))
            adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
            stack.callback(adapter.close)
            found[name] = Leg(name, simulator, server, adapter)
        yield found


def _setup(legs: dict[str, Leg]) -> tuple[Scheduler, MemoryLedger, Session]:
    ledger = MemoryLedger()
    start = datetime(2027, 3, 26, 15, 0, tzinfo=ZoneInfo("Europe/London"))  # London moves to BST on 28 March
    session = Session(
        id="vilt.canvas.2027-03-26", title="Advanced Excel (virtual)", modality=Modality.VIRTUAL, capacity=2,
        slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="Europe/London"),
        course_id=load_harness("canvas").session_extras()["course_id"],
    )
    return Scheduler([legs[n].adapter for n in reversed(ORDER)], ledger), ledger, session


def _assert_exactly_one_each_with_link(legs: dict[str, Leg], ledger: MemoryLedger, session_id: str) -> None:
    (meeting,) = legs["zoom"].live_objects()
    (event,) = legs["google_calendar"].live_objects()
    canvas = legs["canvas"].live_objects()
    (course_event,) = [o for o in canvas if o.get("kind") != "section"]
    (section,) = [o for o in canvas if o.get("kind") == "section"]
    stored = ledger.get_session(session_id)
    assert stored is not None and stored.meeting is not None
    assert stored.meeting.join_url in str(event) and stored.meeting.join_url in course_event["description"]
    assert [c["context_code"] for c in course_event["child_events"]] == [f"course_section_{section['id']}"]
    assert meeting["id"]


def _assert_nothing_anywhere(legs: dict[str, Leg]) -> None:
    for name in ORDER:
        assert legs[name].live_objects() == [], f"orphan left in {name}"


@pytest.mark.parametrize("step", ORDER)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_create_with_a_fault_at_each_step_leaves_no_orphan_and_no_duplicate(
    legs: dict[str, Leg], step: str, fault: str
) -> None:
    scheduler, ledger, session = _setup(legs)
    legs[step].server.faults.add(FAULTS[fault](*CREATE[step]))
    try:
        scheduler.schedule(session)
    except SchedulingFailed as exc:
        assert exc.step == step  # noqa: PT017 - either outcome is allowed; each has its own checks
        _assert_nothing_anywhere(legs)
        failed = ledger.get_session(session.id)
        assert failed is not None and failed.status is SessionStatus.FAILED
    else:
        assert fault == "commit then drop"  # a lost answer is found by its marker: one object, not two
        _assert_exactly_one_each_with_link(legs, ledger, session.id)
    legs[step].server.faults.clear()
    scheduler.schedule(session)
    _assert_exactly_one_each_with_link(legs, ledger, session.id)
    assert len(ledger.list_refs(session.id)) == 3


def test_reschedule_refused_by_canvas_moves_the_others_back_then_lands_everywhere(legs: dict[str, Leg]) -> None:
    scheduler, ledger, session = _setup(legs)
    scheduler.schedule(session)
    later = TimeSlot(start=session.slot.start + timedelta(days=3), end=session.slot.end + timedelta(days=3),
                     timezone="Europe/London")
    legs["canvas"].server.faults.add(Fault.error(400, method="PUT", path=r"/calendar_events/\d+$", times=50))
    with pytest.raises(SchedulingFailed):
        scheduler.reschedule(session.id, later)
    legs["canvas"].server.faults.clear()
    for name in ORDER:
        now = legs[name].adapter.get_session(ledger.get_ref(session.id, name))  # type: ignore[arg-type]
        assert now.start == session.slot.start, name
    scheduler.reschedule(session.id, later)
    for name in ORDER:
        now = legs[name].adapter.get_session(ledger.get_ref(session.id, name))  # type: ignore[arg-type]
        assert (now.start, now.end) == (later.start, later.end), name
    _assert_exactly_one_each_with_link(legs, ledger, session.id)


def test_cancel_failing_at_canvas_is_finished_by_a_retry(legs: dict[str, Leg]) -> None:
    scheduler, ledger, session = _setup(legs)
    scheduler.schedule(session)
    legs["canvas"].server.faults.add(Fault.error(400, method="DELETE", path=r"/calendar_events/\d+$", times=50))
    with pytest.raises(ConnectorError):
        scheduler.cancel(session.id)
    assert [r.provider for r in ledger.list_refs(session.id)] == ["canvas"]
    legs["canvas"].server.faults.clear()
    scheduler.cancel(session.id)
    _assert_nothing_anywhere(legs)


def test_enrol_with_canvas_failing_loses_nobody_and_sync_pushes_the_seated(legs: dict[str, Leg]) -> None:
    scheduler, ledger, session = _setup(legs)
    scheduler.schedule(session)
    people = [Person(email=f"{name}@example.org", name=name.title() + " Learner", timezone="Asia/Tokyo")
              for name in ("ines", "kofi", "mei")]
    legs["canvas"].server.faults.add(Fault.error(503, path=".*", times=200))
    with pytest.raises(ConnectorError):
        scheduler.enrol_many(session.id, people)
    statuses = [e.status for e in ledger.list_enrollments(session.id)]
    assert statuses == [EnrollmentStatus.CONFIRMED, EnrollmentStatus.CONFIRMED, EnrollmentStatus.WAITLISTED]
    legs["canvas"].server.faults.clear()
    scheduler.sync(session.id)
    ref = ledger.get_ref(session.id, "canvas")
    assert ref is not None
    assert {m.email for m in legs["canvas"].adapter.list_roster(ref)} == {"ines@example.org", "kofi@example.org"}
