from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.models import Person, Session, TimeSlot
from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_canvas.adapter import CanvasAdapter
from lms_connectors_canvas.sandbox import CanvasSimulator
from lms_connectors_canvas.testing import SANDBOX_COURSE_ID, CanvasHarness

AdapterFactory = Callable[..., CanvasAdapter]


def make_session(session_id: str = "s-1", *, capacity: int | None = None, day: int = 16) -> Session:
    start = datetime(2027, 3, day, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    return Session(id=session_id, title="Forklift Safety", capacity=capacity, course_id=str(SANDBOX_COURSE_ID),
                   slot=TimeSlot(start=start, end=start + timedelta(minutes=90), timezone="America/New_York"))


def learner(n: int) -> Person:
    return Person(email=f"learner{n}@example.org", name=f"Learner Number{n}", timezone="Asia/Tokyo")


@pytest.fixture
def simulator() -> CanvasSimulator:
    return CanvasHarness().make_simulator()


@pytest.fixture
def server(simulator: CanvasSimulator, sandbox_server: SandboxStarter) -> SandboxServer[CanvasSimulator]:
    return sandbox_server(simulator)


@pytest.fixture
def make_adapter(server: SandboxServer[CanvasSimulator], simulator: CanvasSimulator) -> Iterator[AdapterFactory]:
    built: list[CanvasAdapter] = []

    def build(**overrides: Any) -> CanvasAdapter:
        settings = {**CanvasHarness().adapter_settings(server.url), **overrides}
        # Waiting moves the instance's clock, so that its throttling bucket drains while the adapter waits.
        adapter = CanvasAdapter.from_config(settings, sleep=simulator.clock.advance)
        built.append(adapter)
        return adapter

    yield build
    for adapter in built:
        adapter.close()
