"""Find adapters by name through the ``lms_connectors.adapters`` entry-point group.

Adapters are plug-ins: any installed distribution (ours or a vendor's) that declares::

    [project.entry-points."lms_connectors.adapters"]
    acme_lms = "acme_lms_connector.adapter:AcmeLmsAdapter"

is found here. Nothing is imported until an adapter is asked for by name, so ``import lms_connectors`` and
``lms-connectors --help`` stay fast however many adapters are installed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from lms_connectors.adapter import Adapter
from lms_connectors.errors import ConfigurationError

__all__ = ["ENTRY_POINT_GROUP", "AdapterInfo", "available_adapters", "create_adapter", "load_adapter_class"]

ENTRY_POINT_GROUP = "lms_connectors.adapters"


@dataclass(frozen=True)
class AdapterInfo:
    """An installed adapter, before it is imported."""

    name: str
    target: str
    distribution: str | None


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_adapters() -> list[AdapterInfo]:
    """List installed adapters (without importing them), sorted by name."""
    return [
        AdapterInfo(name=ep.name, target=ep.value, distribution=ep.dist.name if ep.dist else None)
        for ep in sorted(_entry_points().values(), key=lambda ep: ep.name)
    ]


def load_adapter_class(name: str) -> type[Adapter]:
    """Import and return the adapter class registered as ``name``.

    Raises:
        ConfigurationError: No adapter has that name (the message lists the installed ones and the
            closest match), or the entry point does not point at an :class:`Adapter` subclass.
    """
    found = _entry_points()
    ep = found.get(name)
    if ep is None:
        installed = ", ".join(sorted(found)) or "none"
        close = difflib.get_close_matches(name, list(found), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigurationError(
            f"Unknown adapter {name!r}.{hint} Installed adapters: {installed}. "
            f"An adapter is found through the {ENTRY_POINT_GROUP!r} entry-point group: install its package "
            f"(for example `pip install lms-connectors-{name.replace('_', '-')}`)."
        )
    try:
        loaded = ep.load()
    except ImportError as exc:
        raise ConfigurationError(f"Adapter {name!r} is installed but cannot be imported: {exc}") from exc
    if not (isinstance(loaded, type) and issubclass(loaded, Adapter)):
        raise ConfigurationError(f"Entry point {name!r} = {ep.value!r} is not an lms_connectors Adapter subclass")
    return loaded


def create_adapter(name: str, config: Mapping[str, Any]) -> Adapter:
    """Load the adapter ``name`` and build it from ``config``."""
    return load_adapter_class(name).from_config(config)
