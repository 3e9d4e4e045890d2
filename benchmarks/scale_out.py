"""Scale-out: sessions with enrolments scheduled by 1, 2 and 4 Celery workers sharing one PostgreSQL ledger.

Each run starts a fresh ledger schema, an emptied Redis database (broker, results and shared limits) and a fresh
Acme LMS simulator on 127.0.0.1 that *enforces a quota* (``--quota`` API calls per second, answered with 429 and
``Retry-After`` past it). It then starts N worker processes (``celery -A lms_connectors.workers.tasks worker``),
sends one ``schedule`` then ``enrol`` chain per session (``--learners`` learners for ``--capacity`` seats, so
some are waitlisted), waits for every result, and checks the outcome against both the ledger and the provider:

- duplicates: provider sessions beyond one per ledger session (and creates answered 201 beyond that);
- capacity violations: a provider or ledger roster with more learners than seats;
- lost enrolments: a learner sent but absent from the ledger, or seated in the ledger but absent from the
  provider.

The workers share the provider's allowance through Redis (a rate rule at 95 % of the quota, see
:mod:`lms_connectors.shared_limits`); "share of quota" is provider calls per second over the quota. The last run
kills one worker (SIGKILL) a third of the way through: its task is given to another worker once Redis's
visibility timeout (``--visibility-timeout``) passes, and the ledger's keys make the repeat harmless.

Needs PostgreSQL and Redis (``.ci/services.sh`` starts both and exports the URLs read below)::

    python benchmarks/scale_out.py                  # 2,000 sessions; a few minutes on 2 cores
    python benchmarks/scale_out.py --sessions 200   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import redis
from acme_lms_connector.simulator import AcmeLmsSimulator
from celery import chain
from celery.result import AsyncResult

from lms_connectors.models import EnrollmentStatus, Person, Session, TimeSlot
from lms_connectors.store.postgres import PostgresLedger
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, SandboxServer
from lms_connectors.workers import tasks
from lms_connectors.workers.outcome import TaskOutcome

TENANT = "bench"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"
NY = ZoneInfo("America/New_York")


class CountingAcme(AcmeLmsSimulator):
    """The Acme simulator, noting the status of every answer (429s and 201s are counted by the checks)."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret)
        self.answered: list[tuple[str, str, int]] = []

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        response = super().handle(request)
        self.answered.append((request.method, request.path, response.status))
        return response


@dataclass
class RunResult:
    workers: int
    killed: bool
    seconds: float
    sessions_ok: int
    failed: int
    provider_calls: int
    throttled: int
    quota: int
    duplicates: int
    capacity_violations: int
    lost: int

    @property
    def sessions_per_second(self) -> float:
        return self.sessions_ok / self.seconds

    @property
    def quota_share(self) -> float:
        return self.provider_calls / self.seconds / self.quota


def _session(n: int, capacity: int) -> Session:
    start = datetime(2027, 9, 1, 9, tzinfo=NY) + timedelta(hours=n)
    return Session(
        id=f"bench-{n:05d}",
        title=f"Scale-out session {n}",
        slot=TimeSlot(start=start, end=start + timedelta(hours=1), timezone="America/New_York"),
        capacity=capacity,
    )


def _people(n: int, learners: int) -> list[dict[str, Any]]:
    return [Person(email=f"s{n}l{i}@example.org", name=f"Learner {i}").model_dump(mode="json") for i in range(learners)]


def _start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(count):
        log = (Path(os.environ.get("BENCH_LOG_DIR", str(logs))) / f"worker{i}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "lms_connectors.workers.tasks", "worker", "--pool=solo",
                 f"--hostname=bench{i}@scale-out", "--without-gossip", "--without-mingle", "--loglevel=" + os.environ.get("BENCH_LOGLEVEL", "WARNING")],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    deadline = time.monotonic() + 90
    while len(tasks.app.control.ping(timeout=0.5) or []) < count:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit(f"workers did not start; see {logs}")
    return procs


