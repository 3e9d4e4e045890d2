from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_librebooking.adapter import LibreBookingAdapter
from lms_connectors_librebooking.simulator import LibreBookingSimulator
from lms_connectors_librebooking.testing import PLACEHOLDER_PASSWORD, contract_site


@dataclass
class Site:
    simulator: LibreBookingSimulator
    server: SandboxServer[LibreBookingSimulator]
    connect: Callable[..., LibreBookingAdapter]

    def posts(self, path: str) -> int:
        """Requests sent with POST to ``path`` (under the API's root)."""
        return sum(1 for r in self.server.requests if r.method == "POST" and r.path.endswith(path))


@pytest.fixture
def site(sandbox_server: SandboxStarter) -> Iterator[Site]:
    """The contract's simulated site (rooms 1 to 4, learners with accounts) and a way to sign in to it."""
    simulator = LibreBookingSimulator()
    contract_site(simulator)
    server = sandbox_server(simulator)
    built: list[LibreBookingAdapter] = []

    def connect(**settings: Any) -> LibreBookingAdapter:
        options = {key: settings.pop(key) for key in ("clock",) if key in settings}
        config = {"base_url": server.url, "username": "lmsc.rooms", "password": PLACEHOLDER_PASSWORD,
                  "key_attribute_id": 1, **settings}
        adapter = LibreBookingAdapter.from_config(config, sleep=lambda _s: None, **options)
        built.append(adapter)
        return adapter

    yield Site(simulator, server, connect)
    for adapter in built:
        adapter.close()
