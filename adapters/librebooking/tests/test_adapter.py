"""The LibreBooking adapter against the simulator: each fragile behaviour of the API and how the adapter copes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import CreateTrace
from lms_connectors.errors import AuthError, CapacityFull, Conflict, ValidationError
from lms_connectors.models import Person, Room, Session, TimeSlot
from lms_connectors_librebooking.testing import LEARNER_ACCOUNTS, PLACEHOLDER_PASSWORD

from .conftest import Site

LONDON = ZoneInfo("Europe/London")
LEARNERS = [Person(email=email, name=f"{first} {last}") for _, email, first, last, _ in LEARNER_ACCOUNTS]


def session(room: str = "1", *, hour: int = 10, minute: int = 0, minutes: int = 60, day: int = 10,
            session_id: str = "ilt-1") -> Session:
    start = datetime(2027, 2, day, hour, minute, tzinfo=LONDON)
    return Session(id=session_id, title=f"Course {session_id}", slot=TimeSlot(
        start=start, end=start + timedelta(minutes=minutes), timezone="Europe/London"),
        room=Room(id=room, name="Harbour Training Room"), capacity=12)


def test_create_sends_every_key_in_utc_and_the_key_twice(site: Site) -> None:
    adapter = site.connect()
    ref = adapter.create_session(session(), key="ilt-1.librebooking.g1", fresh=True)
    body = json.loads(next(r.body for r in site.server.requests if r.method == "POST" and r.path.endswith("/Reservations/")))
    assert body["startDateTime"] == "2027-02-10T10:00:00Z" and body["endDateTime"] == "2027-02-10T11:00:00Z"
    assert len(body) == 19 and body["userId"] == int(adapter.auth.user_id)
    assert body["customAttributes"] == [{"attributeId": 1, "attributeValue": "ilt-1.librebooking.g1"}]
    assert body["description"].endswith("[lmsc:ilt-1.librebooking.g1]")
    assert ref.extra["approval"] == "approved"


def test_a_create_that_failed_after_saving_is_found_by_its_marker_not_sent_again(site: Site) -> None:
    adapter = site.connect()
    site.simulator.fail_next_write_after_saving()
    trace = CreateTrace()
    ref = adapter.create_traced(session(), key="ilt-1.librebooking.g1", fresh=True, trace=trace)
    assert trace.looked_up == ["after lost answer"] and trace.attempts == 1
    assert list(site.simulator.site.reservations) == [ref.external_id]
    assert site.posts("/Reservations/") == 1


def test_an_off_slot_session_is_refused_before_anything_is_written(site: Site) -> None:
    adapter = site.connect()
    with pytest.raises(ValidationError, match="schedule's slots"):
        adapter.create_session(session(hour=10, minute=10, minutes=70), key="k.librebooking.g1", fresh=True)
    with pytest.raises(ValidationError, match=r"not bookable|schedule's slots"):
        adapter.create_session(session(hour=20), key="k.librebooking.g1", fresh=True)
    assert site.posts("/Reservations/") == 0


def test_a_clash_names_the_reservation_or_the_blackout(site: Site) -> None:
    adapter = site.connect()
    first = adapter.create_session(session(), key="a.librebooking.g1", fresh=True)
    with pytest.raises(Conflict, match=f"clashes with {first.external_id} 'Course ilt-1'"):
        adapter.create_session(session(session_id="ilt-2", minute=30), key="b.librebooking.g1", fresh=True)
    start = datetime(2027, 2, 11, 9, tzinfo=LONDON)
    site.simulator.add_blackout(1, start, start + timedelta(hours=3), "Maintenance")
    with pytest.raises(Conflict, match=r"clashes with blackout 'Maintenance' 2027-02-11T09:00:00\+0000\.\.2027-02-11T12"):
        adapter.create_session(session(day=11), key="c.librebooking.g1", fresh=True)


def test_room_busy_holds_reservations_with_their_buffer_and_blackouts_of_that_room_only(site: Site) -> None:
    """LibreBooking's availability endpoint ignores blackouts and buffers: the reservation list and the slots
    are read instead."""
    buffered = site.simulator.site.add_resource("Buffered Room", 1, bufferTime="0d0h15m", autoAssignPermissions=True)
    adapter = site.connect()
    adapter.create_session(session(room=str(buffered.id)), key="a.librebooking.g1", fresh=True)
    adapter.create_session(session(hour=13), key="other-room.librebooking.g1", fresh=True)
    site.simulator.add_blackout(buffered.id, datetime(2027, 2, 10, 14, tzinfo=LONDON),
                                datetime(2027, 2, 10, 15, tzinfo=LONDON), "Deep clean")
    room = Room(id=str(buffered.id), name="Buffered Room")

    busy = adapter.room_busy([room], datetime(2027, 2, 10, 9, tzinfo=LONDON), datetime(2027, 2, 10, 17, tzinfo=LONDON))

    assert [(b.start.isoformat(), b.end.isoformat()) for b in busy[room.id]] == [
        ("2027-02-10T09:45:00+00:00", "2027-02-10T11:15:00+00:00"),  # 10:00-11:00 and its 15-minute buffer
        ("2027-02-10T14:00:00+00:00", "2027-02-10T15:00:00+00:00"),  # the blackout
    ]
    quiet = adapter.room_busy([room], datetime(2027, 2, 10, 11, 30, tzinfo=LONDON),
                              datetime(2027, 2, 10, 13, 30, tzinfo=LONDON))
    assert quiet == {room.id: []}


def test_a_room_that_needs_approval_is_reported_pending(site: Site) -> None:
    adapter = site.connect()
    ref = adapter.create_session(session(room="3"), key="p.librebooking.g1", fresh=True)
    assert ref.extra["approval"] == "pending_approval"
    assert adapter.get_session(ref).ref.extra["approval"] == "pending_approval"


def test_learners_are_participants_within_the_rooms_capacity(site: Site) -> None:
    adapter = site.connect()
    small = session(room="2")
    ref = adapter.create_session(small, key="s.librebooking.g1", fresh=True)
    updates_before = site.posts(f"/Reservations/{ref.external_id}")
    with pytest.raises(CapacityFull, match="holds 2 participants"):
        adapter.enrol(ref, small, LEARNERS[:3])
    assert site.posts(f"/Reservations/{ref.external_id}") == updates_before, "refused before the update is sent"
    members = adapter.enrol(ref, small, [*LEARNERS[:2], Person(email="nobody@example.org", name="No Body")])
    assert [m.status for m in members] == ["participant", "participant", "no_account"]
    assert {m.email for m in adapter.list_roster(ref)} == {LEARNERS[0].email, LEARNERS[1].email}


def test_a_reschedule_keeps_the_roster_and_the_owner(site: Site) -> None:
    adapter = site.connect()
    booked = session()
    ref = adapter.create_session(booked, key="r.librebooking.g1", fresh=True)
    adapter.enrol(ref, booked, LEARNERS[:2])
    moved = booked.rescheduled(session(day=12).slot)
    adapter.reschedule_session(ref, moved)
    stored = site.simulator.site.reservations[ref.external_id]
    assert stored.owner_id == int(adapter.auth.user_id)
    assert len(stored.participants) == 2
    assert adapter.get_session(ref).start == moved.slot.start


def test_an_update_answered_by_a_php_error_is_believed_only_when_read_back(site: Site) -> None:
    adapter = site.connect()
    booked = session()
    ref = adapter.create_session(booked, key="u.librebooking.g1", fresh=True)
    site.simulator.fail_next_write_after_saving()
    adapter.reschedule_session(ref, booked.rescheduled(session(day=15).slot))  # saved, then a 500: accepted
    assert adapter.get_session(ref).start == session(day=15).slot.start


def test_cancel_twice_reads_the_empty_answer_as_gone(site: Site) -> None:
    adapter = site.connect()
    ref = adapter.create_session(session(), key="c.librebooking.g1", fresh=True)
    adapter.cancel_session(ref)
    adapter.cancel_session(ref)  # LibreBooking answers an empty 200; the read proves it gone
    assert site.simulator.php_errors[-1].startswith("delete of unknown reservation")


def test_an_expired_session_is_replaced_once(site: Site) -> None:
    adapter = site.connect()
    assert list(adapter.list_rooms())
    site.simulator.expire_sessions()
    assert list(adapter.list_rooms())
    assert adapter.auth.sign_ins == 2


def test_an_idle_token_is_replaced_before_it_is_used(site: Site) -> None:
    now = [1000.0]
    adapter = site.connect(clock=lambda: now[0])
    assert list(adapter.list_rooms())
    now[0] += 29.5 * 60  # past the session's 30 minutes less the margin
    assert list(adapter.list_rooms())
    assert adapter.auth.sign_ins == 2
    assert not any(r.path.endswith("/Resources/") and r.headers.get("x-booked-sessiontoken") is None
                   for r in site.server.requests)


def test_a_refused_password_is_an_auth_error_with_librebookings_message(site: Site) -> None:
    adapter = site.connect(password="not-" + PLACEHOLDER_PASSWORD)
    with pytest.raises(AuthError, match="Invalid username or password"):
        list(adapter.list_rooms())
    assert site.posts("/Authentication/Authenticate") == 1


def test_close_signs_the_session_out(site: Site) -> None:
    adapter = site.connect()
    assert list(adapter.list_rooms())
    assert len(site.simulator.site.sessions) == 1
    adapter.close()
    assert site.simulator.site.sessions == {}


def test_doctor_says_whether_the_account_is_an_administrator(site: Site) -> None:
    ordinary = {check.name: check for check in site.connect().diagnose()}
    assert ordinary["not an administrator"].ok
    admin = {check.name: check for check in site.connect(username="admin", password="admin-" + PLACEHOLDER_PASSWORD)
             .diagnose()}
    assert not admin["not an administrator"].ok
    assert "bypass" in admin["not an administrator"].detail
    assert len(site.simulator.site.users) == 6, "the probe stores nothing"


def test_rooms_are_listed_with_capacity_and_found_by_name(site: Site) -> None:
    adapter = site.connect()
    rooms = {room.name: room for room in adapter.list_rooms()}
    assert rooms["Quay Meeting Room"].capacity == 2
    assert adapter.resource_id(session().model_copy(update={"room": Room(id="hq", name="quay meeting room")})) == 2
    with pytest.raises(ValidationError, match="not a LibreBooking resource"):
        adapter.resource_id(session().model_copy(update={"room": Room(id="hq", name="Nowhere")}))
