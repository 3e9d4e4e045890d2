"""The acceptance matrix every adapter passes, as an inheritable pytest class.

An adapter ships a :class:`ContractHarness` (its provider simulator, how to build the adapter against a base
URL, and a few provider-specific hooks), and its contract test is one line::

    class TestAcmeLmsContract(AdapterContract):
        harness = AcmeLmsHarness()

Each test is one case of the matrix and runs inside its cassette ``<cassette_dir>/<adapter>/<case>.yaml``:

=====================  =============================================================================
case                   what must hold
=====================  =============================================================================
create                 one provider object; read back equals the session (title, instants, and the
                       zone, location, link and capacity where the provider keeps them)
idempotent_create      a create whose answer is lost, retried with the same key, leaves one object
reschedule             moved across a DST change: same object where the provider allows; instants right
cancel                 cancelled or gone; cancelling again succeeds; a later enrolment is refused
enrol_across_zones     a learner in Asia/Tokyo joins a session set in America/New_York while only New York
                       has switched to DST: the provider holds the same instant; her invite shows her time
capacity_overflow      capacity 2, three enrol: the third waits and is not pushed; a seat frees: she is
                       promoted and pushed
rate_limited           throttling answers are waited out as Retry-After says; no duplicate
expired_auth           an expired token is refreshed once and the call succeeds; broken credentials are
                       an AuthError
pagination             a listing longer than a page returns everything, each item once
typed_errors           not found, invalid request and conflict come back as the core's error types
=====================  =============================================================================

Record modes (``--lmsc-record`` or ``LMS_CONNECTORS_RECORD``): ``none`` replays the cassettes (CI, offline);
``sandbox`` serves ``harness.contract_simulator()`` on 127.0.0.1 and records fresh cassettes from that traffic;
``live`` records against a real tenant with ``harness.live_adapter``. A case the provider cannot support is
listed in ``harness.unsupported`` with the reason, and is skipped with that reason.

Sessions use fixed dates in 2027 and fixed ids, so the requests of a case are the same at every run and a
cassette replays them in order.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import Capability
from lms_connectors.errors import (
    AuthError,
    Conflict,
    ConnectorError,
    InvalidRequest,
    NotFound,
    ResponseLost,
    TransientError,
)
from lms_connectors.http.transport import HttpTransport
from lms_connectors.invites import build_invite
from lms_connectors.models import (
    EnrollmentStatus,
    Meeting,
    Modality,
    Person,
    ProviderRef,
    ProviderSession,
    Room,
    Session,
    TimeSlot,
)
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.capabilities import capability_mismatches
from lms_connectors.testing.client_faults import drop_next_response
from lms_connectors.testing.harness import CASES, AdapterT, ContractHarness
from lms_connectors.testing.record_mode import RecordTarget, resolve_record_target
from lms_connectors.testing.sandbox import Fault, SandboxServer, SimulatorT
from lms_connectors.testing.vcr import make_vcr, scan_for_secrets

__all__ = [
    "CASES",
    "DEFAULT_CASSETTE_DIR",
    "AdapterContract",
    "ContractHarness",
    "ContractRun",
    "SleepRecorder",
    "open_contract_run",
]


DEFAULT_CASSETTE_DIR = "cassettes"
"""Where cassettes live, beside the contract test module (``tests/cassettes/<adapter>/<case>.yaml``), unless the
test class or ``--lmsc-cassettes`` says otherwise: the same layout for every adapter package, in-tree or not."""

NEW_YORK = "America/New_York"
TOKYO = "Asia/Tokyo"
CONTRACT_ROOM = Room(id="contract-room-1", name="Harbour Training Room", capacity=20, location="12 Quay Street")
CONTRACT_MEETING_URL = "https://meet.example.org/contract-session"
INVITE_STAMP = datetime(2027, 1, 4, 12, 0, tzinfo=ZoneInfo("UTC"))
LEARNERS = (
    Person(email="amara.okafor@example.org", name="Amara Okafor", timezone=NEW_YORK),
    Person(email="lena.fischer@example.org", name="Lena Fischer", timezone="Europe/Berlin"),
    Person(email="kenji.sato@example.org", name="Kenji Sato", timezone=TOKYO),
)
TOKYO_LEARNER = Person(email="aiko.tanaka@example.org", name="Aiko Tanaka", timezone=TOKYO)


class SleepRecorder:
    """The ``sleep`` given to adapters under contract: records every wait; really waits only on live runs.

    Args:
        real: Sleep for real (a live provider's rate limit does care about time).
    """

    def __init__(self, *, real: bool = False) -> None:
        self.real = real
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        """Record a wait of ``seconds`` (and wait for real on live runs)."""
        self.waits.append(seconds)
        if self.real:
            time.sleep(seconds)


@dataclass
class ContractRun(Generic[AdapterT, SimulatorT]):
    """One case being run: the adapter under contract and what the kit observes around it.

    Attributes:
        harness: The adapter's harness.
        case: The case name.
        target: ``"none"`` (replay), ``"sandbox"`` or ``"live"``.
        adapter: The adapter, built for this run.
        sleep: Records the adapter's waits.
        cassette: The cassette file.
        server: The sandbox while recording against it.
        created: Refs of the sessions the case created through :meth:`create`.
    """

    harness: ContractHarness[AdapterT, SimulatorT]
    case: str
    target: RecordTarget
    adapter: AdapterT
    sleep: SleepRecorder
    cassette: Path
    server: SandboxServer[SimulatorT] | None = None
    created: list[ProviderRef] = field(default_factory=list)

    @property
    def transport(self) -> HttpTransport:
        """The adapter's transport."""
        return self.adapter.transport

    def key(self, session: Session) -> str:
        """The idempotency key the scheduler would mint for the session's first create."""
        return f"{session.id}.{self.adapter.name}.g1"

    def session(self, suffix: str = "", **fields: Any) -> Session:
        """A session of this case: fixed id and dates, the harness's extras applied last."""
        values: dict[str, Any] = {
            "id": f"contract-{self.case.replace('_', '-')}{suffix}",
            "title": f"Contract {self.case.replace('_', ' ')}{suffix}",
            "slot": wall_slot(2027, 2, 10, 9, 0, 90, NEW_YORK),
            "modality": Modality.HYBRID,
            "capacity": 12,
            "room": CONTRACT_ROOM,
            "meeting": Meeting(provider="external", join_url=CONTRACT_MEETING_URL),
            "description": "Created by the lms-connectors contract kit.",
        }
        values.update(fields)
        values.update(self.harness.session_extras())
        return Session(**values)

    def create(self, session: Session) -> ProviderRef:
        """Create ``session`` with its first-generation key."""
        ref = self.adapter.create_session(session, key=self.key(session))
        self.created.append(ref)
        return ref

    def scheduler(self) -> Scheduler:
        """A scheduler over this adapter alone, with an in-memory ledger.

        The provider (a fresh simulator, or a cassette recorded from one) holds nothing this ledger did not make,
        so the scheduler is told it is the only writer: first creates skip the look-up by marker.
        """
        return Scheduler([self.adapter], MemoryLedger(), sole_writer=True)

    def unsupported_reason(self, part: str) -> str | None:
        """The harness's reason for not supporting ``<case>.<part>``, if it gave one."""
        return self.harness.unsupported.get(f"{self.case}.{part}")


def wall_slot(year: int, month: int, day: int, hour: int, minute: int, minutes: int, zone: str) -> TimeSlot:
    """A slot given as wall time in ``zone`` (the way people state it)."""
    start = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))
    return TimeSlot(start=start, end=start + timedelta(minutes=minutes), timezone=zone)


