"""No double bookings across providers: a room and an instructor, refused whichever system holds them.

Google Calendar, Microsoft Graph and LibreBooking run as their simulators on 127.0.0.1: two calendars and a
room-booking system, one scheduler. Rooms
are listed through the standard room interface (a Google Workspace room and a Microsoft 365 room), sessions are
routed to one calendar or the other, and the checker refuses, before any provider call, a second booking of the
same instructor or the same room, whichever calendar the second session goes to. A booking made outside this
ledger is found in the provider's free/busy (Graph ``getSchedule`` for a person, Google ``freeBusy`` for a room).
A LibreBooking room is booked, read (pending approval, then accepted) and refused the same way beside them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import Adapter, RoomResponse
from lms_connectors.errors import Conflict, DoubleBooked, NotFound, SchedulingFailed
from lms_connectors.models import Modality, Person, Role, Room, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer

PRIYA = Person(email="priya.nair@example.org", name="Priya Nair", role=Role.INSTRUCTOR)
OMAR = Person(email="omar.haddad@example.org", name="Omar Haddad", role=Role.INSTRUCTOR)
DANA = Person(email="dana.swope@contoso.example", name="Dana Swope", role=Role.INSTRUCTOR)
NAMES = ("google_calendar", "microsoft_graph")
ROOM_SYSTEM = "librebooking"


@dataclass
class Leg:
    simulator: Any
    adapter: Adapter
    outsider: Adapter  # the same provider used by someone who does not share our ledger


@pytest.fixture
def legs() -> Iterator[dict[str, Leg]]:
    with contextlib.ExitStack() as stack:
        found: dict[str, Leg] = {}
        for name in (*NAMES, ROOM_SYSTEM):
            harness = load_harness(name)
            simulator = harness.make_simulator()
            if name == "microsoft_graph":
                simulator.people.add(DANA.email)  # a colleague in the tenant, whose free/busy Graph can read
            server = stack.enter_context(SandboxServer(simulator))
            adapter, outsider = (harness.build_adapter(server.url, sleep=lambda _s: None) for _ in range(2))
            stack.callback(adapter.close)
            stack.callback(outsider.close)
            found[name] = Leg(simulator, adapter, outsider)
        yield found


def _slot(hour: int, minutes: int = 120) -> TimeSlot:
    start = datetime(2027, 3, 16, hour, 0, tzinfo=ZoneInfo("America/New_York"))
    return TimeSlot(start=start, end=start + timedelta(minutes=minutes), timezone="America/New_York")


def _session(sid: str, slot: TimeSlot, target: str, *instructors: Person, room: Room | None = None) -> Session:
    return Session(id=sid, title=sid, slot=slot, modality=Modality.IN_PERSON, instructors=instructors, room=room,
                   targets=(target,))


def _calls(legs: dict[str, Leg]) -> int:
    return sum(leg.adapter.call_count for leg in legs.values())


def _rooms(scheduler: Scheduler) -> dict[str, Room]:
    return {room.provider or "": room for room in scheduler.available_rooms(_slot(9), capacity=8)}


def test_a_room_and_an_instructor_double_booking_are_refused_across_providers(legs: dict[str, Leg]) -> None:
    ledger = MemoryLedger()
    scheduler = Scheduler([legs[n].adapter for n in NAMES], ledger)
    rooms = _rooms(scheduler)
    google_room, graph_room = rooms["google_calendar"], rooms["microsoft_graph"]

    # Priya teaches in a Google room, booked on Google Calendar.
    scheduler.schedule(_session("google-ilt", _slot(9), "google_calendar", PRIYA, room=google_room))
    assert scheduler.room_status("google-ilt") is RoomResponse.ACCEPTED
    before = _calls(legs)

    # The same instructor on Microsoft 365 at an overlapping time: refused, naming her and the session she teaches.
    with pytest.raises(DoubleBooked) as instructor:
        scheduler.schedule(_session("graph-ilt", _slot(10), "microsoft_graph", PRIYA, room=graph_room))
    (clash,) = instructor.value.clashes
    assert (clash.resource, clash.session_id) == (PRIYA.email, "google-ilt")
    assert (clash.start, clash.end) == (_slot(10).start, _slot(9).end)

    # The same Google room for a session kept on Microsoft 365 (another instructor): refused, naming the room.
    with pytest.raises(DoubleBooked) as room:
        scheduler.schedule(_session("graph-in-google-room", _slot(10, 30), "microsoft_graph", OMAR, room=google_room))
    (clash,) = room.value.clashes
    assert (clash.resource, clash.session_id) == (google_room.key, "google-ilt")

    assert _calls(legs) == before  # refused before any provider call
    assert ledger.get_session("graph-ilt") is None and ledger.get_session("graph-in-google-room") is None
    assert [e["summary"] for e in legs["google_calendar"].simulator.events()] == ["google-ilt"]
    assert legs["microsoft_graph"].simulator.live_events() == []

    # Either can be booked when they no longer overlap, and the caller may override a clash on purpose.
    scheduler.schedule(_session("graph-ilt", _slot(11), "microsoft_graph", PRIYA, room=graph_room))
    scheduler.schedule(_session("co-taught", _slot(10), "microsoft_graph", PRIYA), allow_conflicts=True)
    assert scheduler.room_status("graph-ilt") is RoomResponse.ACCEPTED
    assert len(legs["microsoft_graph"].simulator.live_events()) == 2


def test_bookings_made_outside_this_ledger_are_found_in_each_providers_free_busy(legs: dict[str, Leg]) -> None:
    scheduler = Scheduler([legs[n].adapter for n in NAMES], MemoryLedger(), check_free_busy=True)
    google_room = _rooms(scheduler)["google_calendar"]
    # Someone else (another deployment, a person in Outlook) books Dana and the Google room.
    dana_event = legs["microsoft_graph"].outsider.create_session(
        _session("outlook-meeting", _slot(9), "microsoft_graph", DANA), key="outside.g1", fresh=True
    )
    graph = legs["microsoft_graph"].simulator
    for attendee in graph.events[dana_event.external_id]["attendees"]:
        attendee["status"] = {"response": "accepted", "time": "2027-03-01T09:00:00Z"}  # Dana accepted
    legs["google_calendar"].outsider.create_session(
        _session("room-taken", _slot(13), "google_calendar", OMAR, room=google_room), key="taken.g1", fresh=True
    )

    # Dana on Google Calendar while Outlook shows her busy: Graph's getSchedule refuses it.
    with pytest.raises(DoubleBooked) as person:
        scheduler.schedule(_session("dana-on-google", _slot(10), "google_calendar", DANA))
    (clash,) = person.value.clashes
    assert (clash.resource, clash.provider, clash.session_id) == (DANA.email, "microsoft_graph", None)
    assert (clash.start, clash.end) == (_slot(10).start, _slot(9).end)

    # The Google room for a session on Microsoft 365 while Google shows it booked: Google's freeBusy refuses it.
    with pytest.raises(DoubleBooked) as room:
        scheduler.schedule(_session("room-on-graph", _slot(14), "microsoft_graph", PRIYA, room=google_room))
    (clash,) = room.value.clashes
    assert (clash.resource, clash.provider) == (google_room.key, "google_calendar")
    assert [e["subject"] for e in graph.live_events()] == ["outlook-meeting"]  # nothing of ours was made
    assert [e["summary"] for e in legs["google_calendar"].simulator.events()] == ["room-taken"]


def test_a_room_that_declines_when_booked_anyway_is_a_conflict_and_nothing_is_left_half_made(
    legs: dict[str, Leg],
) -> None:
    scheduler = Scheduler([legs[n].adapter for n in NAMES], MemoryLedger())
    graph_room = _rooms(scheduler)["microsoft_graph"]
    legs["microsoft_graph"].outsider.create_session(
        _session("outlook-meeting", _slot(9), "microsoft_graph", OMAR, room=graph_room), key="outside.g1", fresh=True
    )
    # Not in this ledger, free/busy not asked: the booking goes out and the room mailbox declines it.
    with pytest.raises(SchedulingFailed) as failed:
        scheduler.schedule(_session("declined", _slot(9), "microsoft_graph", PRIYA, room=graph_room))
    assert isinstance(failed.value.cause, Conflict) and failed.value.cause.code == "roomDeclined"
    assert [e["subject"] for e in legs["microsoft_graph"].simulator.live_events()] == ["outlook-meeting"]

    # Booked into an existing session instead: the same refusal, and the session keeps its event without a room.
    scheduler.schedule(_session("no-room-yet", _slot(9), "microsoft_graph", PRIYA))
    with pytest.raises(Conflict):
        scheduler.book_room("no-room-yet", graph_room)
    stored = scheduler.ledger.get_session("no-room-yet")
    assert stored is not None and stored.room is None
    events = {e["subject"]: e for e in legs["microsoft_graph"].simulator.live_events()}
    assert all(a["type"] != "resource" for a in events["no-room-yet"]["attendees"])


def _london(hour: int, minutes: int = 60) -> TimeSlot:
    """A slot on LibreBooking's schedule (half-hour slots, 08:00 to 18:00 UTC): London is on UTC in February."""
    start = datetime(2027, 2, 16, hour, 0, tzinfo=ZoneInfo("Europe/London"))
    return TimeSlot(start=start, end=start + timedelta(minutes=minutes), timezone="Europe/London")


