"""The fault matrix of a virtual session across several providers, written once for every provider chain.

Each provider of a chain is its simulator served on 127.0.0.1. Faults are injected at every step of create,
reschedule, cancel and enrol; whatever happens, no provider is left with an orphan object and none holds a
duplicate. The simulators' own state is the ground truth (not the adapters' read-back). A scenario file
subclasses :class:`ViltFaultMatrix` with its chain (``ORDER``), the request that creates, moves and cancels the
object at each provider, and its check that every provider holds exactly one object carrying the join link.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
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

Request = tuple[str, str, str | None]
"""Method, path regex, body regex (every Moodle call goes to server.php; the function is named in the body)."""


def _zoom_objects(sim: Any) -> list[dict[str, Any]]:
    return [dict(m.body, id=m.id) for m in sim.meetings.values()]


def _google_objects(sim: Any) -> list[dict[str, Any]]:
    return [dict(e) for e in sim.calendars[sim.organizer].events.values() if e.get("status") != "cancelled"]


def _graph_objects(sim: Any) -> list[dict[str, Any]]:
    return [dict(e) for e in sim.events.values() if not e["isCancelled"]]


def _moodle_objects(sim: Any) -> list[dict[str, Any]]:
    # A session's group counts too: a group left without its event is an orphan as well.
    groups = [dict(g, kind="group") for g in sim.site.data.groups.values()
              if str(g.get("idnumber", "")).startswith("lmsc:") and g.get("idnumber") != ENROLLED_BY_SDK_IDNUMBER]
    return [dict(e) for e in sim.site.data.events.values()] + groups


LIVE_OBJECTS: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    "zoom": _zoom_objects,
    "google_calendar": _google_objects,
    "microsoft_graph": _graph_objects,
    "moodle": _moodle_objects,
}

FAULTS: dict[str, Callable[[str, str, str | None], Fault]] = {
    "persistent 503": lambda m, p, b: Fault.error(503, method=m, path=p, body_pattern=b, times=50),
    "refused 400": lambda m, p, b: Fault.error(400, method=m, path=p, body_pattern=b, times=50),
    "commit then drop": lambda m, p, b: Fault.drop_after_commit(method=m, path=p, body_pattern=b, times=1),
}

PEOPLE = (
    Person(email="ines@example.org", name="Ines Duarte", timezone="Europe/Lisbon"),
    Person(email="kofi@example.org", name="Kofi Mensah", timezone="Africa/Accra"),
    Person(email="mei@example.org", name="Mei Chen", timezone="Asia/Shanghai"),
)


@dataclass
class Leg:
    name: str
    simulator: Any
    server: SandboxServer
    adapter: Adapter

    def live_objects(self) -> list[dict[str, Any]]:
        """What the provider holds now, straight from the simulator's state."""
        with self.simulator.lock:
            return LIVE_OBJECTS[self.name](self.simulator)

    def text_of(self, obj: dict[str, Any]) -> str:
        return " ".join(str(obj.get(k, "")) for k in ("agenda", "description", "location", "name"))


