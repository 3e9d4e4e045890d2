"""The README's support matrix is the one generated from a contract run, never hand-edited.

The contract suite is run here, in a fresh pytest process replaying the cassettes (record mode ``none``, as in
CI), with ``--lmsc-results``; the matrix rendered from those results must equal the README's copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lms_connectors.support_matrix import render_support_matrix
from lms_connectors.testing.results import load_results

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- support-matrix:start -->", "<!-- support-matrix:end -->"


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
