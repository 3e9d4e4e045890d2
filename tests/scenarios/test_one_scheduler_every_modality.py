"""One scheduler, Zoom and Google Calendar installed: only the virtual session gets a Zoom meeting.

Both providers are their simulators served on 127.0.0.1; what each holds is read from the simulator's state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import Adapter
from lms_connectors.models import Modality, Room, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer


@pytest.fixture
def sandboxes() -> Iterator[dict[str, tuple[Any, Adapter]]]:
    with contextlib.ExitStack() as stack:
        found: dict[str, tuple[Any, Adapter]] = {}
        for name in ("zoom", "google_calendar"):
            harness = load_harness(name)
            simulator = harness.make_simulator()
            server = stack.enter_context(SandboxServer(simulator))
            adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
            stack.callback(adapter.close)
            found[name] = (simulator, adapter)
        yield found


def _session(session_id: str, modality: Modality, room: Room | None = None) -> Session:
    start = datetime(2027, 3, 16, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    return Session(
        id=session_id,
        title=f"Forklift Safety ({modality.value})",
        slot=TimeSlot(start=start, end=start + timedelta(hours=3), timezone="America/New_York"),
        modality=modality,
        room=room,
        capacity=12,
    )


def test_one_scheduler_gives_a_zoom_meeting_to_the_virtual_session_only(
    sandboxes: dict[str, tuple[Any, Adapter]],
) -> None:
    zoom_sim, zoom = sandboxes["zoom"]
    google_sim, google = sandboxes["google_calendar"]
    scheduler = Scheduler([google, zoom], MemoryLedger())
    room = Room(id="hq-3", name="HQ Training Room 3", location="HQ, 3rd floor")

    in_person = scheduler.schedule(_session("ilt-101.in-person", Modality.IN_PERSON, room))
    virtual = scheduler.schedule(_session("ilt-101.virtual", Modality.VIRTUAL))

    with zoom_sim.lock:
        meetings = list(zoom_sim.meetings.values())
    assert len(meetings) == 1 and "ilt-101.virtual" in str(meetings[0].body)
    assert in_person.meeting is None
    assert virtual.meeting is not None and virtual.meeting.provider == "zoom"
    with google_sim.lock:
        events = [e for e in google_sim.calendars[google_sim.organizer].events.values() if e.get("status") != "cancelled"]
    assert len(events) == 2
    by_title = {e["summary"]: e for e in events}
    assert virtual.meeting.join_url in str(by_title["Forklift Safety (virtual)"])
    in_person_event = by_title["Forklift Safety (in_person)"]
    assert "zoom.us" not in str(in_person_event) and "conferenceData" not in in_person_event
    assert [r.provider for r in scheduler.ledger.list_refs("ilt-101.in-person")] == ["google_calendar"]
