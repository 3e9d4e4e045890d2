"""Attendance of a Teams session read from Graph's attendance reports (its simulator on 127.0.0.1), in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.operations.attendance import Outcome, attendance_of, collect_attendance
from lms_connectors.operations.kpis import compute_kpis
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_microsoft_graph.sandbox_meetings import Join

START = datetime(2027, 3, 18, 16, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_teams_attendance_reports_become_outcomes_minutes_and_the_no_show_kpi() -> None:
    harness = load_harness("microsoft_graph")
    simulator = harness.make_simulator()
    with SandboxServer(simulator) as server:
        graph = harness.build_adapter(server.url, sleep=lambda _seconds: None)
        ledger = MemoryLedger()
        scheduler = Scheduler([graph], ledger)
        session = Session(
            id="att.teams", title="Onboarding (Teams)", modality=Modality.VIRTUAL, capacity=4,
            slot=TimeSlot(start=START, end=START + timedelta(minutes=90), timezone="Europe/Berlin"),
        )
        scheduler.schedule(session)
        people = [Person(email=f"{name}@example.org", name=name) for name in ("ana", "ben", "cy", "dee")]
        scheduler.enrol_many(session.id, people)
        event_id = ledger.get_ref(session.id, "microsoft_graph").external_id  # type: ignore[union-attr]
        utc = START.astimezone(UTC)
        # Ana drops out and rejoins; Ben is 25 minutes late; Dee joins 5 minutes in (within the 10 allowed);
        # Cy never comes; a colleague joins with an address not on the roster; an anonymous guest has none.
        simulator.record_join(event_id, Join("Ana@Example.org", utc + timedelta(minutes=2), utc + timedelta(minutes=40)))
        simulator.record_join(event_id, Join("ana@example.org", utc + timedelta(minutes=45), utc + timedelta(minutes=90)))
        simulator.record_join(event_id, Join("ben@example.org", utc + timedelta(minutes=25), utc + timedelta(minutes=90)))
        simulator.record_join(event_id, Join("dee@example.org", utc + timedelta(minutes=5), utc + timedelta(minutes=80)))
        simulator.record_join(event_id, Join("visitor@elsewhere.org", utc, utc + timedelta(minutes=10)))
        simulator.record_join(event_id, Join(None, utc, utc + timedelta(minutes=10), name="Guest"))
        simulator.end_meeting(event_id)
        before = graph.transport.counter.total
        strays = collect_attendance(scheduler, session.id)
        calls = graph.transport.counter.total - before
        graph.close()
    # The event, the organizer's object id, the meeting by its link, the reports, one page of records.
    assert calls == 5
    assert [p.email for p in strays["microsoft_graph"]] == ["visitor@elsewhere.org"]
    assert attendance_of(ledger, session.id) == {
        (session.id, "ana@example.org"): Outcome.ATTENDED,
        (session.id, "ben@example.org"): Outcome.LATE,
        (session.id, "cy@example.org"): Outcome.NO_SHOW,
        (session.id, "dee@example.org"): Outcome.ATTENDED,
    }
    details = {e.detail["email"]: e.detail for e in ledger.iter_audit(session.id) if e.action == "attendance"}
    assert details["ana@example.org"]["attended_minutes"] == 83.0  # 38 + 45 minutes, her two stays summed
    assert (details["ben@example.org"]["late_minutes"], details["ben@example.org"]["attended_minutes"]) == (25.0, 65.0)
    assert details["cy@example.org"]["attended_minutes"] is None
    kpis = compute_kpis(ledger)
    assert (kpis.no_shows, kpis.late, kpis.outcomes) == (1, 1, 4)
    assert kpis.no_show_rate == 0.25
