"""Adapters wired to their provider simulators served on 127.0.0.1: what the demo and the examples run against.

Every adapter that ships a sandbox harness (the ``lms_connectors.harnesses`` entry point: the in-tree adapters
and any vendor's) can be run this way, offline and without credentials.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lms_connectors.adapter import Adapter
from lms_connectors.registry import load_harness
from lms_connectors.testing.sandbox import SandboxServer

__all__ = ["SandboxedAdapters", "sandboxed_adapters"]


@dataclass
class SandboxedAdapters:
    """Adapters built against their simulators, by name, with the harnesses that built them.

    ``simulators`` holds each served simulator, for a test that acts at the provider as a person would (a learner
    declining, an instructor editing the event in the provider's own interface).
    """

    adapters: dict[str, Adapter] = field(default_factory=dict)
    harnesses: dict[str, Any] = field(default_factory=dict)
    simulators: dict[str, Any] = field(default_factory=dict)

    def calls(self) -> int:
        """HTTP calls the adapters have made so far (from their transports' counters)."""
        return sum(adapter.transport.counter.total for adapter in self.adapters.values())


@contextlib.contextmanager
def sandboxed_adapters(names: Iterable[str]) -> Iterator[SandboxedAdapters]:
    """Serve each named adapter's provider simulator on loopback and build the adapter against it.

    Args:
        names: Registry names of installed adapters that ship a sandbox harness.

    Yields:
        The adapters; their simulators stop and the adapters close when the block ends.

    Raises:
        ConfigurationError: A name is not installed or has no sandbox harness.
    """
    sandboxed = SandboxedAdapters()
    with contextlib.ExitStack() as stack:
        for name in names:
            harness = load_harness(name)
            simulator = harness.make_simulator()
            server = stack.enter_context(SandboxServer(simulator))
            adapter = harness.build_adapter(server.url, sleep=lambda _seconds: None)
            stack.callback(adapter.close)
            sandboxed.adapters[name] = adapter
            sandboxed.harnesses[name] = harness
            sandboxed.simulators[name] = simulator
        yield sandboxed
