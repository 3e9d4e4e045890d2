"""The README's support matrix is the generated one, never hand-edited."""

from __future__ import annotations

from pathlib import Path

from lms_connectors.support_matrix import CASES, render_support_matrix
from lms_connectors.testing import contract

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- support-matrix:start -->", "<!-- support-matrix:end -->"


def test_readme_matrix_is_generated() -> None:
    text = (ROOT / "README.md").read_text()
    block = text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert block == render_support_matrix(ROOT / "contract_tests" / "cassettes"), (
        "README support matrix is stale: regenerate it with `lms-connectors matrix`"
    )


def test_matrix_cases_are_the_contract_kits() -> None:
    assert contract.CASES == CASES
