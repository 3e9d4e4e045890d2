"""Two-way sync by polling: a change made directly at a provider is found, decided by policy, and followed.

Each provider's simulator runs on 127.0.0.1. The "person" acts through the provider's own API with a second
client (the adapter called directly, outside the scheduler and its ledger), as an instructor dragging the event
in her calendar or an admin removing a group member would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.changes import ChangeKind, ChangePolicy, Decision, apply_changes, poll_changes
from lms_connectors.invite_folder import sync_invites
from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import SandboxedAdapters, sandboxed_adapters

NY = ZoneInfo("America/New_York")
START = datetime(2027, 3, 16, 9, 0, tzinfo=NY)
LEARNERS = [Person(email=f"{n}@example.org", name=n, timezone="Europe/Berlin") for n in ("ana", "ben", "cy")]
PROVIDERS = ("google_calendar", "zoom", "moodle")


@pytest.fixture
def served() -> Iterator[SandboxedAdapters]:
    with sandboxed_adapters(PROVIDERS) as sandbox:
        yield sandbox


def _scheduled(served: SandboxedAdapters) -> tuple[Scheduler, Session]:
    scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
    session = Session(
        id="twoway.onboarding", title="Onboarding", modality=Modality.VIRTUAL, capacity=2,
        slot=TimeSlot(start=START, end=START + timedelta(hours=1), timezone="America/New_York"),
    )
    scheduler.schedule(session)
    scheduler.enrol_many(session.id, LEARNERS)  # ana and ben seated, cy waitlisted
    return scheduler, scheduler.ledger.get_session(session.id) or session


def _moved_by_a_person(served: SandboxedAdapters, scheduler: Scheduler, provider: str, hours: int) -> TimeSlot:
    session = scheduler.ledger.get_session("twoway.onboarding")
    assert session is not None
    ref = scheduler.ledger.get_ref(session.id, provider)
    assert ref is not None
    moved = TimeSlot(start=START + timedelta(hours=hours), end=START + timedelta(hours=hours + 1),
                     timezone="America/New_York")
    served.adapters[provider].reschedule_session(ref, session.rescheduled(moved))
    return moved


def _starts(served: SandboxedAdapters, scheduler: Scheduler) -> dict[str, datetime]:
    starts = {}
    for name, adapter in served.adapters.items():
        ref = scheduler.ledger.get_ref("twoway.onboarding", name)
        assert ref is not None
        starts[name] = adapter.get_session(ref).start.astimezone(UTC)
    return starts


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_move_is_reasserted_by_default(served: SandboxedAdapters, provider: str) -> None:
    scheduler, _ = _scheduled(served)
    _moved_by_a_person(served, scheduler, provider, 2)
    changes = poll_changes(scheduler, served.adapters[provider])
    assert [(c.kind, c.provider) for c in changes] == [(ChangeKind.MOVED, provider)]
    (applied,) = apply_changes(scheduler, changes)
    assert applied.decision is Decision.REASSERT
    assert set(_starts(served, scheduler).values()) == {START.astimezone(UTC)}
    assert poll_changes(scheduler, served.adapters[provider]) == []
    entry = [e for e in scheduler.ledger.iter_audit("twoway.onboarding") if e.action == "change.moved"][-1]
    assert entry.detail["decision"] == "reassert" and entry.provider == provider


def test_an_accepted_move_follows_everywhere_and_the_invites_too(served: SandboxedAdapters, tmp_path: Path) -> None:
    scheduler, session = _scheduled(served)
    sync_invites(session, scheduler.roster(session.id), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.ics")}
    moved = _moved_by_a_person(served, scheduler, "google_calendar", 3)
    changes = poll_changes(scheduler, served.adapters["google_calendar"])
    apply_changes(scheduler, changes, ChangePolicy(moved=Decision.ACCEPT))
    assert set(_starts(served, scheduler).values()) == {moved.start.astimezone(UTC)}
    stored = scheduler.ledger.get_session(session.id)
    assert stored is not None and stored.slot == moved
    written = sync_invites(stored, scheduler.roster(session.id), tmp_path)
    invites = [p for p in written.written if p.suffix == ".ics"]
    assert len(invites) == 2 and all(p.read_bytes() != before[p.name] for p in invites)
    assert all(b"SEQUENCE:1" in p.read_bytes() for p in invites)
    assert any(p.name.endswith(".waitlist.txt") for p in written.written)  # Cy's notice shows the new time


def test_a_learner_removed_at_the_lms_is_unenrolled_and_the_waitlist_moves_up(served: SandboxedAdapters) -> None:
    scheduler, session = _scheduled(served)
    ref = scheduler.ledger.get_ref(session.id, "moodle")
    assert ref is not None
    served.adapters["moodle"].unenrol(ref, session, [LEARNERS[0]])  # an admin removes Ana from the group
    changes = poll_changes(scheduler, served.adapters["moodle"])
    assert [(c.kind, c.email) for c in changes] == [(ChangeKind.LEARNER_LEFT, "ana@example.org")]
    apply_changes(scheduler, changes)
    statuses = {e.person.email: e.status.value for e in scheduler.roster(session.id)}
    assert statuses == {"ana@example.org": "cancelled", "ben@example.org": "confirmed", "cy@example.org": "confirmed"}
    for name in ("zoom", "google_calendar", "moodle"):  # every provider follows: Ana out, Cy in
        assert poll_changes(scheduler, served.adapters[name]) == []
    zoom_ref = scheduler.ledger.get_ref(session.id, "zoom")
    assert zoom_ref is not None
    approved = {m.email for m in served.adapters["zoom"].list_roster(zoom_ref) if m.status == "approved"}
    assert approved == {"ben@example.org", "cy@example.org"}


def test_a_deleted_meeting_is_flagged_not_recreated_unless_the_policy_says_so(served: SandboxedAdapters) -> None:
    scheduler, session = _scheduled(served)
    ref = scheduler.ledger.get_ref(session.id, "zoom")
    assert ref is not None
    served.adapters["zoom"].cancel_session(ref)  # the host deletes the meeting
    changes = poll_changes(scheduler, served.adapters["zoom"])
    assert [c.kind for c in changes] == [ChangeKind.DELETED]
    (flagged,) = apply_changes(scheduler, changes)
    assert flagged.outcome == "flagged for a person"
    assert scheduler.ledger.get_ref(session.id, "zoom") == ref  # nothing was made again behind her back
    (recreated,) = apply_changes(scheduler, changes, ChangePolicy(deleted=Decision.REASSERT))
    assert recreated.outcome == "ledger reasserted"
    new_ref = scheduler.ledger.get_ref(session.id, "zoom")
    assert new_ref is not None and new_ref.external_id != ref.external_id
    assert poll_changes(scheduler, served.adapters["zoom"]) == []


def test_two_providers_moved_differently_the_ledger_breaks_the_tie(served: SandboxedAdapters) -> None:
    scheduler, _ = _scheduled(served)
    _moved_by_a_person(served, scheduler, "google_calendar", 1)
    _moved_by_a_person(served, scheduler, "moodle", 2)
    changes = [c for name in ("google_calendar", "moodle") for c in poll_changes(scheduler, served.adapters[name])]
    applied = apply_changes(scheduler, changes, ChangePolicy(moved=Decision.ACCEPT))
    assert {a.decision for a in applied} == {Decision.REASSERT}
    assert all(a.outcome == "providers disagreed: ledger kept and reasserted" for a in applied)
    assert set(_starts(served, scheduler).values()) == {START.astimezone(UTC)}


def test_a_poll_costs_one_listing_and_one_roster_read_per_session(served: SandboxedAdapters) -> None:
    scheduler, _ = _scheduled(served)
    for name, adapter in served.adapters.items():
        before = adapter.transport.counter.total
        assert poll_changes(scheduler, adapter) == []
        cost = adapter.transport.counter.total - before
        assert cost <= 3, (name, cost)  # listing + roster (Zoom reads approved and pending registrants)
