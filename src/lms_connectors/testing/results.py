"""Contract results: what each adapter's run of the acceptance matrix gave, case by case (and part by part).

The kit's pytest plug-in collects them (``pytest --lmsc-results=FILE``) and writes them as JSON; the support
matrix (``lms-connectors matrix --results FILE``) is rendered from that file, so a cell says what a test did,
never merely that a cassette exists. The file is deterministic for a given outcome (sorted keys, no times,
no paths), so two runs that behaved the same write the same bytes.

Importing this module imports nothing heavy: the plug-in loads it in every pytest run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

__all__ = ["CaseResult", "ContractResults", "Outcome", "PartResult", "load_results"]

Outcome = Literal["passed", "failed", "skipped"]
_RANK: dict[Outcome, int] = {"passed": 0, "skipped": 1, "failed": 2}
"""A case's outcome is its worst phase's: a failed teardown fails a passed case."""


@dataclass
class PartResult:
    """One part of a case (a subtest such as ``typed_errors``' ``conflict``)."""

    outcome: Outcome
    reason: str = ""


@dataclass
class CaseResult:
    """One case of one adapter: its outcome, the skip reason if skipped, and its parts."""

    outcome: Outcome
    reason: str = ""
    parts: dict[str, PartResult] = field(default_factory=dict)

    def merge(self, outcome: Outcome, reason: str) -> None:
        """Fold in one more phase (set-up, call, teardown) of the same test."""
        if _RANK[outcome] > _RANK[self.outcome]:
            self.outcome, self.reason = outcome, reason


@dataclass
class ContractResults:
    """Results by adapter name, then by case (or kit check) name.

    Attributes:
        record_mode: What the run played against (``"none"`` for cassette replay, as in CI).
        adapters: ``{adapter: {case: CaseResult}}``.
    """

    record_mode: str = "none"
    adapters: dict[str, dict[str, CaseResult]] = field(default_factory=dict)

    def record(self, adapter: str, case: str, outcome: Outcome, reason: str = "", part: str | None = None) -> None:
        """Add one report of a test (or of one of its parts)."""
        result = self.adapters.setdefault(adapter, {}).setdefault(case, CaseResult("passed"))
        if part is None:
            result.merge(outcome, reason)
            return
        previous = result.parts.get(part)
        if previous is None or _RANK[outcome] > _RANK[previous.outcome]:
            result.parts[part] = PartResult(outcome, reason)
        if outcome == "failed":
            result.merge("failed", f"part {part!r} failed")

    def to_json(self) -> str:
        """The results as JSON text (sorted, deterministic)."""
        document = {
            "record_mode": self.record_mode,
            "adapters": {
                adapter: {
                    case: {
                        "outcome": result.outcome,
                        **({"reason": result.reason} if result.reason else {}),
                        **(
                            {"parts": {name: _part_json(part) for name, part in sorted(result.parts.items())}}
                            if result.parts
                            else {}
                        ),
                    }
                    for case, result in sorted(cases.items())
                }
                for adapter, cases in sorted(self.adapters.items())
            },
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    def write(self, path: Path) -> None:
        """Write the results to ``path`` (its folder is created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def from_json(cls, text: str) -> ContractResults:
        """Read results written by :meth:`to_json`.

        Raises:
            ValueError: The text is not a results document.
        """
        document = json.loads(text)
        if not isinstance(document, dict) or not isinstance(document.get("adapters"), dict):
            raise ValueError("not a contract results document (no 'adapters' object)")
        results = cls(record_mode=str(document.get("record_mode", "none")))
        for adapter, cases in cast(Mapping[str, Any], document["adapters"]).items():
            for case, entry in cast(Mapping[str, Any], cases).items():
                result = CaseResult(_outcome(entry.get("outcome")), str(entry.get("reason", "")))
                for part, part_entry in cast(Mapping[str, Any], entry.get("parts", {})).items():
                    part_outcome = _outcome(part_entry.get("outcome"))
                    result.parts[part] = PartResult(part_outcome, str(part_entry.get("reason", "")))
                results.adapters.setdefault(adapter, {})[case] = result
        return results


def load_results(path: Path) -> ContractResults:
    """Read a results file written by ``pytest --lmsc-results``.

    Raises:
        FileNotFoundError: There is no such file.
        ValueError: The file is not a results document.
    """
    return ContractResults.from_json(path.read_text(encoding="utf-8"))


def _part_json(part: PartResult) -> dict[str, str]:
    return {"outcome": part.outcome, **({"reason": part.reason} if part.reason else {})}


def _outcome(value: object) -> Outcome:
    for outcome in _RANK:
        if value == outcome:
            return outcome
    raise ValueError(f"unknown outcome {value!r}")