class ViltFaultMatrix:
    """The matrix; a subclass names its chain and how each provider's object is made, moved and cancelled."""

    ORDER: ClassVar[tuple[str, ...]]
    CREATE: ClassVar[dict[str, Request]]
    MOVE: ClassVar[dict[str, Request]]
    CANCEL: ClassVar[dict[str, tuple[int, str, str, str | None]]]
    """Status of the refusal, then the request (a provider whose refused cancel falls back to a delete by design
    is failed with a 503 instead)."""
    SESSION_ID: ClassVar[str]
    TITLE: ClassVar[str]

    def assert_exactly_one_each_with_link(self, legs: dict[str, Leg], ledger: MemoryLedger, session_id: str) -> None:
        """Every provider holds exactly one object of the session, and each carries the session's join link."""
        raise NotImplementedError

    @pytest.fixture
    def legs(self) -> Iterator[dict[str, Leg]]:
        with contextlib.ExitStack() as stack:
            found: dict[str, Leg] = {}
            for name in self.ORDER:
                harness = load_harness(name)
                simulator = harness.make_simulator()
                server = stack.enter_context(SandboxServer(simulator))
                adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
                stack.callback(adapter.close)
                found[name] = Leg(name, simulator, server, adapter)
            yield found

    def setup_session(self, legs: dict[str, Leg]) -> tuple[Scheduler, MemoryLedger, Session]:
        ledger = MemoryLedger()
        start = datetime(2027, 3, 26, 15, 0, tzinfo=ZoneInfo("Europe/London"))  # London moves to BST on 28 March
        session = Session(
            id=self.SESSION_ID,
            title=self.TITLE,
            slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="Europe/London"),
            modality=Modality.VIRTUAL,
            capacity=2,
            course_id=load_harness("moodle").session_extras()["course_id"],
        )
        return Scheduler([legs[n].adapter for n in reversed(self.ORDER)], ledger), ledger, session  # kinds order

    def assert_nothing_anywhere(self, legs: dict[str, Leg]) -> None:
        for name in self.ORDER:
            assert legs[name].live_objects() == [], f"orphan left in {name}"

    @pytest.mark.parametrize("fault", sorted(FAULTS))
    def test_create_with_a_fault_at_each_step_leaves_no_orphan_and_no_duplicate(
        self, legs: dict[str, Leg], step: str, fault: str
    ) -> None:
        scheduler, ledger, session = self.setup_session(legs)
        legs[step].server.faults.add(FAULTS[fault](*self.CREATE[step]))
        try:
            scheduler.schedule(session)
        except SchedulingFailed as exc:
            assert exc.step == step  # noqa: PT017 - either outcome is allowed; each has its own checks
            self.assert_nothing_anywhere(legs)
            assert ledger.list_refs(session.id) == []
            failed = ledger.get_session(session.id)
            assert failed is not None and failed.status is SessionStatus.FAILED
            assert [a.action for a in ledger.iter_audit(session.id)][-1] == "schedule_failed"
        else:
            # A lost answer is recovered (native id, or look-up by marker): exactly one object, not two.
            assert fault == "commit then drop"
            self.assert_exactly_one_each_with_link(legs, ledger, session.id)
        # Whatever happened, retrying the same plan once the fault is gone ends with exactly one of each.
        legs[step].server.faults.clear()
        scheduler.schedule(session)
        self.assert_exactly_one_each_with_link(legs, ledger, session.id)
        assert len(ledger.list_refs(session.id)) == len(self.ORDER)

    def test_reschedule_failing_at_a_step_moves_the_earlier_ones_back(self, legs: dict[str, Leg], step: str) -> None:
        scheduler, ledger, session = self.setup_session(legs)
        scheduler.schedule(session)
        before = {n: legs[n].adapter.get_session(ledger.get_ref(session.id, n)) for n in self.ORDER}  # type: ignore[arg-type]
        later = TimeSlot(start=session.slot.start + timedelta(days=3), end=session.slot.end + timedelta(days=3),
                         timezone="Europe/London")
        method, path, body = self.MOVE[step]
        legs[step].server.faults.add(Fault.error(400, method=method, path=path, body_pattern=body, times=50))
        with pytest.raises(SchedulingFailed) as info:
            scheduler.reschedule(session.id, later)
        assert info.value.step == step
        legs[step].server.faults.clear()
        for name in self.ORDER:
            now = legs[name].adapter.get_session(ledger.get_ref(session.id, name))  # type: ignore[arg-type]
            assert (now.start, now.end) == (before[name].start, before[name].end), name
        self.assert_exactly_one_each_with_link(legs, ledger, session.id)
        # Without the fault, the move lands everywhere, in place, at the same instant (across London's DST change).
        scheduler.reschedule(session.id, later)
        for name in self.ORDER:
            now = legs[name].adapter.get_session(ledger.get_ref(session.id, name))  # type: ignore[arg-type]
            assert now.start == later.start and now.end == later.end, name
        self.assert_exactly_one_each_with_link(legs, ledger, session.id)

    def test_cancel_with_a_failing_step_is_finished_by_a_retry(self, legs: dict[str, Leg], step: str) -> None:
        scheduler, ledger, session = self.setup_session(legs)
        scheduler.schedule(session)
        status, method, path, body = self.CANCEL[step]
        legs[step].server.faults.add(Fault.error(status, method=method, path=path, body_pattern=body, times=50))
        with pytest.raises(ConnectorError):
            scheduler.cancel(session.id)
        assert [r.provider for r in ledger.list_refs(session.id)] == [step]
        for name in self.ORDER:
            assert bool(legs[name].live_objects()) is (name == step), name
        legs[step].server.faults.clear()
        scheduler.cancel(session.id)
        self.assert_nothing_anywhere(legs)
        stored = ledger.get_session(session.id)
        assert stored is not None and stored.status is SessionStatus.CANCELLED

    def test_enrol_with_a_failing_step_loses_nobody(self, legs: dict[str, Leg], step: str) -> None:
        scheduler, ledger, session = self.setup_session(legs)
        scheduler.schedule(session)
        legs[step].server.faults.add(Fault.error(503, path=".*", times=200))
        with pytest.raises(ConnectorError):
            scheduler.enrol_many(session.id, list(PEOPLE))
        statuses = [e.status for e in ledger.list_enrollments(session.id)]
        assert statuses == [EnrollmentStatus.CONFIRMED, EnrollmentStatus.CONFIRMED, EnrollmentStatus.WAITLISTED]
        legs[step].server.faults.clear()
        scheduler.sync(session.id)
        for name in self.ORDER:
            ref = ledger.get_ref(session.id, name)
            assert ref is not None
            roster = {m.email for m in legs[name].adapter.list_roster(ref) if (m.status or "approved") != "pending"}
            assert roster == {"ines@example.org", "kofi@example.org"}, name
        for enrollment in ledger.list_enrollments(session.id, EnrollmentStatus.CONFIRMED):
            assert set(enrollment.pushed_to) == set(self.ORDER)
