"""Two-way sync with the LMSs (Canvas, Moodle): their feeds read the session window at a bounded cost.

Neither LMS pushes nor keeps a change log a web-service user can read, so their feeds list the window each time,
with every session's roster in a few calls. The simulators run on 127.0.0.1; the test plays an administrator who
removes a learner, renames an event or moves it in the LMS. Google Calendar is the other provider that follows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.changes import ChangeKind, ChangePolicy, Decision, poll_changes
from lms_connectors.feeds import change_feed_of, follow_feed, read_feed
from lms_connectors.invite_folder import sync_invites
from lms_connectors.models import Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import SandboxedAdapters, sandboxed_adapters

NY = ZoneInfo("America/New_York")
START = datetime(2027, 3, 15, 9, 0, tzinfo=NY)
SESSIONS = 10
LMSS = ("canvas", "moodle")


def _slot(day: int, hours: int = 0) -> TimeSlot:
    start = START + timedelta(days=day, hours=hours)
    return TimeSlot(start=start, end=start + timedelta(hours=2), timezone="America/New_York")


@pytest.fixture(params=LMSS)
def term(request: pytest.FixtureRequest) -> Iterator[tuple[SandboxedAdapters, Scheduler, str]]:
    lms = str(request.param)
    with sandboxed_adapters([lms, "google_calendar"]) as served:
        scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
        extras = served.harnesses[lms].session_extras() if hasattr(served.harnesses[lms], "session_extras") else {}
        for index in range(SESSIONS):
            sid = f"term.{index:02d}"
            scheduler.schedule(Session(id=sid, title=f"Safety {index}", slot=_slot(index), capacity=2, **extras))
            scheduler.enrol_many(sid, [Person(email=f"{who}{index}@example.org", name=f"{who} {index}")
                                       for who in ("ana", "ben", "cy")])  # cy waitlisted
        yield served, scheduler, lms


def test_a_window_read_costs_a_few_calls_whatever_the_number_of_sessions(
    term: tuple[SandboxedAdapters, Scheduler, str],
) -> None:
    served, scheduler, lms = term
    adapter = served.adapters[lms]
    assert change_feed_of(adapter) is not None
    read = read_feed(scheduler, adapter)
    assert read.changes == [] and read.full and read.cursor is None
    assert len(read.seen) == SESSIONS
    before = adapter.call_count
    assert poll_changes(scheduler, adapter) == []
    polled = adapter.call_count - before
    # Moodle: events, groups, all groups' members at once, their accounts; Canvas: events and the course's
    # enrolments. Polling reads each session's roster instead.
    assert read.calls == {"moodle": 4, "canvas": 2}[lms]
    assert polled == {"moodle": 1 + 2 * SESSIONS, "canvas": 1 + SESSIONS}[lms]


def test_changes_made_in_the_lms_arrive_through_the_feed_and_google_and_the_invites_follow(
    term: tuple[SandboxedAdapters, Scheduler, str], tmp_path: Path,
) -> None:
    served, scheduler, lms = term
    adapter = served.adapters[lms]
    removed, renamed, moved = "term.01", "term.02", "term.03"
    for sid in (removed, renamed, moved):
        session, ref = scheduler.ledger.get_session(sid), scheduler.ledger.get_ref(sid, lms)
        assert session is not None and ref is not None
        if sid == removed:  # an administrator takes Ana out of the section or group
            adapter.unenrol(ref, session, [Person(email="ana1@example.org", name="ana 1")])
        elif sid == renamed:
            adapter.reschedule_session(ref, session.model_copy(update={"title": "Safety 2 (cancelled?)"}))
        else:
            adapter.reschedule_session(ref, session.rescheduled(_slot(3, hours=2)))
    planned = scheduler.ledger.get_session(moved)
    assert planned is not None
    assert sync_invites(planned, scheduler.roster(moved), tmp_path).written
    read, applied = follow_feed(scheduler, adapter, ChangePolicy(moved=Decision.ACCEPT))
    decided = {(a.change.session_id, a.change.kind, a.decision) for a in applied}
    assert decided == {
        (removed, ChangeKind.LEARNER_LEFT, Decision.ACCEPT),
        (renamed, ChangeKind.EDITED, Decision.REASSERT),
        (moved, ChangeKind.MOVED, Decision.ACCEPT),
    }
    assert all(a.change.source == f"{lms}-feed" for a in applied)
    statuses = {e.person.email: e.status.value for e in scheduler.roster(removed)}
    assert statuses == {"ana1@example.org": "cancelled", "ben1@example.org": "confirmed", "cy1@example.org": "confirmed"}
    google = served.adapters["google_calendar"]
    google_ref = scheduler.ledger.get_ref(removed, "google_calendar")
    assert google_ref is not None
    assert {m.email for m in google.list_roster(google_ref)} == {"ben1@example.org", "cy1@example.org"}
    renamed_ref = scheduler.ledger.get_ref(renamed, lms)
    assert renamed_ref is not None and adapter.get_session(renamed_ref).title == "Safety 2"
    stored = scheduler.ledger.get_session(moved)
    assert stored is not None and stored.slot == _slot(3, hours=2)
    moved_ref = scheduler.ledger.get_ref(moved, "google_calendar")
    assert moved_ref is not None and google.get_session(moved_ref).start.astimezone(UTC) == _slot(3, 2).start_utc()
    written = sync_invites(stored, scheduler.roster(moved), tmp_path)
    assert any(b"SEQUENCE:1" in p.read_bytes() for p in written.written if p.suffix == ".ics")
    again, applied = follow_feed(scheduler, adapter)
    assert applied == [] and again.calls == read.calls
