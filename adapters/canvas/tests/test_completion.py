"""Completion in Canvas: a pass/fail assignment per session, learners graded complete or incomplete.

Against the simulator (``CanvasSimulator`` on 127.0.0.1): the adapter alone, the operations step end to end, and
each refusal Canvas gives; and, with ``responses``, the exact requests the adapter sends.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from typer.testing import CliRunner

from lms_connectors import cli
from lms_connectors.adapter import Capability, Presence
from lms_connectors.completion import CompletionItem, CompletionState
from lms_connectors.errors import AuthError, NotFound, PermissionDenied, ValidationError
from lms_connectors.models import ProviderRef
from lms_connectors.operations.attendance import record_attendance
from lms_connectors.operations.completion import write_completion
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.store.sqlite import SQLiteLedger
from lms_connectors.testing.capabilities import capability_mismatches
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_canvas.adapter import CanvasAdapter
from lms_connectors_canvas.grading import completion_marker
from lms_connectors_canvas.sandbox import CanvasSimulator
from lms_connectors_canvas.testing import CanvasHarness

from .conftest import AdapterFactory, learner, make_session

COMPLETE, INCOMPLETE = CompletionState.COMPLETE, CompletionState.INCOMPLETE
MAKE = CompletionItem(kind="assignment")


def _scheduled(make_adapter: AdapterFactory, people: int = 3) -> tuple[CanvasAdapter, Scheduler, MemoryLedger]:
    adapter = make_adapter()
    ledger = MemoryLedger()
    scheduler = Scheduler([adapter], ledger)
    scheduler.schedule(make_session("s-done"))
    scheduler.enrol_many("s-done", [learner(n) for n in range(1, people + 1)])
    return adapter, scheduler, ledger


def test_the_adapter_declares_completion_and_implements_it() -> None:
    assert CanvasAdapter.capabilities >= {Capability.COMPLETION}
    assert capability_mismatches(CanvasAdapter) == []


def test_attendance_becomes_grades_on_an_assignment_made_once(
    make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    adapter, scheduler, ledger = _scheduled(make_adapter)
    start = make_session().slot.start
    record_attendance(ledger, "s-done", [Presence(email="learner1@example.org", joined=start),
                                         Presence(email="learner2@example.org", joined=start + timedelta(minutes=25))])
    report = write_completion(scheduler, "s-done", {"canvas": MAKE})
    assert not report.failed
    # search (nothing), make, then one grade per learner: no submissions read for an assignment just made
    assert report.calls == 2 + 3
    (assignment,) = simulator.assignments.values()
    assert (assignment.grading_type, assignment.submission_types, assignment.published) == ("pass_fail", ["on_paper"],
                                                                                           True)
    assert assignment.points_possible == 1.0
    assert assignment.due_at == make_session().slot.end
    assert completion_marker(make_session("s-done")) in assignment.description
    grades = {s.user.login_id: (s.grade, s.score) for s in simulator.submissions.values()}
    assert grades == {"learner1@example.org": ("complete", 1.0), "learner2@example.org": ("complete", 1.0),
                      "learner3@example.org": ("incomplete", 0.0)}

    again = write_completion(scheduler, "s-done", {"canvas": MAKE})
    assert (again.calls, len(again.kept)) == (0, 3)
    assert len(simulator.assignments) == 1


def test_a_lost_ledger_finds_the_assignment_by_its_marker_and_writes_nothing_new(
    make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    adapter, scheduler, ledger = _scheduled(make_adapter, people=2)
    ref = ledger.get_ref("s-done", "canvas")
    assert ref is not None
    marks = {"learner1@example.org": COMPLETE, "learner2@example.org": INCOMPLETE}
    first = list(adapter.record_completion(ref, make_session("s-done"), MAKE, marks))
    before = adapter.call_count
    second = list(adapter.record_completion(ref, make_session("s-done"), MAKE, marks))
    assert adapter.call_count - before == 2  # search by title (marker found), read the grades; no grade posted
    assert [w.changed for w in first] == [True, True]
    assert [w.changed for w in second] == [False, False]
    assert {w.item_id for w in first + second} == {str(next(iter(simulator.assignments)))}
    assert len(simulator.assignments) == 1


def test_an_existing_pass_fail_assignment_is_graded_and_another_kind_refused(
    make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    adapter, scheduler, ledger = _scheduled(make_adapter, people=1)
    ref = ledger.get_ref("s-done", "canvas")
    assert ref is not None
    made = adapter.client.call("POST", "/courses/101/assignments", operation="make", json={"assignment": {
        "name": "Attendance", "grading_type": "pass_fail", "points_possible": 5, "published": True}})
    points = adapter.client.call("POST", "/courses/101/assignments", operation="make", json={"assignment": {
        "name": "Quiz", "grading_type": "points", "points_possible": 10, "published": True}})
    before = adapter.call_count
    (written,) = adapter.record_completion(ref, make_session("s-done"), CompletionItem(kind="assignment",
                                           id=str(made["id"])), {"learner1@example.org": COMPLETE})
    assert adapter.call_count - before == 3  # read it, read the grades, grade
    assert (written.item_id, written.changed) == (str(made["id"]), True)
    assert simulator.submissions[(made["id"], simulator._login("learner1@example.org").id)].score == 5.0
    with pytest.raises(ValidationError, match="graded 'points', not pass/fail") as wrong:
        list(adapter.record_completion(ref, make_session("s-done"), CompletionItem(kind="assignment",
                                       id=str(points["id"])), {"learner1@example.org": COMPLETE}))
    assert wrong.value.field == "completion.canvas"
    with pytest.raises(ValidationError, match="not an activity"):
        list(adapter.record_completion(ref, make_session("s-done"), CompletionItem(kind="activity", id="3"), {}))
    with pytest.raises(NotFound):
        list(adapter.record_completion(ref, make_session("s-done"), CompletionItem(kind="assignment", id="424242"),
                                       {"learner1@example.org": COMPLETE}))


def test_a_learner_not_in_the_course_is_named_and_those_before_her_are_kept(
    make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    adapter, scheduler, ledger = _scheduled(make_adapter, people=1)
    simulator.add_user("outsider@example.org", "Out Sider")
    ref = ledger.get_ref("s-done", "canvas")
    assert ref is not None
    marks = {"learner1@example.org": COMPLETE, "outsider@example.org": COMPLETE}
    written = []
    with pytest.raises(NotFound, match=r"outsider@example\.org is not a student of course 101"):
        written.extend(adapter.record_completion(ref, make_session("s-done"), MAKE, marks))
    assert [w.email for w in written] == ["learner1@example.org"]


def test_missing_permissions_are_refused_as_canvas_does(make_adapter: AdapterFactory, simulator: CanvasSimulator) -> None:
    adapter, scheduler, ledger = _scheduled(make_adapter, people=1)
    ref = ledger.get_ref("s-done", "canvas")
    assert ref is not None
    marks = {"learner1@example.org": COMPLETE}
    simulator.granted.discard("manage_assignments_add")
    with pytest.raises(PermissionDenied):
        list(adapter.record_completion(ref, make_session("s-done"), MAKE, marks))
    simulator.granted.add("manage_assignments_add")
    simulator.granted.discard("manage_grades")
    with pytest.raises(PermissionDenied):
        list(adapter.record_completion(ref, make_session("s-done"), MAKE, marks))
    doctor = {check.name: check for check in adapter.diagnose()}
    assert doctor["completion (optional)"].ok  # optional: the site works without it
    assert "needs manage_grades" in doctor["completion (optional)"].detail
    simulator.granted.add("manage_grades")
    assert "can be written back" in {c.name: c for c in adapter.diagnose()}["completion (optional)"].detail


def test_an_unpublished_assignment_and_a_refused_token(make_adapter: AdapterFactory, simulator: CanvasSimulator) -> None:
    adapter, scheduler, ledger = _scheduled(make_adapter, people=1)
    ref = ledger.get_ref("s-done", "canvas")
    assert ref is not None
    draft = adapter.client.call("POST", "/courses/101/assignments", operation="make", json={"assignment": {
        "name": "Draft", "grading_type": "pass_fail", "points_possible": 1}})
    assert draft["published"] is False
    with pytest.raises(PermissionDenied):
        list(adapter.record_completion(ref, make_session("s-done"), CompletionItem(kind="assignment",
                                       id=str(draft["id"])), {"learner1@example.org": COMPLETE}))
    simulator.revoke_refresh_token()
    with pytest.raises(AuthError):
        list(adapter.record_completion(ref, make_session("s-done"), MAKE, {"learner1@example.org": COMPLETE}))


def test_a_grade_a_pass_fail_assignment_cannot_take_is_a_400_with_canvas_error_body(
    server: SandboxServer[CanvasSimulator], make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    adapter, _scheduler, _ledger = _scheduled(make_adapter, people=1)
    simulator.access_tokens["7~grading-test"] = simulator.service_user.id
    http = requests.Session()
    http.headers["Authorization"] = "Bearer 7~grading-test"
    made = http.post(f"{server.url}/api/v1/courses/101/assignments", data={
        "assignment[name]": "Attendance", "assignment[grading_type]": "pass_fail",
        "assignment[points_possible]": "2", "assignment[published]": "true"}).json()
    url = f"{server.url}/api/v1/courses/101/assignments/{made['id']}/submissions/sis_login_id:learner1@example.org"
    refused = http.put(url, data={"submission[posted_grade]": "1"})
    assert (refused.status_code, refused.json()) == (400, {"error": "Grade '1' is not a valid pass/fail grade"})
    for posted, grade, score in (("pass", "complete", 2.0), ("0", "incomplete", 0.0), ("100%", "complete", 2.0)):
        graded = http.put(url, data={"submission[posted_grade]": posted}).json()
        assert (graded["grade"], graded["score"], graded["workflow_state"]) == (grade, score, "graded")
    nobody = http.put(url.replace("learner1", "nobody"), data={"submission[posted_grade]": "pass"})
    assert (nobody.status_code, nobody.json()) == (404, {"errors": [{"message": "The specified resource does not "
                                                                                "exist."}]})
    http.close()


@responses.activate
def test_the_requests_sent_for_a_made_assignment() -> None:
    base = "https://canvas.example.edu/api/v1"
    adapter = CanvasAdapter.from_config({"base_url": base, "access_token": "t0ken", "course_id": 101})
    responses.get(f"{base}/courses/101/assignments", json=[])
    responses.post(f"{base}/courses/101/assignments", status=201, json={"id": 55, "grading_type": "pass_fail"})
    responses.put(f"{base}/courses/101/assignments/55/submissions/sis_login_id:ana@example.org",
                  json={"id": 9, "grade": "incomplete", "score": 0.0})
    session = make_session("s-req")
    ref = ProviderRef(provider="canvas", external_id="1", extra={"course_id": "101"})
    (written,) = adapter.record_completion(ref, session, CompletionItem(kind="assignment", points=3),
                                           {"ana@example.org": INCOMPLETE})
    assert (written.item_id, written.state, written.changed) == ("55", INCOMPLETE, True)
    search, make, grade = responses.calls
    assert parse_qs(urlparse(search.request.url).query)["search_term"] == ["Forklift Safety"]
    body = json.loads(make.request.body)["assignment"]
    assert body == {"name": "Forklift Safety", "description": body["description"], "grading_type": "pass_fail",
                    "submission_types": ["on_paper"], "points_possible": 3.0, "due_at": "2027-03-16T10:30:00-04:00",
                    "published": True}
    assert "[lmsc:completion:s-req]" in body["description"]
    assert json.loads(grade.request.body) == {"submission": {"posted_grade": "incomplete"}}
    adapter.close()


PLAN = """\
version: 1
sessions:
  - id: s-done
    title: Forklift Safety
    start: 2027-03-16 09:00
    minutes: 90
    timezone: America/New_York
    course: "101"
    completion:
      canvas: {assignment: new, points: 2}
