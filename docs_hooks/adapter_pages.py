"""MkDocs hook: one page per installed adapter, generated from what is installed.

Each page shows the adapter's kind and declared capabilities (read from its class), its configuration model
(rendered by mkdocstrings from the model's docstring) and the README its distribution ships (configuration,
permissions, limits, calls per operation). ``adapters/index.md`` lists them. Nothing is hand-written per adapter.
"""

from __future__ import annotations

import re
from importlib.metadata import distribution
from typing import Any

from mkdocs.structure.files import File, Files

from lms_connectors.adapter import Capability
from lms_connectors.registry import available_adapters, load_adapter_class

_FENCE = re.compile(r"^(```|~~~)")


def _demoted(readme: str) -> str:
    """The README under the page's own title: its H1 dropped, every other heading one level down."""
    lines, fenced, out = readme.splitlines(), False, []
    for line in lines:
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and line.startswith("# "):
            continue
        elif not fenced and line.startswith("#"):
            line = "#" + line
        out.append(line)
    return "\n".join(out).strip() + "\n"


def _page(name: str, dist_name: str | None) -> tuple[str, str]:
    cls = load_adapter_class(name)
    readme, version = "", "?"
    if dist_name:
        dist = distribution(dist_name)
        version = dist.version
        readme = dist.metadata.get_payload() or ""  # type: ignore[attr-defined]
    rows = "\n".join(f"| `{cap.value}` | {'yes' if cap in cls.capabilities else '-'} |" for cap in Capability)
    model = cls.config_model
    text = f"""# {cls.display_name}

Adapter `{name}` from the distribution `{dist_name or "?"}` {version}: a **{cls.kind.value}** provider.
Build it with `create_adapter("{name}", config)` (or `{cls.__name__}.from_config(config)`).

## Capabilities

| capability | offered |
|---|---|
{rows}

## Configuration

::: {model.__module__}.{model.__qualname__}
    options:
      show_root_heading: false
      heading_level: 3

## From the adapter's README

{_demoted(readme) if readme else "The distribution ships no README."}
"""
    return cls.display_name, text


def on_files(files: Files, config: Any) -> Files:
    """Add ``adapters/<name>.md`` for every installed adapter and ``adapters/index.md`` listing them."""
    entries = []
    for info in available_adapters():
        title, text = _page(info.name, info.distribution)
        files.append(File.generated(config, f"adapters/{info.name}.md", content=text))
        entries.append(f"- [{title}]({info.name}.md) (`{info.name}`, `{info.distribution}`)")
    index = (
        "# Adapters\n\nThe adapters installed where this site was built; each page is generated from the adapter "
        "itself (kind, capabilities, configuration model) and the README its distribution ships.\n\n"
        + ("\n".join(entries) if entries else "No adapter was installed.")
        + "\n"
    )
    files.append(File.generated(config, "adapters/index.md", content=index))
    return files
