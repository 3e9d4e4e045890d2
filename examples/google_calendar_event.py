"""Google Calendar: a virtual session becomes an event with a Google Meet link Google makes, and learners are its attendees.

Runs offline against the provider's sandbox (its simulator served on 127.0.0.1). Against a real tenant, build
the adapter with ``create_adapter("google_calendar", {...})`` (the adapter's page lists the settings); nothing else changes.

    python examples/google_calendar_event.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import sandboxed_adapters


def main() -> None:
    start = datetime(2027, 4, 8, 10, 0, tzinfo=ZoneInfo("America/Chicago"))
    session = Session(
        id="example.google_calendar.2027-04-08",
        title="Data Literacy (virtual)",
        slot=TimeSlot(start=start, end=start + timedelta(minutes=90), timezone="America/Chicago"),
        modality=Modality.VIRTUAL,
        capacity=10,
    )
    learners = [
        Person(email="amara@example.org", name="Amara Okafor", timezone="Africa/Lagos"),
        Person(email="yuki@example.org", name="Yuki Tanaka", timezone="Asia/Tokyo"),
    ]
    with sandboxed_adapters(["google_calendar"]) as sandbox:
        adapter = sandbox.adapters["google_calendar"]
        scheduler = Scheduler([adapter], MemoryLedger())
        scheduled = scheduler.schedule(session)
        scheduler.enrol_many(session.id, learners)
        ref = scheduler.ledger.get_ref(session.id, "google_calendar")
        assert ref is not None
        link = scheduled.meeting.join_url if scheduled.meeting else "no link"
        print(f"scheduled {scheduled.title}: {ref.external_id} ({link})")
        for member in adapter.list_roster(ref):
            print(f"  {member.email:<20} {member.status or '-'}")
        print(f"Google Calendar calls: {sandbox.calls()}")


if __name__ == "__main__":
    main()
