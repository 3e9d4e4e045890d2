"""plan, apply, apply again (no call), rollback (every provider as before), against the providers' simulators."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lms_connectors.cli import app
from lms_connectors.operations.applying import apply_plan, rollback_last_apply
from lms_connectors.operations.plan_file import load_plan
from lms_connectors.operations.planning import Severity, StepKind, preview
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import SandboxedAdapters, sandboxed_adapters

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plans" / "spring-term.yaml"
PROVIDERS = ("google_calendar", "zoom", "moodle")
WINDOW = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))


@pytest.fixture
def served() -> Iterator[SandboxedAdapters]:
    with sandboxed_adapters(PROVIDERS) as sandbox:
        yield sandbox


def _provider_state(sandbox: SandboxedAdapters) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """What each provider holds in the plan's window: live objects with their start and roster."""
    state = {}
    for name, adapter in sandbox.adapters.items():
        state[name] = sorted(
            (found.title, found.start.isoformat(), tuple(sorted(found.attendees)))
            for found in adapter.list_sessions(*WINDOW)
            if not found.cancelled
        )
    return state


def test_apply_twice_then_rollback(served: SandboxedAdapters) -> None:
    plan, rows = load_plan(EXAMPLE)
    ledger = MemoryLedger()
    scheduler = Scheduler(list(served.adapters.values()), ledger)
    before = _provider_state(served)
    listed = served.calls()

    first = preview(plan, rows, scheduler)
    assert not any(item.blocked for item in first)
    kinds = {(item.spec.id, step.provider, step.kind) for item in first for step in item.steps}
    assert ("plan.onboarding.2027-03-18", "zoom", StepKind.CREATE) in kinds
    assert ("plan.forklift-safety.2027-03-16", "zoom", StepKind.CREATE) not in kinds  # in person: no meeting
    assert served.calls() == listed  # planning makes no call

    report = apply_plan(first, scheduler)
    assert report.apply_id and not report.failed and not report.skipped
    after_apply = _provider_state(served)
    assert after_apply != before
    applied_calls = served.calls()
    assert ledger.get_session("plan.onboarding.2027-03-18").instructors[0].email == "tomas.ruiz@example.org"  # type: ignore[union-attr]

    again = preview(plan, rows, scheduler)
    assert not any(item.changes for item in again)
    second = apply_plan(again, scheduler)
    assert second.apply_id == "" and not second.done
    assert served.calls() == applied_calls  # the second apply made no call

    rolled = rollback_last_apply(scheduler)
    assert rolled.apply_id == report.apply_id and not rolled.not_undone
    assert _provider_state(served) == before
    assert rollback_last_apply(scheduler).apply_id is None  # nothing left to roll back
    assignment = next(e for e in ledger.iter_audit("plan.onboarding.2027-03-18") if e.action == "apply.assign")
    assert assignment.detail["instructor"] == "tomas.ruiz@example.org"
    assert "priya.nair@example.org" in assignment.detail["turned_down"]


def _apply_file(scheduler: Scheduler, path: Path) -> None:
    plan, rows = load_plan(path)
    report = apply_plan(preview(plan, rows, scheduler), scheduler)
    assert not report.failed and not report.skipped, report


def test_a_moved_session_and_a_changed_roster_roll_back(served: SandboxedAdapters, tmp_path: Path) -> None:
    enrolments = EXAMPLE.with_name("spring-term-enrolments.csv").read_text()
    (tmp_path / "spring-term-enrolments.csv").write_text(enrolments)
    text = EXAMPLE.read_text()
    (tmp_path / "plan.yaml").write_text(text)
    scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
    _apply_file(scheduler, tmp_path / "plan.yaml")
    applied = _provider_state(served)

    # Thursday 16:00 -> Wednesday 15:00 in Berlin (Tomás teaches Monday to Thursday); Yuki, waitlisted, leaves;
    # Marcus joins the onboarding session, waitlisted behind her.
    (tmp_path / "plan.yaml").write_text(text.replace("start: 2027-03-18 16:00", "start: 2027-03-17 15:00"))
    (tmp_path / "spring-term-enrolments.csv").write_text(
        enrolments.replace("plan.onboarding.2027-03-18,yuki.tanaka@example.org,Yuki Tanaka,Asia/Tokyo\n",
                           "plan.onboarding.2027-03-18,marcus.lee@example.org,Marcus Lee,America/New_York\n")
    )
    plan, rows = load_plan(tmp_path / "plan.yaml")
    previews = preview(plan, rows, scheduler)
    steps = {(s.kind, s.provider) for item in previews for s in item.steps}
    assert {(StepKind.MOVE, "zoom"), (StepKind.UNENROL, None), (StepKind.ENROL, None)} <= steps
    apply_plan(previews, scheduler)
    assert _provider_state(served) != applied
    report = rollback_last_apply(scheduler)
    assert not report.not_undone, report
    assert _provider_state(served) == applied
    onboarding = [(e.person.email, e.status.value) for e in scheduler.roster("plan.onboarding.2027-03-18")]
    assert ("yuki.tanaka@example.org", "waitlisted") in onboarding
    assert ("marcus.lee@example.org", "cancelled") in onboarding