def run(args: argparse.Namespace, workers: int, *, kill: bool) -> RunResult:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    simulator = CountingAcme(CLIENT_ID, CLIENT_SECRET)
    simulator.throttle(calls=args.quota, seconds=1.0, path=r"^/sessions")
    with tempfile.TemporaryDirectory() as folder, SandboxServer(simulator) as server:
        work = Path(folder)
        (work / "tenants.json").write_text(json.dumps({TENANT: {"acme_lms": {"client_id": CLIENT_ID, "base_url": server.url}}}))
        (work / "secrets" / TENANT).mkdir(parents=True)
        (work / "secrets" / TENANT / "acme_lms.json").write_text(json.dumps({"client_secret": CLIENT_SECRET}))
        rule = {"name": "api", "kind": "rate", "limit": args.quota * 0.95, "burst": 1, "path": "^/sessions"}
        (work / "limits.json").write_text(json.dumps({"acme_lms": [rule]}))
        ledger = PostgresLedger(args.postgres_dsn, schema=schema, tenant=TENANT)
        env = {
            **os.environ,
            "LMS_CONNECTORS_BROKER_URL": args.redis_url,
            "LMS_CONNECTORS_RESULT_BACKEND": args.redis_url,
            "LMS_CONNECTORS_VISIBILITY_TIMEOUT": str(args.visibility_timeout),
            "LMS_CONNECTORS_LEDGER_URL": args.postgres_dsn,
            "LMS_CONNECTORS_LEDGER_SCHEMA": schema,
            "LMS_CONNECTORS_TENANTS_FILE": str(work / "tenants.json"),
            "LMS_CONNECTORS_SECRETS_DIR": str(work / "secrets"),
            "LMS_CONNECTORS_LIMITS_REDIS_URL": args.redis_url,
            "LMS_CONNECTORS_LIMITS_FILE": str(work / "limits.json"),
        }
        tasks.app.conf.update(
            broker_url=args.redis_url,
            result_backend=args.redis_url,
            broker_transport_options=tasks.broker_transport_options(args.visibility_timeout),
        )
        procs = _start_workers(workers, env, work)
        try:
            started = time.monotonic()
            pending: dict[int, AsyncResult[Any]] = {}
            for n in range(args.sessions):
                flow = chain(
                    tasks.schedule.si(TENANT, _session(n, args.capacity).model_dump(mode="json")),
                    tasks.enrol.si(TENANT, f"bench-{n:05d}", _people(n, args.learners)),
                )
                pending[n] = flow.apply_async()
            outcomes: dict[int, TaskOutcome] = {}
            killed = False
            deadline = started + args.timeout
            while pending:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{len(pending)} sessions unfinished after {args.timeout} s; logs in {work}")
                for n, async_result in list(pending.items()):
                    if async_result.ready():
                        outcomes[n] = TaskOutcome.from_result(async_result.get())
                        del pending[n]
                if kill and not killed and len(outcomes) >= args.sessions // 3:
                    procs[0].send_signal(signal.SIGKILL)
                    killed = True
                time.sleep(1.0)
            seconds = time.monotonic() - started
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
        result = _check(args, workers, kill, seconds, outcomes, ledger, simulator)
        ledger.close()
    with psycopg.connect(args.postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    client.close()
    return result


def _check(
    args: argparse.Namespace,
    workers: int,
    kill: bool,
    seconds: float,
    outcomes: dict[int, TaskOutcome],
    ledger: PostgresLedger,
    simulator: CountingAcme,
) -> RunResult:
    failed = [o for o in outcomes.values() if not o.ok]
    provider_sessions: dict[str, list[Any]] = {}
    for made in simulator.sessions.values():
        provider_sessions.setdefault(made.idempotency_key, []).append(made)
    duplicates = sum(len(v) - 1 for v in provider_sessions.values())
    created = sum(1 for method, path, status in simulator.answered if (method, path, status) == ("POST", "/sessions", 201))
    duplicates += max(0, created - len(provider_sessions))
    capacity_violations = 0
    lost = 0
    for n in range(args.sessions):
        session_id = f"bench-{n:05d}"
        roster = ledger.list_enrollments(session_id)
        confirmed = {e.person.email for e in roster if e.status is EnrollmentStatus.CONFIRMED}
        asked = {p["email"] for p in _people(n, args.learners)}
        lost += len(asked - {e.person.email for e in roster})
        keys = [k.key for k in ledger.list_keys(session_id) if k.provider == "acme_lms"]
        held_sessions = [s for key in keys for s in provider_sessions.get(key, [])]
        on_provider = {email for s in held_sessions for email in s.enrolments}
        lost += len(confirmed - on_provider)
        capacity_violations += int(len(confirmed) > args.capacity) + sum(len(s.enrolments) > args.capacity for s in held_sessions)
    throttled = sum(1 for _, _, status in simulator.answered if status == 429)
    calls = sum(1 for _, path, _ in simulator.answered if path.startswith("/sessions"))
    return RunResult(workers, kill, seconds, len(outcomes) - len(failed), len(failed), calls, throttled, args.quota, duplicates, capacity_violations, lost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--learners", type=int, default=5, help="learners per session")
    parser.add_argument("--capacity", type=int, default=3, help="seats per session")
    parser.add_argument("--quota", type=int, default=150, help="provider API calls per second the simulator allows")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--visibility-timeout", type=int, default=15, help="seconds before Redis redelivers a task")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a run may take at most")
    parser.add_argument("--postgres-dsn", default=os.environ.get("LMS_CONNECTORS_TEST_POSTGRES_DSN", ""))
    parser.add_argument("--redis-url", default=os.environ.get("LMS_CONNECTORS_TEST_REDIS_URL", ""))
    args = parser.parse_args()
    if not args.postgres_dsn or not args.redis_url:
        raise SystemExit("needs PostgreSQL and Redis: pass --postgres-dsn and --redis-url (or source .ci/services.sh)")

    results = [run(args, n, kill=False) for n in args.workers]
    if max(args.workers) >= 2:  # a killed worker's tasks need another worker to take them
        results.append(run(args, max(args.workers), kill=True))
    print(f"\n{args.sessions} sessions x {args.learners} learners ({args.capacity} seats each) on the Acme LMS simulator, "
          f"quota {args.quota} calls/s\n")
    header = ("workers", "sessions/s", "calls/s", "share of quota", "429s", "failed", "duplicates", "capacity violations", "lost enrolments", "seconds")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" for _ in header) + "|")
    for r in results:
        label = f"{r.workers} (1 killed)" if r.killed else str(r.workers)
        row = (label, f"{r.sessions_per_second:.1f}", f"{r.provider_calls / r.seconds:.1f}", f"{r.quota_share:.0%}",
               str(r.throttled), str(r.failed), str(r.duplicates), str(r.capacity_violations), str(r.lost), f"{r.seconds:.1f}")
        print("| " + " | ".join(row) + " |")
    bad = [r for r in results if r.duplicates or r.capacity_violations or r.lost or r.failed]
    if bad:
        raise SystemExit("a run broke a guarantee (see the table)")


if __name__ == "__main__":
    main()
