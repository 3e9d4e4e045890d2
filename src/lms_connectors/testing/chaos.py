"""Chaos run: random scheduler operations through faulty networks and killed workers, then one sync, then a check.

The rig serves each provider's simulator on 127.0.0.1 behind a :class:`~lms_connectors.testing.fault_proxy.FaultProxy`
that breaks a share of the exchanges (every kind of :data:`~lms_connectors.testing.fault_proxy.FAULT_KINDS`).
Worker processes (``python -m lms_connectors.testing.chaos worker ...``) run a random operation mix drawn from a
fixed seed (schedule virtual and in-person sessions, enrol and unenrol learners from ten zones into sessions of
capacity 1-4, reschedule, cancel, sync) against one SQLite ledger, and are killed (``SIGKILL``) at random moments
and restarted on the same ledger. When the operations are done the faults stop, one :meth:`Scheduler.sync_all`
runs, and :func:`check_invariants` compares the ledger with what the simulators hold:

duplicates, orphans (objects of sessions the ledger does not hold live, and Moodle groups without their event),
rosters both ways, slots, dead refs, capacity, waitlist order, secrets in the logs, ledger and audit, and
non-SDK exceptions from scheduler calls.

:func:`run_chaos` does all of it and returns a :class:`ChaosReport`; the test-suite runs a bounded run and
``benchmarks/chaos.py`` a long one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lms_connectors.adapter import Adapter, Capability
from lms_connectors.errors import ConnectorError
from lms_connectors.models import EnrollmentStatus, Modality, Person, Session, SessionStatus, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.sqlite import SQLiteLedger
from lms_connectors.testing.fault_proxy import FAULT_KINDS, FaultProxy
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import SandboxServer

__all__ = ["PROVIDERS", "ChaosReport", "build_adapters", "chaos_rig", "check_invariants", "legs_urls", "run_chaos"]

PROVIDERS: tuple[str, ...] = ("zoom", "google_calendar", "moodle")
"""The providers of the run: a virtual session goes to all three, an in-person one to Google and Moodle."""

ZONES: tuple[str, ...] = (
    "Europe/London", "Europe/Lisbon", "America/New_York", "America/Sao_Paulo", "Asia/Tokyo",
    "Asia/Kolkata", "Africa/Lagos", "Australia/Sydney", "Pacific/Auckland", "America/Los_Angeles",
)
"""Learners' zones (ten), and the zones sessions are set in."""

INVARIANTS: tuple[str, ...] = (
    "duplicates", "orphans", "learners missing at a provider", "learners at a provider not confirmed",
    "slots differing from the ledger", "dead refs", "capacity violations", "waitlist order violations",
    "secrets found", "non-SDK exceptions", "sessions whose sync failed",
)
"""The rows of the check, every one of which must be 0."""

_READ_TIMEOUT = 1.0  # the workers' read timeout; the proxy's slow answers take longer
_SLOW_SECONDS = 1.5


@dataclass
class ChaosReport:
    """What a chaos run did and found.

    Attributes:
        operations: Operations run, by kind.
        outcomes: Their outcomes (``ok`` or the SDK error's type).
        faults: Faults injected, by kind (all providers).
        kills: Workers killed mid-run.
        tokens_minted: Access tokens each provider's token endpoint issued (the workers share one token cache, so
            a worker restarted after a kill reuses the app's token instead of minting one that revokes the others').
        waits: Waits the transports asked for of at least the proxy's ``Retry-After``, against throttles injected.
        invariants: Each invariant row and its count (all 0 when the SDK converged).
        seconds: Wall time of the run.
        details: A few examples per non-zero row.
    """

    operations: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    tokens_minted: dict[str, int] = field(default_factory=dict)
    waits: int = 0
    invariants: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    details: dict[str, list[str]] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """Whether every invariant row is 0."""
        return all(count == 0 for count in self.invariants.values())

    def render(self) -> str:
        """The figures as text, one row per line."""
        lines = [f"operations: {sum(self.operations.values())} ({_counts(self.operations)})",
                 f"outcomes: {_counts(self.outcomes)}",
                 f"faults injected: {sum(self.faults.values())}"]
        lines += [f"  {kind:<20} {self.faults.get(kind, 0)}" for kind in FAULT_KINDS]
        lines.append(f"workers killed: {self.kills}")
        if self.tokens_minted:
            lines.append(f"access tokens minted: {_counts(Counter(self.tokens_minted))}")
        throttles = self.faults.get("throttle_seconds", 0) + self.faults.get("throttle_date", 0)
        lines.append(f"throttles injected: {throttles}; transport waits >= Retry-After: {self.waits}")
        lines.append("invariants after one sync_all():")
        lines += [f"  {name:<40} {count}" for name, count in self.invariants.items()]
        for name, examples in self.details.items():
            lines += [f"    {name}: {example}" for example in examples[:5]]
        lines.append(f"run time: {self.seconds:.1f} s")
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items()))


