"""CalDAV: an in-person session becomes a VEVENT in a calendar of a real CalDAV server, learners its ATTENDEEs.

Runs offline against the adapter's sandbox: a Radicale server (``pip install 'lms-connectors-caldav[test]'``)
started on 127.0.0.1 in a temporary folder. Against your server, build the adapter with
``create_adapter("caldav", {"base_url": ..., "username": ..., "password": ...})`` (the adapter's README lists the
settings); nothing else changes.

    python examples/caldav_event.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.invites import invite_uid
from lms_connectors.models import Modality, Person, Room, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import sandboxed_adapters


def main() -> None:
    start = datetime(2027, 4, 13, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
    session = Session(
        id="example.caldav.2027-04-13",
        title="First Aid at Work (in person)",
        slot=TimeSlot(start=start, end=start + timedelta(hours=3), timezone="Europe/Paris"),
        modality=Modality.IN_PERSON,
        capacity=8,
        room=Room(id="lyon-2", name="Lyon Room 2", location="Campus Lyon, building B"),
    )
    learners = [
        Person(email="camille@example.org", name="Camille Martin", timezone="Europe/Paris"),
        Person(email="kenji@example.org", name="Kenji Sato", timezone="Asia/Tokyo"),
    ]
    with sandboxed_adapters(["caldav"]) as sandbox:
        adapter = sandbox.adapters["caldav"]
        scheduler = Scheduler([adapter], MemoryLedger())
        scheduled = scheduler.schedule(session)
        scheduler.enrol_many(session.id, learners)
        ref = scheduler.ledger.get_ref(session.id, "caldav")
        assert ref is not None
        print(f"scheduled {scheduled.title}: {ref.external_id} (UID {invite_uid(scheduled)}, as in every invite)")
        for member in adapter.list_roster(ref):
            print(f"  {member.email:<20} {member.status or '-'}")
        print(f"CalDAV calls: {sandbox.calls()}")


if __name__ == "__main__":
    main()
