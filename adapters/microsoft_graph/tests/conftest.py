from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.models import Modality, Person, Room, Session, TimeSlot
from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors.testing.sandbox import SandboxRequest, SandboxServer
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter
from lms_connectors_microsoft_graph.config import MicrosoftGraphConfig
from lms_connectors_microsoft_graph.sandbox import GraphSimulator, SimulatedRoom
from lms_connectors_microsoft_graph.sandbox_login import SimulatedApplication

TENANT = "contoso.example"
CLIENT_ID = "9a0c1f3e-1111-4222-8333-944455556666"
CLIENT_SECRET = "test-graph-secret-value"
ORGANIZER = "training-desk@contoso.example"
ROOM = SimulatedRoom("harbour-room@contoso.example", "Harbour Training Room", 20, building="Quay House", floor=2)
OTHER_ROOM = SimulatedRoom("dock-room@contoso.example", "Dock Room", 8, building="Quay House", floor=1)
COLLEAGUE = "dana.swope@contoso.example"


def _load_helper(name: str) -> ModuleType:
    # Test helpers are loaded by path: the suite runs with --import-mode=importlib (no sys.path changes).
    spec = importlib.util.spec_from_file_location(f"graph_tests_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


openapi_schema = _load_helper("openapi_schema")


def make_simulator(**kwargs: Any) -> GraphSimulator:
    return GraphSimulator(
        tenant_id=TENANT,
        applications=[SimulatedApplication(CLIENT_ID, secrets={CLIENT_SECRET})],
        organizer=ORGANIZER,
        rooms=[ROOM, OTHER_ROOM],
        people=[COLLEAGUE],
        **kwargs,
    )


@pytest.fixture
def simulator() -> GraphSimulator:
    return make_simulator()


@pytest.fixture
def server(simulator: GraphSimulator, sandbox_server: SandboxStarter) -> SandboxServer[GraphSimulator]:
    return sandbox_server(simulator)


class Waits(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


def build_config(server: SandboxServer, **overrides: Any) -> MicrosoftGraphConfig:
    values: dict[str, Any] = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "organizer": ORGANIZER,
        "base_url": f"{server.url}/v1.0",
        "login_base_url": f"{server.url}/login",
        "requests_per_second": None,
    }
    values.update(overrides)
    return MicrosoftGraphConfig.model_validate(values)


@pytest.fixture
def make_adapter(server: SandboxServer, waits: Waits) -> Iterator[Callable[..., MicrosoftGraphAdapter]]:
    built: list[MicrosoftGraphAdapter] = []

    def make(**overrides: Any) -> MicrosoftGraphAdapter:
        options = {k: overrides.pop(k) for k in ("token_cache",) if k in overrides}
        adapter = MicrosoftGraphAdapter(build_config(server, **overrides), sleep=waits, **options)
        built.append(adapter)
        return adapter

    yield make
    for adapter in built:
        adapter.close()


@pytest.fixture
def adapter(make_adapter: Callable[..., MicrosoftGraphAdapter]) -> MicrosoftGraphAdapter:
    return make_adapter()


def slot(day: int = 16, hour: int = 9, minutes: int = 90, zone: str = "America/New_York", month: int = 3) -> TimeSlot:
    start = datetime(2027, month, day, hour, 0, tzinfo=ZoneInfo(zone))
    return TimeSlot(start=start, end=start + timedelta(minutes=minutes), timezone=zone)


def session(**fields: Any) -> Session:
    values: dict[str, Any] = {"id": "ilt-101.2027-03-16", "title": "Forklift Safety", "slot": slot(), "capacity": 12}
    values.update(fields)
    return Session(**values)


def in_room(**fields: Any) -> Session:
    room = Room(id="harbour", name=ROOM.name, email=ROOM.email, capacity=ROOM.capacity, location="Quay House")
    return session(room=room, **fields)


def virtual(**fields: Any) -> Session:
    return session(modality=Modality.VIRTUAL, **fields)


LEARNERS = (
    Person(email="amara.okafor@example.org", name="Amara Okafor", timezone="America/New_York"),
    Person(email="lena.fischer@example.org", name="Lena Fischer", timezone="Europe/Berlin"),
    Person(email="kenji.sato@example.org", name="Kenji Sato", timezone="Asia/Tokyo"),
)


def check_against_openapi(requests: list[SandboxRequest]) -> int:
    """Validate every Graph request body the adapter sent (batch items one by one) against the description."""
    checked = 0
    for request in requests:
        if not request.path.startswith("/v1.0/"):
            continue
        path = request.path[len("/v1.0"):]
        if path == "/$batch":
            for item in json.loads(request.body)["requests"]:
                item_path = item["url"].split("?")[0]
                openapi_schema.validate_request(item["method"], item_path, item.get("body"))
                checked += 1
            continue
        openapi_schema.validate_request(request.method, path, request.json())
        checked += 1
    return checked
