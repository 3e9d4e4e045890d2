"""A virtual session with Microsoft Graph as the calendar *and* the meeting provider (Teams), then Moodle.

Outlook makes the Teams link when the event is created (``isOnlineMeeting``); the scheduler carries it to Moodle.
Each provider is its simulator on 127.0.0.1; faults are injected at every step of create, reschedule, cancel and
enrol. Whatever happens, no provider keeps an orphan and none holds a duplicate; the simulators' state is the
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
from lms_connectors_moodle.adapter import ENROLLED_BY_SDK_IDNUMBER

ORDER = ("microsoft_graph", "moodle")
CREATE = {
    "microsoft_graph": ("POST", r"/users/[^/]+/events$", None),
    "moodle": ("POST", r"server\.php$", r"wsfunction=core_calendar_create_calendar_events"),
}
MOVE = {
    "microsoft_graph": ("PATCH", r"/events/[^/]+$", None),
    "moodle": ("POST", r"server\.php$", r"wsfunction=core_calendar_submit_create_update_form"),
}
CANCEL = {
    # A refused cancel action falls back to DELETE by design: fail the action with a 503 instead.
    "microsoft_graph": (503, "POST", r"/events/[^/]+/cancel$", None),
    "moodle": (400, "POST", r"server\.php$", r"wsfunction=core_calendar_delete_calendar_events"),
}
TEAMS = "https://teams.microsoft.com/l/meetup-join/"


@dataclass
class Leg:
    name: str
    simulator: Any
    server: SandboxServer
    adapter: Adapter

    def live_objects(self) -> list[dict[str, Any]]:
        sim = self.simulator
        if self.name == "microsoft_graph":
            return list(sim.live_events())
        with sim.lock:
            groups = [dict(g, kind="group") for g in sim.site.data.groups.values()
                      if str(g.get("idnumber", "")).startswith("lmsc:") and g.get("idnumber") != ENROLLED_BY_SDK_IDNUMBER]
            return [dict(e) for e in sim.site.data.events.values()] + groups


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
        id="vilt.teams.2027-03-26",
        title="Advanced Excel (Teams)",
        slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="Europe/London"),
        modality=Modality.VIRTUAL,
        capacity=2,
        course_id=load_harness("moodle").session_extras()["course_id"],
    )
    return Scheduler([legs[n].adapter for n in reversed(ORDER)], ledger), ledger, session


def _assert_exactly_one_each_with_teams_link(legs: dict[str, Leg], ledger: MemoryLedger, session_id: str) -> None:
    (event,) = legs["microsoft_graph"].live_objects()
    (course_event,) = [o for o in legs["moodle"].live_objects() if o.get("kind") != "group"]
    stored = ledger.get_session(session_id)
    assert stored is not None and stored.meeting is not None
    assert stored.meeting.provider == "microsoft_graph"
    assert stored.meeting.join_url == event["onlineMeeting"]["joinUrl"] and stored.meeting.join_url.startswith(TEAMS)
    assert stored.meeting.join_url in " ".join(str(course_event.get(k, "")) for k in ("description", "location"))


def _assert_nothing_anywhere(legs: dict[str, Leg]) -> None:
    for name in ORDER:
        assert legs[name].live_objects() == [], f"orphan left in {name}"


FAULTS = {
    "persistent 503": lambda m, p, b: Fault.error(503, method=m, path=p, body_pattern=b, times=50),
    "refused 400": lambda m, p, b: Fault.error(400, method=m, path=p, body_pattern=b, times=50),
    "commit then drop": lambda m, p, b: Fault.drop_after_commit(method=m, path=p, body_pattern=b, times=1),
}


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
        assert fault == "commit then drop"
        _assert_exactly_one_each_with_teams_link(legs, ledger, session.id)
    legs[step].server.faults.clear()
    scheduler.schedule(session)
    _assert_exactly_one_each_with_teams_link(legs, ledger, session.id)
    assert len(ledger.list_refs(session.id)) == 2


def test_a_teams_link_outlook_attaches_late_reaches_moodle(legs: dict[str, Leg]) -> None:
    legs["microsoft_graph"].simulator.teams_pending_reads = 2
    scheduler, ledger, session = _setup(legs)
    scheduler.schedule(session)
    _assert_exactly_one_each_with_teams_link(legs, ledger, session.id)


@pytest.mark.parametrize("step", ORDER)
def test_reschedule_failing_at_a_step_moves_the_earlier_ones_back(legs: dict[str, Leg], step: str) -> None:
    scheduler, ledger, session = _setup(legs)
    scheduler.schedule(session)
    refs = {n: ledger.get_ref(session.id, n) for n in ORDER}
    before = {n: legs[n].adapter.get_session(refs[n]) for n in ORDER}  # type: ignore[arg-type]
    later = TimeSlot(start=session.slot.start + timedelta(days=3), end=session.slot.end + timedelta(days=3),
                     timezone="Europe/London")
    method, path, body = MOVE[step]
    legs[step].server.faults.add(Fault.error(400, method=method, path=path, body_pattern=body, times=50))
    with pytest.raises(SchedulingFailed):
        scheduler.reschedule(session.id, later)
    legs[step].server.faults.clear()
    for name in ORDER:
        now = legs[name].adapter.get_session(ledger.get_ref(session.id, name))  # type: ignore[arg-type]
        assert (now.start, now.end) == (before[name].start, before[name].end), name
    scheduler.reschedule(session.id, later)
    for name in ORDER:
        now = legs[name].adapter.get_session(ledger.get_ref(session.id, name))  # type: ignore[arg-type]
        assert now.start == later.start and now.end == later.end, name
    _assert_exactly_one_each_with_teams_link(legs, ledger, session.id)


@pytest.mark.parametrize("step", ORDER)
def test_cancel_with_a_failing_step_is_finished_by_a_retry(legs: dict[str, Leg], step: str) -> None:
    scheduler, ledger, session = _setup(legs)
    scheduler.schedule(session)
    status, method, path, body = CANCEL[step]
    legs[step].server.faults.add(Fault.error(status, method=method, path=path, body_pattern=body, times=50))
    with pytest.raises(ConnectorError):
        scheduler.cancel(session.id)
    for name in ORDER:
        assert bool(legs[name].live_objects()) is (name == step), name
    legs[step].server.faults.clear()
    scheduler.cancel(session.id)
    _assert_nothing_anywhere(legs)
    stored = ledger.get_session(session.id)
    assert stored is not None and stored.status is SessionStatus.CANCELLED


@pytest.mark.parametrize("step", ORDER)
def test_enrol_with_a_failing_step_loses_nobody(legs: dict[str, Leg], step: str) -> None:
    scheduler, ledger, session = _setup(legs)
    scheduler.schedule(session)
    people = [
        Person(email="ines@example.org", name="Ines Duarte", timezone="Europe/Lisbon"),
        Person(email="kofi@example.org", name="Kofi Mensah", timezone="Africa/Accra"),
        Person(email="mei@example.org", name="Mei Chen", timezone="Asia/Shanghai"),
    ]
    legs[step].server.faults.add(Fault.error(503, path=".*", times=200))
    with pytest.raises(ConnectorError):
        scheduler.enrol_many(session.id, people)
    legs[step].server.faults.clear()
    scheduler.sync(session.id)
    for name in ORDER:
        ref = ledger.get_ref(session.id, name)
        assert ref is not None
        assert {m.email for m in legs[name].adapter.list_roster(ref)} == {"ines@example.org", "kofi@example.org"}
    for enrollment in ledger.list_enrollments(session.id, EnrollmentStatus.CONFIRMED):
        assert set(enrollment.pushed_to) == set(ORDER)
