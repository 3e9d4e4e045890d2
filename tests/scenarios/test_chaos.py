"""The chaos run, bounded: a few hundred random operations through faulty proxies and killed workers, then one
sync_all(), then every invariant of ledger against provider state must be 0. The long run is benchmarks/chaos.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.sqlite import SQLiteLedger
from lms_connectors.testing.chaos import build_adapters, chaos_rig, check_invariants, legs_urls, run_chaos
from lms_connectors.testing.fault_proxy import FAULT_KINDS


def test_a_bounded_chaos_run_converges_after_one_sync(tmp_path: Path) -> None:
    report = run_chaos(tmp_path, seed=8, operations=240, sessions=12, fault_rate=0.1, kills=3, workers=3)
    assert report.converged, report.render()
    assert report.kills == 3
    assert sum(report.operations.values()) >= 237  # an operation cut by a kill is not reported
    assert sum(report.faults.values()) > 30
    assert len([kind for kind in FAULT_KINDS if report.faults.get(kind)]) >= 9, report.render()
    assert report.outcomes["ok"] > 100
    # Every process of the run (3 workers, 3 restarted after a kill, the final sync) shares one token cache file:
    # without it each would mint the app's token and revoke the others' (Zoom keeps one live token per app).
    assert 1 <= report.tokens_minted["zoom"] < 3 + report.kills + 1, report.render()


def test_the_check_sees_what_diverges(tmp_path: Path) -> None:
    """The invariant rows are not vacuous: plant a duplicate, an orphan and a roster difference; each is seen."""
    start = datetime(2027, 4, 6, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    session = Session(
        id="chaos.planted", title="Planted", modality=Modality.VIRTUAL, capacity=2,
        slot=TimeSlot(start=start, end=start + timedelta(hours=1), timezone="Asia/Tokyo"),
        **load_harness("moodle").session_extras(),
    )
    ines = Person(email="ines@example.org", name="Ines Duarte", timezone="Europe/Lisbon")
    with chaos_rig() as legs:
        adapters = build_adapters(legs_urls(legs))
        ledger = SQLiteLedger(tmp_path / "ledger.sqlite3")
        scheduler = Scheduler(adapters, ledger)
        scheduler.schedule(session)
        details: dict[str, list[str]] = {}
        assert check_invariants(ledger, adapters, legs, tmp_path, details) == {}, details
        zoom, google, moodle = (next(a for a in adapters if a.name == n) for n in ("zoom", "google_calendar", "moodle"))
        zoom.create_new(session, "chaos.planted.zoom.g1")  # a second meeting under the same key
        google_ref = ledger.get_ref(session.id, "google_calendar")
        assert google_ref is not None
        google.enrol(google_ref, session, [ines])  # at the provider, not in the ledger
        other = session.model_copy(update={"id": "chaos.gone"})
        moodle.create_session(other, key="chaos.gone.moodle.g1", fresh=True)  # a session the ledger never had
        rows = check_invariants(ledger, adapters, legs, tmp_path, details)
        assert rows["duplicates"] == 1
        assert rows["orphans"] >= 3  # the extra meeting, the unknown event and its group
        assert rows["learners at a provider not confirmed"] == 1
        ledger.close()
        for adapter in adapters:
            adapter.close()
