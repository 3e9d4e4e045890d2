"""Acme LMS (the example vendor adapter): a virtual session becomes an Acme LMS session and learners are enrolled in it.

Runs offline against the provider's sandbox (its simulator served on 127.0.0.1). Against a real tenant, build
the adapter with ``create_adapter("acme_lms", {...})`` (the adapter's page lists the settings); nothing else changes.

    python examples/acme_lms_session.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import sandboxed_adapters


def main() -> None:
    start = datetime(2027, 4, 8, 10, 0, tzinfo=ZoneInfo("Australia/Sydney"))
    session = Session(
        id="example.acme_lms.2027-04-08",
        title="Product Training (virtual)",
        slot=TimeSlot(start=start, end=start + timedelta(minutes=90), timezone="Australia/Sydney"),
        modality=Modality.VIRTUAL,
        capacity=10,
    )
    learners = [
        Person(email="amara@example.org", name="Amara Okafor", timezone="Africa/Lagos"),
        Person(email="yuki@example.org", name="Yuki Tanaka", timezone="Asia/Tokyo"),
    ]
    with sandboxed_adapters(["acme_lms"]) as sandbox:
        adapter = sandbox.adapters["acme_lms"]
        scheduler = Scheduler([adapter], MemoryLedger())
        scheduled = scheduler.schedule(session)
        scheduler.enrol_many(session.id, learners)
        ref = scheduler.ledger.get_ref(session.id, "acme_lms")
        assert ref is not None
        link = scheduled.meeting.join_url if scheduled.meeting else "no link"
        print(f"scheduled {scheduled.title}: {ref.external_id} ({link})")
        for member in adapter.list_roster(ref):
            print(f"  {member.email:<20} {member.status or '-'}")
        print(f"Acme LMS (the example vendor adapter) calls: {sandbox.calls()}")


if __name__ == "__main__":
    main()
