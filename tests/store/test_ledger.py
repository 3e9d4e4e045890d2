"""The ledger test-suite: one contract run against every LedgerStore implementation (memory, SQLite and
PostgreSQL), then what only the SQLite ledger promises (a file that outlives the process, shared between handles,
migrated from older versions). PostgreSQL's own promises (row-level security, locks across processes) are in
test_postgres.py."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import ConfigurationError
from lms_connectors.models import (
    Enrollment,
    EnrollmentStatus,
    Person,
    ProviderRef,
    Room,
    RosterMember,
    Session,
    SessionStatus,
    TimeSlot,
)
from lms_connectors.store import open_ledger
from lms_connectors.store.base import AuditEntry, Booking, KeyState, LedgerStore
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.store.sqlite import DEFAULT_LEDGER_PATH, MIGRATIONS, SCHEMA_VERSION, SQLiteLedger


def open_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> LedgerStore:
    """A fresh, empty ledger of one implementation."""
    if kind == "memory":
        return MemoryLedger()
    if kind == "sqlite":
        return SQLiteLedger(tmp_path / "ledger.db")
    from lms_connectors.store.postgres import PostgresLedger

    return PostgresLedger(request.getfixturevalue("postgres_dsn"), schema=request.getfixturevalue("postgres_schema"))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    """A fresh ledger of each implementation: every contract test below runs against all three."""
    store = open_store(request.param, request, tmp_path)
    yield store
    store.close()


NEW_YORK = ZoneInfo("America/New_York")


def make_session(session_id: str = "s1", *, title: str = "Safety basics", day: int = 16) -> Session:
    return Session(
        id=session_id,
        title=title,
        slot=TimeSlot(
            start=datetime(2027, 3, day, 10, 0, tzinfo=NEW_YORK),
            end=datetime(2027, 3, day, 12, 0, tzinfo=NEW_YORK),
            timezone="America/New_York",
        ),
        capacity=2,
    )


def make_enrollment(
    email: str,
    position: int,
    status: EnrollmentStatus = EnrollmentStatus.CONFIRMED,
    session_id: str = "s1",
) -> Enrollment:
    return Enrollment(
        session_id=session_id,
        person=Person(email=email, name=email.split("@")[0].title(), timezone="Asia/Tokyo"),
        status=status,
        position=position,
    )


def run_threads(target: Callable[[int], None], count: int) -> None:
    """Run ``target(i)`` in ``count`` threads at once and re-raise the first failure."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def guarded(index: int) -> None:
        try:
            start.wait()
            target(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not errors, errors


class Boom(Exception):
    pass


# sessions


def test_missing_session_is_none(ledger: LedgerStore) -> None:
    assert ledger.get_session("nope") is None
    assert ledger.list_sessions() == []


def test_session_round_trips_with_its_instants(ledger: LedgerStore) -> None:
    session = make_session()
    ledger.save_session(session)
    loaded = ledger.get_session("s1")
    assert loaded == session
    assert loaded is not None
    assert loaded.slot.start == datetime(2027, 3, 16, 14, 0, tzinfo=ZoneInfo("UTC"))
    assert loaded.slot.timezone == "America/New_York"


def test_save_session_replaces_and_keeps_insertion_order(ledger: LedgerStore) -> None:
    for sid in ("b", "a", "c"):
        ledger.save_session(make_session(sid))
    moved = make_session("a").rescheduled(
        TimeSlot(
            start=datetime(2027, 3, 17, 9, 0, tzinfo=ZoneInfo("America/New_York")),
            end=datetime(2027, 3, 17, 10, 0, tzinfo=ZoneInfo("America/New_York")),
            timezone="America/New_York",
        )
    )
    ledger.save_session(moved)
    sessions = ledger.list_sessions()
    assert [s.id for s in sessions] == ["b", "a", "c"]
    assert sessions[1].sequence == 1
    assert sessions[1].slot.same_instants(moved.slot)


def test_sessions_are_streamed_in_pages_in_insertion_order_and_counted(ledger: LedgerStore) -> None:
    ids = [f"s{n}" for n in range(7)]
    for sid in ids:
        ledger.save_session(make_session(sid))
    assert ledger.count_sessions() == 7
    walk = ledger.iter_sessions(page_size=3)
    first = [next(walk).id for _ in range(4)]
    # A session saved again during the walk keeps its place; a new one is met at the end, once.
    ledger.save_session(make_session("s1", title="Renamed"))
    ledger.save_session(make_session("s7"))
    rest = [s.id for s in walk]
    assert first + rest == [*ids, "s7"]
    assert [s.id for s in ledger.iter_sessions(page_size=1)] == [*ids, "s7"]
    other = ledger.bind("acme")
    assert list(other.iter_sessions()) == [] and other.count_sessions() == 0
    other.close()


def test_bookings_give_what_the_conflict_checker_indexes_for_scheduled_sessions_only(ledger: LedgerStore) -> None:
    people = [Person(email=f"teacher{n}@example.org", name=f"Teacher {n}") for n in range(3)]
    base = make_session("one")
    rows = [
        base.model_copy(update={"instructors": (people[0],), "room": Room(id="r1", name="R1", email="r1@example.org")}),
        base.model_copy(update={"id": "two", "instructors": tuple(people[:2])}),
        base.model_copy(update={"id": "three", "instructors": tuple(people), "room": Room(id="7", name="Lab",
                                                                                           provider="librebooking")}),
        base.model_copy(update={"id": "none", "room": Room(id="9", name="Hall")}),
        base.model_copy(update={"id": "gone", "instructors": (people[0],), "status": SessionStatus.CANCELLED}),
    ]
    for session in rows:
        ledger.save_session(session)
    bookings = list(ledger.iter_bookings())
    assert bookings == [Booking.of(session) for session in rows[:4]]
    assert bookings[2].resources == (*(p.email for p in people), "room:librebooking/7")
    assert bookings[3].resources == ("room:-/9",)
    assert bookings[0].start == datetime(2027, 3, 16, 10, 0, tzinfo=NEW_YORK).timestamp()
    other = ledger.bind("acme")
    assert list(other.iter_bookings()) == []
    other.close()


# provider refs


def test_refs_put_get_replace_list_delete(ledger: LedgerStore) -> None:
    ledger.put_ref("s1", ProviderRef(provider="zoom", external_id="z1", join_url="https://zoom.example/j/1"))
    ledger.put_ref("s1", ProviderRef(provider="moodle", external_id="m1", extra={"group_id": "7"}))
    ledger.put_ref("s2", ProviderRef(provider="zoom", external_id="z2"))

    ledger.put_ref("s1", ProviderRef(provider="zoom", external_id="z1", version="etag-2"))
    zoom = ledger.get_ref("s1", "zoom")
    assert zoom is not None
    assert zoom.version == "etag-2"
    assert zoom.join_url is None
    assert [r.provider for r in ledger.list_refs("s1")] == ["zoom", "moodle"]
    assert ledger.list_refs("s1")[1].extra == {"group_id": "7"}

    ledger.delete_ref("s1", "zoom")
    ledger.delete_ref("s1", "zoom")  # absent: no error
    assert ledger.get_ref("s1", "zoom") is None
    assert [r.external_id for r in ledger.list_refs("s1")] == ["m1"]
    assert [r.external_id for r in ledger.list_refs("s2")] == ["z2"]
    assert ledger.get_ref("s3", "zoom") is None


# idempotency keys


def test_first_key_is_generation_one_new_until_sent(ledger: LedgerStore) -> None:
    record = ledger.current_key("s1", "google_calendar")
    assert record.key == "s1.google_calendar.g1"
    assert record.generation == 1
    assert record.state is KeyState.NEW
    assert (record.session_id, record.provider) == ("s1", "google_calendar")
    ledger.set_key_state("s1", "google_calendar", 1, KeyState.PENDING)  # a create was sent with it
    again = ledger.current_key("s1", "google_calendar")
    assert (again.key, again.state) == ("s1.google_calendar.g1", KeyState.PENDING)


def test_live_key_is_reused_until_retired(ledger: LedgerStore) -> None:
    first = ledger.current_key("s1", "zoom")
    assert ledger.current_key("s1", "zoom").key == first.key

    ledger.set_key_state("s1", "zoom", 1, KeyState.DONE)
    done = ledger.current_key("s1", "zoom")
    assert (done.key, done.state) == ("s1.zoom.g1", KeyState.DONE)

    ledger.set_key_state("s1", "zoom", 1, KeyState.RETIRED)
    second = ledger.current_key("s1", "zoom")
    assert (second.key, second.generation, second.state) == ("s1.zoom.g2", 2, KeyState.NEW)
    assert ledger.current_key("s1", "zoom").key == "s1.zoom.g2"

    ledger.set_key_state("s1", "zoom", 2, KeyState.RETIRED)
    assert ledger.current_key("s1", "zoom").key == "s1.zoom.g3"


def test_pending_key_can_be_retired_directly(ledger: LedgerStore) -> None:
    ledger.current_key("s1", "zoom")
    ledger.set_key_state("s1", "zoom", 1, KeyState.RETIRED)
    assert ledger.current_key("s1", "zoom").generation == 2


def test_keys_are_per_session_and_provider(ledger: LedgerStore) -> None:
    ledger.current_key("s1", "zoom")
    ledger.set_key_state("s1", "zoom", 1, KeyState.RETIRED)
    ledger.current_key("s1", "zoom")
    ledger.current_key("s1", "moodle")
    ledger.current_key("s2", "zoom")

    keys = ledger.list_keys("s1")
    assert sorted((k.provider, k.generation, k.state) for k in keys) == [
        ("moodle", 1, KeyState.NEW),
        ("zoom", 1, KeyState.RETIRED),
        ("zoom", 2, KeyState.NEW),
    ]
    assert [k.key for k in ledger.list_keys("s2")] == ["s2.zoom.g1"]
    assert ledger.list_keys("s3") == []


def test_set_state_of_unknown_generation_raises(ledger: LedgerStore) -> None:
    ledger.current_key("s1", "zoom")
    with pytest.raises(KeyError):
        ledger.set_key_state("s1", "zoom", 2, KeyState.DONE)
    with pytest.raises(KeyError):
        ledger.set_key_state("s1", "moodle", 1, KeyState.DONE)


# enrolments


def test_enrollment_upsert_and_lookup_ignores_case(ledger: LedgerStore) -> None:
    ledger.upsert_enrollment(make_enrollment("Ana@Example.org", 0))
    found = ledger.get_enrollment("s1", "ANA@example.ORG")
    assert found is not None
    assert found.person.email == "ana@example.org"
    assert found.person.timezone == "Asia/Tokyo"
    assert ledger.get_enrollment("s2", "ana@example.org") is None

    ledger.upsert_enrollment(found.model_copy(update={"status": EnrollmentStatus.CANCELLED, "pushed_to": ("zoom",)}))
    assert len(ledger.list_enrollments("s1")) == 1
    again = ledger.get_enrollment("s1", "ana@example.org")
    assert again is not None
    assert (again.status, again.pushed_to) == (EnrollmentStatus.CANCELLED, ("zoom",))


def test_enrollment_keeps_provider_registrations(ledger: LedgerStore) -> None:
    own = RosterMember(email="ana@example.org", external_id="reg-1", join_url="https://zoom.us/w/1?tk=a", status="approved")
    ledger.upsert_enrollment(make_enrollment("ana@example.org", 0).model_copy(update={"registrations": {"zoom": own}}))
    found = ledger.get_enrollment("s1", "ana@example.org")
    assert found is not None and found.registrations == {"zoom": own}


def test_enrollments_are_ordered_by_position_and_filtered_by_status(ledger: LedgerStore) -> None:
    ledger.upsert_enrollment(make_enrollment("c@example.org", 2, EnrollmentStatus.WAITLISTED))
    ledger.upsert_enrollment(make_enrollment("a@example.org", 0))
    ledger.upsert_enrollment(make_enrollment("d@example.org", 3, EnrollmentStatus.WAITLISTED))
    ledger.upsert_enrollment(make_enrollment("b@example.org", 1))
    ledger.upsert_enrollment(make_enrollment("x@example.org", 0, session_id="s2"))

    assert [e.person.email for e in ledger.list_enrollments("s1")] == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
        "d@example.org",
    ]
    waiting = ledger.list_enrollments("s1", EnrollmentStatus.WAITLISTED)
    assert [e.person.email for e in waiting] == ["c@example.org", "d@example.org"]
    assert ledger.list_enrollments("s1", EnrollmentStatus.CANCELLED) == []
    assert [e.person.email for e in ledger.list_enrollments("s2")] == ["x@example.org"]