def resolve_cassette_root(
    test_folder: Path, cassette_dir: str | Path | None = None, *, option: str | None = None, rootdir: Path | None = None
) -> Path:
    """Resolve the folder of cassette folders.

    Args:
        test_folder: The folder of the module that defines the contract class.
        cassette_dir: The class's ``cassette_dir``, relative to ``test_folder`` (or absolute).
        option: ``--lmsc-cassettes``, relative to ``rootdir`` (or absolute); it wins over ``cassette_dir``.
        rootdir: The pytest root (default: the current directory).

    Returns:
        The folder holding ``<adapter>/<case>.yaml``; :data:`DEFAULT_CASSETTE_DIR` beside the contract test
        unless configured.
    """
    if option:
        path = Path(option)
        return path if path.is_absolute() else (rootdir or Path.cwd()) / path
    return test_folder / (cassette_dir if cassette_dir is not None else DEFAULT_CASSETTE_DIR)


_README = """# Contract cassettes of `{adapter}`

Recorded HTTP traffic of the lms-connectors acceptance matrix, one cassette per case (`<case>.yaml`).

- Recorded by running the contract tests with `LMS_CONNECTORS_RECORD={target}`{against}.
- Loopback URLs were rewritten to `{base}`; credentials, tokens and passwords were replaced by
  `[REDACTED]` before anything was written, and each cassette was scanned for secrets after recording.
- Never edit a cassette by hand: re-record it the same way (the kit deletes the old one first).
- CI replays them offline (`LMS_CONNECTORS_RECORD=none`, the default).
"""