# -- the rig ----------------------------------------------------------------------------------------------------


@dataclass
class _Leg:
    name: str
    harness: ContractHarness
    simulator: Any
    server: SandboxServer
    proxy: FaultProxy


@contextlib.contextmanager
def chaos_rig() -> Iterator[dict[str, _Leg]]:
    """Each provider's simulator served on 127.0.0.1 behind its own fault proxy (calm until told otherwise)."""
    with contextlib.ExitStack() as stack:
        legs: dict[str, _Leg] = {}
        for name in PROVIDERS:
            harness = load_harness(name)
            simulator = harness.make_simulator()
            _lift_daily_quotas(simulator)
            server = stack.enter_context(SandboxServer(simulator))
            proxy = stack.enter_context(FaultProxy(server.url, slow_seconds=_SLOW_SECONDS))
            legs[name] = _Leg(name, harness, simulator, server, proxy)
        yield legs


def _lift_daily_quotas(simulator: Any) -> None:
    """Lift a simulator's daily quota (Zoom's 100 meeting creates and updates per host and UTC day).

    A long run stands for weeks of a host's work on a simulated clock that does not move: with the quota kept,
    every write after the first hundred would be refused until a midnight that never comes. A used-up quota is
    an answer, not a fault; the SDK's handling of it is tested on its own.
    """
    if hasattr(simulator, "daily_meeting_limit"):
        simulator.daily_meeting_limit = 10**9


def _tokens_minted(simulator: Any) -> int | None:
    minted = getattr(simulator, "tokens_minted", None)
    return minted if isinstance(minted, int) else None


def legs_urls(legs: dict[str, _Leg]) -> dict[str, str]:
    """Each provider's proxy URL, by adapter name."""
    return {name: leg.proxy.url for name, leg in legs.items()}


def build_adapters(urls: dict[str, str], sleep: Any = None, *, token_cache: Path | None = None) -> list[Adapter]:
    """The run's adapters against the proxies' URLs, with a short read timeout (a slow answer is a timeout).

    Args:
        urls: Each provider's proxy URL, by adapter name.
        sleep: How the transports wait (default: not at all).
        token_cache: The token cache file every process of the run shares (``token_cache_file`` of an adapter
            that offers it, as an application's workers would be set up): a worker restarted after a kill reuses
            the app's live token rather than minting one, which would revoke the other workers' (Zoom keeps one
            live token per app).
    """
    adapters: list[Adapter] = []
    for name, url in urls.items():
        harness = load_harness(name)
        settings = harness.adapter_settings(url)
        if token_cache is not None and "token_cache_file" in harness.adapter_class.config_model.model_fields:
            settings["token_cache_file"] = str(token_cache)
        adapter = harness.adapter_class.from_config(settings, sleep=sleep or (lambda _s: None))
        transport = adapter.transport
        transport.timeout = (2.0, _READ_TIMEOUT)
        adapters.append(adapter)
    return adapters


# -- the operations ---------------------------------------------------------------------------------------------


