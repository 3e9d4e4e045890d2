"""Google Workspace rooms through the standard room interface: listed with features, booked, read, released."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import RoomResponse
from lms_connectors.errors import Conflict, NotFound, ValidationError
from lms_connectors.models import Modality, Person, Role, Room, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter
from lms_connectors_google_calendar.sandbox import GoogleCalendarSimulator

PRIYA = Person(email="priya.nair@example.org", name="Priya Nair", role=Role.INSTRUCTOR)


def _session(sid: str = "ilt-7", room: Room | None = None) -> Session:
    start = datetime(2027, 3, 16, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    slot = TimeSlot(start=start, end=start + timedelta(hours=2), timezone="America/New_York")
    return Session(id=sid, title="Forklift Safety", slot=slot, modality=Modality.IN_PERSON, instructors=(PRIYA,),
                   room=room)


@pytest.fixture
def google() -> Iterator[tuple[GoogleCalendarSimulator, GoogleCalendarAdapter]]:
    harness = load_harness("google_calendar")
    simulator = harness.make_simulator()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(SandboxServer(simulator))
        adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
        stack.callback(adapter.close)
        yield simulator, adapter


def _resources(simulator: GoogleCalendarSimulator, event_id: str) -> list[dict[str, Any]]:
    (event,) = [e for e in simulator.events() if e["id"] == event_id]
    return [a for a in event.get("attendees") or () if a.get("resource")]


def test_rooms_are_listed_with_capacity_features_and_their_holder(google: Any) -> None:
    _, adapter = google
    rooms = list(adapter.list_rooms(page_size=1))
    assert [(r.name, r.capacity, r.features, r.provider) for r in rooms] == [
        ("Room 101", 12, ("projector", "whiteboard"), "google_calendar"),
        ("Room 102", 6, ("whiteboard",), "google_calendar"),
    ]
    assert rooms[0].offers(capacity=10, features=["Projector"]) and not rooms[1].offers(capacity=10)


def test_a_room_is_booked_read_and_released_on_an_existing_event(google: Any) -> None:
    simulator, adapter = google
    room = next(iter(adapter.list_rooms()))
    ref = adapter.create_session(_session(), key="ilt-7.google_calendar.g1", fresh=True)
    booked, answer = adapter.book_room(ref, _session(room=room))
    assert answer is RoomResponse.ACCEPTED and booked.external_id == ref.external_id
    assert [a["email"] for a in _resources(simulator, ref.external_id)] == [room.email]
    assert adapter.room_response(booked, room) is RoomResponse.ACCEPTED
    released = adapter.release_room(booked, _session(), room)
    assert _resources(simulator, ref.external_id) == []
    with pytest.raises(NotFound):
        adapter.room_response(released, room)


def test_a_declined_room_is_a_conflict_and_the_event_keeps_no_room(google: Any) -> None:
    simulator, adapter = google
    room = next(iter(adapter.list_rooms()))
    adapter.create_session(_session("first", room=room), key="first.google_calendar.g1", fresh=True)
    ref = adapter.create_session(_session(), key="ilt-7.google_calendar.g1", fresh=True)
    with pytest.raises(Conflict) as refused:
        adapter.book_room(ref, _session(room=room))
    assert refused.value.code == "roomDeclined"
    assert _resources(simulator, ref.external_id) == []


def test_a_room_held_elsewhere_is_not_invited(google: Any) -> None:
    simulator, adapter = google
    graph_room = Room(id="dock", name="Dock Room", email="dock-room@contoso.example", provider="microsoft_graph")
    ref = adapter.create_session(_session(room=graph_room), key="ilt-7.google_calendar.g1", fresh=True)
    assert _resources(simulator, ref.external_id) == []  # named in the location only
    with pytest.raises(ValidationError):
        adapter.book_room(ref, _session(room=graph_room))
