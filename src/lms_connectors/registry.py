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
from os import PathLike
from typing import Any

from lms_connectors.adapter import Adapter
from lms_connectors.errors import ConfigurationError

__all__ = [
    "ENTRY_POINT_GROUP",
    "HARNESS_GROUP",
    "AdapterInfo",
    "available_adapters",
    "create_adapter",
    "load_adapter_class",
    "load_harness",
    "similar_names",
]

ENTRY_POINT_GROUP = "lms_connectors.adapters"
HARNESS_GROUP = "lms_connectors.harnesses"
"""Entry points of sandbox harnesses (a provider simulator plus an adapter wired to it), by adapter name."""


@dataclass(frozen=True)
class AdapterInfo:
    """An installed adapter, before it is imported."""

    name: str
    target: str
    distribution: str | None


def _entry_points(group: str = ENTRY_POINT_GROUP) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def similar_names(name: str, known: list[str]) -> list[str]:
    """The known names a mistyped ``name`` most likely means, by similarity only (best first).

    A name that differs only in case, or that is the first word of a known one (``google`` for
    ``google_calendar``), matches; otherwise only names at least 75 % alike (``zoon`` for ``zoom``,
    ``mooodle`` for ``moodle``, never ``moodle`` for ``google``).
    """
    folded = name.strip().casefold().replace("-", "_")
    by_fold = {k.casefold(): k for k in known}
    if folded in by_fold:
        return [by_fold[folded]]
    words = [k for k in known if k.casefold().split("_")[0] == folded]
    if words:
        return sorted(words)
    return [by_fold[c] for c in difflib.get_close_matches(folded, list(by_fold), n=2, cutoff=0.75)]


def _load(group: str, name: str, what: str) -> object:
    found = _entry_points(group)
    ep = found.get(name)
    if ep is None:
        installed = ", ".join(sorted(found)) or "none"
        close = similar_names(name, list(found))
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        install = "" if close else f" (for example `pip install lms-connectors-{name.replace('_', '-')}`)"
        raise ConfigurationError(
            f"Unknown {what} {name!r}.{hint} Installed: {installed}. "
            f"It is found through the {group!r} entry-point group: install its package{install}."
        )
    try:
        return ep.load()
    except ImportError as exc:
        raise ConfigurationError(f"{what.capitalize()} {name!r} is installed but cannot be imported: {exc}") from exc


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
    loaded = _load(ENTRY_POINT_GROUP, name, "adapter")
    if not (isinstance(loaded, type) and issubclass(loaded, Adapter)):
        raise ConfigurationError(f"Entry point {name!r} is not an lms_connectors Adapter subclass")
    return loaded


def create_adapter(name: str, config: Mapping[str, Any]) -> Adapter:
    """Load the adapter ``name`` and build it from ``config``.

    Args:
        name: The adapter's registry name (``"zoom"``).
        config: Its configuration as a mapping (see the adapter's ``config_model``).

    Raises:
        ConfigurationError: Unknown adapter (with the likeliest names), a ``config`` that is not a mapping (a
            file name, say), or a configuration the adapter refuses (every wrong field named).
    """
    if not isinstance(config, Mapping):
        hint = ""
        if isinstance(config, str | PathLike):
            hint = f"; to read a JSON file: create_adapter({name!r}, json.loads(Path({str(config)!r}).read_text()))"
        raise ConfigurationError(
            f"the configuration of adapter {name!r} must be a mapping of settings, not {type(config).__name__} "
            f"{config!r}{hint}",
            provider=name,
        )
    return load_adapter_class(name).from_config(config)


def load_harness(name: str) -> Any:
    """Build the sandbox harness of adapter ``name`` (its provider simulator and a wired adapter).

    Used by ``lms-connectors demo`` and the contract kit; a harness needs the ``testing`` extra.
    """
    harness_class = _load(HARNESS_GROUP, name, "sandbox harness")
    if not isinstance(harness_class, type):
        raise ConfigurationError(f"Harness entry point {name!r} is not a class")
    return harness_class()
