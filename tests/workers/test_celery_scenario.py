"""Several Celery worker processes, Redis as broker, one PostgreSQL ledger, the Acme LMS simulator on loopback:
concurrent enrolments into one session (each sent twice, as a retried client would) must leave no duplicate,
no learner lost, the capacity respected and the waitlist promoted first come, first served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.models import EnrollmentStatus, Person, Session, TimeSlot
from lms_connectors.store.postgres import PostgresLedger
from lms_connectors.workers.outcome import TaskOutcome

WORKERS = 3
CAPACITY = 10
LEARNERS = 40
TENANT = "acme-corp"
CLIENT_ID, CLIENT_SECRET = "ci-client", "ci-secret-1"


@pytest.fixture
def acme_server() -> Iterator[object]:
    from acme_lms_connector.simulator import AcmeLmsSimulator

    from lms_connectors.testing.sandbox import SandboxServer

    with SandboxServer(AcmeLmsSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)) as server:
        yield server


@pytest.fixture
def workers(
    tmp_path: Path, postgres_dsn: str, postgres_schema: str, redis_url: str, acme_server: object
) -> Iterator[tuple[object, PostgresLedger]]:
    """Start the worker processes and point this process's Celery client at the same broker."""
    import redis

    from lms_connectors.workers import tasks

    redis.Redis.from_url(redis_url).flushdb()
    tenants = tmp_path / "tenants.json"
    # No secret here: the secret is in the secrets folder, per tenant and adapter.
    tenants.write_text(json.dumps({TENANT: {"acme_lms": {"client_id": CLIENT_ID, "base_url": acme_server.url}}}))  # type: ignore[attr-defined]
    (tmp_path / "secrets" / TENANT).mkdir(parents=True)
    (tmp_path / "secrets" / TENANT / "acme_lms.json").write_text(json.dumps({"client_secret": CLIENT_SECRET}))
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema, tenant=TENANT)  # migrated before workers start
    env = {
        **os.environ,
        "LMS_CONNECTORS_BROKER_URL": redis_url,
        "LMS_CONNECTORS_RESULT_BACKEND": redis_url,
        "LMS_CONNECTORS_LEDGER_URL": postgres_dsn,
        "LMS_CONNECTORS_LEDGER_SCHEMA": postgres_schema,
        "LMS_CONNECTORS_TENANTS_FILE": str(tenants),
        "LMS_CONNECTORS_SECRETS_DIR": str(tmp_path / "secrets"),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lms_connectors.workers.tasks", "worker", "--pool=solo",
             f"--hostname=w{i}@scenario", "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
            env=env,
            stdout=(tmp_path / f"w{i}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for i in range(WORKERS)
    ]
    tasks.app.conf.update(broker_url=redis_url, result_backend=redis_url)
    try:
        deadline = time.monotonic() + 60
        while len(tasks.app.control.ping(timeout=0.5) or []) < WORKERS:
            assert time.monotonic() < deadline, "workers did not come up: " + " | ".join(
                (tmp_path / f"w{i}.log").read_text()[-500:] for i in range(WORKERS)
            )
            assert all(p.poll() is None for p in procs), "a worker exited at start"
        yield acme_server, ledger
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        ledger.close()


def _session() -> Session:
    ny = ZoneInfo("America/New_York")
    return Session(
        id="fork-101",
        title="Forklift safety",
        slot=TimeSlot(start=datetime(2027, 6, 1, 9, tzinfo=ny), end=datetime(2027, 6, 1, 11, tzinfo=ny), timezone="America/New_York"),
        capacity=CAPACITY,
    )


def _wait(results: list[object]) -> list[TaskOutcome]:
    return [TaskOutcome.from_result(r.get(timeout=120)) for r in results]  # type: ignore[attr-defined]


def test_concurrent_enrolments_through_workers_leave_no_duplicate_and_respect_capacity_and_order(
    workers: tuple[object, PostgresLedger],
) -> None:
    from lms_connectors.workers import tasks

    server, ledger = workers
    scheduled = _wait([tasks.schedule.delay(TENANT, _session().model_dump(mode="json"))])[0].raise_for_error()
    assert scheduled.session is not None and scheduled.session.id == "fork-101"

    people = [Person(email=f"learner{n:02d}@example.org", name=f"Learner {n}").model_dump(mode="json") for n in range(LEARNERS)]
    # Every learner twice, the second copy later in the stream: a client retrying after a lost answer.
    stream = people + people[::-1]
    outcomes = _wait([tasks.enrol.delay(TENANT, "fork-101", [p]) for p in stream])
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert len({o.worker for o in outcomes}) > 1, "the work was not spread over several workers"
    by_email: dict[str, set[tuple[int, str]]] = {}
    for o in outcomes:
        (e,) = o.enrollments
        by_email.setdefault(e.person.email, set()).add((e.position, e.status.value))
    assert all(len(v) == 1 or {s for _, s in v} == {"confirmed"} for v in by_email.values()), "a repeated enrolment moved"

    roster = ledger.list_enrollments("fork-101")
    emails = [e.person.email for e in roster]
    assert len(emails) == len(set(emails)) == LEARNERS  # no duplicate, none lost
    assert [e.position for e in roster] == list(range(LEARNERS))
    confirmed = [e for e in roster if e.status is EnrollmentStatus.CONFIRMED]
    assert [e.position for e in confirmed] == list(range(CAPACITY))

    # Three seated learners leave at once: the first three of the waitlist, by arrival, take their seats.
    leaving = [confirmed[1].person.email, confirmed[4].person.email, confirmed[7].person.email]
    assert all(o.ok for o in _wait([tasks.unenrol.delay(TENANT, "fork-101", email) for email in leaving]))
    assert all(o.ok for o in _wait([tasks.sync.delay(TENANT, "fork-101")]))
    roster = ledger.list_enrollments("fork-101")
    seated = [e.person.email for e in roster if e.status is EnrollmentStatus.CONFIRMED]
    expected = [e for e in emails[: CAPACITY + 3] if e not in leaving]
    assert seated == expected
    assert [e.person.email for e in roster if e.status is EnrollmentStatus.WAITLISTED] == emails[CAPACITY + 3 :]

    # The provider holds exactly the seated learners; each was pushed once, and removed at most once.
    (held,) = server.simulator.sessions.values()  # type: ignore[attr-defined]
    assert sorted(held.enrolments) == sorted(seated)
    requests = server.requests  # type: ignore[attr-defined]
    pushed = [x["email"] for r in requests if r.method == "POST" and r.path.endswith("/enrolments") for x in r.json()["learners"]]
    assert sorted(pushed) == sorted(set(pushed)) == sorted(set(seated) | set(leaving))
    removed = [r.path.rsplit("/", 1)[1] for r in requests if r.method == "DELETE" and "/enrolments/" in r.path]
    assert sorted(removed) == sorted(leaving)
    creates = [r for r in requests if r.method == "POST" and r.path == "/sessions"]
    assert len(creates) == 1