def _write_readme(folder: Path, harness: ContractHarness[Any, Any], target: RecordTarget) -> None:
    readme = folder / "README.md"
    if readme.exists():
        return
    against = (
        f", against the provider simulator `{type(harness.make_simulator()).__name__}` served on 127.0.0.1"
        if target == "sandbox"
        else ", against a live tenant"
    )
    readme.write_text(
        _README.format(adapter=harness.adapter_name, target=target, against=against, base=harness.canonical_base_url),
        encoding="utf-8",
    )


def _clean_live(harness: ContractHarness[AdapterT, SimulatorT], sleep: Callable[[float], None]) -> None:
    """Let the harness clean the live tenant with an adapter of its own, outside any cassette."""
    adapter = harness.live_adapter(sleep=sleep)
    try:
        harness.clean_live(adapter)
    finally:
        adapter.close()


@contextlib.contextmanager
def open_contract_run(
    harness: ContractHarness[AdapterT, SimulatorT], case: str, *, target: RecordTarget, cassette_root: Path
) -> Iterator[ContractRun[AdapterT, SimulatorT]]:
    """Run one case inside its cassette; the kit's one place that decides what the adapter talks to.

    Replay builds the adapter with the canonical base URL and plays the cassette; ``sandbox`` serves a fresh
    simulator on loopback and records; ``live`` records against the tenant the harness configures. After a
    recording the cassette is scanned for secrets. An exception in the block leaves no cassette behind.

    Raises:
        pytest.fail.Exception: Replay without a cassette, or a recorded cassette holds a secret.
    """
    folder = cassette_root / harness.adapter_name
    cassette = folder / f"{case}.yaml"
    if target == "none" and not cassette.exists():
        pytest.fail(
            f"no cassette {cassette}: record it with LMS_CONNECTORS_RECORD=sandbox (or --lmsc-record=sandbox)",
            pytrace=False,
        )
    if target != "none":
        folder.mkdir(parents=True, exist_ok=True)
        cassette.unlink(missing_ok=True)  # re-record from scratch; vcrpy would otherwise keep old interactions
    sleep = SleepRecorder(real=target == "live")
    built: list[AdapterT] = []

    def known_secrets() -> list[str]:
        # The harness's credentials, plus whatever the adapter's transports hold now (tokens issued mid-run).
        values = harness.secret_values()
        for adapter in built:
            for transport in adapter.transports().values():
                values += transport.secrets()
        return values

    if target == "live":
        _clean_live(harness, sleep)
    with contextlib.ExitStack() as stack:
        if target == "live":
            stack.callback(_clean_live, harness, sleep)
        server: SandboxServer[SimulatorT] | None = None
        if target == "sandbox":
            server = stack.enter_context(SandboxServer(harness.contract_simulator()))
        recorder = make_vcr(harness, cassette_root, record_mode=target, secret_values=known_secrets)
        tape = stack.enter_context(recorder.use_cassette(case))
        if target == "live":
            adapter = harness.live_adapter(sleep=sleep)
        else:
            adapter = harness.build_adapter(server.url if server else harness.canonical_base_url, sleep=sleep)
        built.append(adapter)
        stack.callback(adapter.close)
        yield ContractRun(harness, case, target, adapter, sleep, cassette, server)
        # Closed inside the cassette: an adapter's close() may call the provider (LibreBooking signs out).
        adapter.close()
        secrets = known_secrets()
        if target == "none":
            # A stale cassette must not pass quietly: what was recorded and is no longer asked for means the
            # adapter changed its calls since the recording.
            unplayed = [f"{request.method} {request.path}" for index, (request, _) in enumerate(tape.data)
                        if not tape.play_counts[index]]
            if unplayed:
                pytest.fail(f"{cassette.name}: {len(unplayed)} recorded interaction(s) never replayed "
                            f"({', '.join(unplayed[:5])}): the adapter's calls changed; re-record the cassette",
                            pytrace=False)
    if target != "none":
        _write_readme(folder, harness, target)
        findings = scan_for_secrets(cassette, secrets) if cassette.exists() else []
        if findings:
            cassette.unlink()
            pytest.fail(f"{cassette.name} would have leaked secrets (deleted): " + "; ".join(findings), pytrace=False)


