"""pytest plug-in of the contract kit, loaded by pytest through the ``pytest11`` entry point.

Adds:

* ``--lmsc-record={none,sandbox,live}``: what contract tests run against (overrides ``LMS_CONNECTORS_RECORD``).
* ``--lmsc-cassettes=DIR``: the folder of cassette folders (overrides a contract class's ``cassette_dir``).
* ``--lmsc-results=FILE``: write each adapter's contract outcomes, case by case and part by part, to ``FILE``
  (JSON, see :mod:`lms_connectors.testing.results`); ``lms-connectors matrix --results FILE`` renders the
  support matrix from it.
* the ``lmsc_contract`` marker, set on every :class:`~lms_connectors.testing.contract.AdapterContract` test,
  so ``pytest -m lmsc_contract`` runs the acceptance matrix alone.
* fixtures ``lmsc_record_mode`` (the resolved record target) and ``sandbox_server`` (start simulators on
  loopback; every server is stopped after the test).

Importing this module imports nothing heavy (no vcrpy, no HTTP stack): it is loaded by every pytest run in
an environment where lms-connectors is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from lms_connectors.testing.record_mode import RECORD_ENV, RECORD_TARGETS, RecordTarget, resolve_record_target
from lms_connectors.testing.results import ContractResults, Outcome

if TYPE_CHECKING:
    from lms_connectors.testing.sandbox import SandboxServer, SimulatorT

__all__ = [
    "ContractResultsCollector",
    "SandboxStarter",
    "lmsc_record_mode",
    "pytest_addoption",
    "pytest_configure",
    "pytest_report_header",
    "sandbox_server",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the kit's command-line options."""
    group = parser.getgroup("lms-connectors", "lms-connectors contract kit")
    group.addoption(
        "--lmsc-record",
        dest="lmsc_record",
        choices=RECORD_TARGETS,
        default=None,
        help=f"what contract tests run against: replay cassettes (none), record from the loopback sandbox, or "
        f"record from a live tenant; default from ${RECORD_ENV}, else none",
    )
    group.addoption(
        "--lmsc-cassettes",
        dest="lmsc_cassettes",
        default=None,
        metavar="DIR",
        help="folder holding one cassette folder per adapter (relative to the pytest root)",
    )
    group.addoption(
        "--lmsc-results",
        dest="lmsc_results",
        default=None,
        metavar="FILE",
        help="write each adapter's contract outcomes (JSON) to FILE; `lms-connectors matrix --results FILE` "
        "renders the support matrix from it",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the kit's markers, check the record mode early (a typo fails the run), collect results."""
    config.addinivalue_line("markers", "lmsc_contract: a case of the lms-connectors adapter acceptance matrix")
    target = resolve_record_target(config.getoption("lmsc_record"))
    results_file = config.getoption("lmsc_results", default=None)
    if results_file:
        config.pluginmanager.register(ContractResultsCollector(Path(results_file), target), "lmsc-results")


def pytest_report_header(config: pytest.Config) -> str:
    """Say in the run's header what contract tests run against."""
    return f"lms-connectors contract record mode: {resolve_record_target(config.getoption('lmsc_record'))}"


class ContractResultsCollector:
    """Collects the outcome of every contract test, by adapter and case, and writes them at the end.

    Args:
        path: Where to write the results.
        record_mode: What the run plays against.
    """

    def __init__(self, path: Path, record_mode: RecordTarget) -> None:
        self.path = path
        self.results = ContractResults(record_mode=record_mode)
        self._contract_tests: dict[str, tuple[str, str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Note which collected tests are contract tests, of which adapter, and which case (or kit check)."""
        for item in items:
            harness = getattr(getattr(item, "cls", None), "harness", None)
            name = getattr(harness, "adapter_name", None)
            if item.get_closest_marker("lmsc_contract") is not None and isinstance(name, str):
                self._contract_tests[item.nodeid] = (name, item.name.removeprefix("test_"))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record each phase of a contract test, and each of its parts (pytest's subtests report per part)."""
        where = self._contract_tests.get(report.nodeid)
        if where is None or (report.when != "call" and report.passed):
            return
        outcome: Outcome = "failed" if report.failed else "skipped" if report.skipped else "passed"
        reason = _skip_reason(report) if report.skipped else ""
        part = getattr(getattr(report, "context", None), "msg", None)
        self.results.record(*where, outcome, reason, part=part if isinstance(part, str) else None)

    def pytest_sessionfinish(self) -> None:
        """Write the results file."""
        self.results.write(self.path)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr or "")
    return text.removeprefix("Skipped: ")


@pytest.fixture
def lmsc_record_mode(request: pytest.FixtureRequest) -> RecordTarget:
    """The record target of this run: ``"none"``, ``"sandbox"`` or ``"live"``."""
    return resolve_record_target(request.config.getoption("lmsc_record"))


class SandboxStarter(Protocol):
    """What the ``sandbox_server`` fixture gives: serve a simulator on loopback, get the running server."""

    def __call__(self, simulator: SimulatorT) -> SandboxServer[SimulatorT]:
        """Serve ``simulator`` on 127.0.0.1 until the test ends."""
        ...


@pytest.fixture
def sandbox_server() -> Iterator[SandboxStarter]:
    """Factory: ``sandbox_server(simulator)`` serves it on 127.0.0.1 and returns the running server.

    Every server is stopped after the test, and the test fails if a simulator raised while serving it (the
    client saw a 500 that no provider would have sent).
    """
    from lms_connectors.testing.sandbox import SandboxServer

    started: list[SandboxServer[Any]] = []

    def start(simulator: SimulatorT) -> SandboxServer[SimulatorT]:
        server = SandboxServer(simulator).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()
    errors = [error for server in started for error in server.errors]
    assert not errors, "the simulator raised while serving:\n" + "\n".join(errors)
