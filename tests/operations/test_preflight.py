"""plan's preflight against the providers' simulators: a refused permission, and instructors busy at a provider."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lms_connectors.adapter import Adapter
from lms_connectors.models import Modality, Person, Role, Session, TimeSlot
from lms_connectors.operations.applying import apply_plan
from lms_connectors.operations.plan_file import load_plan
from lms_connectors.operations.planning import Severity, permission_problems, preview, preview_for_apply
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plans" / "spring-term.yaml"
PROVIDERS = ("google_calendar", "zoom", "moodle")
WINDOW = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))


@contextlib.contextmanager
def _served(**tweaks: Any) -> Iterator[tuple[dict[str, Adapter], dict[str, Any]]]:
    """The adapters on their simulators, each simulator first changed by ``tweaks[name](simulator)``."""
    adapters: dict[str, Adapter] = {}
    simulators: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        for name in PROVIDERS:
            harness = load_harness(name)
            simulator = harness.make_simulator()
            if name in tweaks:
                tweaks[name](simulator)
            server = stack.enter_context(SandboxServer(simulator))
            adapter = harness.build_adapter(server.url, sleep=lambda _seconds: None)
            stack.callback(adapter.close)
            adapters[name], simulators[name] = adapter, simulator
        yield adapters, simulators


def _state(adapters: dict[str, Adapter]) -> dict[str, list[tuple[str, str]]]:
    return {name: sorted((s.title, s.start.isoformat()) for s in a.list_sessions(*WINDOW)) for name, a in adapters.items()}


def _without_enrolment_function(simulator: Any) -> None:
    simulator.site.service_functions.remove("enrol_manual_enrol_users")


def test_a_refused_permission_is_a_preflight_problem_and_nothing_is_written() -> None:
    plan, rows = load_plan(EXAMPLE)
    with _served(moodle=_without_enrolment_function) as (adapters, _):
        scheduler = Scheduler(list(adapters.values()), MemoryLedger())
        before = _state(adapters)
        previews = preview(plan, rows, scheduler, ask_providers=True)
        problems = permission_problems(scheduler, previews)
        assert [p.message for p in problems] == [
            "moodle: service functions: add to the token's external service: enrol_manual_enrol_users"
        ]
        assert all(p.severity is Severity.ERROR for p in problems)
        assert _state(adapters) == before
        assert scheduler.ledger.get_session("plan.onboarding.2027-03-18") is None


def test_every_permission_granted_gives_no_problem() -> None:
    plan, rows = load_plan(EXAMPLE)
    with _served() as (adapters, _):
        scheduler = Scheduler(list(adapters.values()), MemoryLedger())
        assert permission_problems(scheduler, preview(plan, rows, scheduler, ask_providers=True)) == []


def _foreign_meeting(adapters: dict[str, Adapter], email: str, start: datetime, minutes: int) -> None:
    """An event in Google Calendar with ``email`` invited, made outside this ledger (someone else's meeting)."""
    start = start.astimezone(UTC)
    end = datetime.fromtimestamp(start.timestamp() + minutes * 60, tz=UTC)
    session = Session(
        id="someone-elses-meeting", title="Quarterly review", modality=Modality.VIRTUAL,
        slot=TimeSlot(start=start, end=end, timezone="UTC"),
        instructors=[Person(email=email, name="Busy", role=Role.INSTRUCTOR)],
    )
    adapters["google_calendar"].create_session(session, key=f"preflight.foreign.{email}", fresh=True)


def test_an_instructor_busy_at_the_provider_is_not_assigned_and_a_named_one_is_a_double_booking() -> None:
    plan, rows = load_plan(EXAMPLE)
    onboarding = next(s for s in plan.sessions if s.id == "plan.onboarding.2027-03-18")
    forklift = next(s for s in plan.sessions if s.id == "plan.forklift-safety.2027-03-16")
    assert onboarding.instructor is None and forklift.instructor == "priya.nair@example.org"
    with _served() as (adapters, _):
        scheduler = Scheduler(list(adapters.values()), MemoryLedger())
        without = {p.spec.id: p for p in preview(plan, rows, scheduler, ask_providers=True)}
        chosen = without[onboarding.id].assignment
        assert chosen is not None and chosen.instructor == "tomas.ruiz@example.org"
        _foreign_meeting(adapters, "tomas.ruiz@example.org", onboarding.slot().start, 30)
        _foreign_meeting(adapters, "priya.nair@example.org", forklift.slot().start, 30)

        ledger_only = {p.spec.id: p for p in preview(plan, rows, scheduler)}
        assert ledger_only[onboarding.id].assignment.instructor == "tomas.ruiz@example.org"  # type: ignore[union-attr]

        asked = {p.spec.id: p for p in preview(plan, rows, scheduler, ask_providers=True)}
        reassigned = asked[onboarding.id].assignment
        assert reassigned is not None and reassigned.instructor != "tomas.ruiz@example.org"
        assert reassigned.turned_down["tomas.ruiz@example.org"].startswith("busy with an event in google_calendar")
        assert "priya.nair@example.org is double-booked with an event in google_calendar" in [
            p.message for p in asked[forklift.id].problems
        ]
        assert asked[forklift.id].blocked


def _calls(adapters: dict[str, Adapter]) -> int:
    return sum(adapter.transport.counter.total for adapter in adapters.values())  # type: ignore[attr-defined]


def test_apply_chooses_with_the_providers_free_busy_and_a_second_apply_makes_no_call() -> None:
    plan, rows = load_plan(EXAMPLE)
    onboarding = next(s for s in plan.sessions if s.id == "plan.onboarding.2027-03-18")
    with _served() as (adapters, _):
        scheduler = Scheduler(list(adapters.values()), MemoryLedger())
        _foreign_meeting(adapters, "tomas.ruiz@example.org", onboarding.slot().start, 30)
        report = apply_plan(preview_for_apply(plan, rows, scheduler), scheduler)
        assert not report.failed and not report.skipped, report
        stored = scheduler.ledger.get_session(onboarding.id)
        assert stored is not None and stored.instructors[0].email not in ("tomas.ruiz@example.org", "")
        before = _calls(adapters)
        again = preview_for_apply(plan, rows, scheduler)
        assert not any(item.changes for item in again)
        assert _calls(adapters) == before  # nothing to change: the providers are not asked


@pytest.mark.parametrize("flag", [[], ["--no-ask-providers"]])
def test_the_plan_command_reports_permission_problems(flag: list[str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lms_connectors.cli import app

    result = CliRunner().invoke(app, ["plan", str(EXAMPLE), "--sandbox", "--ledger", str(tmp_path / "l.sqlite"), *flag])
    assert result.exit_code == 0, result.output
    assert ("permission problems: 0" if not flag else "not checked (--no-ask-providers)") in result.output


def test_a_named_instructor_past_her_weekly_hours_is_an_error() -> None:
    from lms_connectors.operations.plan_file import PlanFile

    plan = PlanFile.model_validate({
        "instructors": [{"email": "ana@example.org", "name": "Ana", "timezone": "Europe/Madrid",
                         "max_hours_per_week": 5}],
        "sessions": [
            # Monday and Sunday 2027-03-14 in Madrid: the same ISO week there (W10); Monday 15th is the next one.
            {"id": "mon", "title": "Mon", "start": "2027-03-08 09:00", "minutes": 180, "timezone": "Europe/Madrid",
             "instructor": "ana@example.org"},
            {"id": "sun", "title": "Sun", "start": "2027-03-14 09:00", "minutes": 180, "timezone": "Europe/Madrid",
             "instructor": "ana@example.org"},
            {"id": "next", "title": "Next", "start": "2027-03-15 09:00", "minutes": 180, "timezone": "Europe/Madrid",
             "instructor": "ana@example.org"},
        ],
    })
    with _served() as (adapters, _):
        previews = {p.spec.id: p for p in preview(plan, [], Scheduler(list(adapters.values()), MemoryLedger()))}
    why = "ana@example.org teaches 6 h in 2027-W10 (her own zone's week), over her 5 h"
    assert why in [p.message for p in previews["mon"].problems]
    assert why in [p.message for p in previews["sun"].problems]
    assert not any("over her" in p.message for p in previews["next"].problems)