class _PartRunner(Protocol):
    def test(self, msg: str) -> contextlib.AbstractContextManager[Any]: ...


class _WarningParts:
    """Stand-in for pytest's ``subtests`` (pytest < 9): a skipped part becomes a warning, not a lost check."""

    @contextlib.contextmanager
    def test(self, msg: str) -> Iterator[None]:
        try:
            yield
        except pytest.skip.Exception as skipped:
            import warnings

            warnings.warn(f"part {msg!r} skipped: {skipped.msg}", pytest.PytestWarning, stacklevel=3)


def _parts(request: pytest.FixtureRequest) -> _PartRunner:
    try:
        runner: _PartRunner = request.getfixturevalue("subtests")
    except pytest.FixtureLookupError:
        return _WarningParts()
    return runner


def _require(run: ContractRun[Any, Any], capability: Capability, part: str | None = None) -> None:
    """Skip the case (or part) when the adapter lacks ``capability``, with the harness's reason if it gave one."""
    if run.adapter.supports(capability):
        return
    reason = (run.unsupported_reason(part) if part else None) or run.harness.unsupported.get(capability.value)
    pytest.skip(reason or f"{run.adapter.name} does not declare Capability.{capability.name}")


def _hook(run: ContractRun[Any, Any], part: str, action: Callable[[], None]) -> None:
    """Call a provoking hook; a harness that does not implement it skips the part with that reason."""
    reason = run.unsupported_reason(part)
    if reason:
        pytest.skip(reason)
    try:
        action()
    except NotImplementedError as missing:
        pytest.skip(f"{missing} (declare '{run.case}.{part}' in unsupported with the provider's reason)")


def _same_ref(left: ProviderRef | None, right: ProviderRef) -> bool:
    return left is not None and left.provider == right.provider and left.external_id == right.external_id


def _listed_with_title(run: ContractRun[Any, Any], session: Session) -> list[ProviderSession]:
    window_start = session.slot.start - timedelta(days=2)
    window_end = session.slot.end + timedelta(days=2)
    return [s for s in run.adapter.list_sessions(window_start, window_end) if s.title == session.title]


def _roster_emails(run: ContractRun[Any, Any], ref: ProviderRef) -> set[str]:
    return {member.email for member in run.adapter.list_roster(ref)}