def _in(room: Room, sid: str, slot: TimeSlot, calendar: str, *instructors: Person) -> Session:
    return Session(id=sid, title=sid, slot=slot, modality=Modality.IN_PERSON, instructors=instructors, room=room,
                   targets=(ROOM_SYSTEM, calendar))


def _all_calls(legs: dict[str, Leg]) -> int:
    return sum(leg.adapter.call_count for leg in legs.values())


def test_a_librebooking_room_and_its_instructor_are_refused_for_a_second_session_on_either_calendar(
    legs: dict[str, Leg],
) -> None:
    ledger = MemoryLedger()
    scheduler = Scheduler([legs[n].adapter for n in (ROOM_SYSTEM, *NAMES)], ledger, check_free_busy=True)
    rooms = {(room.provider, room.name): room for room in scheduler.available_rooms(_london(10), capacity=8)}
    # Listed by the room-booking system, so held (and booked) by it alone.
    harbour, boardroom = rooms[ROOM_SYSTEM, "Harbour Training Room"], rooms[ROOM_SYSTEM, "Boardroom (approval)"]
    assert {provider for provider, _ in rooms} == {ROOM_SYSTEM, *NAMES}

    scheduler.schedule(_in(harbour, "harbour-google", _london(10), "google_calendar", PRIYA))
    assert scheduler.room_status("harbour-google") is RoomResponse.ACCEPTED
    before = _all_calls(legs)

    # The LibreBooking room again, for a session on Microsoft 365: refused by the room's key, before any call.
    with pytest.raises(DoubleBooked) as room:
        scheduler.schedule(_in(harbour, "harbour-graph", _london(10, 90), "microsoft_graph", OMAR))
    (clash,) = room.value.clashes
    assert (clash.resource, clash.session_id) == (f"room:{ROOM_SYSTEM}/{harbour.id}", "harbour-google")
    # Priya in another LibreBooking room on Microsoft 365 at an overlapping time: refused by her.
    with pytest.raises(DoubleBooked) as person:
        scheduler.schedule(_in(boardroom, "priya-graph", _london(10, 30), "microsoft_graph", PRIYA))
    assert [(c.resource, c.session_id) for c in person.value.clashes] == [(PRIYA.email, "harbour-google")]
    assert "priya.nair@example.org is busy" in str(person.value)
    assert _all_calls(legs) == before
    assert legs["microsoft_graph"].simulator.live_events() == []
    assert [r.title for r in legs[ROOM_SYSTEM].simulator.site.reservations.values()] == ["harbour-google"]