def test_promotion_keeps_position(ledger: LedgerStore) -> None:
    ledger.upsert_enrollment(make_enrollment("a@example.org", 0))
    ledger.upsert_enrollment(make_enrollment("b@example.org", 1, EnrollmentStatus.WAITLISTED))
    ledger.upsert_enrollment(make_enrollment("c@example.org", 2, EnrollmentStatus.WAITLISTED))
    ledger.upsert_enrollment(make_enrollment("a@example.org", 0, EnrollmentStatus.CANCELLED))
    ledger.upsert_enrollment(make_enrollment("b@example.org", 1, EnrollmentStatus.CONFIRMED))

    assert [e.person.email for e in ledger.list_enrollments("s1", EnrollmentStatus.CONFIRMED)] == ["b@example.org"]
    assert [e.person.email for e in ledger.list_enrollments("s1", EnrollmentStatus.WAITLISTED)] == ["c@example.org"]


def test_next_position_counts_every_arrival(ledger: LedgerStore) -> None:
    assert ledger.next_position("s1") == 0
    ledger.upsert_enrollment(make_enrollment("a@example.org", ledger.next_position("s1")))
    ledger.upsert_enrollment(make_enrollment("b@example.org", ledger.next_position("s1")))
    assert ledger.next_position("s1") == 2
    # A cancelled learner keeps their position: a later arrival must not take it.
    ledger.upsert_enrollment(make_enrollment("b@example.org", 1, EnrollmentStatus.CANCELLED))
    assert ledger.next_position("s1") == 2
    ledger.upsert_enrollment(make_enrollment("z@example.org", 9))
    assert ledger.next_position("s1") == 10
    assert ledger.next_position("s2") == 0


