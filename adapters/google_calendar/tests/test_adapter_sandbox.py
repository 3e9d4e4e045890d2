"""The adapter against the Calendar simulator on loopback: idempotency, faults, roster, listing, Meet.

Every request these tests make is also checked against Google's discovery document (see ``conftest.server``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import (
    AuthError,
    Conflict,
    NotFound,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    SchedulingFailed,
    TransientError,
)
from lms_connectors.models import EnrollmentStatus, Meeting, Modality, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter
from lms_connectors_google_calendar.ids import event_id_for_key
from lms_connectors_google_calendar.sandbox import GoogleCalendarSimulator

from .conftest import NY, REFRESH_TOKEN, ROOM, config_for, learner, make_session

KEY = "s-1.google_calendar.g1"
EVENTS = r"/calendar/v3/calendars/primary/events"


def api_calls(server: SandboxServer) -> list[tuple[str, str]]:
    return [(r.method, r.path.rsplit("/", 1)[-1] if "/events/" in r.path else r.path) for r in server.requests if r.path != "/token"]


def live(simulator: GoogleCalendarSimulator) -> list[dict]:
    return simulator.events(include_deleted=False)


# -- create ---------------------------------------------------------------------------------------------


def test_create_reads_back_equal(adapter, server, simulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    assert ref.external_id == event_id_for_key(KEY)
    back = adapter.get_session(ref)
    assert (back.start, back.end, back.timezone) == (session.slot.start, session.slot.end, "America/New_York")
    assert back.title == session.title and back.location == "Room 101, HQ, floor 1" and back.capacity == 12
    event = live(simulator)[0]
    assert event["guestsCanInviteOthers"] is False
    assert {"email": ROOM.email, "displayName": "Room 101", "resource": True, "responseStatus": "accepted"} in event["attendees"]
    insert = next(server.requests_to("POST", EVENTS + "$"))
    assert insert.query == {"sendUpdates": ["all"]}  # no conferenceDataVersion for an in-person session


def test_commit_then_drop_leaves_exactly_one_event(adapter, server, simulator) -> None:
    server.faults.add(Fault.drop_after_commit(method="POST", path=EVENTS + "$"))
    ref = adapter.create_session(make_session(), key=KEY)
    assert len(simulator.events()) == 1
    assert ref.external_id == simulator.events()[0]["id"]
    assert api_calls(server) == [("POST", EVENTS), ("POST", EVENTS), ("GET", ref.external_id)]


def test_create_twice_is_one_event(adapter, simulator) -> None:
    first = adapter.create_session(make_session(), key=KEY)
    second = adapter.create_session(make_session(), key=KEY)
    assert first.external_id == second.external_id
    assert len(simulator.events()) == 1
    assert adapter.find_session(KEY) == second


def test_recreate_after_cancel_needs_a_new_generation(adapter, simulator) -> None:
    ref = adapter.create_session(make_session(), key=KEY)
    adapter.cancel_session(ref)
    with pytest.raises(Conflict, match="new key generation"):
        adapter.create_session(make_session(), key=KEY)
    again = adapter.create_session(make_session(), key="s-1.google_calendar.g2")
    assert again.external_id != ref.external_id
    assert len(live(simulator)) == 1


def test_403_rate_limit_is_waited_out_without_duplicate(server, simulator, sleeps) -> None:
    # The simulator answers Google's own 403 rateLimitExceeded past one insert per 10 s window. Its clock stands
    # a microsecond before a window ends and the adapter's backoff waits move it, so a wait lets the next try in.
    simulator.clock.freeze(datetime(2027, 1, 4, 12, 0, 9, 999_999, tzinfo=ZoneInfo("UTC")))
    simulator.throttle(calls=1, seconds=10, method="POST", path=EVENTS + "$")
    adapter = GoogleCalendarAdapter(config_for(server.url), sleep=lambda s: (sleeps(s), simulator.clock.advance(s)))
    adapter.create_session(make_session("s-0", room=None), key="s-0.google_calendar.g1")
    adapter.create_session(make_session(), key=KEY)
    refused = [e for e in server.requests_to("POST", EVENTS + "$")][1:-1]
    assert refused and len(sleeps) == len(refused)  # exponential backoff: Google sent no Retry-After
    assert sorted(e["id"] for e in simulator.events()) == sorted([event_id_for_key(KEY), event_id_for_key("s-0.google_calendar.g1")])
    adapter.close()


def test_429_with_retry_after_is_honoured(adapter, server, sleeps) -> None:
    server.faults.add(Fault.throttle(429, retry_after="2", method="GET"))
    assert adapter.find_session(KEY) is None
    assert sleeps == [2.0]


def test_quota_exceeded_is_not_retried(adapter, server, simulator, sleeps) -> None:
    simulator.quota(calls=0, method="POST", path=EVENTS + "$")  # Google's "Calendar usage limits exceeded."
    with pytest.raises(QuotaExceeded):
        adapter.create_session(make_session(), key=KEY)
    assert sleeps == []
    assert len(list(server.requests_to("POST", EVENTS + "$"))) == 1
    assert simulator.events() == []


# -- Meet -----------------------------------------------------------------------------------------------


def test_virtual_session_gets_a_meet_link(adapter, server, simulator) -> None:
    ref = adapter.create_session(make_session(modality=Modality.VIRTUAL, room=None), key=KEY)
    assert ref.join_url is not None and ref.join_url.startswith("https://meet.google.com/")
    assert adapter.get_session(ref).join_url == ref.join_url
    insert = next(server.requests_to("POST", EVENTS + "$"))
    assert insert.query["conferenceDataVersion"] == ["1"]
    # A retried create asks for the same conference (same requestId): the link does not change.
    server.faults.add(Fault.drop_after_commit(method="POST", path=EVENTS + "$"))
    again = adapter.create_session(make_session(modality=Modality.VIRTUAL, room=None), key=KEY)
    assert again.join_url == ref.join_url


def test_meeting_from_elsewhere_is_not_replaced_by_meet(adapter, simulator) -> None:
    zoom = Meeting(provider="zoom", join_url="https://zoom.us/j/555")
    ref = adapter.create_session(make_session(modality=Modality.VIRTUAL, room=None, meeting=zoom), key=KEY)
    event = simulator.events()[0]
    assert "hangoutLink" not in event and "conferenceData" not in event
    assert event["location"] == "https://zoom.us/j/555"
    assert ref.join_url == "https://zoom.us/j/555"


# -- reschedule / cancel --------------------------------------------------------------------------------


def later_slot(days: int = 7) -> TimeSlot:
    start = datetime(2026, 3, 10, 14, 0, tzinfo=NY) + timedelta(days=days)
    return TimeSlot(start=start, end=start + timedelta(hours=1), timezone="America/New_York")


def test_reschedule_in_place_with_if_match(adapter, server, simulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    adapter.enrol(ref, session, [learner(1)])
    moved = session.rescheduled(later_slot())
    fresh = adapter.get_session(ref).ref  # the enrolment changed the etag
    new_ref = adapter.reschedule_session(fresh, moved)
    assert new_ref.external_id == ref.external_id and new_ref.version != fresh.version
    back = adapter.get_session(new_ref)
    assert (back.start, back.end) == (moved.slot.start, moved.slot.end)
    assert "learner1@example.org" in back.attendees  # the roster survived the patch
    patch = list(server.requests_to("PATCH", ref.external_id))[-1]
    assert patch.headers["if-match"] == fresh.version
    assert patch.query == {"sendUpdates": ["all"]}
    assert simulator.events()[0]["sequence"] == 1
    assert len(simulator.events()) == 1


def test_reschedule_after_a_roster_change_uses_the_etag_that_change_left(adapter, server) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)  # the ref a ledger keeps
    adapter.enrol(ref, session, [learner(1)])  # changes the etag, not the times
    adapter.transport.counter.reset()
    moved = session.rescheduled(later_slot())
    new_ref = adapter.reschedule_session(ref, moved)
    assert adapter.transport.counter.by_operation == {"events.patch": 1}  # no 412: the adapter knew the new etag
    assert adapter.get_session(new_ref).start == moved.slot.start
    assert "learner1@example.org" in adapter.get_session(new_ref).attendees


def test_enrolment_into_an_event_someone_else_changed_reads_merges_and_keeps_their_change(make_adapter, server) -> None:
    session = make_session()
    adapter = make_adapter()
    ref = adapter.create_session(session, key=KEY)
    make_adapter().enrol(ref, session, [learner(1)])  # another worker: the kept etag is stale now
    adapter.transport.counter.reset()
    adapter.enrol(ref, session, [learner(2)])
    # The PATCH with the kept etag is refused (412), then read, merge, PATCH with the fresh etag.
    assert adapter.transport.counter.by_operation == {"events.patch": 2, "events.get": 1}
    patches = list(server.requests_to("PATCH", ref.external_id))
    assert patches[-2].headers["if-match"] == ref.version  # the etag the create left
    attendees = adapter.get_session(ref).attendees
    assert "learner1@example.org" in attendees and "learner2@example.org" in attendees
    adapter.transport.counter.reset()
    adapter.unenrol(ref, session, [learner(1)])
    assert adapter.transport.counter.by_operation == {"events.patch": 1}  # this adapter wrote last again
    assert "learner1@example.org" not in adapter.get_session(ref).attendees


def test_a_kept_event_never_decides_alone_that_there_is_nothing_to_write(make_adapter, server) -> None:
    # The kept event is this adapter's last write, not the event now: another worker may have changed the attendees
    # since. Only a PATCH is guarded by If-Match, so "already there" / "already gone" is decided on a fresh read.
    session = make_session()
    adapter = make_adapter()
    ref = adapter.create_session(session, key=KEY)
    adapter.enrol(ref, session, [learner(1)])  # kept: learner1 present
    make_adapter().unenrol(ref, session, [learner(1)])  # another worker takes her out
    adapter.transport.counter.reset()
    adapter.enrol(ref, session, [learner(1)])  # the kept copy says she is there; she is not
    assert adapter.transport.counter.by_operation == {"events.get": 1, "events.patch": 1}
    assert "learner1@example.org" in adapter.get_session(ref).attendees
    make_adapter().enrol(ref, session, [learner(2)])  # another worker adds learner2 after our write
    adapter.transport.counter.reset()
    adapter.unenrol(ref, session, [learner(2)])  # the kept copy says she is not there; she is
    assert adapter.transport.counter.by_operation == {"events.get": 1, "events.patch": 1}
    assert "learner2@example.org" not in adapter.get_session(ref).attendees
    adapter.transport.counter.reset()
    adapter.unenrol(ref, session, [learner(2)])  # really nothing to do: one read says so, no write
    assert adapter.transport.counter.by_operation == {"events.get": 1}


def test_reschedule_with_etag_made_stale_by_the_roster_goes_through(make_adapter, server) -> None:
    session = make_session()
    ref = make_adapter().create_session(session, key=KEY)  # the ref a ledger keeps
    make_adapter().enrol(ref, session, [learner(1)])  # another worker changes the etag, not the times
    adapter = make_adapter()
    moved = session.rescheduled(later_slot())
    new_ref = adapter.reschedule_session(ref, moved)
    assert adapter.transport.counter.by_operation == {"events.patch": 2, "events.get": 1}  # 412, read, patch
    assert adapter.get_session(new_ref).start == moved.slot.start
    assert "learner1@example.org" in adapter.get_session(new_ref).attendees


def test_a_foreign_edit_after_our_roster_change_is_still_a_conflict(adapter, simulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    adapter.enrol(ref, session, [learner(1)])
    adapter.transport.request_json(  # someone moves the event in Google Calendar after our roster change
        "PATCH", f"calendars/primary/events/{ref.external_id}",
        json={"start": {"dateTime": "2026-03-10T10:00:00-04:00"}, "end": {"dateTime": "2026-03-10T12:00:00-04:00"}},
    )
    with pytest.raises(Conflict, match="someone else changed"):
        adapter.reschedule_session(ref, session.rescheduled(later_slot()))
    assert simulator.events()[0]["start"]["dateTime"] == "2026-03-10T10:00:00-04:00"


def test_reschedule_over_someone_elses_edit_is_a_conflict(adapter, simulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    # Someone moves the event in Google Calendar meanwhile.
    adapter.transport.request_json(
        "PATCH", f"calendars/primary/events/{ref.external_id}",
        json={"start": {"dateTime": "2026-03-10T10:00:00-04:00"}, "end": {"dateTime": "2026-03-10T12:00:00-04:00"}},
    )
    with pytest.raises(Conflict, match="someone else changed"):
        adapter.reschedule_session(ref, session.rescheduled(later_slot()))
    assert simulator.events()[0]["start"]["dateTime"] == "2026-03-10T10:00:00-04:00"


def test_reschedule_whose_answer_was_lost_is_accepted(adapter, server, simulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    server.faults.add(Fault.drop_after_commit(method="PATCH"))
    moved = session.rescheduled(later_slot())
    new_ref = adapter.reschedule_session(ref, moved)  # the retry meets the new etag: 412, then a read
    assert adapter.get_session(new_ref).start == moved.slot.start


def test_cancel_is_idempotent_and_closes_the_roster(adapter, server, simulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    adapter.cancel_session(ref)
    assert adapter.get_session(ref).cancelled
    adapter.cancel_session(ref)  # 410 Gone: already done
    assert adapter.find_session(KEY) is None
    with pytest.raises(NotFound, match="cancelled"):
        adapter.enrol(ref, session, [learner(1)])
    deletes = list(server.requests_to("DELETE", ref.external_id))
    assert [d.query for d in deletes] == [{"sendUpdates": ["all"]}] * 2
    adapter.cancel_session(adapter.create_session(session, key="s-1.google_calendar.g2"), notify=False)
    assert list(server.requests_to("DELETE"))[-1].query == {"sendUpdates": ["none"]}


def test_get_missing_event_is_not_found(adapter) -> None:
    ref = adapter.create_session(make_session(), key=KEY)
    with pytest.raises(NotFound):
        adapter.get_session(ref.model_copy(update={"external_id": "0" * 26}))


# -- roster ---------------------------------------------------------------------------------------------


def test_enrol_and_unenrol_touch_only_the_given_people(adapter, server, simulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    members = adapter.enrol(ref, session, [learner(1), learner(2, "Europe/Paris")])
    assert [m.email for m in members] == ["learner1@example.org", "learner2@example.org"]
    assert all(m.status == "needsAction" for m in members)
    before = len(server.requests)
    adapter.enrol(ref, session, [learner(2)])  # already there: one read confirms it on the event as it is now
    assert [r.method for r in server.requests[before:]] == ["GET"]
    adapter.unenrol(ref, session, [learner(1)])
    assert [m.email for m in adapter.list_roster(ref)] == ["learner2@example.org"]
    emails = [a["email"] for a in simulator.events()[0]["attendees"]]
    assert emails == ["ines@example.com", ROOM.email, "learner2@example.org"]


def test_enrol_retries_when_someone_else_wrote_in_between(adapter, server) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    server.faults.add(Fault.error(412, {"error": {"code": 412, "message": "Precondition Failed",
                                                   "errors": [{"domain": "global", "reason": "conditionNotMet"}]}},
                                  method="PATCH"))
    adapter.enrol(ref, session, [learner(3)])
    assert [m.email for m in adapter.list_roster(ref)] == ["learner3@example.org"]


# -- listing, free/busy, rooms --------------------------------------------------------------------------


def test_list_sessions_pages_through_everything(adapter, server, simulator) -> None:
    base = datetime(2026, 4, 6, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    for n in range(5):
        slot = TimeSlot(start=base + timedelta(days=n), end=base + timedelta(days=n, hours=2), timezone="Europe/Paris")
        adapter.create_session(make_session(f"s-{n}", slot=slot, room=None), key=f"s-{n}.google_calendar.g1")
    window_end = base + timedelta(days=30)
    adapter.transport.counter.reset()
    sessions = list(adapter.list_sessions(base, window_end, page_size=2))
    assert [s.start for s in sessions] == [base + timedelta(days=n) for n in range(5)]
    assert adapter.transport.counter["events.list"] == 3
    lists = list(server.requests_to("GET", EVENTS + "$"))
    assert [r.query_one("pageToken") is None for r in lists] == [True, False, False]
    assert all(r.query["privateExtendedProperty"] == ["lmsc_managed=1"] for r in lists)
    # Starts in [start, end): an event that began before the window but overlaps it is left out.
    assert len(list(adapter.list_sessions(base + timedelta(hours=1), window_end, page_size=2))) == 4


def test_free_busy_and_rooms(adapter, simulator) -> None:
    session = make_session()
    adapter.create_session(session, key=KEY)
    day = datetime(2026, 3, 10, 0, 0, tzinfo=NY)
    busy = adapter.free_busy([ROOM.email, "c_room102@resource.calendar.google.com"], day, day + timedelta(days=1))
    assert [(b.start, b.end) for b in busy[ROOM.email]] == [(session.slot.start, session.slot.end)]
    assert busy["c_room102@resource.calendar.google.com"] == []
    with pytest.raises(NotFound):
        adapter.free_busy(["nobody@example.net"], day, day + timedelta(days=1))
    rooms = list(adapter.list_rooms(page_size=1))
    assert [(r.id, r.email, r.capacity) for r in rooms] == [("r-101", ROOM.email, 12), ("r-102", "c_room102@resource.calendar.google.com", 6)]


def test_a_double_booked_room_is_a_conflict_and_leaves_no_event(adapter, simulator) -> None:
    adapter.create_session(make_session(), key=KEY)
    with pytest.raises(Conflict, match="already booked") as caught:
        adapter.create_session(make_session("s-2"), key="s-2.google_calendar.g1")
    assert caught.value.code == "roomDeclined"
    first, second = simulator.events()
    room = next(a for a in second["attendees"] if a.get("resource"))
    assert room["responseStatus"] == "declined"  # the room's own answer, which the adapter read
    assert second["status"] == "cancelled" and first.get("status") != "cancelled"


def test_a_meet_conference_still_being_made_is_waited_for(make_adapter, simulator, sleeps) -> None:
    simulator.meet_pending_reads = 2
    adapter = make_adapter()
    ref = adapter.create_session(make_session(modality=Modality.VIRTUAL), key=KEY)
    assert ref.join_url and ref.join_url.startswith("https://meet.google.com/")
    assert adapter.transport.counter.by_operation == {"events.insert": 1, "events.get": 2}
    assert sleeps == [0.5, 1.0]
    assert adapter.get_session(ref).join_url == ref.join_url


def test_a_meet_conference_that_stays_pending_fails_the_create_and_leaves_no_event(make_adapter, simulator) -> None:
    simulator.meet_pending_reads = 100
    adapter = make_adapter(meet_wait_seconds=2)
    with pytest.raises(TransientError, match="still making the Meet conference"):
        adapter.create_session(make_session(modality=Modality.VIRTUAL), key=KEY)
    (event,) = simulator.events()
    assert event["status"] == "cancelled"


# -- auth -----------------------------------------------------------------------------------------------


def test_expired_token_is_refreshed_once(adapter, server, simulator) -> None:
    adapter.find_session(KEY)
    simulator.expire_access_tokens()
    assert adapter.find_session(KEY) is None
    assert [r.path for r in server.requests].count("/token") == 2


def test_revoked_refresh_token_is_an_auth_error(adapter, simulator) -> None:
    adapter.find_session(KEY)
    simulator.expire_access_tokens()
    simulator.revoke_refresh_token(REFRESH_TOKEN)
    with pytest.raises(AuthError, match="invalid_grant"):
        adapter.find_session(KEY)


# -- cost -----------------------------------------------------------------------------------------------


def test_calls_per_operation(adapter) -> None:
    counter = adapter.transport.counter
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    assert counter.total == 1
    counter.reset()
    ref = adapter.reschedule_session(ref, session.rescheduled(later_slot()))
    assert counter.total == 1
    counter.reset()
    adapter.enrol(ref, session, [learner(n) for n in range(10)])
    assert counter.by_operation == {"events.patch": 1}  # onto the event as the reschedule left it: no GET
    counter.reset()
    adapter.enrol(ref, session, [learner(10)])
    assert counter.by_operation == {"events.patch": 1}
    counter.reset()
    adapter.cancel_session(ref)
    assert counter.total == 1


def test_a_session_refused_for_its_booked_room_can_be_scheduled_once_the_room_is_free(adapter, simulator) -> None:
    """The refused event's id is burnt (Google never reuses one): the scheduler's next try takes a new key."""
    blocking = adapter.create_session(make_session("other"), key="other.google_calendar.g1")
    scheduler = Scheduler([adapter], MemoryLedger())
    with pytest.raises(SchedulingFailed, match="already booked"):
        scheduler.schedule(make_session())
    adapter.cancel_session(blocking)
    stored = scheduler.schedule(make_session())
    ref = scheduler.ledger.get_ref(stored.id, "google_calendar")
    assert ref is not None
    live = [e for e in simulator.events() if e.get("status") != "cancelled"]
    assert len(live) == 1 and live[0]["id"] == ref.external_id
    assert [k.generation for k in scheduler.ledger.list_keys(stored.id)] == [1, 2]


# -- the simulator's blind spots, closed: what the adapter does with each ---------------------------------------


def test_short_and_empty_pages_with_a_next_page_token_are_followed(adapter, server, simulator) -> None:
    """Google may answer fewer items than maxResults, or none, and still carry nextPageToken."""
    base = datetime(2026, 4, 6, 9, 0, tzinfo=NY)
    for n in range(3):
        slot = TimeSlot(start=base + timedelta(days=n), end=base + timedelta(days=n, hours=1), timezone="America/New_York")
        adapter.create_session(make_session(f"s-{n}", slot=slot, room=None), key=f"s-{n}.google_calendar.g1")
    for day in (6, 6, 7, 7):  # the organizer's own meetings, between ours: pages that look at them come back empty
        simulator.put_event("primary", {"summary": "Staff meeting",
                                        "start": {"dateTime": f"2026-04-0{day}T15:00:00-04:00"},
                                        "end": {"dateTime": f"2026-04-0{day}T16:00:00-04:00"}})
    simulator.page_scan = 2
    adapter.transport.counter.reset()
    sessions = list(adapter.list_sessions(base, base + timedelta(days=30), page_size=2))
    assert [s.start for s in sessions] == [base + timedelta(days=n) for n in range(3)]
    pages = list(server.requests_to("GET", EVENTS + "$"))
    # 7 events, 2 looked at per page: 4 pages for 3 sessions, so at least one came back empty with a token
    assert len(pages) == adapter.transport.counter["events.list"] == 4
    tokens = [r.query_one("pageToken") for r in pages]
    assert tokens[0] is None and len(set(tokens[1:])) == 3  # every page followed, none twice


@pytest.mark.parametrize("refuse", ["throttled", "user_rate_limit_exceeded", "too_many_requests"])
def test_throttling_without_retry_after_is_backed_off_and_bounded(make_adapter, server, simulator, sleeps, refuse) -> None:
    """403 rateLimitExceeded / userRateLimitExceeded and 429 carry no Retry-After: exponential backoff, bounded."""
    adapter = make_adapter(max_attempts=4)
    assert adapter.find_session(KEY) is None  # the token first
    simulator.throttle(calls=0, seconds=60, method="GET", refuse=getattr(simulator, refuse))
    with pytest.raises(RateLimited) as caught:
        adapter.find_session(KEY)
    assert caught.value.retry_after is None
    assert len(list(server.requests_to("GET", r"/events/"))) == 1 + 4  # the first look-up, then 4 attempts
    assert len(sleeps) == 3 and all(0 <= s <= 20.0 for s in sleeps)


def test_quota_in_a_429_body_is_a_quota_not_a_retry_loop(adapter, server, simulator, sleeps) -> None:
    simulator.quota(calls=0, method="POST", refuse=lambda state: Refusal(
        429, "Calendar usage limits exceeded.", "quotaExceeded", domain="usageLimits"))
    with pytest.raises(QuotaExceeded):
        adapter.create_session(make_session(), key=KEY)
    assert sleeps == [] and len(list(server.requests_to("POST", EVENTS + "$"))) == 1


def test_backend_errors_at_a_rate_are_retried_without_duplicates(adapter, server, simulator, sleeps) -> None:
    failing = simulator.failures(0.4, seed=5)  # Google's 500 backendError on 40 % of the calls
    session = make_session(room=None)
    refs = [adapter.create_session(make_session(f"s-{n}", room=None), key=f"s-{n}.google_calendar.g1") for n in range(4)]
    adapter.enrol(refs[0], session, [learner(1), learner(2)])
    listed = list(adapter.list_sessions(datetime(2026, 3, 1, tzinfo=NY), datetime(2026, 4, 1, tzinfo=NY), page_size=2))
    assert sorted(s.ref.external_id for s in listed) == sorted(r.external_id for r in refs)
    assert len(live(simulator)) == 4
    assert failing.failed > 0 and len(sleeps) >= failing.failed, "every failed call was waited on and retried"


def test_a_failed_meet_request_fails_the_create_and_leaves_no_event(adapter, simulator) -> None:
    simulator.fail_meet_requests(1)
    with pytest.raises(ProviderError, match="could not make the Meet conference") as caught:
        adapter.create_session(make_session(modality=Modality.VIRTUAL, room=None), key=KEY)
    assert caught.value.code == "failure"
    (event,) = simulator.events()
    assert event["status"] == "cancelled" and "hangoutLink" not in event


def test_cancel_names_the_version_it_deletes(adapter, server, simulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    adapter.cancel_session(ref)
    (delete,) = server.requests_to("DELETE", ref.external_id)
    assert delete.headers["if-match"] == ref.version  # the etag of the version the adapter knows


def test_cancel_after_someone_elses_change_reads_the_event_and_deletes_it(make_adapter, server, simulator) -> None:
    session = make_session()
    ref = make_adapter().create_session(session, key=KEY)
    make_adapter().enrol(ref, session, [learner(1)])  # another worker changes the etag
    adapter = make_adapter()
    adapter.cancel_session(ref)
    assert adapter.transport.counter.by_operation == {"events.delete": 2, "events.get": 1}  # 412, read, delete
    assert simulator.events()[0]["status"] == "cancelled"


def test_cancel_leaves_an_event_someone_else_cancelled_as_it_is(make_adapter, server, simulator) -> None:
    ref = make_adapter().create_session(make_session(), key=KEY)
    other = make_adapter()
    other.transport.request_json("PATCH", f"calendars/primary/events/{ref.external_id}", json={"summary": "renamed"})
    other.transport.request_json("DELETE", f"calendars/primary/events/{ref.external_id}")
    adapter = make_adapter()
    adapter.cancel_session(ref)  # stale etag on a cancelled event: 410, which is done
    assert adapter.transport.counter.by_operation == {"events.delete": 1}


def test_a_cancelled_event_is_not_rescheduled(adapter, simulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key=KEY)
    adapter.cancel_session(ref)
    with pytest.raises(NotFound, match="was cancelled"):
        adapter.reschedule_session(adapter.get_session(ref).ref, session.rescheduled(later_slot()))
    assert simulator.events()[0]["status"] == "cancelled"  # the write did not restore it
def test_a_session_with_learners_and_meet_is_one_insert(adapter) -> None:
    session = make_session(modality=Modality.VIRTUAL, room=None).model_copy(
        update={"learners": tuple(learner(n) for n in range(10))}
    )
    ref = adapter.create_session(session, key=KEY, fresh=True)
    assert adapter.transport.counter.by_operation == {"events.insert": 1}
    assert ref.join_url and ref.join_url.startswith("https://meet.google.com/")
    assert [m.email for m in adapter.list_roster(ref)] == [f"learner{n}@example.org" for n in range(10)]


def test_a_re_made_event_carries_the_confirmed_learners_in_its_insert(adapter) -> None:
    ledger = MemoryLedger()
    scheduler = Scheduler([adapter], ledger, sole_writer=True)
    session = make_session(capacity=2)
    scheduler.schedule(session)
    scheduler.enrol_many(session.id, [learner(1), learner(2), learner(3)])  # the third is waitlisted
    ref = ledger.get_ref(session.id, "google_calendar")
    assert ref is not None
    adapter.cancel_session(ref, notify=False)  # someone deletes the event in Google
    adapter.transport.counter.reset()
    scheduler.sync(session.id)
    # Read back (deleted), then one insert holding the two confirmed learners: no roster PATCH after it.
    assert adapter.transport.counter.by_operation == {"events.get": 1, "events.insert": 1}
    remade = ledger.get_ref(session.id, "google_calendar")
    assert remade is not None and remade.external_id != ref.external_id
    assert [m.email for m in adapter.list_roster(remade)] == ["learner1@example.org", "learner2@example.org"]
    for enrollment in ledger.list_enrollments(session.id, EnrollmentStatus.CONFIRMED):
        assert enrollment.pushed_to == ("google_calendar",) and enrollment.uncertain_at == ()
