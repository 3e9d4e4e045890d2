"""LibreBooking: an in-person session books a room; a clashing session is refused with the reservation named.

Runs offline against the adapter's sandbox (the LibreBooking simulator served on 127.0.0.1, set up as the site
the contract cassettes were recorded on: room 1 "Harbour Training Room" with 20 seats, learners with accounts).
Against your site, build the adapter with ``create_adapter("librebooking", {"base_url": ..., "username": ...,
"password": ..., "rooms": {"hq-3": 1}})`` (the adapter's README lists the settings); nothing else changes.

    python examples/librebooking_room.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.errors import SchedulingFailed
from lms_connectors.models import Modality, Person, Room, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import sandboxed_adapters


def main() -> None:
    start = datetime(2027, 4, 13, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    room = Room(id="1", name="Harbour Training Room", location="12 Quay Street")
    session = Session(
        id="example.librebooking.2027-04-13",
        title="Forklift Safety (in person)",
        slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="Europe/London"),
        modality=Modality.IN_PERSON,
        capacity=12,
        room=room,
    )
    learners = [
        Person(email="amara.okafor@example.org", name="Amara Okafor", timezone="America/New_York"),
        Person(email="kenji.sato@example.org", name="Kenji Sato", timezone="Asia/Tokyo"),
    ]
    with sandboxed_adapters(["librebooking"]) as sandbox:
        adapter = sandbox.adapters["librebooking"]
        for listed in adapter.list_rooms():
            print(f"room {listed.id}: {listed.name} ({listed.capacity} seats, {listed.location})")
        scheduler = Scheduler([adapter], MemoryLedger())
        scheduled = scheduler.schedule(session)
        scheduler.enrol_many(session.id, learners)
        ref = scheduler.ledger.get_ref(session.id, "librebooking")
        assert ref is not None
        print(f"scheduled {scheduled.title}: reservation {ref.external_id} ({ref.extra.get('approval')})")
        for member in adapter.list_roster(ref):
            print(f"  participant {member.email}")
        clash = session.model_copy(update={"id": "example.librebooking.clash", "title": "Another course"})
        try:
            # allow_conflicts skips the SDK's own double-booking check, to show LibreBooking's refusal itself.
            scheduler.schedule(clash, allow_conflicts=True)
        except SchedulingFailed as refused:
            print(f"refused: {refused.message}")
        print(f"LibreBooking calls: {sandbox.calls()}")


if __name__ == "__main__":
    main()
