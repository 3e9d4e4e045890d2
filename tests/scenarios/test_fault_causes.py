"""One scripted fault per cause of divergence: each adapter (or the scheduler) must keep the provider and the ledger
in step. Every provider is its simulator on 127.0.0.1 behind the fault-injecting proxy, which breaks exactly the
exchange the test names."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import Adapter
from lms_connectors.errors import MalformedResponse, SchedulingFailed, TransientError, ValidationError
from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.fault_proxy import FaultProxy
from lms_connectors.testing.sandbox import Fault, SandboxServer


@dataclass
class Leg:
    simulator: Any
    server: SandboxServer
    proxy: FaultProxy
    build: Callable[[], Adapter]
    adapter: Adapter


@pytest.fixture
def leg() -> Iterator[Callable[[str], Leg]]:
    with contextlib.ExitStack() as stack:

        def make(name: str) -> Leg:
            harness = load_harness(name)
            simulator = harness.make_simulator()
            server = stack.enter_context(SandboxServer(simulator))
            proxy = stack.enter_context(FaultProxy(server.url))

            def build() -> Adapter:
                adapter = harness.build_adapter(proxy.url, sleep=lambda _s: None)
                stack.callback(adapter.close)
                return adapter

            return Leg(simulator, server, proxy, build, build())

        yield make


def _session(name: str, session_id: str = "causes.s1", *, start: datetime | None = None) -> Session:
    begin = start or datetime(2027, 5, 11, 14, 0, tzinfo=ZoneInfo("Europe/Madrid"))
    return Session(
        id=session_id,
        title="Negotiation basics",
        slot=TimeSlot(start=begin, end=begin + timedelta(hours=1), timezone="Europe/Madrid"),
        modality=Modality.VIRTUAL,
        **load_harness(name).session_extras(),
    )


INES = Person(email="ines@example.org", name="Ines Duarte", timezone="Europe/Lisbon")


# -- cause 1: a 2xx answer that is not the provider's JSON is not a success --------------------------------


def _google_cancel(leg: Leg) -> tuple[Callable[[], object], Callable[[], bool]]:
    ref = leg.adapter.create_session(_session("google_calendar"), key="causes.s1.google_calendar.g1")

    def done() -> bool:
        with leg.simulator.lock:
            event = leg.simulator.calendars[leg.simulator.organizer].events[ref.external_id]
            return bool(event.get("status") == "cancelled")

    return lambda: leg.adapter.cancel_session(ref), done


def _zoom_ref(leg: Leg) -> Any:
    return leg.adapter.create_session(_session("zoom"), key="causes.s1.zoom.g1", fresh=True)


def _zoom_move(leg: Leg) -> tuple[Callable[[], object], Callable[[], bool]]:
    ref = _zoom_ref(leg)
    later = _session("zoom", start=datetime(2027, 5, 12, 14, 0, tzinfo=ZoneInfo("Europe/Madrid")))
    return (
        lambda: leg.adapter.reschedule_session(ref, later),
        lambda: leg.adapter.get_session(ref).start == later.slot.start,
    )


def _zoom_cancel(leg: Leg) -> tuple[Callable[[], object], Callable[[], bool]]:
    ref = _zoom_ref(leg)
    return lambda: leg.adapter.cancel_session(ref), lambda: not leg.simulator.meetings


def _zoom_unenrol(leg: Leg) -> tuple[Callable[[], object], Callable[[], bool]]:
    ref = _zoom_ref(leg)
    session = _session("zoom")
    (member,) = leg.adapter.enrol(ref, session, [INES])
    return (
        lambda: leg.adapter.unenrol(ref, session, [INES], registrations={INES.email: member}),
        lambda: [m.email for m in leg.adapter.list_roster(ref)] == [],
    )


WRITES_THAT_IGNORED_THEIR_ANSWER = {
    "google events.delete": ("google_calendar", "DELETE", _google_cancel),
    "zoom update meeting": ("zoom", "PATCH", _zoom_move),
    "zoom delete meeting": ("zoom", "DELETE", _zoom_cancel),
    "zoom registrant status": ("zoom", "PUT", _zoom_unenrol),
}
GARBLED = {
    "truncated JSON": ({"Content-Type": "application/json"}, b'{"status": "acc'),
    "HTML page": ({"Content-Type": "text/html"}, b"<!DOCTYPE html><html><body>Signed out</body></html>"),
}


@pytest.mark.parametrize("garbled", sorted(GARBLED))
@pytest.mark.parametrize("write", sorted(WRITES_THAT_IGNORED_THEIR_ANSWER))
def test_a_write_answered_200_with_something_else_than_the_providers_json_is_not_taken_as_done(
    leg: Callable[[str], Leg], write: str, garbled: str
) -> None:
    name, method, prepare = WRITES_THAT_IGNORED_THEIR_ANSWER[write]
    provider = leg(name)
    call, done = prepare(provider)
    headers, body = GARBLED[garbled]
    # Something in front of the provider answers 200 without passing the request on.
    provider.server.faults.add(Fault.error(200, body, headers=headers, method=method))
    try:
        call()
    except MalformedResponse:
        return  # reported as not understood: the scheduler records the outcome as uncertain
    assert done(), "the write was reported done but the provider never received it"


@pytest.mark.parametrize("write", ["zoom registrant status", "zoom update meeting"])
def test_a_write_whose_answer_stays_garbled_is_malformed(leg: Callable[[str], Leg], write: str) -> None:
    # (A delete sent again meets 404 once the first one landed: that is an answer, and the goal is reached.)
    name, method, prepare = WRITES_THAT_IGNORED_THEIR_ANSWER[write]
    provider = leg(name)
    call, _ = prepare(provider)
    provider.proxy.script("truncated_json", method=method, times=50)
    with pytest.raises(MalformedResponse):
        call()


# -- a create answered 2xx with a garbled body: its outcome is read from the provider -------------------------

CREATES = {
    # Google's insert carries its event id and is asked again by the transport: every attempt is garbled here.
    "google_calendar": {"method": "POST", "path": "/events$", "times": 10},
    "zoom": {"method": "POST", "path": "/users/[^/]+/meetings$", "times": 1},
    "moodle": {"body": "wsfunction=core_calendar_create_calendar_events", "times": 1},
}


def _live_objects(provider: Leg, name: str) -> list[str]:
    sim = provider.simulator
    with sim.lock:
        if name == "zoom":
            return [str(m) for m in sim.meetings]
        if name == "moodle":
            return [str(e) for e in sim.site.data.events]
        events = sim.calendars[sim.organizer].events
        return [i for i, e in events.items() if e.get("status") != "cancelled"]


@pytest.mark.parametrize("fault", ["html_200", "truncated_json"])
@pytest.mark.parametrize("name", sorted(CREATES))
def test_a_create_answered_2xx_with_a_garbled_body_is_read_back_and_kept(
    leg: Callable[[str], Leg], name: str, fault: str
) -> None:
    """The provider made the object and something in front of it garbled the 2xx answer: the outcome is unknown,
    so it is read from the provider (look-up by key) and the object found is the session's, neither failed and
    undone nor made twice."""
    provider = leg(name)
    ledger = MemoryLedger()
    provider.proxy.script(fault, **CREATES[name])
    session = Scheduler([provider.adapter], ledger).schedule(_session(name))
    assert provider.proxy.injected[fault] >= 1
    (held,) = _live_objects(provider, name)
    ref = ledger.get_ref(session.id, name)
    assert ref is not None and ref.external_id == held and ref.uncertain is None
    assert session.status.value == "scheduled"
    created = [e for e in ledger.iter_audit() if e.action == "created"][-1]
    if name == "google_calendar" and not created.detail["lookups"]:
        # The insert carries its event id: asked again, Google refused the duplicate id (409) and the adapter read
        # that event back itself.
        assert any(r.method == "GET" and r.path.endswith(held) for r in provider.server.requests)
    else:
        assert {"reason": "after garbled answer", "found": held} in created.detail["lookups"]
    if name == "moodle":
        (group,) = _session_groups(provider)
        assert ref.extra["group_id"] == str(group["id"])


def test_a_garbled_create_whose_read_back_fails_is_undone_and_sync_leaves_no_orphan(
    leg: Callable[[str], Leg],
) -> None:
    """When the provider cannot be read after the garbled answer either, the session fails and is undone; the
    object the create made is found by key and removed by the next sync: never an orphan."""
    zoom = leg("zoom")
    ledger = MemoryLedger()
    zoom.proxy.script("html_200", method="POST", path="/users/[^/]+/meetings$")
    zoom.proxy.script("unavailable", method="GET", path="/users/[^/]+/meetings$", skip=1, times=50)
    with pytest.raises(SchedulingFailed) as failed:
        Scheduler([zoom.adapter], ledger).schedule(_session("zoom"))
    assert "zoom" in failed.value.leftovers
    zoom.proxy.calm()
    Scheduler([zoom.build()], ledger).sync("causes.s1")
    assert _live_objects(zoom, "zoom") == []
    assert ledger.get_ref("causes.s1", "zoom") is None


# -- cause 2: Google's second PATCH after a 412 checks whether it landed -------------------------------------


def test_google_reschedule_whose_second_patch_lost_its_answer_is_done_not_a_conflict(
    leg: Callable[[str], Leg],
) -> None:
    google = leg("google_calendar")
    session = _session("google_calendar")
    ref = google.adapter.create_session(session, key="causes.s1.google_calendar.g1")
    google.adapter.enrol(ref, session, [INES])  # the etag moves on: a second adapter's ref is stale
    other = google.build()
    later = session.rescheduled(
        TimeSlot(start=session.slot.start + timedelta(days=1), end=session.slot.end + timedelta(days=1),
                 timezone="Europe/Madrid")
    )
    # The first PATCH meets the stale etag (412); the second lands, its answer is lost, and the transport's
    # retry of it meets the etag it made itself (412 again).
    google.proxy.script("commit_then_drop", method="PATCH", skip=1)
    moved = other.reschedule_session(ref, later)
    found = google.adapter.get_session(moved)
    assert (found.start, found.end) == (later.slot.start, later.slot.end)


def test_sync_moves_back_a_google_event_whose_move_landed_unseen(leg: Callable[[str], Leg]) -> None:
    """A move of ours landed and the process died before it heard: the event's etag and times are not what the
    ledger's ref knows. sync() reads it back and moves it on what it read: not a Conflict with itself."""
    google = leg("google_calendar")
    ledger = MemoryLedger()
    scheduler = Scheduler([google.adapter], ledger)
    session = scheduler.schedule(_session("google_calendar").model_copy(update={"modality": Modality.IN_PERSON}))
    ref = ledger.get_ref(session.id, "google_calendar")
    assert ref is not None
    later = session.rescheduled(
        TimeSlot(start=session.slot.start + timedelta(days=2), end=session.slot.end + timedelta(days=2),
                 timezone="Europe/Madrid")
    )
    google.build().reschedule_session(ref, later)  # the landed move (another process, before the kill)
    ledger.put_ref(session.id, ref.model_copy(update={"uncertain": "reschedule"}))
    Scheduler([google.build()], ledger).sync(session.id)
    found = google.adapter.get_session(ref)
    assert (found.start, found.end) == (session.slot.start, session.slot.end)