def _plan(seed: int, operations: int, sessions: int, lanes: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible operation mix
    course = load_harness("moodle").session_extras()
    people = [
        {"email": f"learner{i}@example.org", "name": f"Learner Number{i}", "timezone": ZONES[i % len(ZONES)]}
        for i in range(max(12, sessions * 3))
    ]
    ids = [f"chaos.s{i}" for i in range(sessions)]
    kinds = ("schedule", "enrol", "unenrol", "reschedule", "cancel", "sync")
    weights = (22, 34, 14, 14, 5, 11)
    plan: list[dict[str, Any]] = []
    specs: dict[str, dict[str, Any]] = {}
    for sid in ids:
        zone = rng.choice(ZONES)
        start = datetime(2027, 3, 1, 8, 0, tzinfo=ZoneInfo(zone)) + timedelta(days=rng.randrange(60),
                                                                            hours=rng.randrange(10))
        specs[sid] = {
            "id": sid, "title": f"Chaos session {sid}", "zone": zone, "start": start.isoformat(),
            "minutes": rng.choice((30, 60, 90)), "capacity": rng.randint(1, 4),
            "modality": rng.choice((Modality.VIRTUAL.value, Modality.IN_PERSON.value)), **course,
        }
    for _ in range(operations):
        kind = rng.choices(kinds, weights)[0]
        sid = rng.choice(ids)
        op: dict[str, Any] = {"kind": kind, "session": specs[sid], "lane": ids.index(sid) % lanes}
        if kind in ("enrol", "unenrol"):
            op["people"] = rng.sample(people, rng.randint(1, 3))
        if kind == "reschedule":
            op["shift_hours"] = rng.choice((-48, -3, 1, 2, 24, 72))
        plan.append(op)
    return plan


def _session(spec: dict[str, Any], shift_hours: int = 0) -> Session:
    start = datetime.fromisoformat(spec["start"]) + timedelta(hours=shift_hours)
    return Session(
        id=spec["id"], title=spec["title"], modality=Modality(spec["modality"]), capacity=spec["capacity"],
        slot=TimeSlot(start=start, end=start + timedelta(minutes=spec["minutes"]), timezone=spec["zone"]),
        course_id=spec.get("course_id"),
    )


def _run_one(scheduler: Scheduler, op: dict[str, Any]) -> None:
    spec = op["session"]
    kind = op["kind"]
    if kind == "schedule":
        scheduler.schedule(_session(spec))
    elif kind == "enrol":
        scheduler.enrol_many(spec["id"], [Person(**p) for p in op["people"]])
    elif kind == "unenrol":
        for person in op["people"]:
            scheduler.unenrol(spec["id"], person["email"])
    elif kind == "reschedule":
        stored = scheduler.ledger.get_session(spec["id"])
        base = stored.slot if stored is not None else _session(spec).slot
        shift = timedelta(hours=op["shift_hours"])
        scheduler.reschedule(spec["id"], base.model_copy(update={"start": base.start + shift,
                                                                 "end": base.end + shift}))
    elif kind == "cancel":
        scheduler.cancel(spec["id"])
    else:
        scheduler.sync(spec["id"])


def worker(state_path: Path, lane: int, start: int) -> None:
    """Run the operations of ``lane`` from its ``start``-th on; the parent may kill this process at any moment.

    Each lane holds the operations of its own sessions (a session is only ever worked on by one process at a
    time). Before each operation its position is written to the lane's progress file; after it, its outcome is
    appended to the lane's results file (one JSON line), and so are the transport's waits.
    """
    state = json.loads(state_path.read_text())
    workdir = Path(state["workdir"])
    handler = logging.FileHandler(workdir / f"debug-{os.getpid()}.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger("lms_connectors")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    plan = json.loads((workdir / "plan.json").read_text())
    ops = [op for op in plan if op["lane"] == lane]
    results = (workdir / f"results-{lane}.jsonl").open("a", encoding="utf-8")
    retry_after = float(state["retry_after"])

    def sleep(seconds: float) -> None:
        if seconds >= retry_after:
            results.write(json.dumps({"wait": seconds}) + "\n")
            results.flush()
        time.sleep(min(seconds, 0.01))  # the wait is recorded; the run does not spend it

    adapters = build_adapters(state["urls"], sleep, token_cache=Path(state["token_cache"]))
    ledger = SQLiteLedger(state["ledger"])
    scheduler = Scheduler(adapters, ledger)
    progress = workdir / f"progress-{lane}"
    for position in range(start, len(ops)):
        progress.write_text(str(position))
        op = ops[position]
        outcome = "ok"
        failure = None
        try:
            _run_one(scheduler, op)
        except ConnectorError as exc:
            outcome = type(exc).__name__
        except Exception as exc:  # the figure the run checks: any of these is a bug
            outcome = f"non-SDK {type(exc).__name__}"
            failure = traceback.format_exc()
        results.write(json.dumps({"kind": op["kind"], "outcome": outcome, "failure": failure}) + "\n")
        results.flush()
    progress.write_text(str(len(ops)))
    ledger.close()


# -- the run ----------------------------------------------------------------------------------------------------


def run_chaos(
    workdir: Path,
    *,
    seed: int = 8,
    operations: int = 300,
    sessions: int = 12,
    fault_rate: float = 0.08,
    kills: int = 2,
    workers: int = 2,
) -> ChaosReport:
    """Run the chaos test and return its figures.

    Args:
        workdir: Where the ledger, plan, logs and results go (created if missing).
        seed: Seeds the operation mix and the proxies' faults.
        operations: How many operations the workers run.
        sessions: How many distinct sessions they work on.
        fault_rate: Share of HTTP exchanges the proxies break.
        kills: How many times a worker is killed mid-run (spread over the run).
        workers: How many worker processes run at once, each on its own share of the sessions.

    Returns:
        The report; :attr:`ChaosReport.converged` says whether every invariant row is 0.
    """
    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "ledger.sqlite3").unlink(missing_ok=True)
    for pattern in ("debug-*.log", "results-*.jsonl", "progress-*", "tokens.json*"):
        for stale in workdir.glob(pattern):
            stale.unlink()
    plan = _plan(seed, operations, sessions, workers)
    (workdir / "plan.json").write_text(json.dumps(plan))
    report = ChaosReport()
    rng = random.Random(seed)  # noqa: S311 - reproducible kill points
    with chaos_rig() as legs:
        for offset, leg in enumerate(legs.values()):
            leg.proxy.randomly(fault_rate, seed=seed * 31 + offset)
        state = {
            "workdir": str(workdir),
            "ledger": str(workdir / "ledger.sqlite3"),
            "urls": legs_urls(legs),
            "retry_after": legs["zoom"].proxy.retry_after_seconds,
            "token_cache": str(workdir / "tokens.json"),
        }
        state_path = workdir / "state.json"
        state_path.write_text(json.dumps(state))
        lanes = Counter(op["lane"] for op in plan)
        kill_at: dict[int, list[int]] = {lane: [] for lane in lanes}
        for _ in range(kills):
            lane = rng.choice(sorted(lanes))
            kill_at[lane].append(rng.randrange(lanes[lane]))
        report.kills = _drive_workers(state_path, workdir, dict(lanes), {k: sorted(v) for k, v in kill_at.items()})
        for leg in legs.values():
            leg.proxy.calm()
            report.faults.update(leg.proxy.injected)
        _read_results(workdir, report)
        ledger = SQLiteLedger(workdir / "ledger.sqlite3")
        try:
            adapters = build_adapters(legs_urls(legs), token_cache=workdir / "tokens.json")
            summary = Scheduler(adapters, ledger).sync_all()
            report.invariants = check_invariants(ledger, adapters, legs, workdir, report.details)
            report.invariants["sessions whose sync failed"] = len(summary.failed)
            if summary.failed:
                report.details["sessions whose sync failed"] = [f"{k}: {v}" for k, v in summary.failed.items()]
            report.invariants["non-SDK exceptions"] = sum(
                count for outcome, count in report.outcomes.items() if outcome.startswith("non-SDK")
            )
            for adapter in adapters:
                adapter.close()
        finally:
            ledger.close()
        report.tokens_minted = {
            name: minted for name, leg in legs.items() if (minted := _tokens_minted(leg.simulator)) is not None
        }
    report.invariants = {name: report.invariants.get(name, 0) for name in INVARIANTS}
    report.seconds = time.perf_counter() - started
    return report


def _drive_workers(state_path: Path, workdir: Path, lanes: dict[int, int], kill_at: dict[int, list[int]]) -> int:
    """Run one worker per lane until each has started all its operations.

    A lane's worker is killed at each position of ``kill_at[lane]`` and restarted on the next operation.
    """
    seen: dict[int, int] = dict.fromkeys(lanes, 0)

    def reached(lane: int, default: int) -> int:
        # The worker rewrites the file before each operation: a read may catch it empty; keep the last value.
        path = workdir / f"progress-{lane}"
        with contextlib.suppress(OSError, ValueError):
            seen[lane] = max(seen[lane], int(path.read_text()))
        return max(seen[lane], default)

    def launch(lane: int, start: int) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "lms_connectors.testing.chaos", "worker", str(state_path), str(lane),
                   str(start)]
        return subprocess.Popen(command)  # noqa: S603 - our own module, with our own arguments

    running = {lane: launch(lane, 0) for lane, total in lanes.items() if total}
    pending = {lane: list(points) for lane, points in kill_at.items()}
    kills = 0
    while running:
        time.sleep(0.02)
        for lane, process in list(running.items()):
            if process.poll() is None:
                points = pending.get(lane)
                if points and reached(lane, 0) >= points[0]:
                    # Somewhere inside that operation: between two provider calls, or in the middle of one.
                    time.sleep(random.uniform(0.0, 0.05))  # noqa: S311
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    points.pop(0)
                    kills += 1
                    running[lane] = launch(lane, reached(lane, 0) + 1)
                continue
            if process.returncode != 0:
                raise RuntimeError(f"chaos worker of lane {lane} failed with exit code {process.returncode}")
            del running[lane]
    return kills


