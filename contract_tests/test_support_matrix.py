"""The acceptance matrix as a whole: the README's copy is generated from a contract run, and the prose covers it.

The contract suite is run here, in a fresh pytest process replaying the cassettes (record mode ``none``, as in
CI), with ``--lmsc-results``; the matrix rendered from those results must equal the README's copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lms_connectors.support_matrix import render_support_matrix
from lms_connectors.testing.harness import CASES
from lms_connectors.testing.results import load_results

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- support-matrix:start -->", "<!-- support-matrix:end -->"
HERE = Path(__file__).resolve().parent


def test_readme_matrix_is_generated_from_contract_results(tmp_path: Path) -> None:
    results_file = tmp_path / "contract-results.json"
    environment = {**os.environ, "LMS_CONNECTORS_RECORD": "none"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "lmsc_contract", "--lmsc-record=none",
         f"--lmsc-results={results_file}", "adapters", "examples"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )
    assert results_file.is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    rendered = render_support_matrix(load_results(results_file))
    text = (ROOT / "README.md").read_text()
    block = text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert block == rendered, (
        "README support matrix is stale: regenerate it with `pytest -m lmsc_contract --lmsc-results=r.json` "
        "then `lms-connectors matrix --results r.json`"
    )


def test_every_case_has_its_sentence_in_the_prose_contract() -> None:
    text = (HERE / "README.md").read_text()
    block = text.split("<!-- cases:start -->", 1)[1].split("<!-- cases:end -->", 1)[0]
    described = [line.split("**")[1] for line in block.splitlines() if line.startswith("- **")]
    assert described == list(CASES)


def test_every_contract_package_is_listed_with_its_cassettes() -> None:
    text = (HERE / "README.md").read_text()
    contract_tests = sorted(ROOT.glob("adapters/*/tests/test_contract.py")) + sorted(
        ROOT.glob("examples/*/tests/test_contract.py")
    )
    for test_file in contract_tests:
        package = test_file.parents[1]
        cassette_folders = [path for path in (package / "tests" / "cassettes").iterdir() if path.is_dir()]
        assert cassette_folders, f"{package} has no cassette folder"
        for folder in cassette_folders:
            assert f"`{folder.relative_to(ROOT)}/`" in text, f"contract_tests/README.md does not list {folder}"