# -- cause 8: Moodle's group made before a 500 or a garbled answer is used, not left behind -------------------


def _session_groups(moodle: Leg) -> list[dict[str, Any]]:
    with moodle.simulator.lock:
        groups = moodle.simulator.site.data.groups.values()
        return [dict(g) for g in groups if str(g.get("idnumber", "")).startswith("lmsc:causes")]


@pytest.mark.parametrize("fault", ["error_after_commit", "truncated_json", "html_200"])
def test_moodle_group_made_before_a_failed_answer_is_found_and_used(leg: Callable[[str], Leg], fault: str) -> None:
    moodle = leg("moodle")
    moodle.proxy.script(fault, body="wsfunction=core_group_create_groups")
    ref = moodle.adapter.create_session(_session("moodle"), key="causes.s1.moodle.g1", fresh=True)
    (group,) = _session_groups(moodle)
    assert ref.extra["group_id"] == str(group["id"])


def test_moodle_discard_removes_a_group_whose_event_was_never_made(leg: Callable[[str], Leg]) -> None:
    moodle = leg("moodle")
    moodle.server.faults.add(Fault.error(503, body_pattern="wsfunction=core_calendar_create_calendar_events"))
    moodle.server.faults.add(Fault.error(503, body_pattern="wsfunction=core_group_delete_groups", times=20))
    with pytest.raises(TransientError):  # the event could not be made, and neither could the group be undone
        moodle.adapter.create_session(_session("moodle"), key="causes.s1.moodle.g1", fresh=True)
    assert len(_session_groups(moodle)) == 1
    moodle.server.faults.clear()
    assert moodle.adapter.discard("causes.s1.moodle.g1") is True
    assert _session_groups(moodle) == []
    assert moodle.adapter.discard("causes.s1.moodle.g1") is False


