"""``lms-connectors sync``: one command makes every provider equal the ledger, with a line per session."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from typer.testing import CliRunner

from lms_connectors.cli import app
from lms_connectors.models import Modality, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.sqlite import SQLiteLedger
from lms_connectors.testing.sandbox import SandboxServer


def test_sync_makes_again_a_meeting_deleted_at_the_provider(tmp_path: Path) -> None:
    harness = load_harness("zoom")
    simulator = harness.make_simulator()
    start = datetime(2027, 6, 2, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    session = Session(
        id="cli.sync.s1", title="Onboarding", modality=Modality.VIRTUAL,
        slot=TimeSlot(start=start, end=start + timedelta(hours=1), timezone="Europe/Berlin"),
    )
    with SandboxServer(simulator) as server:
        adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
        ledger_path = tmp_path / "ledger.sqlite3"
        ledger = SQLiteLedger(ledger_path)
        Scheduler([adapter], ledger).schedule(session)
        ledger.close()
        with simulator.lock:
            simulator.meetings.clear()  # deleted on Zoom's side
        settings = {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in adapter.config.model_dump().items()
        }
        adapter.close()
        config = tmp_path / "adapters.json"
        config.write_text(json.dumps({"zoom": settings}, default=str))
        result = CliRunner().invoke(app, ["sync", "--config", str(config), "--ledger", str(ledger_path)])
        assert result.exit_code == 0, result.output
        assert "synced: 1, failed: 0" in result.output
        assert "cli.sync.s1" in result.output
        ledger = SQLiteLedger(ledger_path)
        ref = ledger.get_ref(session.id, "zoom")
        ledger.close()
        with simulator.lock:
            assert ref is not None and [str(m) for m in simulator.meetings] == [ref.external_id]


def test_sync_without_a_ledger_is_one_red_line(tmp_path: Path) -> None:
    config = tmp_path / "adapters.json"
    config.write_text("{}")
    result = CliRunner().invoke(app, ["sync", "--config", str(config), "--ledger", str(tmp_path / "none.sqlite3")])
    assert result.exit_code == 1
    assert "no ledger at" in result.output