def test_roster_queries_count_seats_and_hand_out_the_waitlist_head_and_the_uncertain_rows(ledger: LedgerStore) -> None:
    waitlisted = EnrollmentStatus.WAITLISTED
    for position, (email, status) in enumerate(
        [("a", EnrollmentStatus.CONFIRMED), ("b", waitlisted), ("c", EnrollmentStatus.CONFIRMED), ("d", waitlisted)]
    ):
        ledger.upsert_enrollment(make_enrollment(f"{email}@example.org", position, status))
    ledger.upsert_enrollment(make_enrollment("e@example.org", 9, waitlisted, session_id="s2"))
    # A re-arrival later in the queue (position 7) is still after d: order is by position, not by row age.
    ledger.upsert_enrollment(make_enrollment("a@example.org", 7, waitlisted))

    assert ledger.count_enrollments("s1", EnrollmentStatus.CONFIRMED) == 1
    assert ledger.count_enrollments("s1", waitlisted) == 3
    assert ledger.count_enrollments("s9", waitlisted) == 0
    assert ledger.seats_and_next_position("s1") == (1, 8)
    assert ledger.seats_and_next_position("s9") == (0, 0)
    head = ledger.first_enrollments("s1", waitlisted, 2)
    assert [e.person.email for e in head] == ["b@example.org", "d@example.org"]
    assert [e.person.email for e in ledger.first_enrollments("s1", waitlisted, 10)][-1] == "a@example.org"
    assert ledger.first_enrollments("s1", waitlisted, 0) == []

    assert ledger.list_uncertain_enrollments("s1") == []
    unsure = make_enrollment("d@example.org", 3, waitlisted).model_copy(update={"uncertain_at": ("zoom",)})
    ledger.upsert_enrollment(unsure)
    assert ledger.list_uncertain_enrollments("s1") == [unsure]
    ledger.upsert_enrollment(unsure.model_copy(update={"uncertain_at": ()}))
    assert ledger.list_uncertain_enrollments("s1") == []


