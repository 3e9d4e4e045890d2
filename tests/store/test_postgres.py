"""What the PostgreSQL ledger promises beyond the shared contract: tenants kept apart by the database itself
(row-level security, checked through raw SQL), a versioned schema migrated once, and concurrency control that
holds across processes, not only threads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import errors as pg_errors

from lms_connectors.errors import ConfigurationError, LedgerUnavailable
from lms_connectors.models import EnrollmentStatus, Person, ProviderRef, Session, TimeSlot
from lms_connectors.store import open_ledger
from lms_connectors.store.base import AuditEntry
from lms_connectors.store.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresLedger

NY = ZoneInfo("America/New_York")
TABLES = ("sessions", "refs", "idempotency_keys", "enrollments", "audit")


def make_session(session_id: str, capacity: int | None = 2) -> Session:
    return Session(
        id=session_id,
        title="Forklift safety",
        slot=TimeSlot(
            start=datetime(2027, 5, 4, 9, 0, tzinfo=NY), end=datetime(2027, 5, 4, 11, 0, tzinfo=NY), timezone="America/New_York"
        ),
        capacity=capacity,
    )


@pytest.fixture
def ledger(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresLedger]:
    store = PostgresLedger(postgres_dsn, schema=postgres_schema)
    yield store
    store.close()


def fill(ledger: PostgresLedger, session_id: str) -> None:
    from lms_connectors.models import Enrollment

    ledger.save_session(make_session(session_id))
    ledger.put_ref(session_id, ProviderRef(provider="zoom", external_id=f"{ledger.tenant}-z"))
    ledger.current_key(session_id, "zoom")
    ledger.upsert_enrollment(
        Enrollment(
            session_id=session_id,
            person=Person(email=f"ana@{ledger.tenant}.example", name="Ana"),
            status=EnrollmentStatus.CONFIRMED,
            position=0,
        )
    )
    ledger.append_audit(AuditEntry(session_id=session_id, provider=None, action="filled"))


# tenants, enforced by the database


def test_a_savepoint_that_rolls_back_leaves_the_tenant_set_for_what_follows(ledger: PostgresLedger) -> None:
    # The tenant setting and the row lock are sent once per transaction; a savepoint that rolls back undoes the
    # setting (and releases the lock) in the database, so the ledger must send them again after it.
    ledger.save_session(make_session("s1"))

    def undone_block() -> None:
        with ledger.transaction():
            ledger.put_ref("s1", ProviderRef(provider="zoom", external_id="z1"))
            raise RuntimeError("undo the inner block")

    with ledger.transaction():
        with pytest.raises(RuntimeError):
            undone_block()
        ledger.put_ref("s1", ProviderRef(provider="teams", external_id="t1"))
        assert ledger.get_session("s1") == make_session("s1")
    assert [ref.provider for ref in ledger.list_refs("s1")] == ["teams"]


def test_raw_sql_on_a_bound_connection_sees_and_changes_only_its_tenants_rows(ledger: PostgresLedger) -> None:
    acme = ledger.bind("acme")
    globex = ledger.bind("globex")
    try:
        fill(acme, "s1")
        fill(globex, "s1")
        fill(globex, "s2")
        with acme.connection() as conn:
            # No WHERE clause: only row-level security stands between acme and globex's rows.
            for table in TABLES:
                tenants = conn.execute(f"SELECT DISTINCT tenant_id FROM {table}").fetchall()
                assert tenants == [("acme",)], table
            assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
            changed = conn.execute("UPDATE sessions SET data = '{}'::jsonb WHERE tenant_id = 'globex'")
            assert changed.rowcount == 0
            deleted = conn.execute("DELETE FROM enrollments WHERE tenant_id <> 'acme'")
            assert deleted.rowcount == 0
        with pytest.raises(pg_errors.InsufficientPrivilege, match="row-level security"), acme.connection() as conn:
            conn.execute("INSERT INTO sessions (tenant_id, id, data) VALUES ('globex', 'planted', '{}'::jsonb)")
        with pytest.raises(pg_errors.InsufficientPrivilege, match="row-level security"), acme.connection() as conn:
            conn.execute("UPDATE refs SET tenant_id = 'globex'")  # moving a row out of the tenant is refused too
        assert [s.id for s in globex.list_sessions()] == ["s1", "s2"]
        assert globex.get_ref("s1", "zoom") == ProviderRef(provider="zoom", external_id="globex-z")
        assert len(globex.list_enrollments("s1")) == 1
    finally:
        acme.close()
        globex.close()


def test_a_connection_without_a_tenant_sees_no_rows(ledger: PostgresLedger, postgres_dsn: str, postgres_schema: str) -> None:
    fill(ledger, "s1")
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute(f"SET search_path TO {postgres_schema}")
        for table in TABLES:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


def test_a_role_that_bypasses_row_security_is_refused(postgres_admin_dsn: str, postgres_schema: str) -> None:
    with pytest.raises(ConfigurationError, match="bypasses row-level security"):
        PostgresLedger(postgres_admin_dsn, schema=postgres_schema)


# schema versions


def test_schema_is_versioned_and_migrated_once_by_workers_starting_together(
    postgres_dsn: str, postgres_schema: str
) -> None:
    import threading

    opened: list[PostgresLedger] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_one() -> None:
        try:
            barrier.wait()
            opened.append(PostgresLedger(postgres_dsn, schema=postgres_schema, max_size=2))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert len(opened) == 4
        assert opened[0].schema_version == SCHEMA_VERSION
        with opened[0].connection() as conn:
            rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert rows == [(m.version,) for m in MIGRATIONS]
    finally:
        for store in opened:
            store.close()


def test_a_version_1_database_gets_the_roster_indexes_and_keeps_its_uncertain_rows_findable(
    ledger: PostgresLedger, postgres_dsn: str, postgres_schema: str
) -> None:
    from lms_connectors.models import Enrollment

    unsure = Enrollment(
        session_id="s1",
        person=Person(email="ana@example.org", name="Ana"),
        status=EnrollmentStatus.CONFIRMED,
        position=0,
        uncertain_at=("zoom",),
    )
    settled = unsure.model_copy(update={"person": Person(email="bo@example.org", name="Bo"), "position": 1, "uncertain_at": ()})
    # Back to what version 1 left (no uncertain column, no status index), with rows written by a version-1 ledger.
    with ledger.connection() as conn:
        conn.execute("DROP INDEX enrollments_by_status_first")
        conn.execute("CREATE INDEX enrollments_by_position ON enrollments (tenant_id, session_id, position)")
        conn.execute("DROP INDEX enrollments_uncertain")
        conn.execute("ALTER TABLE enrollments DROP COLUMN uncertain")
        conn.execute("DROP TABLE feed_cursors")
        conn.execute("DROP TABLE roster_counts")
        conn.execute("DROP FUNCTION count_enrollment CASCADE")  # and its triggers
        conn.execute("DELETE FROM schema_version WHERE version > 1")
        for row in (unsure, settled):
            conn.execute(
                "INSERT INTO enrollments (tenant_id, session_id, email, position, status, data) VALUES (%s, %s, %s, %s, %s, %s)",
                (ledger.tenant, "s1", row.person.email, row.position, "confirmed", row.model_dump_json()),
            )

    upgraded = PostgresLedger(postgres_dsn, schema=postgres_schema)
    try:
        assert upgraded.schema_version == SCHEMA_VERSION == 5
        # The seat counts start from the rows already there.
        assert upgraded.seats_and_next_position("s1") == (2, 2)
        assert upgraded.count_enrollments("s1", EnrollmentStatus.WAITLISTED) == 0
        upgraded.put_cursor("google_calendar", "primary", "token-1")
        assert upgraded.get_cursor("google_calendar", "primary") == "token-1"
        assert upgraded.list_uncertain_enrollments("s1") == [unsure]
        assert upgraded.list_enrollments("s1") == [unsure, settled]
        with upgraded.connection() as conn:
            # A planner that may not scan must find an index for each roster query (with a few rows it would
            # rightly scan, so the choice is forced to show that the index exists and fits).
            conn.execute("SET LOCAL enable_seqscan = off")
            plans = {
                index: " ".join(
                    str(row[0])
                    for row in conn.execute(
                        f"EXPLAIN SELECT data FROM enrollments WHERE tenant_id = 'default' AND session_id = 's1' "
                        f"AND {condition} ORDER BY position, seq LIMIT 3"
                    )
                )
                for index, condition in (
                    ("enrollments_by_status_first", "status = 'waitlisted'"),
                    ("enrollments_uncertain", "uncertain"),
                )
            }
        for index, plan in plans.items():
            assert index in plan, plan
            assert "Sort" not in plan, plan
    finally:
        upgraded.close()


def test_a_database_from_a_newer_version_is_refused(ledger: PostgresLedger, postgres_dsn: str, postgres_schema: str) -> None:
    with ledger.connection() as conn:
        conn.execute("INSERT INTO schema_version (version, description) VALUES (%s, 'from the future')", (SCHEMA_VERSION + 1,))
    with pytest.raises(ConfigurationError, match="schema version"):
        PostgresLedger(postgres_dsn, schema=postgres_schema)


def test_without_migrate_an_empty_schema_is_a_configuration_error(postgres_dsn: str, postgres_schema: str) -> None:
    with pytest.raises(ConfigurationError, match="migrate=True"):
        PostgresLedger(postgres_dsn, schema=postgres_schema, migrate=False)


def test_open_ledger_opens_postgres_urls_for_a_tenant(postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = open_ledger(postgres_dsn, tenant="acme")
    try:
        assert isinstance(ledger, PostgresLedger)
        assert ledger.tenant == "acme"
    finally:
        ledger.close()


def test_an_unreachable_database_is_ledger_unavailable(postgres_schema: str) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LedgerUnavailable):
        PostgresLedger(f"postgresql://nobody@127.0.0.1:{port}/none?connect_timeout=1", schema=postgres_schema, timeout=2)


# across processes

WORKER = textwrap.dedent(
    """
    import json, sys
    from acme_lms_connector.adapter import AcmeLmsAdapter
    from acme_lms_connector.config import AcmeLmsConfig
    from lms_connectors.models import Person
    from lms_connectors.scheduler import Scheduler
    from lms_connectors.store.postgres import PostgresLedger

    dsn, schema, base_url, worker, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    ledger = PostgresLedger(dsn, schema=schema, max_size=2)
    acme = AcmeLmsAdapter(AcmeLmsConfig(client_id="ci-client", client_secret="ci-secret", base_url=base_url))
    scheduler = Scheduler([acme], ledger)
    sys.stdout.write("ready\\n")
    sys.stdout.flush()
    sys.stdin.readline()  # every worker starts enrolling at once
    mine = []
    for n in range(count):
        # Everybody also tries to enrol "shared" learners: each must end up enrolled once.
        email = f"shared{n}@example.org" if n % 4 == 0 else f"w{worker}n{n}@example.org"
        mine.append(scheduler.enrol("s1", Person(email=email, name="Learner")).person.email)
    print(json.dumps(mine))
    ledger.close()
    """
)


def test_workers_in_separate_processes_respect_capacity_and_arrival_order(
    ledger: PostgresLedger, postgres_dsn: str, postgres_schema: str
) -> None:
    from acme_lms_connector.adapter import AcmeLmsAdapter
    from acme_lms_connector.config import AcmeLmsConfig
    from acme_lms_connector.simulator import AcmeLmsSimulator

    from lms_connectors.scheduler import Scheduler
    from lms_connectors.testing.sandbox import SandboxServer

    capacity, workers, per_worker = 7, 4, 24
    simulator = AcmeLmsSimulator(client_id="ci-client", client_secret="ci-secret")
    with SandboxServer(simulator) as server:
        acme = AcmeLmsAdapter(AcmeLmsConfig(client_id="ci-client", client_secret="ci-secret", base_url=server.url))
        Scheduler([acme], ledger).schedule(make_session("s1", capacity=capacity))
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, postgres_dsn, postgres_schema, server.url, str(w), str(per_worker)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for w in range(workers)
        ]
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120)[0] for proc in procs]
        pushes = [r.json()["learners"] for r in server.requests if r.method == "POST" and r.path.endswith("/enrolments")]
    assert [proc.returncode for proc in procs] == [0] * workers
    asked = [json.loads(out.strip().splitlines()[-1]) for out in outputs]

    roster = ledger.list_enrollments("s1")
    emails = [e.person.email for e in roster]
    expected = {email for emails_of_one in asked for email in emails_of_one}
    assert len(emails) == len(set(emails)) == len(expected)  # no duplicate, none lost
    assert set(emails) == expected
    assert [e.position for e in roster] == list(range(len(roster)))  # one position each, no gap
    confirmed = [e for e in roster if e.status is EnrollmentStatus.CONFIRMED]
    assert [e.position for e in confirmed] == list(range(capacity))  # first come, first seated; never over capacity
    assert all(e.status is EnrollmentStatus.WAITLISTED for e in roster[capacity:])
    position = {e.person.email: e.position for e in roster}
    for emails_of_one in asked:
        own = [position[email] for email in emails_of_one if not email.startswith("shared")]
        assert own == sorted(own), "a worker's own arrivals were queued out of order"
    # The provider got each confirmed learner in exactly one push, and holds exactly them.
    pushed = [learner["email"] for push in pushes for learner in push]
    assert sorted(pushed) == sorted(e.person.email for e in confirmed)
    (held,) = simulator.sessions.values()
    assert sorted(held.enrolments) == sorted(e.person.email for e in confirmed)


# round trips per roster operation


class _StatementCount:
    """Transactions and statements the ledger sends, counted on its pools' connections (the client's view)."""

    def __init__(self, ledger: PostgresLedger, monkeypatch: pytest.MonkeyPatch) -> None:
        self.transactions = 0
        self.statements = 0
        count = self

        class Counted:
            def __init__(self, conn: psycopg.Connection[Any]) -> None:
                self._conn = conn

            def execute(self, *args: Any, **kwargs: Any) -> Any:
                count.statements += 1
                return self._conn.execute(*args, **kwargs)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._conn, name)

        for pool, is_data in ((ledger._pools.data, True), (ledger._pools.leases, False)):

            @contextmanager
            def connection(*args: Any, _checkout: Any = pool.connection, _data: bool = is_data, **kwargs: Any) -> Iterator[Any]:
                with _checkout(*args, **kwargs) as conn:
                    count.transactions += _data  # each data checkout is one transaction (BEGIN ... COMMIT)
                    yield Counted(conn)

            monkeypatch.setattr(pool, "connection", connection)

    def take(self) -> tuple[int, int]:
        taken = (self.transactions, self.statements)
        self.transactions = self.statements = 0
        return taken


def test_an_enrolment_is_one_transaction_whose_statements_do_not_grow_with_the_roster(
    ledger: PostgresLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acme_lms_connector.adapter import AcmeLmsAdapter
    from acme_lms_connector.config import AcmeLmsConfig
    from acme_lms_connector.simulator import AcmeLmsSimulator

    from lms_connectors.scheduler import Scheduler
    from lms_connectors.testing.sandbox import SandboxServer

    people = [Person(email=f"learner{i}@example.org", name=f"Learner {i}") for i in range(60)]
    simulator = AcmeLmsSimulator(client_id="ci-client", client_secret="ci-secret")
    with SandboxServer(simulator) as server:
        acme = AcmeLmsAdapter(AcmeLmsConfig(client_id="ci-client", client_secret="ci-secret", base_url=server.url))
        scheduler = Scheduler([acme], ledger)
        scheduler.schedule(make_session("s1", capacity=2))
        count = _StatementCount(ledger, monkeypatch)

        assert scheduler.enrol("s1", people[0]).status is EnrollmentStatus.CONFIRMED
        # The row and its mark in one transaction, the push's answer in a second.
        confirmed = count.take()
        scheduler.enrol("s1", people[1])
        assert scheduler.enrol("s1", people[2]).status is EnrollmentStatus.WAITLISTED
        count.take()
        assert scheduler.enrol("s1", people[3]).status is EnrollmentStatus.WAITLISTED
        short_waitlist = count.take()
        scheduler.enrol_many("s1", people[4:-1])
        count.take()
        assert scheduler.enrol("s1", people[-1]).status is EnrollmentStatus.WAITLISTED
        long_waitlist = count.take()

        scheduler.unenrol("s1", people[0].email)
        unenrol = count.take()
    # Lease taken and released (2), tenant and row lock (1), session (1), seats and next position (1), earlier
    # enrolment (1), row (1), audit (1), uncertain rows (1): 9 statements, BEGIN and COMMIT aside.
    assert short_waitlist == long_waitlist == (1, 9)
    # Then the provider's refs (1), the mark (1); after the push: tenant and lock (1), the answer (1), audit (1).
    assert confirmed == (2, 9 + 2 + 3)
    # Unenrol with promotion: lease (2); tenant and lock, session, the leaver's row, its write, audit, seats,
    # the waitlist's head, its write, audit, uncertain rows, refs, two marks (13); removal's answer (3); push's (3).
    assert unenrol == (3, 2 + 13 + 3 + 3)



def test_seat_counts_follow_every_write_raw_sql_and_rollbacks_included_and_stay_within_their_tenant(
    ledger: PostgresLedger,
) -> None:
    from lms_connectors.models import Enrollment

    other = ledger.bind("other")
    try:
        for store in (ledger, other):
            for i, status in enumerate((EnrollmentStatus.CONFIRMED, EnrollmentStatus.CONFIRMED, EnrollmentStatus.WAITLISTED)):
                store.upsert_enrollment(
                    Enrollment(session_id="s1", person=Person(email=f"p{i}@example.org", name="P"), status=status, position=i)
                )
        waiting = ledger.get_enrollment("s1", "p2@example.org")
        assert waiting is not None

        def promote_then_fail() -> None:
            with ledger.transaction():
                ledger.upsert_enrollment(waiting.model_copy(update={"status": EnrollmentStatus.CONFIRMED}))
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            promote_then_fail()
        with ledger.connection() as conn:
            conn.execute("UPDATE enrollments SET status = 'cancelled' WHERE email = 'p0@example.org'")
            conn.execute("UPDATE enrollments SET session_id = 's2' WHERE email = 'p1@example.org'")
            conn.execute("DELETE FROM enrollments WHERE email = 'p2@example.org'")
            # Row security keeps the counters to their tenant, as it keeps the rows.
            counted = conn.execute("SELECT DISTINCT tenant_id FROM roster_counts").fetchall()
        assert counted == [(ledger.tenant,)]
        # Positions once given are not given again, even when their rows have gone.
        assert ledger.seats_and_next_position("s1") == (0, 3)
        assert ledger.seats_and_next_position("s2") == (1, 2)
        assert [ledger.count_enrollments("s1", status) for status in EnrollmentStatus] == [0, 0, 1]
        assert ledger.count_enrollments("s2", EnrollmentStatus.CONFIRMED) == 1
        assert other.seats_and_next_position("s1") == (2, 3)
        assert other.count_enrollments("s1", EnrollmentStatus.WAITLISTED) == 1
    finally:
        other.close()


# plans: an enrolment's statements reach rows through indexes at any roster length, whatever the statistics


def _roster_reads(conn: Any) -> tuple[int, int, int]:
    """Sequential scans, rows read by any scan and index scans of the enrolments table so far in this transaction."""
    row = conn.execute(
        "SELECT seq_scan, seq_tup_read + COALESCE(idx_tup_fetch, 0), COALESCE(idx_scan, 0) FROM pg_stat_xact_user_tables "
        "WHERE schemaname = current_schema() AND relname = 'enrollments'"
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


@pytest.mark.parametrize("statistics", ["taken at 100 rows", "never taken"])
def test_enrolling_and_promoting_read_a_few_rows_at_10000_whatever_the_statistics(ledger: PostgresLedger, statistics: str) -> None:
    from acme_lms_connector.adapter import AcmeLmsAdapter
    from acme_lms_connector.config import AcmeLmsConfig
    from acme_lms_connector.simulator import AcmeLmsSimulator

    from lms_connectors.models import Enrollment
    from lms_connectors.scheduler import Scheduler
    from lms_connectors.testing.sandbox import SandboxServer

    capacity, waiting = 100, 10_000
    template = Enrollment(
        session_id="s1", person=Person(email="x@example.org", name="Learner"), status=EnrollmentStatus.WAITLISTED, position=0
    )
    simulator = AcmeLmsSimulator(client_id="ci-client", client_secret="ci-secret")
    with SandboxServer(simulator) as server:
        acme = AcmeLmsAdapter(AcmeLmsConfig(client_id="ci-client", client_secret="ci-secret", base_url=server.url))
        scheduler = Scheduler([acme], ledger)
        scheduler.schedule(make_session("s1", capacity=capacity))
        with ledger.connection() as conn:
            # Statistics stay as the ANALYZE below leaves them (autovacuum would refresh them at its own time).
            conn.execute("ALTER TABLE enrollments SET (autovacuum_enabled = false)")
            # A full session whose statistics say: every row of s1 is confirmed.
            for i in range(capacity):
                row = template.model_copy(
                    update={"person": Person(email=f"seat{i}@example.org", name="Learner"), "position": i, "status": EnrollmentStatus.CONFIRMED}
                )
                conn.execute(
                    "INSERT INTO enrollments (tenant_id, session_id, email, position, status, data) VALUES (%s, 's1', %s, %s, 'confirmed', %s)",
                    (ledger.tenant, row.person.email, i, row.model_dump_json()),
                )
            if statistics == "taken at 100 rows":
                conn.execute("ANALYZE enrollments")
        # A dozen enrolments while the table is small: psycopg prepares their statements, and PostgreSQL would
        # settle on one plan for each, fit for a few pages.
        for i in range(12):
            assert scheduler.enrol("s1", Person(email=f"early{i}@example.org", name="Early")).status is EnrollmentStatus.WAITLISTED
        with ledger.connection() as conn:
            conn.execute(
                "INSERT INTO enrollments (tenant_id, session_id, email, position, status, data) "
                "SELECT %(t)s, 's1', 'late' || i || '@example.org', i, 'waitlisted', "
                "jsonb_set(jsonb_set(%(row)s::jsonb, '{person,email}', to_jsonb('late' || i || '@example.org')), '{position}', to_jsonb(i)) "
                "FROM generate_series(1000, 1000 + %(n)s - 1) AS i",
                {"t": ledger.tenant, "row": template.model_dump_json(), "n": waiting},
            )
        assert ledger.seats_and_next_position("s1") == (capacity, 1000 + waiting)

        # A newcomer's enrolment fetches no row (its look-up finds none, its insert replaces none); an unenrolment
        # that promotes fetches the leaver's and the waitlist head's rows and replaces each of them twice (the
        # change, then the provider's answer).
        for operation, rows_expected in (
            (lambda: scheduler.enrol("s1", Person(email="last@example.org", name="Last")), 0),
            (lambda: scheduler.unenrol("s1", "seat0@example.org"), 6),  # frees a seat: early0 is promoted
        ):
            with ledger.transaction(), ledger.connection() as conn:
                before = _roster_reads(conn)
                operation()
                seq_scans, rows_read, index_scans = (after - first for after, first in zip(_roster_reads(conn), before, strict=True))
            assert seq_scans == 0
            assert rows_read == rows_expected
            assert index_scans > 0
    assert ledger.get_enrollment("s1", "last@example.org").status is EnrollmentStatus.WAITLISTED  # type: ignore[union-attr]
    assert ledger.get_enrollment("s1", "early0@example.org").status is EnrollmentStatus.CONFIRMED  # type: ignore[union-attr]
    assert ledger.seats_and_next_position("s1") == (capacity, 1000 + waiting + 1)
