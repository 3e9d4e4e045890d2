from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.models import Modality, Person, Room, Session, TimeSlot
from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors.testing.sandbox import SandboxRequest, SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter
from lms_connectors_google_calendar.config import GoogleCalendarConfig
from lms_connectors_google_calendar.sandbox import GoogleCalendarSimulator, SimulatedRoom

CLIENT_ID = "test-client.apps.googleusercontent.com"
CLIENT_SECRET = "test-client-secret"
REFRESH_TOKEN = "test-refresh-token"
ORGANIZER = "trainer-desk@example.com"
ROOM = SimulatedRoom("r-101", "Room 101", "c_room101@resource.calendar.google.com", capacity=12)


def make_simulator(**kwargs: object) -> GoogleCalendarSimulator:
    return GoogleCalendarSimulator(
        organizer=ORGANIZER,
        clients={CLIENT_ID: CLIENT_SECRET},
        refresh_tokens={REFRESH_TOKEN: CLIENT_ID},
        rooms=[ROOM, SimulatedRoom("r-102", "Room 102", "c_room102@resource.calendar.google.com", capacity=6)],
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def simulator() -> GoogleCalendarSimulator:
    return make_simulator()


def _load_helper(name: str) -> ModuleType:
    # Test helpers are loaded by path: the suite runs with --import-mode=importlib (no sys.path changes).
    spec = importlib.util.spec_from_file_location(f"gcal_tests_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


discovery_schema = _load_helper("discovery_schema")
CALENDAR = discovery_schema.Discovery(discovery_schema.CALENDAR)
DIRECTORY = discovery_schema.Discovery(discovery_schema.DIRECTORY)

_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"^/calendar/v3/calendars/[^/]+/events$"), "calendar.events.insert"),
    ("GET", re.compile(r"^/calendar/v3/calendars/[^/]+/events$"), "calendar.events.list"),
    ("GET", re.compile(r"^/calendar/v3/calendars/[^/]+/events/[0-9a-v]{5,1024}$"), "calendar.events.get"),
    ("PATCH", re.compile(r"^/calendar/v3/calendars/[^/]+/events/[0-9a-v]{5,1024}$"), "calendar.events.patch"),
    ("DELETE", re.compile(r"^/calendar/v3/calendars/[^/]+/events/[0-9a-v]{5,1024}$"), "calendar.events.delete"),
    ("POST", re.compile(r"^/calendar/v3/freeBusy$"), "calendar.freebusy.query"),
    ("GET", re.compile(r"^/admin/directory/v1/customer/[^/]+/resources/calendars$"), "directory.resources.calendars.list"),
)


def check_against_discovery(requests: list[SandboxRequest]) -> int:
    """Validate every API request (route, query parameters, JSON body) against Google's discovery documents."""
    checked = 0
    for request in requests:
        if request.path == "/token":
            continue  # OAuth endpoint: not part of the discovery documents
        method_id = next(
            (mid for verb, pattern, mid in _ROUTES if verb == request.method and pattern.match(request.path)), None
        )
        assert method_id is not None, f"request not in the discovery document: {request.method} {request.path}"
        discovery = DIRECTORY if method_id.startswith("directory.") else CALENDAR
        discovery.validate_query(method_id, request.query)
        if "request" in discovery.method(method_id):
            discovery.validate_body(method_id, request.json())
        checked += 1
    return checked


@pytest.fixture
def server(
    simulator: GoogleCalendarSimulator, sandbox_server: SandboxStarter
) -> Iterator[SandboxServer[GoogleCalendarSimulator]]:
    """The simulator on loopback (the kit's fixture); every request the test made is checked against the
    discovery document."""
    running = sandbox_server(simulator)
    yield running
    check_against_discovery(running.requests)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def config_for(url: str, **overrides: object) -> GoogleCalendarConfig:
    values: dict[str, object] = {
        "base_url": f"{url}/calendar/v3",
        "directory_base_url": f"{url}/admin/directory/v1",
        "token_uri": f"{url}/token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }
    values.update(overrides)
    return GoogleCalendarConfig.model_validate(values)


@pytest.fixture
def make_adapter(server: SandboxServer, sleeps: Sleeps) -> Iterator[Callable[..., GoogleCalendarAdapter]]:
    made: list[GoogleCalendarAdapter] = []

    def build(**overrides: object) -> GoogleCalendarAdapter:
        adapter = GoogleCalendarAdapter(config_for(server.url, **overrides), sleep=sleeps)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()


@pytest.fixture
def adapter(make_adapter: Callable[..., GoogleCalendarAdapter]) -> GoogleCalendarAdapter:
    return make_adapter()


NY = ZoneInfo("America/New_York")


def make_session(session_id: str = "s-1", *, modality: Modality = Modality.IN_PERSON, **fields: object) -> Session:
    values: dict[str, object] = {
        "id": session_id,
        "title": "Forklift safety",
        "slot": TimeSlot(
            start=datetime(2026, 3, 10, 9, 0, tzinfo=NY),
            end=datetime(2026, 3, 10, 11, 0, tzinfo=NY),
            timezone="America/New_York",
        ),
        "modality": modality,
        "capacity": 12,
        "instructors": (Person(email="ines@example.com", name="Ines Instructor", role="instructor"),),
        "room": Room(id="r-101", name="Room 101", email=ROOM.email, capacity=12, location="HQ, floor 1"),
        "description": "Bring safety shoes.",
    }
    values.update(fields)
    return Session.model_validate(values)


def learner(n: int, zone: str = "Asia/Tokyo") -> Person:
    return Person(email=f"learner{n}@example.org", name=f"Learner {n}", timezone=zone)
