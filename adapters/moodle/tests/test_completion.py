"""Completion in Moodle: learners' completion of an existing activity, through the web-service user's role.

Against the simulator, which answers the two completion functions as a live Moodle 4.5.6 did
(``test_fidelity_completion.py`` replays that transcript): the adapter alone, the operations step end to end with
its second run making no call, each refusal named, and the doctor's optional check.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import Capability, Presence
from lms_connectors.completion import CompletionItem, CompletionState
from lms_connectors.errors import NotFound, PermissionDenied, ValidationError
from lms_connectors.models import Person, Session, TimeSlot
from lms_connectors.operations.attendance import record_attendance
from lms_connectors.operations.completion import write_completion
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors_moodle.adapter import MoodleAdapter
from lms_connectors_moodle.config import MoodleConfig
from lms_connectors_moodle.doctor import CAPABILITIES, COMPLETION_CAPABILITIES, COMPLETION_FUNCTIONS, REQUIRED_FUNCTIONS
from lms_connectors_moodle.sandbox import MoodleSimulator

from .conftest import Site

WS_TOKEN = "ws-token-completion-0123456789"
START = datetime(2027, 3, 16, 9, 0, tzinfo=ZoneInfo("Europe/London"))
COMPLETE, INCOMPLETE = CompletionState.COMPLETE, CompletionState.INCOMPLETE
PEOPLE = [Person(email=f"{name}@example.org", name=name.title()) for name in ("aiko", "lena", "kenji")]


@pytest.fixture
def ws(sandbox_server: SandboxStarter) -> Iterator[Site]:
    simulator = MoodleSimulator(tokens={WS_TOKEN: "lmsc.ws"}, site_timezone="Europe/London")
    simulator.site.add_web_service_user("lmsc.ws", (*CAPABILITIES, *COMPLETION_CAPABILITIES))
    simulator.site.service_functions = [*REQUIRED_FUNCTIONS, *COMPLETION_FUNCTIONS]
    course_id = simulator.site.add_course("ILT-101", "Instructor-led training")
    server = sandbox_server(simulator)
    config = MoodleConfig.model_validate({"base_url": server.url, "token": WS_TOKEN, "course_id": course_id,
                                          "create_missing_users": True, "site_timezone": "Europe/London"})
    adapter = MoodleAdapter(config, sleep=lambda _s: None)
    try:
        yield Site(simulator, server, adapter, course_id)
    finally:
        adapter.close()


def _scheduled(ws: Site) -> tuple[Scheduler, MemoryLedger, int, int]:
    """The session scheduled and its three learners enrolled; a tracked activity (manual) and an untracked one."""
    ledger = MemoryLedger()
    scheduler = Scheduler([ws.adapter], ledger)
    session = Session(id="s.done", title="Forklift Safety", course_id=str(ws.course_id),
                      slot=TimeSlot(start=START, end=START + timedelta(hours=2), timezone="Europe/London"))
    scheduler.schedule(session)
    scheduler.enrol_many("s.done", PEOPLE)
    tracked = ws.simulator.site.add_activity(ws.course_id, tracking=1)
    untracked = ws.simulator.site.add_activity(ws.course_id, tracking=0)
    return scheduler, ledger, tracked, untracked


def _states(ws: Site, cmid: int) -> dict[str, int]:
    users = ws.simulator.site.data.users
    return {users[user]["email"]: record["state"]
            for (activity, user), record in ws.simulator.site.data.completions.items() if activity == cmid}


def test_the_adapter_has_the_capability() -> None:
    assert Capability.COMPLETION in MoodleAdapter.capabilities


def test_attendance_becomes_activity_completion_once(ws: Site) -> None:
    scheduler, ledger, cmid, _ = _scheduled(ws)
    record_attendance(ledger, "s.done", [Presence(email="aiko@example.org", joined=START),
                                         Presence(email="kenji@example.org", joined=START + timedelta(minutes=20))])
    item = {"moodle": CompletionItem(kind="activity", id=str(cmid))}
    report = write_completion(scheduler, "s.done", item)
    assert not report.failed
    # the accounts (1), then per learner a read, and an override for the two complete ones (lena stays 0)
    assert report.calls == 1 + 3 + 2
    assert report.unchanged_at_lms == [("moodle", "lena@example.org")]
    assert _states(ws, cmid) == {"aiko@example.org": 1, "kenji@example.org": 1}
    overrider = next(iter(ws.simulator.site.data.completions.values()))["overrideby"]
    assert ws.simulator.site.data.users[overrider]["username"] == "lmsc.ws"
    again = write_completion(scheduler, "s.done", item)
    assert (again.calls, len(again.kept)) == (0, 3)


def test_the_lms_state_is_read_before_writing(ws: Site) -> None:
    scheduler, ledger, cmid, _ = _scheduled(ws)
    ref = ledger.get_ref("s.done", "moodle")
    session = ledger.get_session("s.done")
    assert ref is not None
    assert session is not None
    item = CompletionItem(kind="activity", id=str(cmid))
    marks = {"aiko@example.org": COMPLETE, "kenji@example.org": INCOMPLETE}
    first = list(ws.adapter.record_completion(ref, session, item, marks))
    before = ws.adapter.call_count
    second = list(ws.adapter.record_completion(ref, session, item, marks))
    assert ws.adapter.call_count - before == 1 + 2  # accounts, two reads, no override
    assert [(w.email, w.changed) for w in first] == [("aiko@example.org", True), ("kenji@example.org", False)]
    assert [w.changed for w in second] == [False, False]


def test_an_untracked_activity_a_wrong_kind_and_an_unknown_cmid_are_refused(ws: Site) -> None:
    scheduler, ledger, cmid, untracked = _scheduled(ws)
    ref = ledger.get_ref("s.done", "moodle")
    session = ledger.get_session("s.done")
    assert ref is not None
    assert session is not None
    marks = {"aiko@example.org": COMPLETE}
    with pytest.raises(ValidationError, match=f"activity {untracked} is not an activity with completion tracking") as e:
        list(ws.adapter.record_completion(ref, session, CompletionItem(kind="activity", id=str(untracked)), marks))
    assert e.value.field == "completion.moodle"
    assert _states(ws, untracked) == {}
    for wrong in (CompletionItem(kind="assignment", id="3"), CompletionItem(kind="activity")):
        with pytest.raises(ValidationError) as refused:
            list(ws.adapter.record_completion(ref, session, wrong, marks))
        assert refused.value.field == "completion.moodle"
    with pytest.raises(ValidationError, match="not an activity with completion tracking"):
        list(ws.adapter.record_completion(ref, session, CompletionItem(kind="activity", id="999"), marks))


def test_someone_who_is_not_a_learner_of_the_course_is_named_before_any_override(ws: Site) -> None:
    scheduler, ledger, cmid, _ = _scheduled(ws)
    ref = ledger.get_ref("s.done", "moodle")
    session = ledger.get_session("s.done")
    assert ref is not None
    assert session is not None
    ws.simulator.site.insert_user({"username": "amara", "firstname": "Amara", "lastname": "Okafor",
                                   "email": "amara@example.org"})
    item = CompletionItem(kind="activity", id=str(cmid))
    with pytest.raises(NotFound, match=r"amara@example\.org is not a learner of course"):
        list(ws.adapter.record_completion(ref, session, item, {"amara@example.org": COMPLETE}))
    with pytest.raises(NotFound, match=r"nobody@example\.org has no Moodle account"):
        list(ws.adapter.record_completion(ref, session, item, {"nobody@example.org": COMPLETE}))
    assert _states(ws, cmid) == {}  # Moodle itself would have stored both


@pytest.mark.parametrize(
    ("capability", "function", "named"),
    [
        ("moodle/course:overridecompletion", None, "give the token's role moodle/course:overridecompletion"),
        ("report/progress:view", None, "give the token's role report/progress:view"),
        (None, "core_completion_override_activity_completion_status",
         "core_completion_override_activity_completion_status is refused: add it to the token's external service"),
        (None, "core_completion_get_activities_completion_status",
         "core_completion_get_activities_completion_status is refused: add it to the token's external service"),
    ],
)
def test_a_missing_capability_or_function_is_named(ws: Site, capability: str | None, function: str | None,
                                                   named: str) -> None:
    scheduler, ledger, cmid, _ = _scheduled(ws)
    site = ws.simulator.site
    site.assign_system_role(3, [c for c in (*CAPABILITIES, *COMPLETION_CAPABILITIES) if c != capability])
    site.service_functions = [f for f in (*REQUIRED_FUNCTIONS, *COMPLETION_FUNCTIONS) if f != function]
    record_attendance(ledger, "s.done", [Presence(email="aiko@example.org", joined=START)])
    report = write_completion(scheduler, "s.done", {"moodle": CompletionItem(kind="activity", id=str(cmid))})
    ((provider, error),) = report.failed
    assert provider == "moodle"
    assert isinstance(error, PermissionDenied)
    assert named in error.message
    assert _states(ws, cmid) == {}


def test_the_doctor_says_whether_completion_can_be_written_and_passes_either_way(ws: Site) -> None:
    checks = {check.name: check for check in ws.adapter.diagnose()}
    assert checks["completion (optional)"].ok
    assert "service functions present" in checks["completion (optional)"].detail
    ws.simulator.site.service_functions = list(REQUIRED_FUNCTIONS)
    without = {check.name: check for check in ws.adapter.diagnose()}
    assert all(check.ok for check in without.values()), without
    assert "add to the token's external service core_completion_override_activity_completion_status, " \
           "core_completion_get_activities_completion_status" in without["completion (optional)"].detail
