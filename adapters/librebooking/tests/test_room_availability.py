"""A LibreBooking room held outside this ledger: the scheduler sees it through the adapter's ``room_busy``.

Someone books the room (or the site blacks it out) in LibreBooking itself; the scheduler's conflict check reads
what holds the room from LibreBooking (``check_free_busy``) and refuses the session before anything is sent, and the room is not
offered as free at that time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import DoubleBooked
from lms_connectors.models import Modality, Room, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger

from .conftest import Site

LONDON = ZoneInfo("Europe/London")
HARBOUR = Room(id="1", name="Harbour Training Room", provider="librebooking")


def _slot(hour: int) -> TimeSlot:
    start = datetime(2027, 2, 16, hour, tzinfo=LONDON)
    return TimeSlot(start=start, end=start + timedelta(hours=1), timezone="Europe/London")


def _session(session_id: str, hour: int) -> Session:
    return Session(id=session_id, title=session_id, slot=_slot(hour), modality=Modality.IN_PERSON, room=HARBOUR)


def test_a_reservation_made_in_librebooking_refuses_the_session_before_any_write(site: Site) -> None:
    outsider = site.connect()  # someone else booking the room in LibreBooking, not through this ledger
    outsider.create_session(_session("their-meeting", 10), key="theirs.librebooking.g1", fresh=True)
    posts = site.posts("/Reservations/")
    scheduler = Scheduler([site.connect()], MemoryLedger(), check_free_busy=True)

    with pytest.raises(DoubleBooked) as refused:
        scheduler.schedule(_session("induction", 10))

    assert "room:librebooking/1" in str(refused.value)
    assert site.posts("/Reservations/") == posts  # nothing sent
    assert scheduler.schedule(_session("induction", 11)).id == "induction"  # the next hour is free


def test_a_blackout_takes_the_room_out_of_the_free_rooms(site: Site) -> None:
    site.simulator.add_blackout(1, datetime(2027, 2, 16, 9, tzinfo=LONDON), datetime(2027, 2, 16, 12, tzinfo=LONDON),
                                "Maintenance")
    scheduler = Scheduler([site.connect()], MemoryLedger())

    free_during = [room.id for room in scheduler.available_rooms(_slot(10))]
    free_after = [room.id for room in scheduler.available_rooms(_slot(13))]

    assert "1" not in free_during
    assert "1" in free_after