# audit


def test_feed_cursors_are_kept_per_feed_scope_and_tenant(ledger: LedgerStore) -> None:
    assert ledger.get_cursor("google_calendar", "primary") is None
    ledger.put_cursor("google_calendar", "primary", "token-1")
    ledger.put_cursor("google_calendar", "rooms@example.org", "token-a")
    ledger.put_cursor("microsoft_graph", "primary", "delta-1")
    ledger.put_cursor("google_calendar", "primary", "token-2")  # replaces
    assert ledger.get_cursor("google_calendar", "primary") == "token-2"
    assert ledger.get_cursor("google_calendar", "rooms@example.org") == "token-a"
    assert ledger.get_cursor("microsoft_graph", "primary") == "delta-1"
    other = ledger.bind("acme")
    try:
        assert other.get_cursor("google_calendar", "primary") is None
        other.put_cursor("google_calendar", "primary", "acme-token")
        assert ledger.get_cursor("google_calendar", "primary") == "token-2"
    finally:
        other.close()
    ledger.delete_cursor("google_calendar", "primary")
    ledger.delete_cursor("google_calendar", "primary")  # absent: no error
    assert ledger.get_cursor("google_calendar", "primary") is None

    def kept_then_undone() -> None:
        with ledger.transaction():
            ledger.put_cursor("canvas", "course-7", "2027-03-01T00:00:00Z")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        kept_then_undone()
    assert ledger.get_cursor("canvas", "course-7") is None


def test_a_version_3_file_gets_the_cursor_table(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for migration in MIGRATIONS[:3]:
            for statement in migration.statements:
                raw.execute(statement)
            raw.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.version,))
        raw.execute("INSERT INTO sessions (tenant_id, id, data) VALUES (?, ?, ?)",
                    ("default", "s1", make_session("s1").model_dump_json()))
    raw.close()
    ledger = SQLiteLedger(path)
    try:
        assert ledger.schema_version == SCHEMA_VERSION == 4
        assert ledger.get_session("s1") == make_session("s1")
        ledger.put_cursor("google_calendar", "primary", "token-1")
        assert ledger.get_cursor("google_calendar", "primary") == "token-1"
    finally:
        ledger.close()


