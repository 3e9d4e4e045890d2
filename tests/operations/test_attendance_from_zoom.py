"""Attendance read from Zoom's participants report (its simulator on 127.0.0.1), matched to the roster."""

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

START = datetime(2027, 3, 18, 16, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_zoom_participants_become_outcomes_and_the_no_show_kpi() -> None:
    harness = load_harness("zoom")
    simulator = harness.make_simulator()
    with SandboxServer(simulator) as server:
        zoom = harness.build_adapter(server.url, sleep=lambda _seconds: None)
        ledger = MemoryLedger()
        scheduler = Scheduler([zoom], ledger)
        session = Session(
            id="att.onboarding", title="Onboarding", modality=Modality.VIRTUAL, capacity=3,
            slot=TimeSlot(start=START, end=START + timedelta(minutes=90), timezone="Europe/Berlin"),
        )
        scheduler.schedule(session)
        people = [Person(email=f"{name}@example.org", name=name) for name in ("ana", "ben", "cy")]
        scheduler.enrol_many(session.id, people)
        meeting_id = ledger.get_ref(session.id, "zoom").external_id  # type: ignore[union-attr]
        utc = START.astimezone(UTC)
        simulator.record_participant(meeting_id, "Ana@Example.org", utc + timedelta(minutes=2), utc + timedelta(minutes=40))
        simulator.record_participant(meeting_id, "ana@example.org", utc + timedelta(minutes=45), utc + timedelta(minutes=90))
        simulator.record_participant(meeting_id, "ben@example.org", utc + timedelta(minutes=25))
        simulator.record_participant(meeting_id, "guest@elsewhere.org", utc)
        before = zoom.transport.counter.total
        strays = collect_attendance(scheduler, session.id)
        assert zoom.transport.counter.total - before == 1  # one page of the report
        zoom.close()
    assert [p.email for p in strays["zoom"]] == ["guest@elsewhere.org"]
    assert attendance_of(ledger, session.id) == {
        (session.id, "ana@example.org"): Outcome.ATTENDED,
        (session.id, "ben@example.org"): Outcome.LATE,
        (session.id, "cy@example.org"): Outcome.NO_SHOW,
    }
    kpis = compute_kpis(ledger)
    assert (kpis.no_shows, kpis.late, kpis.outcomes) == (1, 1, 3)
