from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.models import Modality, Person, Room, Session, TimeSlot
from lms_connectors.testing.sandbox import SandboxServer
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


@pytest.fixture
def server(simulator: GoogleCalendarSimulator) -> Iterator[SandboxServer]:
    with SandboxServer(simulator) as running:
        yield running


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