def _read_results(workdir: Path, report: ChaosReport) -> None:
    failures: list[str] = []
    lines = [line for path in sorted(workdir.glob("results-*.jsonl")) for line in path.read_text().splitlines()]
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if "wait" in row:
            report.waits += 1
            continue
        report.operations[row["kind"]] += 1
        report.outcomes[row["outcome"]] += 1
        if row.get("failure"):
            failures.append(row["failure"].strip().splitlines()[-1])
    if failures:
        report.details["non-SDK exceptions"] = failures


# -- the check --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Held:
    provider: str
    external_id: str
    key: str | None
    start: datetime
    end: datetime


def _held(adapter: Adapter, window: tuple[datetime, datetime]) -> list[_Held]:
    return [
        _Held(adapter.name, item.ref.external_id, item.ref.extra.get("key"), item.start, item.end)
        for item in adapter.list_sessions(*window)
    ]


def _session_of(key: str | None) -> str | None:
    # Keys are "<session id>.<provider>.g<generation>"; session ids may hold dots themselves.
    if key is None:
        return None
    parts = key.rsplit(".", 2)
    return parts[0] if len(parts) == 3 else None


def check_invariants(
    ledger: SQLiteLedger, adapters: Sequence[Adapter], legs: dict[str, Any], workdir: Path,
    details: dict[str, list[str]],
) -> dict[str, int]:
    """Compare the ledger with what each provider holds; every row counts violations (0 is right)."""
    rows: Counter[str] = Counter()

    def bad(row: str, example: str) -> None:
        rows[row] += 1
        details.setdefault(row, []).append(example)

    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    sessions = {s.id: s for s in ledger.list_sessions()}
    for adapter in adapters:
        held = _held(adapter, window)
        by_session: dict[str, list[_Held]] = {}
        for obj in held:
            sid = _session_of(obj.key)
            by_session.setdefault(sid or "?", []).append(obj)
        for sid, objects in by_session.items():
            if len(objects) > 1:
                bad("duplicates", f"{adapter.name}: {sid} held {len(objects)} times")
            session = sessions.get(sid)
            ref = ledger.get_ref(sid, adapter.name) if session is not None else None
            for obj in objects:
                if session is None or session.status is not SessionStatus.SCHEDULED or ref is None or (
                    ref.external_id != obj.external_id
                ):
                    bad("orphans", f"{adapter.name}: {obj.external_id} ({obj.key})")
                    continue
                if obj.start.astimezone(UTC) != session.slot.start_utc() or (
                    obj.end.astimezone(UTC) != session.slot.end_utc()
                ):
                    bad("slots differing from the ledger", f"{adapter.name}: {sid} at {obj.start.isoformat()}")
                if adapter.supports(Capability.ROSTER):
                    # Read through the ledger's ref: a listing's ref may lack what the roster needs (Moodle's group).
                    roster = {m.email for m in adapter.list_roster(ref)}
                    confirmed = {e.person.email for e in ledger.list_enrollments(sid, EnrollmentStatus.CONFIRMED)}
                    for email in confirmed - roster:
                        bad("learners missing at a provider", f"{adapter.name}: {sid} {email}")
                    for email in roster - confirmed:
                        bad("learners at a provider not confirmed", f"{adapter.name}: {sid} {email}")
        live = {(o.external_id) for o in held}
        for sid, session in sessions.items():
            ref = ledger.get_ref(sid, adapter.name)
            if ref is not None and ref.external_id not in live:
                bad("dead refs", f"{adapter.name}: {sid} -> {ref.external_id}")
            if session.status is SessionStatus.SCHEDULED and ref is None and adapter in Scheduler(
                adapters, ledger
            ).targets_for(session):
                bad("dead refs", f"{adapter.name}: {sid} scheduled without an object")
    _check_moodle_groups(legs.get("moodle"), sessions, bad)
    for sid, session in sessions.items():
        enrollments = ledger.list_enrollments(sid)
        seated = [e for e in enrollments if e.status is EnrollmentStatus.CONFIRMED]
        waiting = [e for e in enrollments if e.status is EnrollmentStatus.WAITLISTED]
        if session.capacity is not None and len(seated) > session.capacity:
            bad("capacity violations", f"{sid}: {len(seated)} confirmed for {session.capacity}")
        if waiting and (
            (session.capacity is not None and len(seated) < session.capacity)
            or max(e.position for e in seated) > min(e.position for e in waiting)
        ):
            bad("waitlist order violations", f"{sid}: someone waits while a later arrival or a free seat is seated")
    _check_secrets(ledger, legs, workdir, bad)
    return dict(rows)


