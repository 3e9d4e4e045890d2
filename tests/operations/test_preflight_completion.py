"""plan's completion preflight against the Moodle and Canvas simulators.

A session whose plan entry asks for completion (``completion:``) needs, in each LMS named there, what ``doctor``
only reports as optional: Moodle's completion functions and an activity with completion tracking, Canvas's grading
permissions and a pass/fail assignment. Missing, each is a plan error naming the LMS, the session and what to grant;
a plan without ``completion:`` asks for none of it. Nothing is written either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lms_connectors.adapter import Adapter
from lms_connectors.operations.plan_file import PlanFile, load_plan
from lms_connectors.operations.planning import Severity, permission_problems, preview
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_moodle.doctor import CAPABILITIES, COMPLETION_CAPABILITIES, COMPLETION_FUNCTIONS
from lms_connectors_moodle.testing import SANDBOX_COURSE_ID as MOODLE_COURSE
from lms_connectors_moodle.testing import SANDBOX_WS_USER

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plans" / "spring-term.yaml"
MOODLE_ADVICE = (
    "add to the token's external service core_completion_override_activity_completion_status, "
    "core_completion_get_activities_completion_status and give its role moodle/course:overridecompletion and "
    "report/progress:view"
)


@contextlib.contextmanager
def _served(name: str, tweak: Callable[[Any], None] = lambda _sim: None) -> Iterator[tuple[Adapter, Any]]:
    """One adapter on its simulator, the simulator first changed by ``tweak``."""
    harness = load_harness(name)
    simulator = harness.make_simulator()
    tweak(simulator)
    with SandboxServer(simulator) as server:
        adapter = harness.build_adapter(server.url, sleep=lambda _seconds: None)
        try:
            yield adapter, simulator
        finally:
            adapter.close()


def _plan(provider: str, completion: dict[str, Any] | None, *, sessions: int = 1) -> PlanFile:
    entries = []
    for n in range(sessions):
        entry: dict[str, Any] = {"id": f"s.{n + 1}", "title": f"Forklift Safety {n + 1}", "start": f"2027-03-1{n + 6} 09:00",
                                 "minutes": 60, "timezone": "Europe/London", "providers": [provider]}
        if completion is not None:
            entry["completion"] = {provider: completion}
        entries.append(entry)
    return PlanFile.model_validate({"sessions": entries})


def _problems(adapter: Adapter, plan: PlanFile) -> tuple[list[str], Scheduler]:
    scheduler = Scheduler([adapter], MemoryLedger())
    problems = permission_problems(scheduler, preview(plan, [], scheduler))
    assert all(p.severity is Severity.ERROR for p in problems)
    return [p.message for p in problems], scheduler


# -- Moodle ------------------------------------------------------------------------------------------------------


def _grant_completion(simulator: Any) -> None:
    site = simulator.site
    site.service_functions = [*site.service_functions, *COMPLETION_FUNCTIONS]
    user_id = next(uid for uid, user in site.data.users.items() if user["username"] == SANDBOX_WS_USER)
    site.assign_system_role(user_id, (*CAPABILITIES, *COMPLETION_CAPABILITIES))


def test_moodle_without_the_completion_functions_is_a_problem_of_each_session_asking_and_nothing_is_written() -> None:
    with _served("moodle") as (adapter, simulator):  # the sandbox site's service lacks both completion functions
        cmid = simulator.site.add_activity(MOODLE_COURSE, tracking=1)
        messages, scheduler = _problems(adapter, _plan("moodle", {"activity": cmid}, sessions=2))
        assert messages == [f"moodle: session s.{n}: completion: {MOODLE_ADVICE}" for n in (1, 2)]
        assert simulator.site.data.completions == {}
        assert simulator.site.data.events == {}
        assert scheduler.ledger.list_sessions() == []


def test_moodle_without_a_completion_section_asks_nothing_about_completion() -> None:
    with _served("moodle") as (adapter, _simulator):
        messages, _ = _problems(adapter, _plan("moodle", None))
        assert messages == []


def test_moodle_with_completion_granted_and_a_tracked_activity_gives_no_problem() -> None:
    with _served("moodle", _grant_completion) as (adapter, simulator):
        cmid = simulator.site.add_activity(MOODLE_COURSE, tracking=1)
        messages, _ = _problems(adapter, _plan("moodle", {"activity": cmid}))
        assert messages == []
        assert simulator.site.data.completions == {}


def test_moodle_names_an_activity_without_completion_tracking_or_that_does_not_exist() -> None:
    with _served("moodle", _grant_completion) as (adapter, simulator):
        untracked = simulator.site.add_activity(MOODLE_COURSE, tracking=0)
        for cmid in (untracked, 9999):
            messages, _ = _problems(adapter, _plan("moodle", {"activity": cmid}))
            assert messages == [
                f"moodle: session s.1: completion: activity {cmid} is not an activity with completion tracking in "
                f"course {MOODLE_COURSE}: turn it on in the activity's settings, or name another"
            ]


def test_moodle_refusing_the_completion_read_is_the_session_s_problem() -> None:
    def no_course_view(simulator: Any) -> None:
        _grant_completion(simulator)
        site = simulator.site
        user_id = next(uid for uid, user in site.data.users.items() if user["username"] == SANDBOX_WS_USER)
        site.assign_system_role(user_id, [c for c in (*CAPABILITIES, *COMPLETION_CAPABILITIES)
                                          if c != "moodle/course:view"])

    with _served("moodle", no_course_view) as (adapter, simulator):
        cmid = simulator.site.add_activity(MOODLE_COURSE, tracking=1)
        messages, _ = _problems(adapter, _plan("moodle", {"activity": cmid}))
        # the doctor's own course check fails too; the completion read's refusal is the session's problem
        assert messages[0].startswith("moodle: course access: ")
        assert len(messages) == 2 and messages[1].startswith("moodle: session s.1: completion: ")
        assert "errorcoursecontextnotvalid" in messages[1]


# -- Canvas ------------------------------------------------------------------------------------------------------


def _without(*permissions: str) -> Callable[[Any], None]:
    def tweak(simulator: Any) -> None:
        simulator.granted -= set(permissions)

    return tweak


def _assignment(adapter: Adapter, grading_type: str) -> int:
    made = adapter.client.call(  # type: ignore[attr-defined]
        "POST", "/courses/101/assignments", operation="make assignment",
        json={"assignment": {"name": "Attendance", "grading_type": grading_type, "published": True}})
    return int(made["id"])


def _canvas_state(simulator: Any) -> tuple[int, int, int]:
    return len(simulator.assignments), len(simulator.submissions), len(simulator.events)


def test_canvas_without_the_grading_permissions_names_what_to_grant_and_nothing_is_written() -> None:
    with _served("canvas", _without("manage_grades", "manage_assignments_add")) as (adapter, simulator):
        messages, scheduler = _problems(adapter, _plan("canvas", {"assignment": "new"}))
        assert messages == [
            "canvas: session s.1: completion: give the token's role in course 101: manage_assignments_add (make a "
            "pass/fail assignment for a session (assignment: new)); manage_grades (grade learners complete or "
            "incomplete)"
        ]
        assert _canvas_state(simulator) == (0, 0, 0)
        assert scheduler.ledger.list_sessions() == []


def test_canvas_a_named_assignment_needs_only_the_grading_permission() -> None:
    with _served("canvas") as (adapter, simulator):
        named = _assignment(adapter, "pass_fail")
        _without("manage_grades", "manage_assignments_add")(simulator)
        messages, _ = _problems(adapter, _plan("canvas", {"assignment": named}))
        assert messages == ["canvas: session s.1: completion: give the token's role in course 101: manage_grades "
                            "(grade learners complete or incomplete)"]
        assert _canvas_state(simulator) == (1, 0, 0)


def test_canvas_without_a_completion_section_asks_nothing_about_completion() -> None:
    with _served("canvas", _without("manage_grades", "manage_assignments_add")) as (adapter, _simulator):
        messages, _ = _problems(adapter, _plan("canvas", None))
        assert messages == []


def test_canvas_with_the_permissions_granted_gives_no_problem() -> None:
    with _served("canvas") as (adapter, simulator):
        named = _assignment(adapter, "pass_fail")
        for completion in ({"assignment": "new"}, {"assignment": named}):
            messages, _ = _problems(adapter, _plan("canvas", completion))
            assert messages == []
        assert _canvas_state(simulator) == (1, 0, 0)


def test_canvas_names_an_assignment_that_is_not_pass_fail_or_not_in_the_course() -> None:
    with _served("canvas") as (adapter, _simulator):
        points = _assignment(adapter, "points")
        messages, _ = _problems(adapter, _plan("canvas", {"assignment": points}))
        assert messages == [
            f"canvas: session s.1: completion: Canvas assignment {points} is graded 'points', not "
            "pass/fail: complete/incomplete cannot be posted on it"
        ]
        messages, _ = _problems(adapter, _plan("canvas", {"assignment": 999999}))
        assert messages == ["canvas: session s.1: completion: assignment 999999 is not in course 101"]


# -- the command -------------------------------------------------------------------------------------------------


def test_the_plan_command_shows_the_completion_problem_and_writes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lms_connectors.cli import app
    from lms_connectors.store.sqlite import SQLiteLedger

    text = EXAMPLE.read_text().replace(
        "    description: Hands-on certification. Bring safety shoes.\n",
        "    description: Hands-on certification. Bring safety shoes.\n    completion:\n      moodle: {activity: 3}\n",
    )
    assert "completion:" in text
    plan_path = tmp_path / "spring-term.yaml"
    plan_path.write_text(text)
    (tmp_path / "spring-term-enrolments.csv").write_text((EXAMPLE.parent / "spring-term-enrolments.csv").read_text())
    load_plan(plan_path)  # the plan itself is valid
    ledger = tmp_path / "l.sqlite"
    result = CliRunner().invoke(app, ["plan", str(plan_path), "--sandbox", "--ledger", str(ledger)])
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert f"moodle: session plan.forklift-safety.2027-03-16: completion: {MOODLE_ADVICE}" in flat
    assert "permission problems: 1" in flat
    with contextlib.closing(SQLiteLedger(ledger)) as opened:
        assert opened.list_sessions() == []