# -- cause 9: no duplicates from a new ledger; Zoom finds meetings whose start has passed ---------------------


def test_zoom_finds_a_meeting_whose_start_has_passed(leg: Callable[[str], Leg]) -> None:
    zoom = leg("zoom")
    past = _session("zoom", start=datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/Madrid")))
    first = zoom.adapter.create_session(past, key="causes.past.zoom.g1", fresh=True)
    again = zoom.adapter.create_session(past, key="causes.past.zoom.g1")
    assert again.external_id == first.external_id
    assert len(zoom.simulator.meetings) == 1


@pytest.mark.parametrize("name", ["zoom", "moodle", "google_calendar"])
def test_a_session_scheduled_again_from_a_new_ledger_is_not_duplicated(
    leg: Callable[[str], Leg], name: str
) -> None:
    provider = leg(name)
    Scheduler([provider.adapter], MemoryLedger()).schedule(_session(name))
    restored = Scheduler([provider.adapter], MemoryLedger())  # a backup from before, or a second deployment
    restored.schedule(_session(name))
    restored.schedule_many([_session(name)])
    sim = provider.simulator
    with sim.lock:
        if name == "zoom":
            held = len(sim.meetings)
        elif name == "moodle":
            held = len(sim.site.data.events)
            assert len(_session_groups(provider)) == 0 or len([
                g for g in sim.site.data.groups.values() if str(g.get("idnumber", "")).startswith("lmsc:causes")
            ]) == 1
        else:
            held = len([e for e in sim.calendars[sim.organizer].events.values() if e.get("status") != "cancelled"])
    assert held == 1


def test_a_cohort_from_a_new_ledger_costs_one_listing_per_provider(leg: Callable[[str], Leg]) -> None:
    zoom = leg("zoom")
    cohort = [
        _session("zoom", f"causes.c{i}", start=datetime(2027, 5, 11 + i, 14, 0, tzinfo=ZoneInfo("Europe/Madrid")))
        for i in range(6)
    ]
    Scheduler([zoom.adapter], MemoryLedger()).schedule_many(cohort[:2])
    before = len(zoom.server.requests)
    Scheduler([zoom.adapter], MemoryLedger()).schedule_many(cohort)
    calls = [(r.method, r.path) for r in zoom.server.requests[before:]]
    listings = [c for c in calls if c[0] == "GET" and c[1].endswith("/meetings")]
    # one listing for the cohort, and one look-up for each of the two sessions it showed (they are reused)
    assert len(listings) == 3
    assert len([c for c in calls if c[0] == "POST"]) == 4
    assert len(zoom.simulator.meetings) == 6


# -- cause 10: valid JSON of an unexpected shape is MalformedResponse, not KeyError or TypeError -------------


def test_moodle_event_answer_without_its_event_is_malformed(leg: Callable[[str], Leg]) -> None:
    moodle = leg("moodle")
    ref = moodle.adapter.create_session(_session("moodle"), key="causes.s1.moodle.g1", fresh=True)
    moodle.server.faults.add(
        Fault.error(200, {"warnings": []}, body_pattern="wsfunction=core_calendar_get_calendar_event_by_id")
    )
    with pytest.raises(MalformedResponse) as caught:
        moodle.adapter.get_session(ref)
    assert caught.value.provider == "moodle" and caught.value.field == "event"
    assert caught.value.endpoint is not None and "core_calendar_get_calendar_event_by_id" in caught.value.endpoint


def test_moodle_enrolled_users_of_another_shape_are_malformed(leg: Callable[[str], Leg]) -> None:
    moodle = leg("moodle")
    ref = moodle.adapter.create_session(_session("moodle"), key="causes.s1.moodle.g1", fresh=True)
    # Ines has an account already: only then does an enrolment ask who is enrolled in the course.
    moodle.simulator.site.insert_user({"username": "ines", "firstname": "Ines", "lastname": "Duarte",
                                       "email": INES.email})
    moodle.server.faults.add(
        Fault.error(200, {"users": "none"}, body_pattern="wsfunction=core_enrol_get_enrolled_users")
    )
    with pytest.raises(MalformedResponse):
        moodle.adapter.enrol(ref, _session("moodle"), [INES])


def test_zoom_page_token_that_is_an_object_is_malformed(leg: Callable[[str], Leg]) -> None:
    zoom = leg("zoom")
    ref = _zoom_ref(zoom)
    zoom.server.faults.add(
        Fault.error(200, {"registrants": [], "next_page_token": {"token": "x"}}, method="GET", path="/registrants")
    )
    with pytest.raises(MalformedResponse):
        list(zoom.adapter.list_roster(ref))


def test_zoom_registrant_that_is_not_an_object_is_malformed(leg: Callable[[str], Leg]) -> None:
    zoom = leg("zoom")
    ref = _zoom_ref(zoom)
    zoom.server.faults.add(Fault.error(200, {"registrants": ["ines@example.org"]}, method="GET", path="/registrants"))
    with pytest.raises(MalformedResponse):
        list(zoom.adapter.list_roster(ref))


def test_a_slot_shown_in_an_unknown_zone_is_a_validation_error() -> None:
    slot = _session("zoom").slot
    with pytest.raises(ValidationError):
        slot.local_start("Mars/Olympus_Mons")
    with pytest.raises(ValidationError):
        slot.local_end("../etc/passwd")


def test_a_create_whose_look_up_failed_is_audited_not_a_value_error(leg: Callable[[str], Leg]) -> None:
    zoom = leg("zoom")
    zoom.proxy.script("unavailable", method="GET", path="/meetings$", times=50)  # every look-up fails
    ledger = MemoryLedger()
    with pytest.raises(SchedulingFailed):
        Scheduler([zoom.adapter], ledger).schedule(_session("zoom"))
    assert [e.action for e in ledger.iter_audit()][-1] == "schedule_failed"
