"""Embed lms-connectors in a script: one virtual session on Zoom and Google Calendar, three learners.

Runs offline: each provider is its sandbox served on 127.0.0.1 (the same simulator the contract kit records
against). Against real tenants, build the adapters with ``create_adapter(name, config)`` instead; nothing else
changes.

    python examples/embed.py
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar

from lms_connectors.errors import ConnectorError
from lms_connectors.invites import build_invite
from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.sqlite import SQLiteLedger
from lms_connectors.testing.sandbox import SandboxServer


def main() -> None:
    start = datetime(2027, 3, 18, 14, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    session = Session(
        id="example.python-basics.2027-03-18",
        title="Python Basics (virtual)",
        slot=TimeSlot(start=start, end=start + timedelta(minutes=90), timezone="Europe/Berlin"),
        modality=Modality.VIRTUAL,
        capacity=2,
    )
    learners = [
        Person(email="ana@example.org", name="Ana Lima", timezone="America/Sao_Paulo"),
        Person(email="kenji@example.org", name="Kenji Sato", timezone="Asia/Tokyo"),
        Person(email="lena@example.org", name="Lena Fischer", timezone="Europe/Berlin"),
    ]
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        adapters = []
        for name in ("zoom", "google_calendar"):
            harness = load_harness(name)
            server = stack.enter_context(SandboxServer(harness.make_simulator()))
            adapters.append(harness.build_adapter(server.url, sleep=lambda _s: None))
        scheduler = Scheduler(adapters, SQLiteLedger(Path(tmp) / "ledger.sqlite"))
        try:
            scheduled = scheduler.schedule(session)
            enrolments = scheduler.enrol_many(session.id, learners)
        except ConnectorError as exc:
            raise SystemExit(f"scheduling failed: {exc}") from exc
        print(f"{scheduled.title}: join at {scheduled.meeting.join_url if scheduled.meeting else '-'}")
        for enrolment in enrolments:
            local = scheduled.slot.local_start(enrolment.person.timezone)
            print(f"  {enrolment.person.name:<14} {enrolment.status.value:<11} {local:%a %d %b %H:%M %Z}")
        invite = build_invite(
            scheduled, organizer=None, attendees=[learners[1]], method="REQUEST", for_person=learners[1]
        )
        event = Calendar.from_ical(invite).walk("VEVENT")[0]
        print(f"Kenji's invite ({len(invite)} bytes): starts {event.decoded('DTSTART'):%Y-%m-%d %H:%M %Z} his time")


if __name__ == "__main__":
    main()
