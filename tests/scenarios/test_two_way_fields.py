"""Two-way sync per field: a title, description or attendee answer changed at a provider, decided by the policy.

Each provider's simulator runs on 127.0.0.1. The "person" acts at the provider: an instructor renames the event or
edits its description in her calendar, a learner declines the invitation from her own calendar.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.changes import ChangeKind, ChangePolicy, Decision, apply_changes, poll_changes
from lms_connectors.feeds import follow_feed
from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import SandboxedAdapters, sandboxed_adapters

NY = ZoneInfo("America/New_York")
START = datetime(2027, 3, 16, 9, 0, tzinfo=NY)
LEARNERS = [Person(email=f"{n}@example.org", name=n, timezone="Europe/Berlin") for n in ("ana", "ben", "cy")]
PROVIDERS = ("google_calendar", "zoom", "moodle")
SID = "fields.onboarding"


@pytest.fixture
def served() -> Iterator[SandboxedAdapters]:
    with sandboxed_adapters(PROVIDERS) as sandbox:
        yield sandbox


@pytest.fixture
def scheduler(served: SandboxedAdapters) -> Scheduler:
    scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
    scheduler.schedule(Session(
        id=SID, title="Onboarding", modality=Modality.VIRTUAL, capacity=2, description="Bring your badge.",
        slot=TimeSlot(start=START, end=START + timedelta(hours=1), timezone="America/New_York"),
    ))
    scheduler.enrol_many(SID, LEARNERS)  # ana and ben seated, cy waitlisted
    return scheduler


def _event_id(scheduler: Scheduler) -> str:
    ref = scheduler.ledger.get_ref(SID, "google_calendar")
    assert ref is not None
    return ref.external_id


def _titles(served: SandboxedAdapters, scheduler: Scheduler) -> dict[str, str]:
    titles = {}
    for name, adapter in served.adapters.items():
        ref = scheduler.ledger.get_ref(SID, name)
        assert ref is not None
        titles[name] = adapter.get_session(ref).title
    return titles


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_renamed_object_is_renamed_back_by_default(
    served: SandboxedAdapters, scheduler: Scheduler, provider: str
) -> None:
    session = scheduler.ledger.get_session(SID)
    ref = scheduler.ledger.get_ref(SID, provider)
    assert session is not None and ref is not None
    served.adapters[provider].reschedule_session(ref, session.model_copy(update={"title": "Onboarding (moved to B)"}))
    changes = poll_changes(scheduler, served.adapters[provider])
    assert [(c.kind, c.title) for c in changes] == [(ChangeKind.EDITED, "Onboarding (moved to B)")]
    (applied,) = apply_changes(scheduler, changes)
    assert (applied.decision, applied.outcome) == (Decision.REASSERT, "ledger reasserted")
    assert set(_titles(served, scheduler).values()) == {"Onboarding"}
    assert poll_changes(scheduler, served.adapters[provider]) == []


def test_an_accepted_title_goes_to_the_ledger_and_every_other_provider(
    served: SandboxedAdapters, scheduler: Scheduler
) -> None:
    served.simulators["google_calendar"].edit_event("primary", _event_id(scheduler), {"summary": "Onboarding 2027"})
    changes = poll_changes(scheduler, served.adapters["google_calendar"])
    (applied,) = apply_changes(scheduler, changes, ChangePolicy(edited=Decision.ACCEPT))
    assert applied.outcome == "retitled everywhere to 'Onboarding 2027'"
    stored = scheduler.ledger.get_session(SID)
    assert stored is not None and stored.title == "Onboarding 2027"
    assert set(_titles(served, scheduler).values()) == {"Onboarding 2027"}
    assert all(poll_changes(scheduler, adapter) == [] for adapter in served.adapters.values())


def test_a_description_edited_in_the_calendar_is_written_back(served: SandboxedAdapters, scheduler: Scheduler) -> None:
    simulator = served.simulators["google_calendar"]
    written = simulator.event("primary", _event_id(scheduler))["description"]
    simulator.edit_event("primary", _event_id(scheduler), {"description": "Room changed, see me."})
    changes = poll_changes(scheduler, served.adapters["google_calendar"])
    assert [(c.kind, c.title) for c in changes] == [(ChangeKind.EDITED, "Onboarding")]  # the title is unchanged
    (applied,) = apply_changes(scheduler, changes, ChangePolicy(edited=Decision.ACCEPT))
    assert applied.outcome == "only the description or place changed: ledger reasserted"
    event = simulator.event("primary", _event_id(scheduler))
    assert event["description"] == written and "Bring your badge." in written and "Join: " in written
    assert poll_changes(scheduler, served.adapters["google_calendar"]) == []


def test_a_learner_who_declines_is_unenrolled_and_the_waitlist_moves_up_everywhere(
    served: SandboxedAdapters, scheduler: Scheduler
) -> None:
    served.simulators["google_calendar"].respond("primary", _event_id(scheduler), "ana@example.org", "declined")
    changes = poll_changes(scheduler, served.adapters["google_calendar"])
    assert [(c.kind, c.email) for c in changes] == [(ChangeKind.LEARNER_LEFT, "ana@example.org")]
    (applied,) = apply_changes(scheduler, changes)
    assert applied.outcome == "unenrolled (the waitlist moves up)"
    statuses = {e.person.email: e.status.value for e in scheduler.roster(SID)}
    assert statuses == {"ana@example.org": "cancelled", "ben@example.org": "confirmed", "cy@example.org": "confirmed"}
    event = served.simulators["google_calendar"].event("primary", _event_id(scheduler))
    assert {a["email"] for a in event["attendees"]} >= {"ben@example.org", "cy@example.org"}
    assert "ana@example.org" not in {a["email"] for a in event["attendees"]}
    zoom_ref = scheduler.ledger.get_ref(SID, "zoom")
    assert zoom_ref is not None
    approved = {m.email for m in served.adapters["zoom"].list_roster(zoom_ref) if m.status == "approved"}
    assert approved == {"ben@example.org", "cy@example.org"}


def test_an_adapter_without_a_feed_is_polled(served: SandboxedAdapters, scheduler: Scheduler) -> None:
    zoom = served.adapters["zoom"]
    ref = scheduler.ledger.get_ref(SID, "zoom")
    session = scheduler.ledger.get_session(SID)
    assert ref is not None and session is not None
    zoom.reschedule_session(ref, session.model_copy(update={"title": "Renamed by the host"}))
    read, applied = follow_feed(scheduler, zoom)
    assert (read.scope, read.cursor, read.full) == (None, None, True)
    assert [a.change.kind for a in applied] == [ChangeKind.EDITED]
    assert read.calls == 3  # one listing of the window, approved and pending registrants
    assert _titles(served, scheduler)["zoom"] == "Onboarding"


def test_the_ledger_owns_the_link_and_the_capacity() -> None:
    for field in ("relinked", "resized"):
        with pytest.raises(ValueError, match="the ledger owns the meeting link and the capacity"):
            ChangePolicy(**{field: Decision.ACCEPT})
