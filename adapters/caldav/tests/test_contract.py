"""The acceptance matrix on the CalDAV adapter, twice: from cassettes, and live against a real Radicale.

``TestCalDavContract`` replays ``tests/cassettes/caldav/`` offline (recorded from Radicale through the kit's loopback
proxy, ``LMS_CONNECTORS_RECORD=sandbox``). ``TestCalDavContractLive`` runs the same cases against a Radicale the
tests start on 127.0.0.1, recording into a temporary folder so that the committed cassettes are never touched.
Radicale comes from the adapter's ``test`` extra; without it the live class is skipped, except in CI (``CI`` set),
where its absence fails the run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import ClassVar

import pytest

from lms_connectors.testing.contract import AdapterContract, ContractRun, open_contract_run
from lms_connectors_caldav.testing import CalDavHarness, radicale_installed


@pytest.fixture(scope="module", autouse=True)
def _stop_radicale() -> Iterator[None]:
    yield
    CalDavHarness.stop_server()


class TestCalDavContract(AdapterContract):
    harness = CalDavHarness(require_server=False)  # replay needs no server (recording does)


class TestCalDavContractLive(AdapterContract):
    harness = CalDavHarness(require_server=False)  # checked per case below, to skip or fail with a clear message
    # Not marked lmsc_contract: the README's matrix reports the run against the committed cassettes; this class
    # is the same cases against the live server (it runs in every plain pytest run).
    pytestmark: ClassVar[list[pytest.MarkDecorator]] = []

    @contextlib.contextmanager
    def contract_run(self, request: pytest.FixtureRequest, case: str) -> Iterator[ContractRun]:
        if not radicale_installed():
            message = "Radicale is not installed (pip install -e 'adapters/caldav[test]'): live CalDAV cases not run"
            if os.environ.get("CI"):
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        if case in self.harness.unsupported:
            pytest.skip(f"caldav does not support {case}: {self.harness.unsupported[case]}")
        root = request.getfixturevalue("tmp_path") / "cassettes"
        with open_contract_run(self.harness, case, target="sandbox", cassette_root=root) as run:
            yield run
