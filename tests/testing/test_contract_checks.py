"""The contract kit's checks of what an adapter package commits: a cassette per case, no secret in any."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms_connectors.adapter import Adapter
from lms_connectors.testing.contract import AdapterContract
from lms_connectors.testing.harness import CASES, ContractHarness
from lms_connectors.testing.sandbox import Simulator

CLEAN = """interactions:
- request:
    body: null
    headers:
      Authorization:
      - '[REDACTED]'
    method: GET
    uri: https://api.example.org/things
  response:
    body:
      string: '{"ok": true}'
    headers: {}
    status:
      code: 200
      message: OK
version: 1
"""


class Harness(ContractHarness[Adapter, Simulator]):
    adapter_class = Adapter
    adapter_name = "example"
    canonical_base_url = "https://api.example.org"
    unsupported = {"pagination": "no paging"}  # noqa: RUF012 - the harness API is class attributes

    def make_simulator(self) -> Simulator:
        raise AssertionError("not reached")

    def secret_values(self) -> list[str]:
        return ["example-placeholder-secret"]


def _contract(root: Path) -> AdapterContract:
    class Contract(AdapterContract):
        harness = Harness()
        cassette_dir = root

    return Contract()


def _commit(root: Path, cases: list[str], *, readme: bool = True) -> Path:
    folder = root / "example"
    folder.mkdir(parents=True)
    for case in cases:
        (folder / f"{case}.yaml").write_text(CLEAN)
    if readme:
        (folder / "README.md").write_text("Recorded against the simulator.\n")
    return folder


SUPPORTED = [case for case in CASES if case != "pagination"]


def test_a_complete_clean_folder_passes(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _commit(tmp_path, SUPPORTED)
    contract = _contract(tmp_path)
    contract.test_every_case_has_a_cassette(request)
    contract.test_cassettes_hold_no_secret(request)


def test_a_missing_cassette_fails(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _commit(tmp_path, [case for case in SUPPORTED if case != "cancel"])
    with pytest.raises(AssertionError, match=r"missing \['cancel'\]"):
        _contract(tmp_path).test_every_case_has_a_cassette(request)


def test_a_cassette_for_an_unsupported_case_fails(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _commit(tmp_path, [*SUPPORTED, "pagination"])
    with pytest.raises(AssertionError, match=r"unexpected \['pagination'\]"):
        _contract(tmp_path).test_every_case_has_a_cassette(request)


def test_a_folder_without_its_readme_fails(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _commit(tmp_path, SUPPORTED, readme=False)
    with pytest.raises(AssertionError, match="README"):
        _contract(tmp_path).test_every_case_has_a_cassette(request)


@pytest.mark.parametrize(
    ("leak", "finding"),
    [
        ("example-placeholder-secret", "known secret value"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.realtoken", "bearer credential"),
        ("http://127.0.0.1:54321/things", "loopback"),
    ],
)
def test_a_leaking_cassette_fails(tmp_path: Path, request: pytest.FixtureRequest, leak: str, finding: str) -> None:
    folder = _commit(tmp_path, SUPPORTED)
    (folder / "create.yaml").write_text(CLEAN.replace('{"ok": true}', f'{{"echo": "{leak}"}}'))
    with pytest.raises(AssertionError, match=finding):
        _contract(tmp_path).test_cassettes_hold_no_secret(request)
