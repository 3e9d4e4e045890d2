"""The conflict checker: an interval index of the ledger's sessions, then the providers' free/busy."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import Adapter
from lms_connectors.conflicts import ConflictChecker, IntervalIndex
from lms_connectors.errors import DoubleBooked
from lms_connectors.models import Modality, Person, Role, Room, Session, SessionStatus, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.base import Booking
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer

NY = ZoneInfo("America/New_York")
PRIYA = Person(email="priya.nair@example.org", name="Priya Nair", role=Role.INSTRUCTOR)
OMAR = Person(email="omar.haddad@example.org", name="Omar Haddad", role=Role.INSTRUCTOR)


def _slot(hour: int, minutes: int = 60, day: int = 16) -> TimeSlot:
    start = datetime(2027, 3, day, hour, 0, tzinfo=NY)
    return TimeSlot(start=start, end=start + timedelta(minutes=minutes), timezone="America/New_York")


def _session(sid: str, slot: TimeSlot, *instructors: Person, room: Room | None = None) -> Session:
    return Session(id=sid, title=sid, slot=slot, modality=Modality.IN_PERSON, instructors=instructors, room=room)


# -- the index ---------------------------------------------------------------------------------------------


def test_the_index_finds_overlaps_and_not_touching_intervals() -> None:
    index = IntervalIndex()
    index.add("a", ["r"], 10, 20)
    index.add("b", ["r"], 20, 30)
    index.add("c", ["r"], 40, 50)
    assert [o for _, _, o in index.overlapping("r", 15, 25)] == ["a", "b"]
    assert index.overlapping("r", 30, 40) == []  # end and start touch: no clash
    assert index.overlapping("other", 0, 100) == []


def test_a_long_interval_is_found_behind_short_ones_that_start_later() -> None:
    index = IntervalIndex()
    index.add("all-day", ["r"], 0, 1000)
    for n in range(50):
        index.add(f"s{n}", ["r"], 10 + n * 10, 15 + n * 10)
    found = [o for _, _, o in index.overlapping("r", 996, 999)]
    assert found == ["all-day"]  # the running maximum of the ends keeps the walk going back to it


def test_removing_an_owner_frees_every_resource_it_held() -> None:
    index = IntervalIndex()
    index.add("a", ["r", "p"], 0, 10)
    index.remove("a")
    assert index.overlapping("r", 0, 10) == [] and index.overlapping("p", 0, 10) == []
    assert len(index) == 0


def test_the_sweep_finds_every_overlapping_pair_as_brute_force_does() -> None:
    import random

    rng = random.Random(7)
    bookings = []
    for n in range(400):
        start = rng.randrange(0, 2000)
        held = tuple(rng.sample(["a", "b", "c", "d", "room:x"], rng.randint(1, 2)))
        bookings.append(Booking(f"s{n}", float(start), float(start + rng.randint(1, 120)), held))
    index = IntervalIndex.of(bookings)
    found = {(resource, *sorted((a[2], b[2]))) for resource, a, b in index.overlapping_pairs()}
    expected = {
        (resource, *sorted((one.session_id, two.session_id)))
        for i, one in enumerate(bookings)
        for two in bookings[i + 1:]
        if one.start < two.end and two.start < one.end
        for resource in set(one.resources) & set(two.resources)
    }
    assert found == expected and len(found) > 50
    # The index built at once answers as one built by adding, and leaves out the owner asked about.
    added = IntervalIndex()
    for booking in bookings:
        added.add(booking.session_id, booking.resources, booking.start, booking.end)
    for resource in ("a", "room:x"):
        assert index.overlapping(resource, 500, 700) == added.overlapping(resource, 500, 700)
        some = index.overlapping(resource, 500, 700)[0][2]
        assert some not in {o for _, _, o in index.overlapping(resource, 500, 700, besides=some)}


def test_double_bookings_names_both_sides_with_the_overlap_in_utc() -> None:
    ledger = MemoryLedger()
    ledger.save_session(_session("early", _slot(9, 120), PRIYA))
    ledger.save_session(_session("late", _slot(10, 120), PRIYA, OMAR))
    ledger.save_session(_session("apart", _slot(13), OMAR))
    found = ConflictChecker(ledger).double_bookings()
    assert set(found) == {"early", "late"}
    (clash,) = found["early"]
    assert (clash.resource, clash.session_id) == (PRIYA.email, "late")
    assert (clash.start, clash.end) == (_slot(10).start, _slot(11).start)
    assert found["late"][0].session_id == "early"


# -- the ledger's own sessions, through the scheduler -------------------------------------------------------


@pytest.fixture
def google() -> Iterator[tuple[Any, Adapter]]:
    harness = load_harness("google_calendar")
    simulator = harness.make_simulator()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(SandboxServer(simulator))
        adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
        stack.callback(adapter.close)
        yield simulator, adapter


def test_an_instructor_double_booking_is_refused_before_any_provider_call(google: tuple[Any, Adapter]) -> None:
    _, adapter = google
    ledger = MemoryLedger()
    scheduler = Scheduler([adapter], ledger)
    scheduler.schedule(_session("first", _slot(9, 180), PRIYA))
    calls = adapter.call_count
    with pytest.raises(DoubleBooked) as refused:
        scheduler.schedule(_session("second", _slot(11), OMAR, PRIYA))
    assert adapter.call_count == calls
    assert ledger.get_session("second") is None  # nothing stored either
    (clash,) = refused.value.clashes
    assert clash.resource == PRIYA.email and clash.session_id == "first"
    assert (clash.start, clash.end) == (_slot(11).start, _slot(11).end)
    assert "priya.nair@example.org is busy 2027-03-16T15:00:00+00:00 to 2027-03-16T16:00:00+00:00" in str(refused.value)


def test_the_caller_can_override_and_a_cancelled_session_frees_its_people(google: tuple[Any, Adapter]) -> None:
    _, adapter = google
    scheduler = Scheduler([adapter], MemoryLedger())
    scheduler.schedule(_session("first", _slot(9), PRIYA))
    assert scheduler.schedule(_session("forced", _slot(9), PRIYA), allow_conflicts=True).status is SessionStatus.SCHEDULED
    scheduler.cancel("first")
    scheduler.cancel("forced")
    scheduler.schedule(_session("after", _slot(9), PRIYA))


def test_a_reschedule_into_a_clash_is_refused_and_one_onto_its_own_time_is_not(google: tuple[Any, Adapter]) -> None:
    _, adapter = google
    scheduler = Scheduler([adapter], MemoryLedger())
    scheduler.schedule(_session("morning", _slot(9, 120), PRIYA))
    scheduler.schedule(_session("noon", _slot(12), PRIYA))
    calls = adapter.call_count
    with pytest.raises(DoubleBooked) as refused:
        scheduler.reschedule("noon", _slot(10))
    assert adapter.call_count == calls
    assert refused.value.clashes[0].session_id == "morning"
    moved = scheduler.reschedule("morning", _slot(9, 90))  # overlaps only itself
    assert moved.slot == _slot(9, 90)


def test_a_room_double_booking_is_refused_by_the_rooms_key(google: tuple[Any, Adapter]) -> None:
    _, adapter = google
    room = next(iter(adapter.list_rooms()))
    scheduler = Scheduler([adapter], MemoryLedger())
    scheduler.schedule(_session("a", _slot(9), PRIYA, room=room))
    with pytest.raises(DoubleBooked) as refused:
        scheduler.schedule(_session("b", _slot(9, 30), OMAR, room=room))
    (clash,) = refused.value.clashes
    assert clash.resource == f"room:{room.email}" and clash.session_id == "a"


def test_a_new_scheduler_on_the_same_ledger_sees_the_sessions_already_there(google: tuple[Any, Adapter]) -> None:
    _, adapter = google
    ledger = MemoryLedger()
    Scheduler([adapter], ledger).schedule(_session("kept", _slot(9), PRIYA))
    with pytest.raises(DoubleBooked):
        Scheduler([adapter], ledger).schedule(_session("other", _slot(9), PRIYA))


def test_refresh_reads_sessions_another_process_wrote() -> None:
    ledger = MemoryLedger()
    checker = ConflictChecker(ledger)
    assert checker.ledger_clashes(_session("mine", _slot(9), PRIYA)) == []
    ledger.save_session(_session("theirs", _slot(9), PRIYA))
    assert checker.ledger_clashes(_session("mine", _slot(9), PRIYA)) == []  # the index is this process's view
    checker.refresh()
    assert [c.session_id for c in checker.ledger_clashes(_session("mine", _slot(9), PRIYA))] == ["theirs"]


# -- the providers' free/busy ---------------------------------------------------------------------------------


def test_a_room_booked_outside_the_sdk_is_found_in_its_free_busy(google: tuple[Any, Adapter]) -> None:
    _, adapter = google
    room = next(iter(adapter.list_rooms()))
    outside = Scheduler([adapter], MemoryLedger())  # another ledger: this one cannot know its session
    outside.schedule(_session("booked-elsewhere", _slot(9), OMAR, room=room))
    scheduler = Scheduler([adapter], MemoryLedger(), check_free_busy=True)
    with pytest.raises(DoubleBooked) as refused:
        scheduler.schedule(_session("mine", _slot(9, 30), PRIYA, room=room))
    (clash,) = refused.value.clashes
    assert clash.resource == room.key and clash.provider == "google_calendar" and clash.session_id is None
    assert Scheduler([adapter], MemoryLedger()).schedule(_session("unchecked", _slot(11), PRIYA, room=room))


def test_its_own_event_is_not_a_clash_when_a_session_moves_over_its_old_time(google: tuple[Any, Adapter]) -> None:
    _, adapter = google
    room = next(iter(adapter.list_rooms()))
    scheduler = Scheduler([adapter], MemoryLedger(), check_free_busy=True)
    scheduler.schedule(_session("s", _slot(9, 120), PRIYA, room=room))
    assert scheduler.reschedule("s", _slot(10, 120)).slot == _slot(10, 120)


# -- queries: rooms and instructors for a slot ------------------------------------------------------------------


def test_available_rooms_by_capacity_and_features_and_free_at_the_slot(google: tuple[Any, Adapter]) -> None:
    _, adapter = google
    scheduler = Scheduler([adapter], MemoryLedger())
    rooms = scheduler.available_rooms(_slot(9))
    assert [(r.name, r.capacity, r.features) for r in rooms] == [
        ("Room 101", 12, ("projector", "whiteboard")),
        ("Room 102", 6, ("whiteboard",)),
    ]
    assert [r.name for r in scheduler.available_rooms(_slot(9), capacity=10)] == ["Room 101"]
    assert [r.name for r in scheduler.available_rooms(_slot(9), features=["Projector"])] == ["Room 101"]
    scheduler.schedule(_session("a", _slot(9), PRIYA, room=rooms[0]))
    assert [r.name for r in scheduler.available_rooms(_slot(9, 30))] == ["Room 102"]
    assert [r.name for r in scheduler.available_rooms(_slot(10))] == ["Room 101", "Room 102"]


def test_available_instructors_leave_out_those_teaching_then(google: tuple[Any, Adapter]) -> None:
    _, adapter = google
    scheduler = Scheduler([adapter], MemoryLedger())
    scheduler.schedule(_session("a", _slot(9), PRIYA))
    assert scheduler.available_instructors(_slot(9, 30), [PRIYA, OMAR]) == [OMAR]
    assert scheduler.available_instructors(_slot(10), [PRIYA, OMAR]) == [PRIYA, OMAR]
