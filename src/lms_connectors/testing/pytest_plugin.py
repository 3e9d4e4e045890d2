"""pytest plug-in of the contract kit, loaded by pytest through the ``pytest11`` entry point.

Adds:

* ``--lmsc-record={none,sandbox,live}``: what contract tests run against (overrides ``LMS_CONNECTORS_RECORD``).
* ``--lmsc-cassettes=DIR``: the folder of cassette folders (overrides a contract class's ``cassette_dir``).
* the ``lmsc_contract`` marker, set on every :class:`~lms_connectors.testing.contract.AdapterContract` test,
  so ``pytest -m lmsc_contract`` runs the acceptance matrix alone.
* fixtures ``lmsc_record_mode`` (the resolved record target) and ``sandbox_server`` (start simulators on
  loopback; every server is stopped after the test).

Importing this module imports nothing heavy (no vcrpy, no HTTP stack): it is loaded by every pytest run in
an environment where lms-connectors is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from lms_connectors.testing.record_mode import RECORD_ENV, RECORD_TARGETS, RecordTarget, resolve_record_target

if TYPE_CHECKING:
    from lms_connectors.testing.sandbox import SandboxServer, Simulator

__all__ = ["lmsc_record_mode", "pytest_addoption", "pytest_configure", "pytest_report_header", "sandbox_server"]


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


def pytest_configure(config: pytest.Config) -> None:
    """Register the kit's markers and check the record mode early (a typo fails the run, not each test)."""
    config.addinivalue_line("markers", "lmsc_contract: a case of the lms-connectors adapter acceptance matrix")
    resolve_record_target(config.getoption("lmsc_record"))


def pytest_report_header(config: pytest.Config) -> str:
    """Say in the run's header what contract tests run against."""
    return f"lms-connectors contract record mode: {resolve_record_target(config.getoption('lmsc_record'))}"


@pytest.fixture
def lmsc_record_mode(request: pytest.FixtureRequest) -> RecordTarget:
    """The record target of this run: ``"none"``, ``"sandbox"`` or ``"live"``."""
    return resolve_record_target(request.config.getoption("lmsc_record"))


@pytest.fixture
def sandbox_server() -> Iterator[Callable[[Simulator], SandboxServer]]:
    """Factory: ``sandbox_server(simulator)`` serves it on 127.0.0.1 and returns the running server."""
    from lms_connectors.testing.sandbox import SandboxServer

    started: list[SandboxServer] = []

    def start(simulator: Simulator) -> SandboxServer:
        server = SandboxServer(simulator).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()
