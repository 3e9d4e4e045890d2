"""Rooms on Microsoft 365 through the standard room interface, room lists, and reconciling from delta."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import RoomResponse
from lms_connectors.changes import ChangeKind, ChangePolicy, Decision, apply_changes
from lms_connectors.errors import Conflict, NotFound
from lms_connectors.models import Modality, Person, Role, Room, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter, RoomList
from lms_connectors_microsoft_graph.changes import changes_from_delta
from lms_connectors_microsoft_graph.sandbox import GraphSimulator

UTC = ZoneInfo("UTC")
PRIYA = Person(email="priya.nair@example.org", name="Priya Nair", role=Role.INSTRUCTOR)


def _slot(day: int = 16, hour: int = 9, minutes: int = 90) -> TimeSlot:
    start = datetime(2027, 3, day, hour, 0, tzinfo=ZoneInfo("America/New_York"))
    return TimeSlot(start=start, end=start + timedelta(minutes=minutes), timezone="America/New_York")


def _session(sid: str = "ilt-7", room: Room | None = None, **fields: Any) -> Session:
    return Session(id=sid, title="Forklift Safety", slot=fields.pop("slot", _slot()), modality=Modality.IN_PERSON,
                   instructors=(PRIYA,), room=room, **fields)


@pytest.fixture
def graph() -> Iterator[tuple[GraphSimulator, MicrosoftGraphAdapter, MicrosoftGraphAdapter]]:
    """The harness's simulator (two rooms in one room list), the SDK's adapter and an 'Outlook user' adapter."""
    harness = load_harness("microsoft_graph")
    simulator = harness.make_simulator()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(SandboxServer(simulator))
        adapters = [harness.build_adapter(server.url, sleep=lambda _s: None) for _ in range(2)]
        for adapter in adapters:
            stack.callback(adapter.close)
        yield simulator, adapters[0], adapters[1]


def test_room_lists_and_the_rooms_of_a_list_with_capacity_and_features(graph: Any) -> None:
    _, adapter, _ = graph
    (building,) = list(adapter.ex_room_lists())
    assert building == RoomList(email="quay-house@contoso.example", name="Quay House")
    rooms = list(adapter.list_rooms(room_list=building.email, page_size=1))  # paged: two calls
    assert [(r.name, r.capacity, r.features, r.provider) for r in rooms] == [
        ("Dock Room", 8, ("whiteboard", "wheelchair accessible"), "microsoft_graph"),
        ("Harbour Training Room", 20, ("projector", "whiteboard", "display", "wheelchair accessible"),
         "microsoft_graph"),
    ]
    assert [r.email for r in rooms] == [r.email for r in adapter.list_rooms()]
    with pytest.raises(NotFound):
        list(adapter.list_rooms(room_list="nowhere@contoso.example"))


def test_a_room_is_booked_read_and_released_on_an_existing_event(graph: Any) -> None:
    simulator, adapter, _ = graph
    room = next(r for r in adapter.list_rooms() if r.name == "Dock Room")
    ref = adapter.create_session(_session(), key="ilt-7.microsoft_graph.g1", fresh=True)
    booked, answer = adapter.book_room(ref, _session(room=room))
    assert answer is RoomResponse.ACCEPTED and booked.external_id == ref.external_id
    event = simulator.events[ref.external_id]
    assert event["location"]["locationEmailAddress"] == room.email
    assert adapter.room_response(booked, room) is RoomResponse.ACCEPTED
    released = adapter.release_room(booked, _session(), room)
    assert all(a["type"] != "resource" for a in simulator.events[ref.external_id]["attendees"])
    assert simulator.events[ref.external_id]["location"]["displayName"] == ""
    with pytest.raises(NotFound):
        adapter.room_response(released, room)
    assert adapter.release_room(released, _session(), room).external_id == ref.external_id  # done already: fine


def test_a_room_answers_later_and_reads_pending_until_then(graph: Any) -> None:
    simulator, adapter, _ = graph
    room = next(r for r in adapter.list_rooms() if r.name == "Dock Room")
    simulator.room_pending_reads = 50  # longer than the adapter waits (room_wait_seconds)
    ref = adapter.create_session(_session(room=room), key="ilt-7.microsoft_graph.g1", fresh=True)
    answers = [adapter.room_response(ref, room) for _ in range(50)]  # each read lets the mailbox get further
    assert answers[0] is RoomResponse.PENDING and answers[-1] is RoomResponse.ACCEPTED
    assert answers.index(RoomResponse.ACCEPTED) > 0


def test_a_declined_room_is_a_conflict_and_leaves_the_event_without_it(graph: Any) -> None:
    simulator, adapter, outlook = graph
    room = next(r for r in adapter.list_rooms() if r.name == "Dock Room")
    outlook.create_session(_session("someone-else", room=room), key="other.g1", fresh=True)
    ref = adapter.create_session(_session(), key="ilt-7.microsoft_graph.g1", fresh=True)
    with pytest.raises(Conflict) as refused:
        adapter.book_room(ref, _session(room=room))
    assert refused.value.code == "roomDeclined"
    event = simulator.events[ref.external_id]
    assert [a["type"] for a in event["attendees"]] == ["required"]  # the instructor only: no declined room left
    assert event["location"]["displayName"] == ""


def test_the_scheduler_books_reads_and_releases_a_graph_room(graph: Any) -> None:
    simulator, adapter, _ = graph
    room = next(r for r in adapter.list_rooms() if r.name == "Harbour Training Room")
    scheduler = Scheduler([adapter], MemoryLedger())
    scheduler.schedule(_session())
    booked = scheduler.book_room("ilt-7", room)
    assert booked.room == room and scheduler.room_status("ilt-7") is RoomResponse.ACCEPTED
    assert scheduler.available_rooms(_slot(), capacity=10) == []  # the only room seating 10 is taken
    released = scheduler.release_room("ilt-7")
    assert released.room is None
    assert [r.name for r in scheduler.available_rooms(_slot(), capacity=10)] == ["Harbour Training Room"]
    (event,) = simulator.live_events()
    assert all(a["type"] != "resource" for a in event["attendees"])


# -- reconciling from calendarView/delta -------------------------------------------------------------------------


WINDOW = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))


def test_events_moved_or_deleted_in_outlook_are_put_back_from_the_delta_feed(graph: Any) -> None:
    simulator, adapter, outlook = graph
    ledger = MemoryLedger()
    scheduler = Scheduler([adapter], ledger)
    scheduler.schedule(_session("moved"))
    scheduler.schedule(_session("deleted", slot=_slot(hour=13)))
    scheduler.schedule(_session("answered", slot=_slot(day=17)))
    outlook.create_session(_session("not-ours", slot=_slot(day=18)), key="elsewhere.g1", fresh=True)
    baseline = adapter.ex_changes(*WINDOW)
    moved_ref, deleted_ref = ledger.get_ref("moved", "microsoft_graph"), ledger.get_ref("deleted", "microsoft_graph")
    answered_ref = ledger.get_ref("answered", "microsoft_graph")
    assert moved_ref and deleted_ref and answered_ref

    outlook.reschedule_session(moved_ref, _session("moved").rescheduled(_slot(hour=11)))  # moved in Outlook
    outlook.cancel_session(deleted_ref)  # deleted in Outlook
    simulator.edit_event(answered_ref.external_id, {"subject": "Forklift Safety"})  # touched, still at its time
    page = adapter.ex_changes(*WINDOW, delta_link=baseline.delta_link)

    changes = changes_from_delta(page, ledger)
    assert [(c.session_id, c.kind, c.slot) for c in changes] == [
        ("moved", ChangeKind.MOVED, _slot(hour=11)),
        ("deleted", ChangeKind.DELETED, None),
    ]
    applied = apply_changes(scheduler, changes, ChangePolicy(moved=Decision.REASSERT, deleted=Decision.REASSERT))
    assert [a.outcome for a in applied] == ["ledger reasserted", "ledger reasserted"]
    assert len(simulator.live_events()) == 4  # not-ours, moved (back), answered, deleted (made again)
    assert simulator.events[moved_ref.external_id]["_start"] == _slot().start.astimezone(UTC)
    remade = ledger.get_ref("deleted", "microsoft_graph")
    assert remade is not None and remade.external_id != deleted_ref.external_id
    assert [a.action for a in ledger.iter_audit("moved")].count("change.moved") == 1

    # The next round shows our own repairs, at the ledger's slots: nothing to change.
    quiet = adapter.ex_changes(*WINDOW, delta_link=page.delta_link)
    assert changes_from_delta(quiet, ledger) == []