def test_audit_keeps_order_and_filters_by_session(ledger: LedgerStore) -> None:
    ledger.append_audit(AuditEntry(session_id="s1", provider="zoom", action="create", detail={"id": 1}))
    ledger.append_audit(AuditEntry(session_id=None, provider=None, action="doctor"))
    ledger.append_audit(AuditEntry(session_id="s2", provider="moodle", action="create"))
    ledger.append_audit(AuditEntry(session_id="s1", provider="zoom", action="cancel", detail={"why": ["a", "b"]}))

    assert [e.action for e in ledger.iter_audit()] == ["create", "doctor", "create", "cancel"]
    mine = list(ledger.iter_audit("s1"))
    assert [(e.action, e.detail) for e in mine] == [("create", {"id": 1}), ("cancel", {"why": ["a", "b"]})]
    assert mine[0].at.tzinfo is not None
    assert list(ledger.iter_audit("s9")) == []


# transactions


def _write_everything(ledger: LedgerStore, session_id: str) -> None:
    ledger.save_session(make_session(session_id))
    ledger.put_ref(session_id, ProviderRef(provider="zoom", external_id="z"))
    ledger.current_key(session_id, "zoom")
    ledger.upsert_enrollment(make_enrollment("a@example.org", 0, session_id=session_id))
    ledger.append_audit(AuditEntry(session_id=session_id, provider="zoom", action="create"))


def _nothing_of(ledger: LedgerStore, session_id: str) -> bool:
    return (
        ledger.get_session(session_id) is None
        and ledger.list_refs(session_id) == []
        and ledger.list_keys(session_id) == []
        and ledger.list_enrollments(session_id) == []
        and list(ledger.iter_audit(session_id)) == []
    )


def test_transaction_commits_everything(ledger: LedgerStore) -> None:
    with ledger.transaction():
        _write_everything(ledger, "s1")
    assert ledger.get_session("s1") is not None
    assert len(ledger.list_refs("s1")) == len(ledger.list_keys("s1")) == len(ledger.list_enrollments("s1")) == 1
    assert len(list(ledger.iter_audit("s1"))) == 1


def test_transaction_rolls_back_on_exception(ledger: LedgerStore) -> None:
    ledger.current_key("s1", "zoom")

    def fail_half_way() -> None:
        with ledger.transaction():
            _write_everything(ledger, "s2")
            ledger.set_key_state("s1", "zoom", 1, KeyState.RETIRED)
            raise Boom

    with pytest.raises(Boom):
        fail_half_way()
    assert _nothing_of(ledger, "s2")
    assert ledger.current_key("s1", "zoom").state is KeyState.NEW
    # The ledger is usable afterwards.
    _write_everything(ledger, "s3")
    assert not _nothing_of(ledger, "s3")


def test_nested_transaction_failure_undoes_only_itself(ledger: LedgerStore) -> None:
    def fail_inside() -> None:
        with ledger.transaction():
            _write_everything(ledger, "inner")
            raise Boom

    with ledger.transaction():
        ledger.save_session(make_session("outer"))
        with pytest.raises(Boom):
            fail_inside()
        ledger.append_audit(AuditEntry(session_id="outer", provider=None, action="after"))
    assert ledger.get_session("outer") is not None
    assert [e.action for e in ledger.iter_audit("outer")] == ["after"]
    assert _nothing_of(ledger, "inner")


def test_nested_failure_that_escapes_rolls_back_all(ledger: LedgerStore) -> None:
    def fail_after_a_committed_inner_block() -> None:
        with ledger.transaction():
            ledger.save_session(make_session("outer"))
            with ledger.transaction():
                ledger.save_session(make_session("inner"))
            with ledger.transaction():
                raise Boom

    with pytest.raises(Boom):
        fail_after_a_committed_inner_block()
    assert ledger.list_sessions() == []


def test_other_threads_never_see_half_a_transaction(ledger: LedgerStore) -> None:
    seen: list[tuple[bool, bool]] = []

    def reader() -> None:
        seen.append((ledger.get_session("s1") is not None, ledger.get_ref("s1", "zoom") is not None))

    with ledger.transaction():
        ledger.save_session(make_session("s1"))
        thread = threading.Thread(target=reader)
        thread.start()
        thread.join(timeout=0.2)
        assert thread.is_alive(), "a reader ran in the middle of another thread's transaction"
        ledger.put_ref("s1", ProviderRef(provider="zoom", external_id="z"))
    thread.join(timeout=5)
    assert seen == [(True, True)]