def test_a_seat_given_to_a_promoted_learner_is_not_taken_back(served: SandboxedAdapters, tmp_path: Path) -> None:
    (tmp_path / "spring-term-enrolments.csv").write_text(EXAMPLE.with_name("spring-term-enrolments.csv").read_text())
    text = EXAMPLE.read_text()
    (tmp_path / "plan.yaml").write_text(text)
    scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
    _apply_file(scheduler, tmp_path / "plan.yaml")
    (tmp_path / "plan.yaml").write_text(text.replace("learners: [kenji.sato@example.org]", "learners: []"))
    _apply_file(scheduler, tmp_path / "plan.yaml")  # Kenji leaves: Yuki is promoted to his seat
    report = rollback_last_apply(scheduler)
    assert report.not_undone == [
        ("plan.onboarding.2027-03-18", "kenji.sato@example.org enrolled again but waitlisted: her seat went to a "
         "promoted learner")
    ]
    statuses = {e.person.email: e.status.value for e in scheduler.roster("plan.onboarding.2027-03-18")}
    assert statuses["yuki.tanaka@example.org"] == "confirmed" and statuses["kenji.sato@example.org"] == "waitlisted"


def test_double_booking_in_the_plan_is_an_error_before_any_call(served: SandboxedAdapters, tmp_path: Path) -> None:
    shutil.copy(EXAMPLE.with_name("spring-term-enrolments.csv"), tmp_path)
    clash = EXAMPLE.read_text().replace(
        "  - id: plan.onboarding.2027-03-18\n",
        "  - id: plan.forklift-repeat.2027-03-16\n    title: Forklift again\n    start: 2027-03-16 10:00\n"
        "    minutes: 60\n    timezone: America/New_York\n    instructor: priya.nair@example.org\n"
        "    room: hq-training-3\n  - id: plan.onboarding.2027-03-18\n",
    )
    (tmp_path / "plan.yaml").write_text(clash)
    plan, rows = load_plan(tmp_path / "plan.yaml")
    scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
    previews = {item.spec.id: item for item in preview(plan, rows, scheduler)}
    errors = [p.message for p in previews["plan.forklift-repeat.2027-03-16"].problems if p.severity is Severity.ERROR]
    assert "room hq-training-3 is double-booked with plan.forklift-safety.2027-03-16" in errors
    assert "priya.nair@example.org is double-booked with plan.forklift-safety.2027-03-16" in errors
    report = apply_plan(list(previews.values()), scheduler)
    assert {sid for sid, _ in report.skipped} == {"plan.forklift-safety.2027-03-16", "plan.forklift-repeat.2027-03-16"}
    assert scheduler.ledger.get_session("plan.forklift-repeat.2027-03-16") is None


def test_cli_plan_apply_report(tmp_path: Path) -> None:
    runner = CliRunner()
    ledger = tmp_path / "ledger.sqlite"
    shown = runner.invoke(app, ["plan", str(EXAMPLE), "--sandbox", "--ledger", str(ledger)])
    assert shown.exit_code == 0, shown.output
    assert "to change: 2, with errors: 0" in shown.output
    first = runner.invoke(app, ["apply", str(EXAMPLE), "--sandbox", "--ledger", str(ledger)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["apply", str(EXAMPLE), "--sandbox", "--ledger", str(ledger)])
    assert again.exit_code == 0 and "provider HTTP calls this run: 0" in again.output, again.output
    report = runner.invoke(app, ["report", "--ledger", str(ledger), "--out", str(tmp_path / "out")])
    assert report.exit_code == 0, report.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"kpis.csv", "kpis.json", "kpis.png"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("sessions:\n  - id: x\n    title: X\n    start: 2027-03-16 09:00\n    minutes: 0\n    timezone: UTC\n")
    failed = runner.invoke(app, ["plan", str(bad), "--sandbox", "--ledger", str(ledger)])
    assert failed.exit_code == 1 and "bad.yaml:5: sessions.0.minutes" in failed.output, failed.output


def test_the_demo_runs_from_the_example_plan_and_ends_with_the_kpis(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["demo", "--plan", str(EXAMPLE), "--workdir", str(tmp_path), "--only", "google_calendar",
            "--only", "zoom", "--only", "moodle"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "applied: 9 changes" in first.output and "KPIs" in first.output
    assert "│ utilisation" in first.output
    assert len(list((tmp_path / "invites").glob("*.ics"))) == 5  # confirmed learners: 3 + 2
    second = runner.invoke(app, [*args, "--quiet"])
    assert second.exit_code == 0, second.output
    assert "provider HTTP calls this run: 0" in second.output
