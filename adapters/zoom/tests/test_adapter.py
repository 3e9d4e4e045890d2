"""The adapter against the Zoom simulator served on loopback (real HTTP, real transport)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.adapter import Capability
from lms_connectors.errors import CapacityFull, InvalidRequest, NotFound, QuotaExceeded, RateLimited
from lms_connectors.models import Person
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_zoom.adapter import ZoomAdapter
from lms_connectors_zoom.classify import RegistrationNotEnabled, RegistrationRepeatLimit
from lms_connectors_zoom.sandbox import ZoomSimulator

from .conftest import AdapterFactory, learner, make_session

TOKYO = ZoneInfo("Asia/Tokyo")


def test_capabilities_are_declared() -> None:
    assert ZoomAdapter.capabilities >= {Capability.NATIVE_CAPACITY, Capability.ROSTER, Capability.MEETING_LINK}
    assert Capability.NATIVE_IDEMPOTENCY not in ZoomAdapter.capabilities


def test_create_read_back_equals_session(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    session = make_session(capacity=2)
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    assert int(ref.external_id) > 2**32  # int64 ids, kept as strings
    assert ref.join_url and ref.join_url.startswith("https://zoom.us/j/")
    back = adapter.get_session(ref)
    assert back.title == session.title
    assert back.start == session.slot.start and back.end == session.slot.end
    assert back.timezone == "America/New_York"
    assert back.capacity == 2
    assert back.raw["settings"]["approval_type"] == 1  # capacity + native capacity -> manual approval
    assert simulator.meeting_count() == 1


def test_create_twice_with_same_key_is_one_meeting(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    session = make_session()
    first = adapter.create_session(session, key="s-1.zoom.g1")
    again = adapter.create_session(session, key="s-1.zoom.g1")
    assert again.external_id == first.external_id
    assert simulator.meeting_count() == 1
    other = adapter.create_session(make_session("s-2"), key="s-2.zoom.g1")
    assert other.external_id != first.external_id


def test_commit_then_drop_leaves_no_duplicate(adapter: ZoomAdapter, server: SandboxServer,
                                              simulator: ZoomSimulator) -> None:
    server.faults.add(Fault.drop_after_commit(method="POST", path=r"/users/[^/]+/meetings$"))
    ref = adapter.create_session(make_session(), key="s-1.zoom.g1")
    assert simulator.meeting_count() == 1
    assert ref.external_id == str(next(iter(simulator.meetings)))
    # One create was sent and lost; the lookup found it, so no second create went out.
    assert len(list(server.requests_to("POST", r"/meetings$"))) == 1
    assert len(list(server.requests_to("GET", r"/users/me/meetings$"))) == 2


def test_drop_before_commit_creates_once(adapter: ZoomAdapter, server: SandboxServer, simulator: ZoomSimulator) -> None:
    # Lost before the simulator saw it: the transport cannot tell, the lookup finds nothing, one more create.
    server.faults.add(Fault("drop_before_commit", method="POST", path=r"/meetings$"))
    adapter.create_session(make_session(), key="s-1.zoom.g1")
    assert simulator.meeting_count() == 1


def test_reschedule_in_place_across_dst(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    session = make_session(start=datetime(2031, 3, 6, 9, 0, tzinfo=ZoneInfo("America/New_York")))  # EST
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    moved = session.rescheduled(
        session.slot.model_copy(
            update={
                "start": datetime(2031, 3, 13, 9, 0, tzinfo=ZoneInfo("America/New_York")),  # EDT
                "end": datetime(2031, 3, 13, 10, 30, tzinfo=ZoneInfo("America/New_York")),
            }
        )
    )
    adapter.transport.counter.reset()
    new_ref = adapter.reschedule_session(ref, moved)
    assert adapter.transport.counter.total == 1  # one PATCH
    assert new_ref.external_id == ref.external_id
    back = adapter.get_session(ref)
    assert back.start == datetime(2031, 3, 13, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert back.start.astimezone(TOKYO).hour == 22
    assert simulator.meeting_count() == 1


def test_cancel_notifies_and_is_idempotent(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    adapter.enrol(ref, session, [learner(1)])
    adapter.cancel_session(ref, notify=True)
    assert [(e.kind, e.to) for e in simulator.emails if e.kind == "meeting_cancelled"] == [
        ("meeting_cancelled", "learner1@example.com")
    ]
    adapter.cancel_session(ref)  # already gone: success
    with pytest.raises(NotFound):
        adapter.get_session(ref)
    with pytest.raises(NotFound):
        adapter.enrol(ref, session, [learner(2)])


def test_cancel_without_notification(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    adapter.enrol(ref, session, [learner(1)])
    adapter.cancel_session(ref, notify=False)
    assert not [e for e in simulator.emails if e.kind == "meeting_cancelled"]


def test_auto_approval_without_capacity(adapter: ZoomAdapter) -> None:
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    members = adapter.enrol(ref, session, [learner(1), learner(2)])
    assert [m.status for m in members] == ["approved", "approved"]
    assert all(m.join_url for m in members)
    assert {m.email for m in adapter.list_roster(ref)} == {"learner1@example.com", "learner2@example.com"}


def test_manual_approval_without_join_url_does_not_crash(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter(meeting_settings={"approval_type": 1}, native_capacity=False)
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    (member,) = adapter.enrol(ref, session, [learner(1)])
    assert member.join_url is None
    assert member.status == "pending"
    assert member.external_id
    assert [(m.email, m.status) for m in adapter.list_roster(ref)] == [("learner1@example.com", "pending")]


def test_native_capacity_waitlist_and_promotion(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    session = make_session(capacity=2)
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    one, two, three = learner(1), learner(2), learner(3)
    members = adapter.enrol(ref, session, [one, two, three])
    assert [m.status for m in members] == ["approved", "approved", "pending"]
    assert members[0].join_url and members[1].join_url and members[2].join_url is None
    roster = {m.email: m.status for m in adapter.list_roster(ref)}
    assert roster == {one.email: "approved", two.email: "approved", three.email: "pending"}
    # Enrolling the waitlisted learner again while full changes nothing.
    assert adapter.enrol(ref, session, [three])[0].status == "pending"
    adapter.unenrol(ref, session, [one])
    (promoted,) = adapter.enrol(ref, session, [three])  # enrolled again once a seat is free: approved
    assert promoted.status == "approved"
    held = {r["email"]: r for r in simulator.registrants(ref.external_id)}
    assert promoted.join_url and promoted.join_url == held[three.email]["join_url"]  # her own link, not lost
    roster_after = {m.email: (m.status, m.join_url) for m in adapter.list_roster(ref)}
    assert set(roster_after) == {two.email, three.email}
    assert roster_after[three.email][0] == "approved" and roster_after[three.email][1]
    assert [r["status"] for r in simulator.registrants(ref.external_id)] == ["cancelled", "approved", "approved"]


def test_seated_learners_are_approved_whatever_zoom_counts(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    """The scheduler owns capacity: a learner it confirmed must not sit pending because someone registered on
    Zoom's own page took a seat there."""
    session = make_session(capacity=2)
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    adapter.enrol(ref, session, [learner(9)])  # approved outside the scheduler's ledger
    adapter.enrol(ref, session, [learner(8)])
    (waiting,) = adapter.enrol(ref, session, [learner(3)])
    assert waiting.status == "pending"  # Zoom's own waitlist: capacity 2 is taken
    members = adapter.enrol(ref, session, [learner(1), learner(3)], seated=True)
    held = {r["email"]: r for r in simulator.registrants(ref.external_id)}
    assert [m.status for m in members] == ["approved", "approved"]
    for member in members:
        assert held[member.email]["status"] == "approved"
        assert member.join_url and member.join_url == held[member.email]["join_url"]