# concurrency


THREADS = 8
PER_THREAD = 40


def test_concurrent_writers_lose_no_rows(ledger: LedgerStore) -> None:
    def writer(index: int) -> None:
        for n in range(PER_THREAD):
            email = f"t{index}n{n}@example.org"
            with ledger.transaction():
                ledger.upsert_enrollment(make_enrollment(email, ledger.next_position("s1")))
                ledger.append_audit(AuditEntry(session_id="s1", provider=None, action="enrol", detail={"e": email}))
            ledger.put_ref(f"s{index}", ProviderRef(provider=f"p{n}", external_id=email))

    run_threads(writer, THREADS)
    total = THREADS * PER_THREAD
    enrollments = ledger.list_enrollments("s1")
    assert len(enrollments) == total
    assert [e.position for e in enrollments] == list(range(total))
    assert len(list(ledger.iter_audit("s1"))) == total
    assert all(len(ledger.list_refs(f"s{i}")) == PER_THREAD for i in range(THREADS))


def test_concurrent_current_key_mints_once(ledger: LedgerStore) -> None:
    keys: list[str] = []

    def ask(_: int) -> None:
        keys.append(ledger.current_key("s1", "zoom").key)

    run_threads(ask, 16)
    assert set(keys) == {"s1.zoom.g1"}
    assert len(ledger.list_keys("s1")) == 1


# session locks


def test_session_lock_makes_workers_on_one_session_take_turns(ledger: LedgerStore) -> None:
    inside: list[int] = []
    overlaps: list[int] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        for _ in range(5):
            with ledger.session_lock("s1"), ledger.session_lock("s1"):  # re-entrant within a thread
                with lock:
                    inside.append(index)
                    if len(inside) > 1:
                        overlaps.append(index)
                time.sleep(0.002)
                with lock:
                    inside.remove(index)

    run_threads(work, 4)
    assert overlaps == []


def test_session_locks_of_other_sessions_and_tenants_do_not_block(ledger: LedgerStore) -> None:
    other_tenant = ledger.bind("acme")
    entered: list[str] = []
    try:
        with ledger.session_lock("s1"):

            def others() -> None:
                with ledger.session_lock("s2"):
                    entered.append("s2")
                with other_tenant.session_lock("s1"):
                    entered.append("acme/s1")

            thread = threading.Thread(target=others)
            thread.start()
            thread.join(timeout=10)
            assert entered == ["s2", "acme/s1"]
    finally:
        other_tenant.close()


# tenants


def test_a_tenant_sees_none_of_another_tenants_rows(ledger: LedgerStore) -> None:
    _write_everything(ledger, "s1")
    ledger.set_key_state("s1", "zoom", 1, KeyState.PENDING)
    acme = ledger.bind("acme")
    try:
        assert (ledger.tenant, acme.tenant) == ("default", "acme")
        assert _nothing_of(acme, "s1")
        assert acme.list_sessions() == []
        assert list(acme.iter_audit()) == []
        assert acme.get_enrollment("s1", "a@example.org") is None
        assert acme.next_position("s1") == 0
        with pytest.raises(KeyError):
            acme.set_key_state("s1", "zoom", 1, KeyState.RETIRED)

        # The same session id in another tenant is another session, with its own key generations.
        _write_everything(acme, "s1")
        assert acme.current_key("s1", "zoom").state is KeyState.NEW
        acme.delete_ref("s1", "zoom")
        assert ledger.get_ref("s1", "zoom") is not None
        assert ledger.current_key("s1", "zoom").state is KeyState.PENDING
        assert len(ledger.list_sessions()) == len(acme.list_sessions()) == 1
        assert len(list(ledger.iter_audit())) == len(list(acme.iter_audit())) == 1
    finally:
        acme.close()
    assert ledger.get_session("s1") is not None  # closing one handle leaves the other usable


def test_an_invalid_tenant_id_is_a_configuration_error(ledger: LedgerStore) -> None:
    for bad in ("", "a/b", "-x", "x" * 65, "t\x00"):
        with pytest.raises(ConfigurationError, match="tenant"):
            ledger.bind(bad)


# --- SQLite only ----------------------------------------------------------------------------------------


