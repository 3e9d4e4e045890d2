"""Generate the README's support matrix from the installed adapters and the results of their contract run.

Never typed by hand, and never inferred from files: capabilities come from each adapter class (the contract
kit checks them against the methods it overrides), and every case cell is what that case's test did in the
run whose results are given (``pytest -m lmsc_contract --lmsc-results=FILE``): passed, skipped with the
harness's reason, failed, or not run. ``lms-connectors matrix --results FILE`` prints it; a test runs the
contract suite and keeps the README's copy equal to it.
"""

from __future__ import annotations

from lms_connectors.adapter import Capability
from lms_connectors.errors import ConnectorError
from lms_connectors.registry import available_adapters, load_adapter_class
from lms_connectors.testing.harness import CASES
from lms_connectors.testing.results import CaseResult, ContractResults

__all__ = ["KIT_CHECKS", "render_support_matrix"]

KIT_CHECKS: dict[str, str] = {
    "capabilities_match_the_code": "capabilities match the code",
    "every_case_has_a_cassette": "every case has a cassette",
    "cassettes_hold_no_secret": "cassettes hold no secret",
}
"""The contract kit's checks of what an adapter package declares and commits, and their column titles."""


_PLAYED = {
    "none": "the committed cassettes (record mode `none`)",
    "sandbox": "the provider simulators on loopback (record mode `sandbox`)",
    "live": "live tenants (record mode `live`)",
}


class _Footnotes:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str) -> int:
        self.lines.append(text)
        return len(self.lines)


def _cell(adapter: str, case: str, result: CaseResult | None, notes: _Footnotes) -> str:
    if result is None:
        return "not run"
    if result.outcome == "failed":
        return "FAILED"
    if result.outcome == "skipped":
        return f"skip [{notes.add(f'{adapter} / {case}: {result.reason}')}]"
    skipped = [(name, part) for name, part in sorted(result.parts.items()) if part.outcome == "skipped"]
    marks = [notes.add(f"{adapter} / {case}.{name} (part of the case): {part.reason}") for name, part in skipped]
    return "passed" + "".join(f" [{mark}]" for mark in marks)


def render_support_matrix(results: ContractResults) -> str:
    """Markdown tables: capabilities per adapter, contract cases and kit checks per adapter, skip reasons.

    Args:
        results: The contract run's results (``pytest --lmsc-results``).
    """
    names = sorted({info.name for info in available_adapters()} | set(results.adapters))
    lines = ["| adapter | kind | " + " | ".join(c.value for c in Capability) + " |"]
    lines.append("|" + "---|" * (2 + len(Capability)))
    for name in names:
        try:
            cls = load_adapter_class(name)
        except ConnectorError:
            continue
        marks = ["yes" if c in cls.capabilities else "-" for c in Capability]
        lines.append(f"| {name} | {cls.kind.value} | " + " | ".join(marks) + " |")

    notes = _Footnotes()
    played = _PLAYED.get(results.record_mode, f"record mode `{results.record_mode}`")
    lines += ["", f"Contract cases, as the run against {played} ended:", ""]
    lines += ["| adapter | " + " | ".join(CASES) + " |", "|" + "---|" * (1 + len(CASES))]
    for name in names:
        ran = results.adapters.get(name, {})
        lines.append(f"| {name} | " + " | ".join(_cell(name, case, ran.get(case), notes) for case in CASES) + " |")

    lines += ["", "| adapter | " + " | ".join(KIT_CHECKS.values()) + " |", "|" + "---|" * (1 + len(KIT_CHECKS))]
    for name in names:
        ran = results.adapters.get(name, {})
        cells = [_cell(name, check, ran.get(check), notes) for check in KIT_CHECKS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if notes.lines:
        lines += ["", *(f"[{i}] {text}  " for i, text in enumerate(notes.lines, start=1))]
    return "\n".join(lines) + "\n"