"""


def test_the_attendance_command_records_a_sign_in_sheet_and_grades_once(
    tmp_path: Path, server: SandboxServer[CanvasSimulator], simulator: CanvasSimulator
) -> None:
    settings = CanvasHarness().adapter_settings(server.url)
    ledger_file = tmp_path / "ledger.sqlite3"
    store = SQLiteLedger(ledger_file)
    with CanvasAdapter.from_config(settings) as adapter:
        scheduler = Scheduler([adapter], store)
        scheduler.schedule(make_session("s-done"))
        scheduler.enrol_many("s-done", [learner(1), learner(2)])
    store.close()
    (tmp_path / "plan.yaml").write_text(PLAN)
    (tmp_path / "adapters.json").write_text(json.dumps({"canvas": settings}))
    (tmp_path / "sign-in.csv").write_text("email,joined\nLearner1@example.org,2027-03-16T09:04:00-04:00\n"
                                          "guest@example.com,2027-03-16T09:00:00-04:00\n")
    arguments = ["attendance", str(tmp_path / "plan.yaml"), "s-done", "--ledger", str(ledger_file), "--config",
                 str(tmp_path / "adapters.json"), "--csv", str(tmp_path / "sign-in.csv")]
    first = CliRunner().invoke(cli.app, arguments)
    assert first.exit_code == 0, first.output
    assert "not on the roster: guest@example.com" in first.output
    # the OAuth token, the search (nothing), the assignment made, one grade per learner
    assert "completion: 2 written, 0 already written, 0 LMS refused; provider HTTP calls: 5" in " ".join(
        first.output.split())
    grades = {s.user.login_id: (s.grade, s.score) for s in simulator.submissions.values()}
    assert grades == {"learner1@example.org": ("complete", 2.0), "learner2@example.org": ("incomplete", 0.0)}
    second = CliRunner().invoke(cli.app, arguments)
    assert second.exit_code == 0, second.output
    assert "completion: 0 written, 2 already written, 0 LMS refused; provider HTTP calls: 0" in " ".join(
        second.output.split())
    assert len(simulator.assignments) == 1