def _parse_retry_after(fault: Fault) -> float | None:
    value = next((v for k, v in fault.headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the wait depends on the clock, only its presence is checked


class AdapterContract:
    """The acceptance matrix; subclass it with ``harness = YourHarness()`` (name the subclass ``Test...``).

    Attributes:
        harness: The adapter's harness.
        cassette_dir: Folder holding one sub-folder of cassettes per adapter, relative to the contract test's
            folder (default ``cassettes``: ``tests/cassettes/<adapter>/<case>.yaml`` beside
            ``tests/test_contract.py``). ``--lmsc-cassettes`` overrides it.
    """

    harness: ClassVar[ContractHarness[Any, Any]]
    cassette_dir: ClassVar[str | Path | None] = None
    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.lmsc_contract]

    def cassette_folder(self, request: pytest.FixtureRequest) -> Path:
        """This adapter's cassette folder, ``<cassette root>/<adapter name>``."""
        root = resolve_cassette_root(
            Path(request.path).parent,
            self.cassette_dir,
            option=request.config.getoption("lmsc_cassettes", default=None),
            rootdir=Path(request.config.rootpath),
        )
        return root / self.harness.adapter_name

    @contextlib.contextmanager
    def contract_run(self, request: pytest.FixtureRequest, case: str) -> Iterator[ContractRun[Any, Any]]:
        """Open the run of ``case`` (skipped with the harness's reason when it is unsupported)."""
        harness = self.harness
        if case in harness.unsupported:
            pytest.skip(f"{harness.adapter_name} does not support {case}: {harness.unsupported[case]}")
        target = resolve_record_target(request.config.getoption("lmsc_record", default=None))
        root = self.cassette_folder(request).parent
        with open_contract_run(harness, case, target=target, cassette_root=root) as run:
            yield run

    # -- what the adapter package declares and commits ------------------------------------------------------

    def test_capabilities_match_the_code(self) -> None:
        """No capability is declared by hand without the standard methods it stands for, none written in part."""
        problems = capability_mismatches(self.harness.adapter_class)
        assert not problems, "; ".join(problems)

    def test_every_case_has_a_cassette(self, request: pytest.FixtureRequest) -> None:
        """A cassette per supported case (and none for an unsupported one), and the folder's README."""
        folder = self.cassette_folder(request)
        expected = {case for case in CASES if case not in self.harness.unsupported}
        present = {path.stem for path in folder.glob("*.yaml")}
        assert present == expected, (
            f"{folder}: missing {sorted(expected - present)}, unexpected {sorted(present - expected)} (record the "
            "missing ones with LMS_CONNECTORS_RECORD=sandbox; an unsupported case has no cassette)"
        )
        assert (folder / "README.md").is_file(), f"{folder} must say how its cassettes were recorded (README.md)"

    def test_cassettes_hold_no_secret(self, request: pytest.FixtureRequest) -> None:
        """No committed cassette holds a credential, a token or a loopback address."""
        folder = self.cassette_folder(request)
        cassettes = sorted(folder.glob("*.yaml"))
        if not cassettes:
            pytest.skip(f"no cassette in {folder}")
        secrets = self.harness.secret_values()
        findings = [finding for path in cassettes for finding in scan_for_secrets(path, secrets)]
        findings += [f"{path.name}: a loopback URL (hosts must be canonical)" for path in cassettes
                     if "127.0.0.1" in path.read_text(encoding="utf-8")]
        assert not findings, "; ".join(findings)

    # -- create ---------------------------------------------------------------------------------------------

    def test_create(self, request: pytest.FixtureRequest) -> None:
        """One provider object whose read-back equals the session; a meeting provider makes its own link."""
        with self.contract_run(request, "create") as run:
            makes_links = run.adapter.supports(Capability.MEETING_LINK)
            # An adapter that makes join links (Meet, Zoom) is given a session without one, so that it must.
            session = run.session(meeting=None) if makes_links else run.session()
            ref = run.create(session)
            if makes_links:
                assert ref.join_url, "the provider must make the join link"
                assert ref.join_url != CONTRACT_MEETING_URL, "the provider must make its own join link"
            assert ref.provider == run.adapter.name
            assert ref.external_id
            got = run.adapter.get_session(ref)
            self.assert_read_back(run, session, ref, got)
            assert _same_ref(run.adapter.find_session(run.key(session)), ref), "find_session(key) must find it"
            if run.adapter.supports(Capability.LIST_SESSIONS):
                listed = _listed_with_title(run, session)
                assert [s.ref.external_id for s in listed] == [ref.external_id], "exactly one provider object"

    def assert_read_back(
        self, run: ContractRun[Any, Any], session: Session, ref: ProviderRef, got: ProviderSession
    ) -> None:
        """Check what the provider holds against the session, field by field, as far as the provider keeps it."""
        assert got.ref.external_id == ref.external_id
        assert got.title == session.title
        assert got.start == session.slot.start, f"start {got.start.isoformat()} != {session.slot.start.isoformat()}"
        assert got.end == session.slot.end, f"end {got.end.isoformat()} != {session.slot.end.isoformat()}"
        assert not got.cancelled
        keeps = run.harness.keeps
        if "timezone" in keeps:
            assert got.timezone == session.slot.timezone
        if "location" in keeps and session.room is not None:
            assert got.location is not None
            assert session.room.name in got.location
        if "capacity" in keeps:
            assert got.capacity == session.capacity
        if run.adapter.supports(Capability.MEETING_LINK):
            assert got.join_url
            assert got.join_url == ref.join_url
        elif run.adapter.supports(Capability.PUBLISHES_MEETING_LINK) and session.meeting is not None:
            assert got.join_url == session.meeting.join_url

    # -- idempotent create -------------------------------------------------------------------------------------

    def test_idempotent_create(self, request: pytest.FixtureRequest) -> None:
        """A create whose answer is lost, retried with the same key, leaves exactly one object."""
        with self.contract_run(request, "idempotent_create") as run:
            session = run.session()
            key = run.key(session)
            # Looking first also settles the auth, so the lost answer is the create's, not a token's.
            assert run.adapter.find_session(key) is None
            first: ProviderRef | None = None
            with drop_next_response(run.transport.session, method=run.harness.create_method) as lost:
                try:
                    first = run.adapter.create_session(session, key=key)
                except (ResponseLost, TransientError):
                    first = None  # the answer was lost (or a transient error): the caller retries with the same key
            assert len(lost) == 1, f"no {run.harness.create_method} was sent: the fault never fired"
            second = run.adapter.create_session(session, key=key)
            if first is not None:
                assert _same_ref(first, second), "the retried create must return the object the first one made"
            assert _same_ref(run.adapter.find_session(key), second)
            if run.adapter.supports(Capability.LIST_SESSIONS):
                listed = _listed_with_title(run, session)
                assert [s.ref.external_id for s in listed] == [second.external_id], "exactly one provider object"

    # -- reschedule ----------------------------------------------------------------------------------------------

    def test_reschedule(self, request: pytest.FixtureRequest) -> None:
        """Moved by a day across New York's DST change: same object where allowed, instants right."""
        with self.contract_run(request, "reschedule") as run:
            before = wall_slot(2027, 3, 13, 10, 0, 60, NEW_YORK)
            after = wall_slot(2027, 3, 14, 10, 0, 60, NEW_YORK)
            # Same-zone datetime arithmetic is wall-clock arithmetic in Python: compare in UTC.
            assert after.start_utc() - before.start_utc() == timedelta(hours=23), "the move must cross the DST change"
            session = run.session(slot=before)
            ref = run.create(session)
            moved = session.rescheduled(after)
            new_ref = run.adapter.reschedule_session(ref, moved)
            if run.adapter.supports(Capability.RESCHEDULE_IN_PLACE):
                assert new_ref.external_id == ref.external_id, "RESCHEDULE_IN_PLACE keeps the object"
            got = run.adapter.get_session(new_ref)
            assert got.start == after.start, f"start {got.start.isoformat()} != {after.start.isoformat()}"
            assert got.end == after.end
            assert got.start.astimezone(ZoneInfo(NEW_YORK)).hour == 10
            if "timezone" in run.harness.keeps:
                assert got.timezone == NEW_YORK

    # -- cancel --------------------------------------------------------------------------------------------------

    def test_cancel(self, request: pytest.FixtureRequest) -> None:
        """Cancelled or removed; cancelling again succeeds; a later enrolment is refused."""
        with self.contract_run(request, "cancel") as run:
            session = run.session()
            scheduler = run.scheduler()
            scheduler.schedule(session)
            ref = scheduler.ledger.get_ref(session.id, run.adapter.name)
            assert ref is not None
            scheduler.cancel(session.id)
            try:
                got = run.adapter.get_session(ref)
            except NotFound:
                pass
            else:
                assert got.cancelled, "after cancel the provider object is cancelled or gone"
            run.adapter.cancel_session(ref)  # idempotent: no error for an object already cancelled
            with pytest.raises(ConnectorError):
                scheduler.enrol(session.id, LEARNERS[0])

    # -- enrol across zones ---------------------------------------------------------------------------------------

    def test_enrol_across_zones(self, request: pytest.FixtureRequest) -> None:
        """A Tokyo learner joins a New York session two days after New York's DST switch."""
        with self.contract_run(request, "enrol_across_zones") as run:
            slot = wall_slot(2027, 3, 16, 9, 0, 90, NEW_YORK)
            # The week this case is about: New York moved to UTC-4 on 14 March, Tokyo stays UTC+9.
            assert slot.start.utcoffset() == timedelta(hours=-4)
            assert slot.start.astimezone(ZoneInfo(TOKYO)).hour == 22
            session = run.session(slot=slot)
            scheduler = run.scheduler()
            scheduled = scheduler.schedule(session)
            ref = scheduler.ledger.get_ref(session.id, run.adapter.name)
            assert ref is not None
            enrolment = scheduler.enrol(session.id, TOKYO_LEARNER)
            assert enrolment.status is EnrollmentStatus.CONFIRMED

            got = run.adapter.get_session(ref)
            assert got.start == slot.start, "the provider holds the same start instant"
            assert got.end == slot.end, "the provider holds the same end instant"

            invite = build_invite(
                scheduled, organizer=None, attendees=[TOKYO_LEARNER], for_person=TOKYO_LEARNER, stamp=INVITE_STAMP
            ).decode()
            assert "DTSTART;TZID=Asia/Tokyo:20270316T220000" in invite
            assert "DTEND;TZID=Asia/Tokyo:20270316T233000" in invite

            with _parts(request).test("roster"):
                _require(run, Capability.ROSTER, "roster")
                assert TOKYO_LEARNER.email in _roster_emails(run, ref)

    # -- capacity overflow ----------------------------------------------------------------------------------------

    def test_capacity_overflow(self, request: pytest.FixtureRequest) -> None:
        """Capacity 2, three enrol: the third waits unpushed; a seat frees: she is promoted and pushed."""
        with self.contract_run(request, "capacity_overflow") as run:
            session = run.session(capacity=2)
            scheduler = run.scheduler()
            scheduler.schedule(session)
            ref = scheduler.ledger.get_ref(session.id, run.adapter.name)
            assert ref is not None
            first, second, third = LEARNERS
            statuses = [scheduler.enrol(session.id, person).status for person in LEARNERS]
            assert statuses == [EnrollmentStatus.CONFIRMED, EnrollmentStatus.CONFIRMED, EnrollmentStatus.WAITLISTED]
            parts = _parts(request)
            with parts.test("roster before"):
                _require(run, Capability.ROSTER, "roster")
                assert _roster_emails(run, ref) == {first.email, second.email}, "the waitlisted learner is not pushed"

            scheduler.unenrol(session.id, first.email)
            promoted = scheduler.ledger.get_enrollment(session.id, third.email)
            assert promoted is not None
            assert promoted.status is EnrollmentStatus.CONFIRMED
            with parts.test("roster after"):
                _require(run, Capability.ROSTER, "roster")
                assert run.adapter.name in promoted.pushed_to
                assert _roster_emails(run, ref) == {second.email, third.email}, "the promoted learner is pushed"

    # -- rate limited ---------------------------------------------------------------------------------------------

    def test_rate_limited(self, request: pytest.FixtureRequest) -> None:
        """Two throttling answers are waited out as Retry-After says, and the create lands once."""
        with self.contract_run(request, "rate_limited") as run:
            session = run.session()
            key = run.key(session)
            assert run.adapter.find_session(key) is None  # settles the auth before the throttled call
            fault = run.harness.throttle_fault()
            fault.times = 2
            if run.server is not None:
                run.server.faults.add(fault)
            waits_before = len(run.sleep.waits)
            ref = run.create(session)
            waits = run.sleep.waits[waits_before:]
            if run.server is not None:
                assert fault.fired == 2, "the throttle answers were served"
            retry_after = _parse_retry_after(fault)
            if run.target != "live":
                assert len(waits) >= 2, f"two throttling answers, two waits expected, got {waits}"
                if retry_after is not None:
                    honoured = [w for w in waits if w >= retry_after]
                    assert len(honoured) >= 2, f"waits {waits} do not honour Retry-After: {retry_after}"
            assert _same_ref(run.adapter.find_session(key), ref)
            if run.adapter.supports(Capability.LIST_SESSIONS):
                listed = _listed_with_title(run, session)
                assert [s.ref.external_id for s in listed] == [ref.external_id], "no duplicate after throttling"

    # -- expired auth ---------------------------------------------------------------------------------------------

    def test_expired_auth(self, request: pytest.FixtureRequest) -> None:
        """An expired token is refreshed exactly once; broken credentials end in AuthError."""
        with self.contract_run(request, "expired_auth") as run:
            auth = run.transport.auth
            if auth is None or not auth.can_refresh:
                pytest.skip(f"{run.adapter.name}'s credentials cannot be refreshed")
            session = run.session()
            ref = run.create(session)
            refreshes: list[float] = []
            original_refresh = auth.refresh

            def counting_refresh() -> None:
                refreshes.append(time.monotonic())
                original_refresh()

            auth.refresh = counting_refresh  # type: ignore[method-assign]
            try:
                _hook(run, "expire", lambda: run.harness.expire_auth(run.adapter, run.server))
                assert run.adapter.get_session(ref).title == session.title
                assert len(refreshes) == 1, f"expected exactly one refresh, saw {len(refreshes)}"
                _hook(run, "break", lambda: run.harness.break_auth(run.adapter, run.server))
                with pytest.raises(AuthError):
                    run.adapter.get_session(ref)
            finally:
                del auth.refresh

    # -- pagination -----------------------------------------------------------------------------------------------

    def test_pagination(self, request: pytest.FixtureRequest) -> None:
        """Five sessions listed two per page come back all, each once."""
        with self.contract_run(request, "pagination") as run:
            _require(run, Capability.LIST_SESSIONS)
            sessions = [run.session(f"-{n}", slot=wall_slot(2027, 4, 5 + n, 9, 0, 60, NEW_YORK)) for n in range(1, 6)]
            refs = [run.create(session) for session in sessions]
            page_size = run.harness.page_size
            sent_before = run.transport.counter.total
            listed = list(
                run.adapter.list_sessions(
                    datetime(2027, 4, 1, tzinfo=ZoneInfo(NEW_YORK)),
                    datetime(2027, 4, 30, tzinfo=ZoneInfo(NEW_YORK)),
                    page_size=page_size,
                )
            )
            ids = [s.ref.external_id for s in listed if s.title.startswith("Contract pagination")]
            assert sorted(ids) == sorted(ref.external_id for ref in refs), "every session, each once"
            pages = run.transport.counter.total - sent_before
            assert pages >= -(-len(sessions) // page_size), f"{pages} request(s) cannot hold 5 items {page_size} a page"

    # -- typed errors ---------------------------------------------------------------------------------------------

    def test_typed_errors(self, request: pytest.FixtureRequest) -> None:
        """Not found, invalid request and conflict surface as the core's error types."""
        with self.contract_run(request, "typed_errors") as run:
            missing = ProviderRef(provider=run.adapter.name, external_id=run.harness.missing_external_id)
            with pytest.raises(NotFound):
                run.adapter.get_session(missing)
            parts = _parts(request)
            with parts.test("invalid_request"):
                _expect_error(run, "invalid_request", InvalidRequest, run.harness.provoke_invalid_request)
            with parts.test("conflict"):
                _expect_error(run, "conflict", Conflict, run.harness.provoke_conflict)


def _expect_error(
    run: ContractRun[AdapterT, SimulatorT],
    part: str,
    expected: type[ConnectorError],
    provoke: Callable[[AdapterT, SandboxServer[SimulatorT] | None], None],
) -> None:
    raised: list[BaseException] = []

    def attempt() -> None:
        try:
            provoke(run.adapter, run.server)
        except NotImplementedError:
            raise
        except Exception as exc:  # any outcome is checked below
            raised.append(exc)

    _hook(run, part, attempt)
    assert raised, f"the provoking call succeeded; expected {expected.__name__}"
    assert isinstance(raised[0], expected), f"expected {expected.__name__}, got {type(raised[0]).__name__}: {raised[0]}"
