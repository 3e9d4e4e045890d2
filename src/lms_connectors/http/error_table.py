"""Render a provider's error table as Markdown, and keep the copy in its README current.

An adapter's README holds its table between two markers::

    <!-- error-table:begin -->
    ...
    <!-- error-table:end -->

:func:`render_markdown` writes the rows; :func:`update_readme` replaces what sits between the markers. A test of
the adapter calls :func:`lms_connectors.testing.error_table.assert_readme_table_current`, so the README cannot
drift from the code. To rewrite a README after changing a table::

    python -m lms_connectors.http.error_table README.md my_adapter.errors:CLASSIFIER [--name NAME]
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable
from pathlib import Path

from lms_connectors.http.classify import ANY_STATUS, SUCCESS, ErrorRule, Flag, RuleClassifier

__all__ = ["markers", "render_markdown", "update_readme"]

_FLAG_NAMES = {Flag.THROTTLING: "throttling", Flag.QUOTA: "quota", Flag.AUTH_REFRESH: "auth refresh"}


def _runs(statuses: Iterable[int]) -> list[str]:
    ordered = sorted(statuses)
    runs: list[str] = []
    start = previous = ordered[0]
    for status in [*ordered[1:], None]:
        if status is not None and status == previous + 1:
            previous = status
            continue
        runs.append(str(start) if start == previous else f"{start}-{previous}")
        if status is not None:
            start = previous = status
    return runs


def _status_cell(rule: ErrorRule) -> str:
    statuses = rule.statuses
    if statuses == ANY_STATUS:
        return "any"
    if statuses == ANY_STATUS - SUCCESS:
        return "any but 2xx"
    if statuses == SUCCESS:
        return "2xx"
    hundreds = {status // 100 for status in statuses}
    if len(hundreds) == 1:  # one class of statuses but a few: "4xx but 429"
        whole = frozenset(range(min(hundreds) * 100, min(hundreds) * 100 + 100))
        missing = sorted(whole - statuses)
        if statuses <= whole and 0 < len(missing) <= 3:
            return f"{min(hundreds)}xx but " + ", ".join(str(status) for status in missing)
    return ", ".join(_runs(statuses))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _when_cell(rule: ErrorRule) -> str:
    selectors = []
    if rule.codes:
        selectors.append("code " + ", ".join(f"`{code}`" for code in sorted(str(code) for code in rule.codes)))
    if rule.message is not None:
        selectors.append(f"message ~ `{rule.message}`")
    if rule.header is not None:
        selectors.append(f"header {rule.header[0]} ~ `{rule.header[1]}`")
    text = " or ".join(selectors)
    if rule.body is not None:
        body = "provider's error body" if rule.body == "error" else f"{rule.body} body"
        text = f"{body}; {text}" if text else body
    return _cell(text) or "-"


def render_markdown(classifier: RuleClassifier, *, include_fallback: bool = False) -> str:
    """The classifier's rows as a Markdown table, in the order they are consulted.

    Args:
        classifier: The provider's classifier.
        include_fallback: Also list the core's rows consulted after the provider's.

    Returns:
        The table, ending with a newline.
    """
    rows = classifier.table if include_fallback else classifier.rules
    lines = [
        "| # | Status | When | Error | Flags | Meaning |",
        "|---|--------|------|-------|-------|---------|",
    ]
    for number, rule in enumerate(rows, start=1):
        flags = ", ".join(name for flag, name in _FLAG_NAMES.items() if flag in rule.flags) or "-"
        lines.append(
            f"| {number} | {_status_cell(rule)} | {_when_cell(rule)} | `{rule.error.__name__}` | {flags} "
            f"| {_cell(rule.meaning)} |"
        )
    return "\n".join(lines) + "\n"


def markers(name: str = "") -> tuple[str, str]:
    """The comments that open and close a README's error table (``name`` tells several tables apart)."""
    suffix = f" {name}" if name else ""
    return f"<!-- error-table:begin{suffix} -->", f"<!-- error-table:end{suffix} -->"


def update_readme(text: str, table: str, name: str = "") -> str:
    """Put ``table`` between the README's markers.

    Args:
        text: The README.
        table: The rendered table.
        name: Which table, when the README has several.

    Raises:
        ValueError: The README lacks the markers.
    """
    begin_marker, end_marker = markers(name)
    begin, end = text.find(begin_marker), text.find(end_marker)
    if begin < 0 or end < begin:
        raise ValueError(f"the README has no {begin_marker} ... {end_marker} section for the error table")
    return text[: begin + len(begin_marker)] + "\n" + table + text[end:]


def _load(reference: str) -> RuleClassifier:
    module_name, _, attribute = reference.partition(":")
    classifier = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(classifier, RuleClassifier):
        raise SystemExit(f"{reference} is not a RuleClassifier")
    return classifier


def main(argv: list[str] | None = None) -> int:
    """Rewrite the error table of a README from a classifier (``module:attribute``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("readme", type=Path)
    parser.add_argument("classifier", help="module:attribute of a RuleClassifier")
    parser.add_argument("--name", default="", help="which table, when the README has several")
    options = parser.parse_args(argv)
    readme: Path = options.readme
    table = render_markdown(_load(options.classifier))
    readme.write_text(update_readme(readme.read_text(encoding="utf-8"), table, options.name), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover - a command-line entry point
    sys.exit(main())