def test_everything_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    session = make_session("s1")
    ledger.save_session(session)
    ledger.put_ref("s1", ProviderRef(provider="zoom", external_id="85012345678901", join_url="https://z/j/1"))
    ledger.current_key("s1", "zoom")
    ledger.set_key_state("s1", "zoom", 1, KeyState.RETIRED)
    ledger.current_key("s1", "zoom")
    ledger.set_key_state("s1", "zoom", 2, KeyState.PENDING)
    ledger.upsert_enrollment(make_enrollment("a@example.org", 0))
    ledger.upsert_enrollment(make_enrollment("b@example.org", 1, EnrollmentStatus.WAITLISTED))
    ledger.append_audit(AuditEntry(session_id="s1", provider="zoom", action="create", detail={"n": 1}))
    ledger.close()

    reopened = SQLiteLedger(path)
    try:
        assert reopened.get_session("s1") == session
        ref = reopened.get_ref("s1", "zoom")
        assert ref is not None
        assert (ref.external_id, ref.join_url) == ("85012345678901", "https://z/j/1")
        assert [(k.key, k.state) for k in reopened.list_keys("s1")] == [
            ("s1.zoom.g1", KeyState.RETIRED),
            ("s1.zoom.g2", KeyState.PENDING),
        ]
        assert reopened.current_key("s1", "zoom").key == "s1.zoom.g2"
        assert [e.person.email for e in reopened.list_enrollments("s1", EnrollmentStatus.WAITLISTED)] == [
            "b@example.org"
        ]
        assert reopened.next_position("s1") == 2
        assert [(e.action, e.detail) for e in reopened.iter_audit()] == [("create", {"n": 1})]
    finally:
        reopened.close()


def test_rolled_back_work_is_not_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)

    def fail() -> None:
        with ledger.transaction():
            ledger.save_session(make_session("s1"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    ledger.close()
    reopened = SQLiteLedger(path)
    assert reopened.list_sessions() == []
    reopened.close()


def test_file_is_in_wal_mode_with_a_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall() == [(m.version,) for m in MIGRATIONS]
    finally:
        raw.close()
    ledger = SQLiteLedger(path)  # opening again does not migrate twice
    assert ledger.schema_version == SCHEMA_VERSION
    ledger.close()


def test_a_file_from_before_tenants_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    # A file as version 1 wrote it (the tables of the first step, no tenant column), with a row in each table.
    path = tmp_path / "ledger.db"
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0].statements:
            raw.execute(statement)
        raw.execute("INSERT INTO schema_version (version) VALUES (1)")
        session = make_session("s1")
        raw.execute("INSERT INTO sessions (id, data) VALUES (?, ?)", ("s1", session.model_dump_json()))
        ref = ProviderRef(provider="zoom", external_id="z1")
        raw.execute("INSERT INTO refs (session_id, provider, data) VALUES (?, ?, ?)", ("s1", "zoom", ref.model_dump_json()))
        enrollment = make_enrollment("a@example.org", 0)
        raw.execute(
            "INSERT INTO enrollments (session_id, email, position, status, data) VALUES (?, ?, ?, ?, ?)",
            ("s1", "a@example.org", 0, "confirmed", enrollment.model_dump_json()),
        )
        raw.execute("INSERT INTO audit (session_id, data) VALUES (?, ?)", ("s1", AuditEntry(session_id="s1", provider=None, action="old").model_dump_json()))
    raw.close()
    old = MemoryLedger()
    old.current_key("s1", "zoom")
    key = old.list_keys("s1")[0]
    raw = sqlite3.connect(path)
    with raw:
        raw.execute(
            "INSERT INTO idempotency_keys (session_id, provider, generation, key, data) VALUES (?, ?, ?, ?, ?)",
            ("s1", "zoom", 1, key.key, key.model_dump_json()),
        )
    raw.close()

    ledger = SQLiteLedger(path)
    try:
        assert ledger.schema_version == SCHEMA_VERSION == 4
        assert ledger.get_session("s1") == session
        assert ledger.get_ref("s1", "zoom") == ref
        assert ledger.list_enrollments("s1") == [enrollment]
        assert [e.action for e in ledger.iter_audit("s1")] == ["old"]
        assert ledger.current_key("s1", "zoom").key == "s1.zoom.g1"
        assert ledger.next_position("s1") == 1
        acme = ledger.bind("acme")
        assert acme.get_session("s1") is None  # the old rows are the default tenant's
        acme.close()
        # The rebuilt audit table keeps counting after the old rows.
        ledger.append_audit(AuditEntry(session_id="s1", provider=None, action="new"))
        assert [e.action for e in ledger.iter_audit("s1")] == ["old", "new"]
    finally:
        ledger.close()


def test_a_version_2_file_gets_the_roster_indexes_and_keeps_its_uncertain_rows_findable(tmp_path: Path) -> None:
    # A file as version 2 wrote it: no uncertain column, one row whose push is still uncertain at Zoom.
    path = tmp_path / "ledger.db"
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for migration in MIGRATIONS[:2]:
            for statement in migration.statements:
                raw.execute(statement)
            raw.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.version,))
        unsure = make_enrollment("a@example.org", 0).model_copy(update={"uncertain_at": ("zoom",)})
        settled = make_enrollment("b@example.org", 1)
        for row in (unsure, settled):
            raw.execute(
                "INSERT INTO enrollments (tenant_id, session_id, email, position, status, data) VALUES (?, ?, ?, ?, ?, ?)",
                ("default", "s1", row.person.email, row.position, "confirmed", row.model_dump_json()),
            )
    raw.close()

    ledger = SQLiteLedger(path)
    try:
        assert ledger.schema_version == SCHEMA_VERSION
        assert ledger.list_uncertain_enrollments("s1") == [unsure]
        assert ledger.list_enrollments("s1") == [unsure, settled]
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (
            "SELECT COUNT(*) FROM enrollments WHERE tenant_id = 'default' AND session_id = 's1' AND status = 'confirmed'",
            "enrollments_by_status",
        ),
        (
            "SELECT data FROM enrollments WHERE tenant_id = 'default' AND session_id = 's1' AND status = 'waitlisted' "
            "ORDER BY position, seq LIMIT 3",
            "enrollments_by_status",
        ),
        (
            "SELECT data FROM enrollments WHERE tenant_id = 'default' AND session_id = 's1' AND uncertain = 1 "
            "ORDER BY position, seq",
            "enrollments_uncertain",
        ),
    ],
)
def test_roster_queries_search_an_index_instead_of_scanning_the_session(tmp_path: Path, query: str, index: str) -> None:
    # The queries the ledger runs per enrolment: a plan that scans the session's rows (or sorts them) costs time
    # in proportion to the roster, which is what the indexes of schema version 3 remove.
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    ledger.close()
    raw = sqlite3.connect(tmp_path / "ledger.db")
    try:
        plan = " | ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {query}"))
    finally:
        raw.close()
    assert f"USING COVERING INDEX {index}" in plan or f"USING INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    raw.close()
    with pytest.raises(ConfigurationError, match="schema version"):
        SQLiteLedger(path)


