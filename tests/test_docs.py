"""The README links the documentation site's pages, and every page it links exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_links_the_sites_pages_and_they_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(((?:docs/|CHANGELOG)[^)#]*)\)", readme))
    for page in (
        "docs/getting-started/application-developers.md",
        "docs/getting-started/adapter-authors.md",
        "docs/getting-started/operators.md",
        "docs/guarantees.md",
        "docs/errors.md",
        "docs/reference/index.md",
        "CHANGELOG.md",
    ):
        assert page in links, f"README does not link {page}"
    for link in links:
        assert (ROOT / link).is_file(), f"README links {link}, which does not exist"


def test_the_site_is_built_strict_with_the_docstrings_and_the_adapter_pages() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "strict: true" in config and "mkdocstrings" in config and "docs_hooks/adapter_pages.py" in config
    assert "mkdocs build --strict" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