def _check_moodle_groups(leg: Any, sessions: dict[str, Session], bad: Any) -> None:
    """Moodle groups a create made (ID number ``lmsc:<key>``) whose session is not live: orphans too."""
    if leg is None:
        return
    with leg.simulator.lock:
        groups = [dict(g) for g in leg.simulator.site.data.groups.values()]
        events = [dict(e) for e in leg.simulator.site.data.events.values()]
    for group in groups:
        idnumber = str(group.get("idnumber") or "")
        if not idnumber.startswith("lmsc:") or idnumber == "lmsc:enrolled-by-sdk":
            continue
        key = idnumber.removeprefix("lmsc:")
        session = sessions.get(_session_of(key) or "")
        has_event = any(f"[lmsc:{key}]" in str(e.get("description") or "") for e in events)
        if session is None or session.status is not SessionStatus.SCHEDULED or not has_event:
            bad("orphans", f"moodle group {group.get('id')} ({idnumber})")


def _check_secrets(ledger: SQLiteLedger, legs: dict[str, Any], workdir: Path, bad: Any) -> None:
    secrets = [s for leg in legs.values() for s in leg.harness.secret_values() if len(s) >= 6]
    texts = {path.name: path.read_text(encoding="utf-8", errors="replace") for path in workdir.glob("debug-*.log")}
    texts.update({path.name: path.read_text(errors="replace") for path in workdir.glob("results-*.jsonl")})
    texts["audit"] = "\n".join(entry.model_dump_json() for entry in ledger.iter_audit())
    texts["ledger file"] = (workdir / "ledger.sqlite3").read_bytes().decode("utf-8", errors="replace")
    for where, text in texts.items():
        for secret in secrets:
            if secret in text:
                bad("secrets found", f"a credential in {where}")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m lms_connectors.testing.chaos worker <state.json> <lane> <start>`` (used by :func:`run_chaos`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 4 or args[0] != "worker":
        raise SystemExit("usage: python -m lms_connectors.testing.chaos worker <state.json> <lane> <start>")
    worker(Path(args[1]), int(args[2]), int(args[3]))


if __name__ == "__main__":
    main()
