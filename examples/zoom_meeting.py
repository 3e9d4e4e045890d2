"""Zoom: a virtual session becomes a scheduled Zoom meeting, and each learner her own registrant join link.

Runs offline against Zoom's sandbox (its simulator served on 127.0.0.1). Against your account, build the
adapter with ``create_adapter("zoom", {...})`` (the adapter's page lists the settings); nothing else changes.

    python examples/zoom_meeting.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import sandboxed_adapters


def main() -> None:
    start = datetime(2027, 4, 6, 15, 0, tzinfo=ZoneInfo("Europe/London"))
    session = Session(
        id="example.zoom.2027-04-06",
        title="Negotiation Skills (virtual)",
        slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="Europe/London"),
        modality=Modality.VIRTUAL,
        capacity=20,
    )
    learners = [
        Person(email="ana@example.org", name="Ana Lima", timezone="America/Sao_Paulo"),
        Person(email="kenji@example.org", name="Kenji Sato", timezone="Asia/Tokyo"),
    ]
    with sandboxed_adapters(["zoom"]) as sandbox:
        scheduler = Scheduler(list(sandbox.adapters.values()), MemoryLedger())
        scheduled = scheduler.schedule(session)
        enrolments = scheduler.enrol_many(session.id, learners)
        print(f"scheduled {scheduled.title}: Zoom meeting {scheduled.meeting.join_url if scheduled.meeting else '-'}")
        for enrolment in enrolments:
            print(f"  {enrolment.person.name:<10} joins with {enrolment.join_url(scheduled)}")
        print(f"Zoom calls: {sandbox.calls()}")


if __name__ == "__main__":
    main()
