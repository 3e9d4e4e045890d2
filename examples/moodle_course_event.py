"""Moodle: an in-person session becomes a course event with a group of its own, and learners are enrolled.

Runs offline against Moodle's sandbox (its simulator served on 127.0.0.1). Against your site, build the adapter
with ``create_adapter("moodle", {"base_url": ..., "token": ..., "course_id": ...})``; nothing else changes.

    python examples/moodle_course_event.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.models import Modality, Person, Room, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import sandboxed_adapters


def main() -> None:
    start = datetime(2027, 4, 7, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    session = Session(
        id="example.moodle.2027-04-07",
        title="First Aid Refresher (in person)",
        slot=TimeSlot(start=start, end=start + timedelta(hours=3), timezone="Europe/Berlin"),
        modality=Modality.IN_PERSON,
        room=Room(id="b2-014", name="Building 2, room 014"),
        capacity=2,
    )
    learners = [
        Person(email="lena@example.org", name="Lena Fischer", timezone="Europe/Berlin"),
        Person(email="marek@example.org", name="Marek Nowak", timezone="Europe/Warsaw"),
        Person(email="ines@example.org", name="Ines Costa", timezone="Europe/Lisbon"),
    ]
    with sandboxed_adapters(["moodle"]) as sandbox:
        moodle = sandbox.adapters["moodle"]
        scheduler = Scheduler([moodle], MemoryLedger())
        scheduler.schedule(session)
        for enrolment in scheduler.enrol_many(session.id, learners):
            print(f"  {enrolment.person.name:<12} {enrolment.status.value}")
        ref = scheduler.ledger.get_ref(session.id, "moodle")
        assert ref is not None
        print(f"scheduled {session.title}: Moodle event {ref.external_id}, group {ref.extra.get('group_id', '-')}")
        print(f"Moodle roster: {', '.join(m.email for m in moodle.list_roster(ref))}")
        print(f"Moodle calls: {sandbox.calls()}")


if __name__ == "__main__":
    main()