def test_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        SQLiteLedger(tmp_path / "nowhere" / "ledger.db")


def test_two_handles_on_one_file_share_rows_and_lose_none(tmp_path: Path) -> None:
    # Two connections to one file behave like two worker processes: writes serialise on the file lock.
    path = tmp_path / "ledger.db"
    first, second = SQLiteLedger(path), SQLiteLedger(path)
    try:
        first.save_session(make_session("s1"))
        assert second.get_session("s1") is not None

        per_thread = 30

        def writer(index: int) -> None:
            store = first if index % 2 else second
            for n in range(per_thread):
                with store.transaction():
                    position = store.next_position("s1")
                    store.upsert_enrollment(make_enrollment(f"t{index}n{n}@example.org", position))

        run_threads(writer, 4)
        assert [e.position for e in second.list_enrollments("s1")] == list(range(4 * per_thread))

        keys: list[str] = []
        run_threads(lambda i: keys.append((first if i % 2 else second).current_key("s1", "zoom").key), 8)
        assert set(keys) == {"s1.zoom.g1"}
    finally:
        first.close()
        second.close()


def test_in_memory_sqlite_works_for_one_handle() -> None:
    ledger = SQLiteLedger(":memory:")
    ledger.save_session(make_session("s1"))
    assert [s.id for s in ledger.list_sessions()] == ["s1"]
    ledger.close()


# open_ledger


def test_open_ledger_memory() -> None:
    assert isinstance(open_ledger("memory:"), MemoryLedger)


@pytest.mark.parametrize("form", ["path", "str", "url"])
def test_open_ledger_sqlite_by_path_or_url(tmp_path: Path, form: str) -> None:
    path = tmp_path / "x.db"
    targets: dict[str, str | Path] = {"path": path, "str": str(path), "url": f"sqlite:///{path}"}
    target = targets[form]
    ledger = open_ledger(target)
    assert isinstance(ledger, SQLiteLedger)
    ledger.save_session(make_session())
    ledger.close()
    assert path.exists()


def test_open_ledger_default_is_a_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ledger = open_ledger(None)
    assert isinstance(ledger, SQLiteLedger)
    ledger.close()
    assert (tmp_path / DEFAULT_LEDGER_PATH).exists()


def test_open_ledger_unknown_scheme() -> None:
    with pytest.raises(ConfigurationError, match="postgresql"):
        open_ledger("mysql://db/ledger")
