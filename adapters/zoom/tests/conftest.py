from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.http.token_cache import TokenCache
from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_zoom.adapter import ZoomAdapter
from lms_connectors_zoom.config import ZoomConfig
from lms_connectors_zoom.sandbox import ZoomSimulator

NEW_YORK = ZoneInfo("America/New_York")


def make_session(
    session_id: str = "s-1",
    *,
    start: datetime | None = None,
    minutes: int = 90,
    zone: str = "America/New_York",
    capacity: int | None = None,
    instructors: tuple[Person, ...] = (),
    description: str = "Bring a laptop.",
) -> Session:
    begin = start or datetime(2031, 3, 20, 10, 0, tzinfo=ZoneInfo(zone))
    return Session(
        id=session_id,
        title="Safety induction",
        slot=TimeSlot(start=begin, end=begin + timedelta(minutes=minutes), timezone=zone),
        modality=Modality.VIRTUAL,
        capacity=capacity,
        instructors=instructors,
        description=description,
    )


def learner(n: int) -> Person:
    return Person(email=f"learner{n}@example.com", name=f"Learner Number{n}", timezone="Asia/Tokyo")


@pytest.fixture
def simulator() -> ZoomSimulator:
    return ZoomSimulator()


@pytest.fixture
def server(simulator: ZoomSimulator, sandbox_server: SandboxStarter) -> SandboxServer[ZoomSimulator]:
    return sandbox_server(simulator)


AdapterFactory = Callable[..., ZoomAdapter]


@pytest.fixture
def make_adapter(server: SandboxServer) -> Iterator[AdapterFactory]:
    built: list[ZoomAdapter] = []

    def build(*, token_cache: TokenCache | None = None, **overrides: Any) -> ZoomAdapter:
        settings: dict[str, Any] = {
            "account_id": "sim-account",
            "client_id": "sim-client-id",
            "client_secret": "sim-client-secret",
            "base_url": server.url,
            "token_url": f"{server.url}/oauth/token",
            **overrides,
        }
        adapter = ZoomAdapter(ZoomConfig.model_validate(settings), sleep=lambda _s: None)
        if token_cache is not None:
            adapter.auth.cache = token_cache  # workers of one process sharing a cache object
        built.append(adapter)
        return adapter

    yield build
    for adapter in built:
        adapter.close()


@pytest.fixture
def adapter(make_adapter: AdapterFactory) -> ZoomAdapter:
    return make_adapter()
