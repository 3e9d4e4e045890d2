"""Two processes working on the same session at the same moment, through one ledger (a SQLite file on this host,
or a PostgreSQL database): they schedule it together, enrol overlapping learners into its last seats and take
one learner each out again. The ledger's session locks make them take turns, so the provider holds one meeting,
no learner is enrolled twice or lost, the seats and the waitlist hold, and the provider's roster is exactly the
ledger's confirmed learners. The provider is Zoom's simulator served on 127.0.0.1 by the test; both processes
share the app's token through one token cache file, as an application's workers do."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lms_connectors.models import EnrollmentStatus
from lms_connectors.registry import load_harness
from lms_connectors.store.base import LedgerStore
from lms_connectors.testing.sandbox import SandboxServer

SESSION_ID = "two.s1"
CAPACITY = 4

WORKER = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from lms_connectors.models import Modality, Person, Session, TimeSlot
    from lms_connectors.registry import load_harness
    from lms_connectors.scheduler import Scheduler

    kind, where, schema, url, cache, worker = sys.argv[1:7]
    if kind == "sqlite":
        from lms_connectors.store.sqlite import SQLiteLedger
        ledger = SQLiteLedger(where)
    else:
        from lms_connectors.store.postgres import PostgresLedger
        ledger = PostgresLedger(where, schema=schema)
    harness = load_harness("zoom")
    zoom = harness.adapter_class.from_config({**harness.adapter_settings(url), "token_cache_file": cache},
                                             sleep=lambda _s: None)
    start = datetime(2027, 5, 11, 14, 0, tzinfo=ZoneInfo("Europe/Madrid"))
    session = Session(id="two.s1", title="Two workers, one session", modality=Modality.VIRTUAL, capacity=4,
                      slot=TimeSlot(start=start, end=start + timedelta(hours=1), timezone="Europe/Madrid"))
    scheduler = Scheduler([zoom], ledger)
    print("ready", flush=True)
    sys.stdin.readline()
    # Both workers schedule the session at once, then enrol the same three learners and three of their own,
    # then one of their own leaves again.
    scheduler.schedule(session)
    asked = [f"shared{n}@example.org" for n in range(3)] + [f"w{worker}n{n}@example.org" for n in range(3)]
    for email in asked:
        scheduler.enrol(session.id, Person(email=email, name="Learner Number", timezone="Asia/Tokyo"))
    scheduler.unenrol(session.id, f"w{worker}n0@example.org")
    print(json.dumps({"asked": asked, "left": f"w{worker}n0@example.org"}), flush=True)
    ledger.close()
    """
)


def _ledger(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[LedgerStore, list[str]]:
    """The ledger both processes share, and how they open it (kind, where, schema)."""
    if kind == "sqlite":
        from lms_connectors.store.sqlite import SQLiteLedger

        path = tmp_path / "ledger.sqlite3"
        return SQLiteLedger(path), ["sqlite", str(path), ""]
    from lms_connectors.store.postgres import PostgresLedger

    dsn = request.getfixturevalue("postgres_dsn")  # skipped with the variable to set when there is no server
    schema = request.getfixturevalue("postgres_schema")
    return PostgresLedger(dsn, schema=schema), ["postgres", dsn, schema]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_processes_on_one_session_leave_no_duplicate_and_lose_no_enrolment(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ledger, opened = _ledger(kind, tmp_path, request)
    harness = load_harness("zoom")
    simulator = harness.make_simulator()
    cache = str(tmp_path / "zoom-tokens.json")
    with SandboxServer(simulator) as server:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, *opened, server.url, cache, str(n)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            for n in range(2)
        ]
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:  # go at the same moment
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
        assert [worker.returncode for worker in workers] == [0, 0], outputs
        reports: list[dict[str, Any]] = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
        zoom = harness.adapter_class.from_config({**harness.adapter_settings(server.url), "token_cache_file": cache})
        meetings = [str(meeting_id) for meeting_id in simulator.meetings]
        ref = ledger.get_ref(SESSION_ID, "zoom")
        assert ref is not None
        roster = {member.email: member.status for member in zoom.list_roster(ref)}
        zoom.close()

    assert meetings == [ref.external_id], "the session was made twice, or its ref names another meeting"
    rows = ledger.list_enrollments(SESSION_ID)
    emails = [row.person.email for row in rows]
    assert len(emails) == len(set(emails)), "a learner was enrolled twice"
    left = {report["left"] for report in reports}
    expected = {email for report in reports for email in report["asked"]} - left
    active = [row for row in rows if row.status is not EnrollmentStatus.CANCELLED]
    assert {row.person.email for row in active} == expected, "an enrolment was lost or one came back"
    confirmed = [row for row in active if row.status is EnrollmentStatus.CONFIRMED]
    waiting = [row for row in active if row.status is EnrollmentStatus.WAITLISTED]
    assert len(confirmed) == CAPACITY == len(expected) - len(waiting)  # every seat taken, none twice
    assert max(row.position for row in confirmed) < min(row.position for row in waiting)  # first come, first seated
    # Zoom holds exactly the confirmed learners, each once, approved; nobody waitlisted or gone.
    assert roster == dict.fromkeys((row.person.email for row in confirmed), "approved")
    ledger.close()
