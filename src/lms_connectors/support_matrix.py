"""Generate the README's support matrix from the installed adapters and their contract declarations.

Never typed by hand: capabilities come from each adapter class, contract cases from each harness (a case is
"replayed" when its cassette exists and the harness does not declare it unsupported; a declared skip shows
its reason). ``lms-connectors matrix`` prints it; a test keeps the README's copy equal to it.
"""

from __future__ import annotations

from pathlib import Path

from lms_connectors.adapter import Capability
from lms_connectors.errors import ConnectorError
from lms_connectors.registry import available_adapters, load_adapter_class, load_harness
from lms_connectors.testing.harness import CASES

__all__ = ["render_support_matrix"]



def render_support_matrix(cassette_root: Path) -> str:
    """Markdown tables: capabilities per adapter, then contract cases per adapter, then the skip reasons."""
    names = [info.name for info in available_adapters()]
    caps_header = "| adapter | kind | " + " | ".join(c.value for c in Capability) + " |"
    lines = [caps_header, "|" + "---|" * (2 + len(Capability))]
    for name in names:
        try:
            cls = load_adapter_class(name)
        except ConnectorError:
            continue
        marks = ["yes" if c in cls.capabilities else "-" for c in Capability]
        lines.append(f"| {name} | {cls.kind.value} | " + " | ".join(marks) + " |")

    lines += ["", "| adapter | " + " | ".join(CASES) + " |", "|" + "---|" * (1 + len(CASES))]
    reasons: list[str] = []
    elsewhere: list[str] = []
    for name in names:
        folder = cassette_root / name
        if not folder.is_dir():
            elsewhere.append(name)  # e.g. a vendor's adapter: its package keeps its own cassettes
            continue
        try:
            harness = load_harness(name)
        except ConnectorError:
            lines.append(f"| {name} | " + " | ".join("no harness" for _ in CASES) + " |")
            continue
        cells = []
        for case in CASES:
            reason = harness.unsupported.get(case)
            if reason is not None:
                reasons.append(f"{name} / {case}: {reason}")
                cells.append(f"skip [{len(reasons)}]")
            elif (folder / f"{case}.yaml").is_file():
                cells.append("replayed")
            else:
                cells.append("no cassette")
        partial = sorted(k for k in harness.unsupported if "." in k)
        for key in partial:
            reasons.append(f"{name} / {key} (part of a case): {harness.unsupported[key]}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if reasons:
        lines += ["", *(f"[{i}] {text}  " for i, text in enumerate(reasons, start=1))]
    if elsewhere:
        lines += ["", f"Installed adapters whose cassettes live in their own package: {', '.join(elsewhere)}."]
    return "\n".join(lines) + "\n"
