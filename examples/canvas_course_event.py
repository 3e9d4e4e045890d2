"""Canvas: a session becomes a course calendar event shown to a section made for it; learners join the section.

Runs offline against Canvas's sandbox (its simulator served on 127.0.0.1). Against your instance, build the
adapter with ``create_adapter("canvas", {"base_url": "https://<instance>/api/v1", "access_token": ...,
"course_id": ...})``; add ``"native_capacity": True`` to let an appointment group hold the seats too.

    python examples/canvas_course_event.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.models import Meeting, Modality, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import sandboxed_adapters


def main() -> None:
    start = datetime(2027, 4, 14, 15, 0, tzinfo=ZoneInfo("America/New_York"))
    session = Session(
        id="example.canvas.2027-04-14",
        title="Forklift Safety (virtual)",
        slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="America/New_York"),
        modality=Modality.VIRTUAL,
        meeting=Meeting(provider="external", join_url="https://meet.example.org/forklift-safety"),
        capacity=2,
        course_id="101",
    )
    learners = [
        Person(email="amara.okafor@example.org", name="Amara Okafor", timezone="America/New_York"),
        Person(email="kenji.sato@example.org", name="Kenji Sato", timezone="Asia/Tokyo"),
        Person(email="lena.fischer@example.org", name="Lena Fischer", timezone="Europe/Berlin"),
    ]
    with sandboxed_adapters(["canvas"]) as sandbox:
        canvas = sandbox.adapters["canvas"]
        scheduler = Scheduler([canvas], MemoryLedger())
        scheduler.schedule(session)
        for enrolment in scheduler.enrol_many(session.id, learners):
            print(f"  {enrolment.person.name:<13} {enrolment.status.value}")
        ref = scheduler.ledger.get_ref(session.id, "canvas")
        assert ref is not None
        print(f"scheduled {session.title}: Canvas event {ref.external_id}, section {ref.extra['section_id']}")
        print(f"Canvas section roster: {', '.join(m.email for m in canvas.list_roster(ref))}")
        print(f"Canvas calls: {sandbox.calls()}")


if __name__ == "__main__":
    main()