def test_a_librebooking_room_waiting_for_approval_reads_pending_until_an_administrator_approves(
    legs: dict[str, Leg],
) -> None:
    scheduler = Scheduler([legs[n].adapter for n in (ROOM_SYSTEM, *NAMES)], MemoryLedger())
    boardroom = {(r.provider, r.name): r for r in scheduler.available_rooms(_london(14))}[
        ROOM_SYSTEM, "Boardroom (approval)"]
    scheduler.schedule(_in(boardroom, "board", _london(14), "microsoft_graph", OMAR))
    assert scheduler.room_status("board") is RoomResponse.PENDING

    lb = legs[ROOM_SYSTEM]
    (reservation,) = lb.simulator.site.reservations.values()
    admin = load_harness(ROOM_SYSTEM).adapter_class.from_config(
        {**lb.adapter.config.model_dump(), "username": "admin",
         "password": "admin-" + lb.adapter.config.password.get_secret_value()},
        sleep=lambda _s: None,
    )
    try:
        assert admin.ex_post_probe(f"Reservations/{reservation.reference}/Approval", {}) == 200
    finally:
        admin.close()
    assert scheduler.room_status("board") is RoomResponse.ACCEPTED
    # A reservation for another room is not this room's answer.
    ref = scheduler.ledger.get_ref("board", ROOM_SYSTEM)
    assert ref is not None
    harbour = {(r.provider, r.name): r for r in scheduler.available_rooms(_london(16))}[
        ROOM_SYSTEM, "Harbour Training Room"]
    with pytest.raises(NotFound):
        lb.adapter.room_response(ref, harbour)


def test_a_librebooking_room_booked_in_librebooking_itself_refuses_a_session_on_a_calendar(
    legs: dict[str, Leg],
) -> None:
    scheduler = Scheduler([legs[n].adapter for n in (ROOM_SYSTEM, *NAMES)], MemoryLedger(), check_free_busy=True)
    quay = {(r.provider, r.name): r for r in scheduler.available_rooms(_london(11))}[ROOM_SYSTEM, "Quay Meeting Room"]
    # Someone books the room in LibreBooking, outside this ledger.
    legs[ROOM_SYSTEM].outsider.create_session(_in(quay, "their-meeting", _london(11), "google_calendar"),
                                              key="theirs.librebooking.g1", fresh=True)

    with pytest.raises(DoubleBooked) as refused:
        scheduler.schedule(_in(quay, "quay-graph", _london(11, 30), "microsoft_graph", OMAR))
    (clash,) = refused.value.clashes
    assert (clash.resource, clash.provider) == (f"room:{ROOM_SYSTEM}/{quay.id}", ROOM_SYSTEM)
    assert legs["microsoft_graph"].simulator.live_events() == []
    assert [r.title for r in legs[ROOM_SYSTEM].simulator.site.reservations.values()] == ["their-meeting"]
    assert quay not in scheduler.available_rooms(_london(11))
