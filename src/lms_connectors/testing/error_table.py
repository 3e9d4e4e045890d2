"""Keep an adapter README's error table in step with its classifier (one assertion for the adapter's tests)."""

from __future__ import annotations

from pathlib import Path

from lms_connectors.http.classify import RuleClassifier
from lms_connectors.http.error_table import render_markdown, update_readme

__all__ = ["assert_readme_table_current"]


def assert_readme_table_current(readme: Path, classifier: RuleClassifier, reference: str, name: str = "") -> None:
    """Fail when the README's error table is not what ``classifier`` renders.

    Args:
        readme: The adapter's README.
        classifier: The adapter's classifier.
        reference: ``module:attribute`` of the classifier, for the command that rewrites the table.
        name: Which table, when the README has several.
    """
    text = readme.read_text(encoding="utf-8")
    expected = update_readme(text, render_markdown(classifier), name)
    option = f" --name {name}" if name else ""
    assert text == expected, (
        f"the error table {name!r} in {readme.name} is out of date; rewrite it with "
        f"`python -m lms_connectors.http.error_table {readme} {reference}{option}`"
    )
