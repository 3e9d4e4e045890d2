"""The SQLite ledger's roster statements reach enrolments through indexes at any roster length: what an enrolment
and an unenrolment with promotion send is read back from SQLite's trace and explained (no timing involved)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.models import Enrollment, EnrollmentStatus, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.sqlite import SQLiteLedger
from lms_connectors.testing.sandbox import SandboxServer

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize("statistics", ["taken at 30 rows", "never taken"])
def test_enrolling_and_promoting_search_indexes_at_5000_rows_whatever_the_statistics(tmp_path: Path, statistics: str) -> None:
    from acme_lms_connector.adapter import AcmeLmsAdapter
    from acme_lms_connector.config import AcmeLmsConfig
    from acme_lms_connector.simulator import AcmeLmsSimulator

    ledger = SQLiteLedger(tmp_path / "ledger.db")
    simulator = AcmeLmsSimulator(client_id="ci-client", client_secret="ci-secret")
    with SandboxServer(simulator) as server:
        acme = AcmeLmsAdapter(AcmeLmsConfig(client_id="ci-client", client_secret="ci-secret", base_url=server.url))
        scheduler = Scheduler([acme], ledger)
        start, end = datetime(2027, 5, 4, 9, 0, tzinfo=NY), datetime(2027, 5, 4, 11, 0, tzinfo=NY)
        scheduler.schedule(
            Session(
                id="s1", title="Forklift safety", slot=TimeSlot(start=start, end=end, timezone="America/New_York"), capacity=3
            )
        )
        for i in range(30):
            scheduler.enrol("s1", Person(email=f"p{i}@example.org", name="P"))
        # Statistics taken while the roster was small (the ledger never runs ANALYZE; an operator might).
        if statistics == "taken at 30 rows":
            ledger._conn.execute("ANALYZE")
        with ledger.transaction():
            for i in range(30, 5_000):
                ledger.upsert_enrollment(
                    Enrollment(
                        session_id="s1",
                        person=Person(email=f"p{i}@example.org", name="P"),
                        status=EnrollmentStatus.WAITLISTED,
                        position=i,
                    )
                )
        sent: list[str] = []
        ledger._conn.set_trace_callback(sent.append)  # each statement with its values
        try:
            assert scheduler.enrol("s1", Person(email="last@example.org", name="L")).status is EnrollmentStatus.WAITLISTED
            scheduler.unenrol("s1", "p0@example.org")  # p3 is promoted
        finally:
            ledger._conn.set_trace_callback(None)
        assert ledger.count_enrollments("s1", EnrollmentStatus.CONFIRMED) == 3
        roster_reads = [
            statement for statement in sent if statement.startswith("SELECT") and "FROM enrollments" in statement
        ]
        # Seats, next position, the newcomer's row, the uncertain rows; the leaver's row, seats, the waitlist's
        # head, the uncertain rows.
        assert len(roster_reads) == 8
        for statement in roster_reads:
            plan = [str(row[3]) for row in ledger._conn.execute("EXPLAIN QUERY PLAN " + statement)]
            assert len(plan) == 1, (statement, plan)  # no temporary B-tree sorting the rows
            assert plan[0].startswith("SEARCH enrollments USING "), (statement, plan)
    ledger.close()