def test_deny_registrants(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    adapter.enrol(ref, session, [learner(1), learner(2)])
    adapter.ex_deny_registrants(ref, [learner(2), learner(7)])
    assert {r["email"]: r["status"] for r in simulator.registrants(ref.external_id)} == {
        learner(1).email: "approved", learner(2).email: "denied"}


def test_enrol_is_idempotent(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    session = make_session(capacity=5)
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    adapter.enrol(ref, session, [learner(1)])
    adapter.enrol(ref, session, [learner(1), learner(1)])
    assert len(simulator.registrants(ref.external_id)) == 1


def test_enrol_registers_in_batches_of_thirty(adapter: ZoomAdapter, server: SandboxServer,
                                             simulator: ZoomSimulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    people = [learner(n) for n in range(65)]
    members = adapter.enrol(ref, session, people)
    posts = [r.json() for r in server.requests_to("POST", r"/batch_registrants$")]
    assert [len(p["registrants"]) for p in posts] == [30, 30, 5]
    assert [m.email for m in members] == [p.email for p in people]
    held = {r["email"]: r for r in simulator.registrants(ref.external_id)}
    assert len(held) == 65
    for member in members:  # each learner keeps her own registration and join link
        assert member.status == "approved"
        assert member.external_id == held[member.email]["id"]
        assert member.join_url == held[member.email]["join_url"]


def test_a_refused_batch_registers_nobody(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    with pytest.raises(InvalidRequest):
        adapter.enrol(ref, session, [learner(1), Person(email="host@example.com", name="The Host")])
    assert simulator.registrants(ref.external_id) == []


def test_unenrol_batches_of_thirty(adapter: ZoomAdapter, server: SandboxServer) -> None:
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    people = [learner(n) for n in range(35)]
    adapter.enrol(ref, session, people)
    adapter.unenrol(ref, session, people[:32])
    puts = [r.json() for r in server.requests_to("PUT", r"/registrants/status$")]
    assert [len(p["registrants"]) for p in puts] == [30, 2]
    assert all(p["action"] == "cancel" for p in puts)
    assert len(list(adapter.list_roster(ref))) == 3


def test_zoom_registrant_limit_is_capacity_full(adapter: ZoomAdapter, simulator: ZoomSimulator) -> None:
    simulator.max_registrants = 1
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    adapter.enrol(ref, session, [learner(1)])
    with pytest.raises(CapacityFull) as caught:
        adapter.enrol(ref, session, [learner(2)])
    assert caught.value.code == 3043


def test_registration_not_enabled_is_typed(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter(meeting_settings={"approval_type": 2})
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    with pytest.raises(RegistrationNotEnabled):
        adapter.enrol(ref, session, [learner(1)])


def test_host_cannot_register(adapter: ZoomAdapter) -> None:
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    with pytest.raises(InvalidRequest) as caught:
        adapter.enrol(ref, session, [Person(email="host@example.com", name="The Host")])
    assert caught.value.code == 3027


def test_unknown_user_is_not_found(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter(user_id="nobody@example.com")
    with pytest.raises(NotFound) as caught:
        adapter.create_session(make_session(), key="s-1.zoom.g1")
    assert caught.value.code == 1001


@pytest.mark.parametrize("headers", ["reported", "documented"])
def test_daily_limit_is_a_quota_not_a_retry_loop(make_adapter: AdapterFactory, server: SandboxServer,
                                                 simulator: ZoomSimulator, headers: str) -> None:
    """With or without X-RateLimit-Type and Retry-After, the daily 429 is a quota until 00:00 UTC, not retried."""
    simulator.daily_meeting_limit = 2
    simulator.daily_limit_headers = headers  # type: ignore[assignment]
    waits: list[float] = []
    adapter = make_adapter()
    adapter.transport._sleep = waits.append  # observe any wait the transport would take
    first = adapter.create_session(make_session("s-1"), key="s-1.zoom.g1")
    assert adapter.ex_daily_limit_remaining == 1
    adapter.reschedule_session(first, make_session("s-1", minutes=60))
    assert adapter.ex_daily_limit_remaining == 0
    with pytest.raises(QuotaExceeded) as caught:
        adapter.create_session(make_session("s-2"), key="s-2.zoom.g1")
    now = datetime.now(UTC)
    assert caught.value.resets_at == (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert caught.value.status == 429
    assert waits == []  # no retry, no sleep
    assert len(list(server.requests_to("POST", r"/meetings$"))) == 2
    assert simulator.meeting_count() == 1


def test_per_second_throttle_is_waited_out(make_adapter: AdapterFactory, server: SandboxServer,
                                           simulator: ZoomSimulator) -> None:
    waits: list[float] = []
    adapter = make_adapter()
    adapter.transport._sleep = waits.append
    server.faults.add(
        Fault.error(429, {"code": 429, "message": "You have reached the maximum per-second rate limit for this API."},
                    headers={"Retry-After": "1", "X-RateLimit-Type": "QPS"}, method="POST", path=r"/meetings$")
    )
    adapter.create_session(make_session(), key="s-1.zoom.g1")
    assert simulator.meeting_count() == 1
    assert len(waits) == 1 and 1.0 <= waits[0] <= 2.0


def test_per_second_429_without_retry_after_backs_off_within_bounds(
    make_adapter: AdapterFactory, server: SandboxServer, simulator: ZoomSimulator
) -> None:
    """Zoom's own per-second 429 has no Retry-After: exponential backoff, bounded by attempts, then RateLimited."""
    waits: list[float] = []
    adapter = make_adapter(max_attempts=4)
    adapter.transport._sleep = waits.append
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    simulator.throttle(calls=0, seconds=1, method="GET")  # every read refused this second (the clock is frozen)
    with pytest.raises(RateLimited) as caught:
        adapter.get_session(ref)
    assert caught.value.retry_after is None
    assert len(list(server.requests_to("GET", r"/meetings/\d+$"))) == 4  # max_attempts, then it gives up
    assert len(waits) == 3 and all(0 <= w <= 20.0 for w in waits)  # full-jitter backoff under its cap


def test_repeated_registration_refused_with_3000_reads_the_registration_back(
    adapter: ZoomAdapter, server: SandboxServer, simulator: ZoomSimulator
) -> None:
    """Zoom answers 3000 after a few registrations of one email: the idempotent case, read back, not an error."""
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    first = adapter.enrol(ref, session, [learner(1)])
    for _ in range(2):  # the second and third registrations are answered with the existing one
        assert adapter.enrol(ref, session, [learner(1)])[0].external_id == first[0].external_id
    posts = len(list(server.requests_to("POST", r"/batch_registrants$")))
    again = adapter.enrol(ref, session, [learner(1), learner(2)])  # learner 1's fourth: Zoom refuses the batch
    assert [m.email for m in again] == [learner(1).email, learner(2).email]
    assert again[0].external_id == first[0].external_id and again[0].status == "approved"
    assert again[1].external_id and again[1].join_url
    # the refused batch, then learner 2 alone (learner 1 was read back from the roster)
    assert len(list(server.requests_to("POST", r"/batch_registrants$"))) == posts + 2
    assert sorted(r["email"] for r in simulator.registrants(ref.external_id)) == [learner(1).email, learner(2).email]


def test_3000_for_someone_zoom_does_not_hold_is_raised(
    adapter: ZoomAdapter, simulator: ZoomSimulator
) -> None:
    simulator.registration_repeat_limit = 1
    session = make_session()
    ref = adapter.create_session(session, key="s-1.zoom.g1")
    adapter.enrol(ref, session, [learner(1)])
    adapter.unenrol(ref, session, [learner(1)])  # cancelled: no longer listed as approved or pending
    with pytest.raises(RegistrationRepeatLimit) as caught:
        adapter.enrol(ref, session, [learner(1)])
    assert caught.value.code == 3000


def test_pagination_of_meetings_and_registrants(make_adapter: AdapterFactory, server: SandboxServer) -> None:
    adapter = make_adapter(page_size=2)
    base = datetime(2031, 5, 4, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    for n in range(5):
        adapter.create_session(make_session(f"p-{n}", start=base + timedelta(days=n), zone="Europe/Berlin"),
                               key=f"p-{n}.zoom.g1")
    found = list(adapter.list_sessions(base, base + timedelta(days=4)))
    assert [s.start for s in found] == [base + timedelta(days=n) for n in range(4)]
    assert len(list(server.requests_to("GET", r"/users/me/meetings$"))) > 5  # several pages per listing
    # The last created session is found by its marker on the third page.
    assert adapter.find_session("p-4.zoom.g1") is not None
    session = make_session("p-0", start=base, zone="Europe/Berlin")
    ref = adapter.find_session("p-0.zoom.g1")
    assert ref is not None
    adapter.enrol(ref, session, [learner(n) for n in range(5)])
    assert len({m.email for m in adapter.list_roster(ref)}) == 5


CALLS: dict[str, int] = {}


def test_http_calls_per_operation(make_adapter: AdapterFactory) -> None:
    """Calls each operation makes (the figures in the README), measured with the transport's counter."""
    adapter = make_adapter()
    counter = adapter.transport.counter
    session = make_session(capacity=10)

    def measure(name: str, action: object) -> None:
        counter.reset()
        action() if callable(action) else None
        CALLS[name] = counter.total

    refs = []
    measure("create", lambda: refs.append(adapter.create_session(session, key="c.zoom.g1")))
    ref = refs[0]
    measure("create again (same key)", lambda: adapter.create_session(session, key="c.zoom.g1"))
    measure("get", lambda: adapter.get_session(ref))
    measure("reschedule", lambda: adapter.reschedule_session(ref, make_session(minutes=60, capacity=10)))
    measure("enrol 5 (capacity 10)", lambda: adapter.enrol(ref, session, [learner(n) for n in range(5)]))
    measure("enrol 5 again (no-op)", lambda: adapter.enrol(ref, session, [learner(n) for n in range(5)]))
    measure("list roster (5)", lambda: list(adapter.list_roster(ref)))
    measure("unenrol 2", lambda: adapter.unenrol(ref, session, [learner(0), learner(1)]))
    measure("cancel", lambda: adapter.cancel_session(ref))
    plain = make_session("plain")
    plain_ref = adapter.create_session(plain, key="plain.zoom.g1")
    measure("enrol 5 (no capacity)", lambda: adapter.enrol(plain_ref, plain, [learner(n) for n in range(5)]))
    assert CALLS == {
        "create": 2,  # marker lookup + POST
        "create again (same key)": 1,  # lookup finds it
        "get": 1,
        "reschedule": 1,
        "enrol 5 (capacity 10)": 3,  # approved + pending listing, then one batch with auto_approve
        "enrol 5 again (no-op)": 2,
        "list roster (5)": 2,  # approved page + pending page
        "unenrol 2": 3,  # two listings for the ids + one PUT cancel
        "cancel": 1,
        "enrol 5 (no capacity)": 1,  # one batch_registrants
    }
