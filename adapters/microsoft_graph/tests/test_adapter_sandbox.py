"""The adapter against the Graph simulator on loopback: behaviour that the contract matrix does not pin down."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import (
    ConfigurationError,
    Conflict,
    NotFound,
    RateLimited,
    TransientError,
    ValidationError,
)
from lms_connectors.models import Person, ProviderRef
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter
from lms_connectors_microsoft_graph.limiter import MailboxLimiter
from lms_connectors_microsoft_graph.mapping import KEY_PROPERTY, transaction_id
from lms_connectors_microsoft_graph.sandbox import GraphSimulator

from .conftest import (
    COLLEAGUE,
    LEARNERS,
    ORGANIZER,
    OTHER_ROOM,
    ROOM,
    Waits,
    check_against_openapi,
    in_room,
    session,
    slot,
    virtual,
)

KEY = "ilt-101.2027-03-16.microsoft_graph.g1"
MailboxFactory = Callable[..., MicrosoftGraphAdapter]


def _posts(server: SandboxServer, suffix: str = "/events") -> list[dict[str, object]]:
    return [r.json() for r in server.requests_to("POST", suffix + "$")]


def test_fresh_create_is_one_post_with_transaction_id_marker_and_windows_zone(
    adapter: MicrosoftGraphAdapter, server: SandboxServer
) -> None:
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    graph = [r for r in server.requests if r.path.startswith("/v1.0")]
    assert [(r.method, r.path) for r in graph] == [("POST", f"/v1.0/users/{ORGANIZER}/events")]
    body = graph[0].json()
    assert body["transactionId"] == transaction_id(KEY)
    assert body["start"] == {"dateTime": "2027-03-16T09:00:00", "timeZone": "Eastern Standard Time"}
    assert {"id": KEY_PROPERTY, "value": KEY} in body["singleValueExtendedProperties"]
    assert 'IdType="ImmutableId"' in graph[0].headers["prefer"]
    assert ref.extra["key"] == KEY
    got = adapter.get_session(ref)
    assert got.start == session().slot.start and got.timezone == "America/New_York" and got.capacity == 12
    assert check_against_openapi(server.requests) == 2


def test_a_retried_create_finds_the_first_by_its_extended_property(
    adapter: MicrosoftGraphAdapter, server: SandboxServer, simulator: GraphSimulator
) -> None:
    first = adapter.create_session(session(), key=KEY, fresh=True)
    again = adapter.create_session(session(), key=KEY)  # not fresh: looked up first
    assert again.external_id == first.external_id
    assert len(_posts(server)) == 1
    assert len(simulator.live_events()) == 1


def test_a_lost_create_answer_is_looked_up_before_anything_else(
    adapter: MicrosoftGraphAdapter, server: SandboxServer, simulator: GraphSimulator
) -> None:
    adapter.find_session("warm-up")  # the token first, so the lost answer is the create's
    server.faults.add(Fault.drop_after_commit(method="POST", path="/events$"))
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    assert [e["id"] for e in simulator.live_events()] == [ref.external_id]
    methods = [r.method for r in server.requests if r.path.startswith("/v1.0")][1:]
    assert methods == ["POST", "GET"], "after the lost answer: the look-up, no second POST"


def test_concurrent_item_save_with_nothing_saved_is_looked_up_then_sent_once_more(
    adapter: MicrosoftGraphAdapter, server: SandboxServer, simulator: GraphSimulator
) -> None:
    adapter.find_session("warm-up")
    server.faults.add(Fault.error(503, {"error": {"code": "ConcurrentItemSave", "message": "busy"}}, method="POST"))
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    assert [e["id"] for e in simulator.live_events()] == [ref.external_id]
    methods = [r.method for r in server.requests if r.path.startswith("/v1.0")][1:]
    assert methods == ["POST", "GET", "POST"], "a 503 is never resent blindly: the look-up comes first"


def test_irresolvable_conflict_on_a_create_that_was_saved_finds_the_event(
    adapter: MicrosoftGraphAdapter, server: SandboxServer, simulator: GraphSimulator
) -> None:
    from lms_connectors_microsoft_graph.sandbox import graph_error

    original = simulator._create

    def saved_then_refused(*args: object, **kwargs: object) -> object:
        simulator._create = original  # type: ignore[method-assign]
        original(*args, **kwargs)  # type: ignore[arg-type]
        return graph_error(412, "ErrorIrresolvableConflict", "The change key passed in the request does not match.")

    simulator._create = saved_then_refused  # type: ignore[method-assign]
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    assert [e["id"] for e in simulator.live_events()] == [ref.external_id]
    assert len(_posts(server)) == 1


def test_graph_drops_a_resent_create_with_the_same_transaction_id(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> None:
    first = adapter.create_session(session(), key=KEY, fresh=True)
    second = adapter.create_session(session(), key=KEY, fresh=True)  # a caller whose ledger lied
    assert first.external_id == second.external_id
    assert len(simulator.live_events()) == 1


def test_teams_link_made_asynchronously_is_waited_for(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator, server: SandboxServer, waits: Waits
) -> None:
    simulator.teams_pending_reads = 2
    ref = adapter.create_session(virtual(), key=KEY, fresh=True)
    assert ref.join_url is not None and ref.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    body = _posts(server)[0]
    assert body["isOnlineMeeting"] is True and body["onlineMeetingProvider"] == "teamsForBusiness"
    assert len(list(server.requests_to("GET", "/events/"))) == 2
    assert waits[:2] == [0.5, 1.0]


def test_a_teams_link_that_never_comes_undoes_the_event(
    make_adapter: MailboxFactory, simulator: GraphSimulator
) -> None:
    simulator.teams_pending_reads = 1000
    adapter = make_adapter(teams_wait_seconds=2)
    with pytest.raises(TransientError, match="Teams link"):
        adapter.create_session(virtual(), key=KEY, fresh=True)
    assert simulator.live_events() == [] and simulator.events == {}


def test_a_meeting_made_elsewhere_is_published_not_replaced(
    adapter: MicrosoftGraphAdapter, server: SandboxServer
) -> None:
    from lms_connectors.models import Meeting

    meeting = Meeting(provider="zoom", join_url="https://zoom.us/j/123456789")
    ref = adapter.create_session(virtual(meeting=meeting), key=KEY, fresh=True)
    body = _posts(server)[0]
    assert "isOnlineMeeting" not in body
    assert "Join: https://zoom.us/j/123456789" in body["body"]["content"]
    assert ref.join_url == meeting.join_url == adapter.get_session(ref).join_url


def test_room_booked_as_resource_attendee_and_location(
    adapter: MicrosoftGraphAdapter, server: SandboxServer, simulator: GraphSimulator
) -> None:
    ref = adapter.create_session(in_room(), key=KEY, fresh=True)
    body = _posts(server)[0]
    assert {"emailAddress": {"address": ROOM.email, "name": ROOM.name}, "type": "resource"} in body["attendees"]
    assert body["location"]["locationEmailAddress"] == ROOM.email
    assert body["locations"] == [body["location"]]
    event = simulator.events[ref.external_id]
    assert [a["status"]["response"] for a in event["attendees"]] == ["accepted"]
    assert adapter.get_session(ref).location == "Harbour Training Room, Quay House"
    assert check_against_openapi(server.requests) == 2


def test_a_room_that_declines_is_a_conflict_and_the_event_is_undone(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> None:
    adapter.create_session(in_room(), key=KEY, fresh=True)
    simulator.room_pending_reads = 2  # the room answers asynchronously this time
    with pytest.raises(Conflict, match="already booked") as raised:
        adapter.create_session(in_room(id="ilt-101.b", title="Overlap"), key="ilt-101.b.g1", fresh=True)
    assert raised.value.code == "roomDeclined"
    assert [e["subject"] for e in simulator.live_events()] == ["Forklift Safety"]


def test_roster_patch_sends_the_whole_list_and_keeps_an_attendee_added_in_outlook(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator, server: SandboxServer
) -> None:
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    adapter.enrol(ref, session(), LEARNERS[:2], seated=True)
    outsider = {"type": "required", "status": {"response": "accepted", "time": "2027-01-04T12:00:00Z"},
                "emailAddress": {"name": "Dana Swope", "address": COLLEAGUE}}
    event = simulator.events[ref.external_id]
    simulator.edit_event(ref.external_id, {"attendees": [*event["attendees"], outsider]})
    members = adapter.enrol(ref, session(), [LEARNERS[2]], seated=True)
    assert [m.email for m in members] == [LEARNERS[2].email]
    emails = [a["emailAddress"]["address"] for a in simulator.events[ref.external_id]["attendees"]]
    assert emails == [LEARNERS[0].email, LEARNERS[1].email, COLLEAGUE, LEARNERS[2].email]
    adapter.unenrol(ref, session(), [LEARNERS[0]])
    assert {m.email for m in adapter.list_roster(ref)} == {LEARNERS[1].email, COLLEAGUE, LEARNERS[2].email}
    accepted = next(a for a in simulator.events[ref.external_id]["attendees"] if a["emailAddress"]["address"] == COLLEAGUE)
    assert accepted["status"]["response"] == "accepted", "her answer survives our PATCH"
    patches = list(server.requests_to("PATCH", "/events/"))
    assert all("if-match" in p.headers for p in patches)
    assert check_against_openapi(server.requests) >= 5


def test_a_concurrent_roster_edit_is_read_again_and_merged(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator, server: SandboxServer
) -> None:
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    original = simulator._patch

    def edit_in_between(*args: object, **kwargs: object) -> object:
        simulator._patch = original  # type: ignore[method-assign]
        event = simulator.events[ref.external_id]
        outsider = {"type": "optional", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    "emailAddress": {"name": "Dana", "address": COLLEAGUE}}
        simulator.edit_event(ref.external_id, {"attendees": [*event["attendees"], outsider]})
        return original(*args, **kwargs)  # type: ignore[arg-type]

    simulator._patch = edit_in_between  # type: ignore[method-assign]
    adapter.enrol(ref, session(), [LEARNERS[0]], seated=True)
    emails = {a["emailAddress"]["address"] for a in simulator.events[ref.external_id]["attendees"]}
    assert emails == {COLLEAGUE, LEARNERS[0].email}
    assert len(list(server.requests_to("PATCH", "/events/"))) == 2  # the first refused (412), the second merged


def test_reschedule_is_one_patch_after_roster_changes(
    adapter: MicrosoftGraphAdapter, server: SandboxServer
) -> None:
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    adapter.enrol(ref, session(), LEARNERS, seated=True)
    before = len(server.requests)
    moved = adapter.reschedule_session(ref, session().rescheduled(slot(day=17)))
    assert [r.method for r in server.requests[before:]] == ["PATCH"]
    assert moved.external_id == ref.external_id
    assert adapter.get_session(moved).start == slot(day=17).start


def test_reschedule_refuses_to_overwrite_a_move_made_in_outlook(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> None:
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    simulator.edit_event(ref.external_id, {"subject": "Moved by the trainer"})
    with pytest.raises(Conflict, match="Outlook"):
        adapter.reschedule_session(ref, session().rescheduled(slot(day=18)))
    assert simulator.events[ref.external_id]["subject"] == "Moved by the trainer"


def test_cancel_tells_attendees_with_a_comment_then_delete_when_refused(
    adapter: MicrosoftGraphAdapter, server: SandboxServer, simulator: GraphSimulator
) -> None:
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    adapter.cancel_session(ref)
    cancel = next(server.requests_to("POST", "/cancel$"))
    assert cancel.json() == {"comment": "This training session has been cancelled."}
    assert adapter.get_session(ref).cancelled
    with pytest.raises(NotFound):
        adapter.enrol(ref, session(), [LEARNERS[0]])
    adapter.cancel_session(ref)  # Graph refuses a second cancel (400): the adapter deletes it
    assert list(server.requests_to("DELETE", "/events/"))
    with pytest.raises(NotFound):
        adapter.get_session(ref)
    adapter.cancel_session(ref)  # gone: still a success
    assert check_against_openapi(server.requests) >= 3


def test_an_unknown_organizer_is_a_configuration_error_not_an_event_already_gone(
    make_adapter: MailboxFactory,
) -> None:
    adapter = make_adapter(organizer="nobody@contoso.example")
    with pytest.raises(ConfigurationError, match="not a mailbox user"):
        adapter.cancel_session(ProviderRef(provider="microsoft_graph", external_id="AAkALgAA"))


def test_list_sessions_follows_next_links_and_keeps_only_sdk_events_starting_in_the_window(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator, server: SandboxServer
) -> None:
    refs = [adapter.create_session(session(id=f"s-{n}", slot=slot(day=10 + n)), key=f"s-{n}.g1", fresh=True)
            for n in range(5)]
    simulator.edit_event(refs[0].external_id, {"singleValueExtendedProperties": []})  # not the SDK's any more
    listed = list(adapter.list_sessions(datetime(2027, 3, 11, tzinfo=ZoneInfo("UTC")),
                                        datetime(2027, 3, 31, tzinfo=ZoneInfo("UTC")), page_size=2))
    assert sorted(s.ref.external_id for s in listed) == sorted(r.external_id for r in refs[1:])
    assert len(list(server.requests_to("GET", "/calendarView$"))) == 2  # 4 events, 2 a page, the last page short


def test_free_busy_reads_people_and_rooms_through_get_schedule(
    adapter: MicrosoftGraphAdapter, server: SandboxServer
) -> None:
    adapter.create_session(in_room(), key=KEY, fresh=True)
    start, end = datetime(2027, 3, 16, tzinfo=ZoneInfo("UTC")), datetime(2027, 3, 17, tzinfo=ZoneInfo("UTC"))
    busy = adapter.free_busy([ROOM.email, OTHER_ROOM.email, ORGANIZER], start, end)
    assert [(b.start, b.end) for b in busy[ROOM.email]] == [(session().slot.start, session().slot.end)]
    assert busy[OTHER_ROOM.email] == []
    assert len(busy[ORGANIZER]) == 1
    with pytest.raises(NotFound):
        adapter.free_busy(["stranger@elsewhere.example"], start, end)
    assert check_against_openapi(server.requests) >= 3


def test_rooms_are_listed_with_capacity_building_floor_and_access(adapter: MicrosoftGraphAdapter) -> None:
    rooms = list(adapter.list_rooms(page_size=1))
    assert [(r.email, r.capacity, r.location) for r in rooms] == [
        (OTHER_ROOM.email, 8, "Quay House, 1, wheelchair accessible"),
        (ROOM.email, 20, "Quay House, 2, wheelchair accessible"),
    ]


def test_delta_rounds_report_moves_and_removals_made_in_outlook(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> None:
    window = (datetime(2027, 3, 1, tzinfo=ZoneInfo("UTC")), datetime(2027, 4, 1, tzinfo=ZoneInfo("UTC")))
    refs = [adapter.create_session(session(id=f"s-{n}", slot=slot(day=10 + n)), key=f"s-{n}.g1", fresh=True)
            for n in range(12)]
    first = adapter.ex_changes(*window)
    assert len(first.changed) == 12 and first.removed == ()
    quiet = adapter.ex_changes(*window, delta_link=first.delta_link)
    assert quiet.changed == () and quiet.removed == ()
    simulator.edit_event(refs[1].external_id, {"subject": "Moved in Outlook"})
    adapter.cancel_session(refs[2])
    later = adapter.ex_changes(*window, delta_link=quiet.delta_link)
    assert [s.title for s in later.changed] == ["Moved in Outlook"]
    assert later.removed == (refs[2].external_id,)


def test_batch_cancel_chains_items_and_sends_throttled_and_broken_chain_items_again(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator, server: SandboxServer, waits: Waits
) -> None:
    refs = [adapter.create_session(session(id=f"s-{n}", slot=slot(day=1 + n)), key=f"s-{n}.g1", fresh=True)
            for n in range(23)]
    gone = refs[3]
    adapter.cancel_session(gone, notify=False)  # already deleted: its item answers 404, its dependants 424
    outcome = adapter.ex_cancel_many(refs)
    assert all(error is None for error in outcome.values()), outcome
    assert simulator.live_events() == []
    batches = [r.json()["requests"] for r in server.requests_to("POST", r"/\$batch$")]
    # The 404 breaks the chain: the 16 items after it answer 424 and go again with the last 3.
    assert [len(b) for b in batches] == [20, 19]
    assert batches[0][1]["dependsOn"] == [batches[0][0]["id"]]
    assert check_against_openapi(server.requests) >= 23


def test_a_cohorts_events_are_read_in_batches_of_twenty_with_a_deleted_one_answered_on_its_own(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator, server: SandboxServer
) -> None:
    refs = [adapter.create_session(session(id=f"s-{n}", slot=slot(day=1 + n)), key=f"s-{n}.g1", fresh=True)
            for n in range(23)]
    simulator.edit_event(refs[5].external_id, {"subject": "Renamed in Outlook"})
    adapter.cancel_session(refs[7], notify=False)  # deleted: NotFound, and the items after it go again
    before = len(server.requests)
    found = adapter.ex_get_many(refs)
    sent = server.requests[before:]
    assert [(r.method, r.path) for r in sent] == [("POST", "/v1.0/$batch")] * 2  # 23 reads in 2 calls, not 23
    assert isinstance(found[refs[7].external_id], NotFound)
    read = {ref.external_id: found[ref.external_id] for n, ref in enumerate(refs) if n != 7}
    assert all(not isinstance(value, Exception) for value in read.values())
    first = adapter.get_session(refs[0])
    assert read[refs[0].external_id] == first  # the same reading as one GET, extended properties included
    assert read[refs[5].external_id].title == "Renamed in Outlook"  # type: ignore[union-attr]
    assert [item["method"] for item in sent[0].json()["requests"]] == ["GET"] * 20
    assert check_against_openapi(server.requests) >= 23


def test_batch_items_throttled_inside_a_200_wait_their_retry_after(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator, waits: Waits
) -> None:
    refs = [adapter.create_session(session(id=f"s-{n}", slot=slot(day=1 + n)), key=f"s-{n}.g1", fresh=True)
            for n in range(2)]
    original = simulator._cancel
    throttled = {"left": 1}

    def throttle_once(event: dict[str, object], body: object) -> object:
        from lms_connectors_microsoft_graph.sandbox import graph_error

        if throttled["left"]:
            throttled["left"] -= 1
            answer = graph_error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
            answer.headers["Retry-After"] = "2.128"
            return answer
        return original(event, body)  # type: ignore[arg-type]

    simulator._cancel = throttle_once  # type: ignore[method-assign,assignment]
    outcome = adapter.ex_cancel_many(refs)
    assert list(outcome.values()) == [None, None]
    assert 2.128 in waits


def test_throttling_is_waited_out_with_a_fractional_retry_after(
    adapter: MicrosoftGraphAdapter, server: SandboxServer, waits: Waits
) -> None:
    adapter.find_session("warm-up")
    body = {"error": {"code": "ApplicationThrottled", "message": "Application is over its MailboxConcurrency limit."}}
    server.faults.add(Fault.throttle(429, retry_after="2.128", body=body, times=2, method="POST"))
    adapter.create_session(session(), key=KEY, fresh=True)
    assert waits == [2.128, 2.128]


def test_a_long_throttle_is_raised_as_rate_limited(make_adapter: MailboxFactory, server: SandboxServer) -> None:
    adapter = make_adapter(total_timeout=5)
    adapter.find_session("warm-up")
    server.faults.add(Fault.throttle(429, retry_after="600", method="POST"))
    with pytest.raises(RateLimited) as raised:
        adapter.create_session(session(), key=KEY, fresh=True)
    assert raised.value.retry_after == 600


def test_mailbox_limiter_lets_at_most_the_configured_requests_through_at_once() -> None:
    limiter = MailboxLimiter("tenant/app-limiter-test", 4)
    inside, peak, lock = 0, 0, threading.Lock()

    def work() -> None:
        nonlocal inside, peak
        with limiter.slot("Training-Desk@contoso.example"):
            with lock:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.02)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 4
    with pytest.raises(ValueError):
        MailboxLimiter("x", 0)


def test_diagnose_checks_token_mailbox_calendar_and_rooms(
    adapter: MicrosoftGraphAdapter, make_adapter: MailboxFactory
) -> None:
    checks = adapter.diagnose()
    assert [(c.name, c.ok) for c in checks] == [("token", True), ("mailbox", True), ("calendar", True),
                                                 ("teams", True), ("attendance", True), ("rooms", True)]
    wrong = make_adapter(client_secret="not-the-secret")
    failed = wrong.diagnose()
    assert [(c.name, c.ok) for c in failed] == [("token", False)]
    assert "invalid_client" in failed[0].detail and "not-the-secret" not in failed[0].detail


def test_diagnose_names_an_application_access_policy_that_leaves_the_organizer_out(
    make_adapter: MailboxFactory,
) -> None:
    # The simulated tenant scopes the application to the training desk's mailbox, as an application access
    # policy does: any other mailbox answers 403 ErrorAccessDenied.
    scoped_out = make_adapter(organizer=COLLEAGUE)
    checks = {c.name: c for c in scoped_out.diagnose()}
    assert checks["token"].ok and not checks["mailbox"].ok and not checks["calendar"].ok
    assert "application access policy" in checks["mailbox"].detail
    assert f"Test-ApplicationAccessPolicy -Identity {COLLEAGUE}" in checks["mailbox"].detail
    assert checks["mailbox"].detail.startswith("PermissionDenied")


def test_diagnose_says_when_the_organizers_calendar_cannot_make_teams_meetings(
    make_adapter: MailboxFactory, simulator: GraphSimulator
) -> None:
    simulator.online_meeting_providers = ["skypeForBusiness"]
    checks = {c.name: c for c in make_adapter().diagnose()}
    assert checks["calendar"].ok and not checks["teams"].ok
    assert "allowedOnlineMeetingProviders: skypeForBusiness" in checks["teams"].detail


def test_a_key_longer_than_a_property_allows_is_refused_before_any_call(
    adapter: MicrosoftGraphAdapter, server: SandboxServer
) -> None:
    with pytest.raises(ValidationError):
        adapter.create_session(session(), key="k" * 300, fresh=True)
    assert server.requests == []


def test_learner_added_twice_is_one_attendee(adapter: MicrosoftGraphAdapter, simulator: GraphSimulator) -> None:
    ref = adapter.create_session(session(), key=KEY, fresh=True)
    adapter.enrol(ref, session(), [LEARNERS[0]])
    adapter.enrol(ref, session(), [Person(email=LEARNERS[0].email.upper(), name="Amara")])
    assert len(simulator.events[ref.external_id]["attendees"]) == 1
    assert json.dumps(simulator.events[ref.external_id]["attendees"]).count("amara") == 1


@pytest.mark.parametrize("zone", ["Tokyo Standard Time", "Pacific Standard Time", "Europe/Berlin", "UTC"])
def test_answers_in_the_zone_asked_with_prefer_outlook_timezone_read_back_the_same_instants(
    make_adapter: MailboxFactory, server: SandboxServer, zone: str
) -> None:
    adapter = make_adapter(response_timezone=zone)
    # 16 March 2027: New York is on summer time, Berlin still on winter time, Tokyo never changes.
    wanted = session(slot=slot(day=16, hour=9, zone="America/New_York"))
    ref = adapter.create_session(wanted, key=KEY, fresh=True)
    raw = adapter.call("GET", f"users/{ORGANIZER}/events/{ref.external_id}")
    assert raw["start"]["timeZone"] == zone  # Graph answered in the zone the header asked for
    assert all(f'outlook.timezone="{zone}"' in r.headers["prefer"] for r in server.requests if r.path.startswith("/v1.0"))
    got = adapter.get_session(ref)
    assert (got.start, got.end) == (wanted.slot.start, wanted.slot.end)
    listed = list(adapter.list_sessions(datetime(2027, 3, 16, tzinfo=ZoneInfo("UTC")),
                                        datetime(2027, 3, 17, tzinfo=ZoneInfo("UTC"))))
    assert [(s.start, s.end) for s in listed] == [(wanted.slot.start, wanted.slot.end)]
    moved = wanted.model_copy(update={"slot": slot(day=16, hour=11, zone="America/New_York")})
    adapter.reschedule_session(ref, moved)
    assert adapter.get_session(ref).start == moved.slot.start
