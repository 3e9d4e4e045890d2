"""Contract results come from test outcomes (pytest --lmsc-results), and the support matrix from those results."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lms_connectors.support_matrix import render_support_matrix
from lms_connectors.testing.results import CaseResult, ContractResults, PartResult, load_results

# A stand-in for an AdapterContract subclass: what the plug-in reads is the marker and the harness's name.
FAKE_CONTRACT = textwrap.dedent(
    """
    import types
    import pytest

    class TestFakeContract:
        pytestmark = [pytest.mark.lmsc_contract]
        harness = types.SimpleNamespace(adapter_name="fake")

        def test_create(self):
            pass

        def test_pagination(self):
            pytest.skip("fake has no paging")

        def test_reschedule(self):
            assert 1 == 2

        def test_typed_errors(self, subtests):
            with subtests.test("invalid_request"):
                pass
            with subtests.test("conflict"):
                pytest.skip("fake answers no conflict")

    def test_not_a_contract_test():
        pass
    """
)


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_fake.py").write_text(FAKE_CONTRACT)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_fake.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("results")
    run = _run(folder, "--lmsc-results=out/results.json")
    assert run.returncode == 1, run.stdout + run.stderr  # test_reschedule fails
    return folder / "out" / "results.json", run.stdout


def test_the_plugin_writes_each_case_outcome(written: tuple[Path, str]) -> None:
    path, _ = written
    document = json.loads(path.read_text())
    assert document["record_mode"] == "none"
    assert document["adapters"]["fake"] == {
        "create": {"outcome": "passed"},
        "pagination": {"outcome": "skipped", "reason": "fake has no paging"},
        "reschedule": {"outcome": "failed"},
        "typed_errors": {
            "outcome": "passed",
            "parts": {
                "conflict": {"outcome": "skipped", "reason": "fake answers no conflict"},
                "invalid_request": {"outcome": "passed"},
            },
        },
    }


def test_results_are_deterministic(written: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = written
    _run(tmp_path, "--lmsc-results=again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_no_results_file_unless_asked(tmp_path: Path) -> None:
    _run(tmp_path)
    assert list(tmp_path.glob("*.json")) == []


def test_the_matrix_renders_what_the_tests_did(written: tuple[Path, str]) -> None:
    path, _ = written
    matrix = render_support_matrix(load_results(path))
    row = next(line for line in matrix.splitlines() if line.startswith("| fake | passed"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    # create, idempotent_create, reschedule, cancel, enrol_across_zones, capacity_overflow, rate_limited,
    # expired_auth, pagination, typed_errors
    assert cells[1:4] == ["passed", "not run", "FAILED"]
    assert cells[9].startswith("skip [")
    assert cells[10].startswith("passed [")
    assert "fake / pagination: fake has no paging" in matrix
    assert "fake / typed_errors.conflict (part of the case): fake answers no conflict" in matrix
    assert "the committed cassettes (record mode `none`)" in matrix


def test_a_failed_part_fails_the_case_and_a_failed_phase_wins() -> None:
    results = ContractResults()
    results.record("a", "typed_errors", "passed")
    results.record("a", "typed_errors", "failed", part="conflict")
    results.record("a", "create", "passed")
    results.record("a", "create", "failed")  # e.g. its teardown
    assert results.adapters["a"]["typed_errors"].outcome == "failed"
    assert results.adapters["a"]["create"].outcome == "failed"
    again = ContractResults.from_json(results.to_json())
    assert again.adapters == results.adapters


def test_an_unreadable_results_document_is_refused() -> None:
    with pytest.raises(ValueError, match="adapters"):
        ContractResults.from_json("[]")
    with pytest.raises(ValueError, match="unknown outcome"):
        ContractResults.from_json('{"adapters": {"a": {"create": {"outcome": "replayed"}}}}')


def test_matrix_command_reads_results(written: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = written
    shown = subprocess.run(
        [sys.executable, "-c", "from lms_connectors.cli import main; main()", "matrix", "--results", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == render_support_matrix(load_results(path))
    missing = subprocess.run(
        [sys.executable, "-c", "from lms_connectors.cli import main; main()", "matrix", "--results", str(tmp_path / "none.json")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert missing.returncode == 1
    assert "pytest -m lmsc_contract --lmsc-results=" in missing.stdout


def test_case_result_merge_keeps_the_worst() -> None:
    result = CaseResult("passed")
    result.merge("skipped", "why")
    result.merge("passed", "")
    assert (result.outcome, result.reason) == ("skipped", "why")
    assert PartResult("passed").reason == ""
