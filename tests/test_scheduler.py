"""Scheduler behaviour over in-memory adapters: order, idempotency, compensation, waitlist, reconciliation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from lms_connectors.adapter import Adapter, AdapterKind, Capability
from lms_connectors.errors import (
    ConfigurationError,
    NotFound,
    ProviderError,
    ResponseLost,
    SchedulingFailed,
    TransientError,
    ValidationError,
)
from lms_connectors.models import (
    Enrollment,
    EnrollmentStatus,
    Modality,
    Person,
    ProviderRef,
    ProviderSession,
    Room,
    RosterMember,
    Session,
    SessionStatus,
    TimeSlot,
)
from lms_connectors.scheduler import ProgressEvent, Scheduler, SessionCancelled
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.store.sqlite import SQLiteLedger

NY = ZoneInfo("America/New_York")


class _Config(BaseModel):
    pass


class RecordingAdapter(Adapter):
    """An adapter that keeps its objects in a dict, so tests can see exactly what a provider would hold."""

    display_name = "Recording"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.ROSTER, Capability.RESCHEDULE_IN_PLACE, Capability.LIST_SESSIONS}
    )
    config_model = _Config

    def __init__(self, name: str, kind: AdapterKind, *, makes_links: bool = False) -> None:
        self.name = name  # type: ignore[misc]
        self.kind = kind  # type: ignore[misc]
        if makes_links:
            self.capabilities = self.capabilities | {Capability.MEETING_LINK}  # type: ignore[misc]
        self.makes_links = makes_links
        self.objects: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.fail_next: dict[str, Exception] = {}
        self.commit_then_fail: set[str] = set()
        self.crash_after_commit = False
        self.crash_after: set[str] = set()
        self.fresh_flags: list[bool] = []
        self._seq = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Adapter:
        raise NotImplementedError

    def _maybe_fail(self, op: str) -> None:
        if op in self.fail_next:
            raise self.fail_next.pop(op)

    def create_session(self, session: Session, *, key: str, fresh: bool = False) -> ProviderRef:
        self.calls.append(f"create:{session.meeting.join_url if session.meeting else '-'}")
        self.fresh_flags.append(fresh)
        self._maybe_fail("create")
        # Like a provider without idempotency keys: the marker look-up is skipped for a key never sent.
        found = None if fresh else self.find_session(key)
        if found is not None:
            return found
        self._seq += 1
        ext = f"{self.name}-{self._seq}"
        self.objects[ext] = {"key": key, "session": session, "roster": [], "cancelled": False}
        if self.crash_after_commit:
            self.crash_after_commit = False
            raise KeyboardInterrupt("the process dies after the provider committed")
        if "create" in self.commit_then_fail:
            self.commit_then_fail.discard("create")
            raise ResponseLost("answer lost", provider=self.name)
        link = f"https://meet.example.org/{ext}" if self.makes_links else None
        return ProviderRef(provider=self.name, external_id=ext, join_url=link)

    def find_session(self, key: str) -> ProviderRef | None:
        self._maybe_fail("find")
        for ext, obj in self.objects.items():
            if obj["key"] == key and not obj["cancelled"]:
                return ProviderRef(provider=self.name, external_id=ext)
        return None

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        obj = self.objects.get(ref.external_id)
        if obj is None:
            raise NotFound("gone", provider=self.name)
        s: Session = obj["session"]
        return ProviderSession(
            ref=ref,
            title=s.title,
            start=s.slot.start,
            end=s.slot.end,
            cancelled=obj["cancelled"],
            attendees=tuple(obj["roster"]),
        )

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        self.calls.append("reschedule")
        self._maybe_fail("reschedule")
        self.objects[ref.external_id]["session"] = session
        self._lose_answer("reschedule")
        return ref

    def _lose_answer(self, op: str) -> None:
        """After committing ``op``: lose its answer when the test asked for it."""
        if op in self.commit_then_fail:
            self.commit_then_fail.discard(op)
            raise ResponseLost(f"{op} answer lost", provider=self.name)
        if op in self.crash_after:
            self.crash_after.discard(op)
            raise KeyboardInterrupt(f"the process dies after {op} committed")

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        self.calls.append("list")
        for ext, obj in self.objects.items():
            s: Session = obj["session"]
            if not obj["cancelled"] and start <= s.slot.start < end:
                ref = ProviderRef(provider=self.name, external_id=ext, extra={"key": obj["key"]})
                yield ProviderSession(ref=ref, title=s.title, start=s.slot.start, end=s.slot.end)

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        self.calls.append("cancel")
        self._maybe_fail("cancel")
        if ref.external_id in self.objects:
            self.objects[ref.external_id]["cancelled"] = True
        self._lose_answer("cancel")

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        self.calls.append(f"enrol:{len(people)}")
        self._maybe_fail("enrol")
        roster = self.objects[ref.external_id]["roster"]
        roster.extend(p.email for p in people if p.email not in roster)
        self._lose_answer("enrol")
        return [RosterMember(email=p.email) for p in people]

    def unenrol(
        self,
        ref: ProviderRef,
        session: Session,
        people: Sequence[Person],
        *,
        registrations: Mapping[str, RosterMember] | None = None,
    ) -> None:
        self.calls.append(f"unenrol:{len(people)}")
        roster = self.objects[ref.external_id]["roster"]
        for p in people:
            if p.email in roster:
                roster.remove(p.email)

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        for email in self.objects[ref.external_id]["roster"]:
            yield RosterMember(email=email)

    def live(self) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if not o["cancelled"]]


def _session(**update: Any) -> Session:
    start = datetime(2027, 3, 16, 9, 0, tzinfo=NY)
    base = Session(
        id="ilt-101.s1",
        title="Forklift safety",
        slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="America/New_York"),
        modality=Modality.VIRTUAL,
        capacity=2,
    )
    return base.model_copy(update=update)


def _people(n: int) -> list[Person]:
    return [Person(email=f"learner{i}@example.org", name=f"Learner {i}", timezone="Asia/Tokyo") for i in range(n)]


@pytest.fixture
def trio() -> tuple[RecordingAdapter, RecordingAdapter, RecordingAdapter]:
    return (
        RecordingAdapter("lms", AdapterKind.LMS),
        RecordingAdapter("calendar", AdapterKind.CALENDAR),
        RecordingAdapter("meeting", AdapterKind.MEETING, makes_links=True),
    )


def test_fan_out_order_and_meeting_link_reaches_later_targets(trio: Any) -> None:
    lms, cal, meet = trio
    events: list[ProgressEvent] = []
    scheduler = Scheduler([lms, cal, meet], MemoryLedger(), on_progress=events.append)
    stored = scheduler.schedule(_session())
    assert [a.name for a in scheduler.adapters] == ["meeting", "calendar", "lms"]
    assert meet.calls == ["create:-"]
    assert cal.calls == ["create:https://meet.example.org/meeting-1"]
    assert lms.calls == ["create:https://meet.example.org/meeting-1"]
    assert stored.meeting is not None and stored.meeting.provider == "meeting"
    assert [e.provider for e in events if e.action == "create" and e.outcome == "done"] == [
        "meeting",
        "calendar",
        "lms",
    ]


def test_schedule_twice_makes_no_second_object(trio: Any) -> None:
    ledger = MemoryLedger()
    Scheduler(list(trio), ledger).schedule(_session())
    Scheduler(list(trio), ledger).schedule(_session())
    assert all(len(a.objects) == 1 for a in trio)
    assert all(a.calls == [a.calls[0]] for a in trio)


def test_a_sole_writer_skips_the_look_up_for_a_key_never_sent_and_a_crash_makes_the_next_run_look(trio: Any) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    cal.crash_after_commit = True
    with pytest.raises(KeyboardInterrupt):
        Scheduler(list(trio), ledger, sole_writer=True).schedule(_session())
    # The calendar committed but the ledger never heard: its key is marked sent, not done.
    assert sorted((k.provider, k.state.value) for k in ledger.list_keys("ilt-101.s1")) == [
        ("calendar", "pending"),
        ("meeting", "done"),
    ]
    Scheduler(list(trio), ledger, sole_writer=True).schedule(_session())
    assert (meet.fresh_flags, cal.fresh_flags, lms.fresh_flags) == ([True], [True, False], [True])
    assert all(len(a.live()) == 1 for a in trio)  # the resumed run found the calendar's object, no duplicate
    assert {k.state.value for k in ledger.list_keys("ilt-101.s1")} == {"done"}


def test_an_unexpected_exception_in_an_adapter_is_a_failed_step_and_is_compensated(trio: Any) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    lms.fail_next["create"] = KeyError("events")  # an adapter bug, or an answer its mapping did not foresee
    with pytest.raises(SchedulingFailed) as info:
        Scheduler(list(trio), ledger).schedule(_session())
    assert isinstance(info.value.cause, ProviderError) and "KeyError" in info.value.cause.message
    assert info.value.compensated == ["calendar", "meeting"]
    assert all(a.live() == [] for a in trio)
    stored = ledger.get_session("ilt-101.s1")
    assert stored is not None and stored.status is SessionStatus.FAILED
    assert [e.action for e in ledger.iter_audit("ilt-101.s1")][-1] == "schedule_failed"


def test_failure_at_last_step_compensates_earlier_ones(trio: Any) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    lms.fail_next["create"] = ProviderError("boom", provider="lms", status=500)
    with pytest.raises(SchedulingFailed) as info:
        Scheduler(list(trio), ledger).schedule(_session())
    assert info.value.step == "lms"
    assert info.value.compensated == ["calendar", "meeting"]
    assert meet.live() == [] and cal.live() == [] and lms.live() == []
    assert ledger.list_refs("ilt-101.s1") == []
    stored = ledger.get_session("ilt-101.s1")
    assert stored is not None and stored.status is SessionStatus.FAILED
    assert any(a.action == "schedule_failed" for a in ledger.iter_audit("ilt-101.s1"))


def test_failed_step_that_committed_is_found_and_undone(trio: Any) -> None:
    lms, cal, meet = trio
    cal.commit_then_fail.add("create")
    with pytest.raises(SchedulingFailed) as info:
        Scheduler(list(trio), MemoryLedger()).schedule(_session())
    assert set(info.value.compensated) == {"calendar", "meeting"}
    assert cal.live() == [] and meet.live() == [] and lms.objects == {}


def test_retry_after_failure_uses_new_generation_and_succeeds(trio: Any) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    scheduler = Scheduler(list(trio), ledger)
    lms.fail_next["create"] = TransientError("down", provider="lms")
    with pytest.raises(SchedulingFailed):
        scheduler.schedule(_session())
    scheduler.schedule(_session())
    assert [len(a.live()) for a in trio] == [1, 1, 1]
    # The retry must not carry the join link of the meeting the compensation deleted.
    assert cal.calls[-1] == "create:https://meet.example.org/meeting-2"
    keys = {k.key for k in ledger.list_keys("ilt-101.s1") if k.provider == "calendar"}
    assert keys == {"ilt-101.s1.calendar.g1", "ilt-101.s1.calendar.g2"}


def test_capacity_waitlist_and_promotion(trio: Any) -> None:
    lms, cal, meet = trio
    scheduler = Scheduler(list(trio), MemoryLedger())
    scheduler.schedule(_session())
    a, b, c = _people(3)
    results = scheduler.enrol_many("ilt-101.s1", [a, b, c])
    assert [r.status for r in results] == [EnrollmentStatus.CONFIRMED] * 2 + [EnrollmentStatus.WAITLISTED]
    calendar_roster = cal.live()[0]["roster"]
    assert calendar_roster == [a.email, b.email]
    assert cal.calls.count("enrol:2") == 1  # one push for the batch
    scheduler.unenrol("ilt-101.s1", a.email)
    promoted = scheduler.ledger.get_enrollment("ilt-101.s1", c.email)
    assert promoted is not None and promoted.status is EnrollmentStatus.CONFIRMED
    assert set(promoted.pushed_to) == {"meeting", "calendar", "lms"}
    assert cal.live()[0]["roster"] == [b.email, c.email]


def test_enrol_is_idempotent(trio: Any) -> None:
    scheduler = Scheduler(list(trio), MemoryLedger())
    scheduler.schedule(_session())
    (a,) = _people(1)
    first = scheduler.enrol("ilt-101.s1", a)
    second = scheduler.enrol("ilt-101.s1", a)
    assert first.position == second.position
    assert trio[1].calls.count("enrol:1") == 1


def test_failed_push_is_kept_in_ledger_and_synced_later(trio: Any) -> None:
    lms, cal, meet = trio
    scheduler = Scheduler(list(trio), MemoryLedger())
    scheduler.schedule(_session())
    (a,) = _people(1)
    lms.fail_next["enrol"] = TransientError("down", provider="lms")
    with pytest.raises(TransientError):
        scheduler.enrol("ilt-101.s1", a)
    kept = scheduler.ledger.get_enrollment("ilt-101.s1", a.email)
    assert kept is not None and kept.status is EnrollmentStatus.CONFIRMED
    assert "lms" not in kept.pushed_to
    scheduler.sync("ilt-101.s1")
    assert lms.live()[0]["roster"] == [a.email]


def test_reschedule_bumps_sequence_and_failure_moves_back(trio: Any) -> None:
    lms, cal, meet = trio
    scheduler = Scheduler(list(trio), MemoryLedger())
    original = scheduler.schedule(_session())
    later = TimeSlot(
        start=original.slot.start + timedelta(days=1),
        end=original.slot.end + timedelta(days=1),
        timezone="America/New_York",
    )
    moved = scheduler.reschedule("ilt-101.s1", later)
    assert moved.sequence == 1
    assert cal.live()[0]["session"].slot == later
    lms.fail_next["reschedule"] = ProviderError("no", provider="lms")
    even_later = later.model_copy(
        update={"start": later.start + timedelta(days=1), "end": later.end + timedelta(days=1)}
    )
    with pytest.raises(SchedulingFailed) as info:
        scheduler.reschedule("ilt-101.s1", even_later)
    assert info.value.compensated == ["calendar", "meeting"]
    assert cal.live()[0]["session"].slot == later
    assert meet.live()[0]["session"].slot == later


def test_cancel_everywhere_then_enrol_refused(trio: Any) -> None:
    scheduler = Scheduler(list(trio), MemoryLedger())
    scheduler.schedule(_session())
    cancelled = scheduler.cancel("ilt-101.s1")
    assert cancelled.status is SessionStatus.CANCELLED
    assert all(a.live() == [] for a in trio)
    assert [a.calls[-1] for a in trio] == ["cancel"] * 3
    scheduler.cancel("ilt-101.s1")  # idempotent: nothing left to cancel
    with pytest.raises(SessionCancelled):
        scheduler.enrol("ilt-101.s1", _people(1)[0])


def test_partial_cancel_is_finished_by_a_second_call(trio: Any) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    scheduler = Scheduler(list(trio), ledger)
    scheduler.schedule(_session())
    cal.fail_next["cancel"] = TransientError("down", provider="calendar")
    with pytest.raises(TransientError):
        scheduler.cancel("ilt-101.s1")
    assert [r.provider for r in ledger.list_refs("ilt-101.s1")] == ["calendar"]
    scheduler.cancel("ilt-101.s1")
    assert ledger.list_refs("ilt-101.s1") == []


def test_duplicate_adapter_names_refused(trio: Any) -> None:
    from lms_connectors.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        Scheduler([trio[0], trio[0]], MemoryLedger())


def test_repeating_a_plan_makes_no_provider_call(trio: Any) -> None:
    ledger = MemoryLedger()
    scheduler = Scheduler(list(trio), ledger)
    session = scheduler.schedule(_session())
    a, b, c = _people(3)
    later = session.slot.model_copy(
        update={"start": session.slot.start + timedelta(days=1), "end": session.slot.end + timedelta(days=1)}
    )

    def plan() -> None:
        # A declarative plan: enrol whoever has no place yet (re-enrolling a cancelled learner is a new
        # enrolment by design), cancel one, move the session.
        scheduler.schedule(_session())
        scheduler.enrol_many(
            "ilt-101.s1", [p for p in (a, b, c) if ledger.get_enrollment("ilt-101.s1", p.email) is None]
        )
        scheduler.unenrol("ilt-101.s1", a.email)
        scheduler.reschedule("ilt-101.s1", later)

    plan()
    calls_after_first = [list(x.calls) for x in trio]
    audit_after_first = len(list(ledger.iter_audit()))
    plan()
    assert [x.calls for x in trio] == calls_after_first
    assert len(list(ledger.iter_audit())) == audit_after_first
    stored = ledger.get_session("ilt-101.s1")
    assert stored is not None and stored.sequence == 1


# -- routing: one scheduler serves every modality ----------------------------------------------------------


def _with_room(trio: Any) -> tuple[RecordingAdapter, ...]:
    return (*trio, RecordingAdapter("rooms", AdapterKind.ROOM))


def test_an_in_person_session_gets_no_meeting_and_a_virtual_one_does(trio: Any) -> None:
    lms, cal, meet = trio
    scheduler = Scheduler(list(trio), MemoryLedger())
    in_person = scheduler.schedule(_session(id="ilt-101.in-person", modality=Modality.IN_PERSON))
    virtual = scheduler.schedule(_session(id="ilt-101.virtual"))
    assert in_person.meeting is None and meet.calls == ["create:-"]
    assert virtual.meeting is not None and virtual.meeting.provider == "meeting"
    assert [r.provider for r in scheduler.ledger.list_refs("ilt-101.in-person")] == ["calendar", "lms"]
    assert len(cal.live()) == 2 and len(lms.live()) == 2
    # Everything after schedule follows the same routing: enrol, reschedule and cancel never touch Zoom.
    scheduler.enrol("ilt-101.in-person", _people(1)[0])
    later = in_person.slot.model_copy(
        update={"start": in_person.slot.start + timedelta(days=1), "end": in_person.slot.end + timedelta(days=1)}
    )
    scheduler.reschedule("ilt-101.in-person", later)
    scheduler.cancel("ilt-101.in-person")
    assert meet.calls == ["create:-"] and len(meet.live()) == 1


def test_a_hybrid_session_gets_a_meeting(trio: Any) -> None:
    stored = Scheduler(list(trio), MemoryLedger()).schedule(_session(modality=Modality.HYBRID))
    assert stored.meeting is not None and len(trio[2].live()) == 1


def test_a_room_provider_only_for_a_session_that_asks_for_a_room(trio: Any) -> None:
    adapters = _with_room(trio)
    rooms = adapters[3]
    scheduler = Scheduler(list(adapters), MemoryLedger())
    scheduler.schedule(_session(id="no-room", modality=Modality.IN_PERSON))
    assert rooms.calls == []
    room = Room(id="hq-3", name="HQ Training Room 3")
    scheduler.schedule(_session(id="with-room", modality=Modality.IN_PERSON, room=room))
    assert len(rooms.live()) == 1
    assert [a.name for a in scheduler.targets_for(_session(room=room))] == ["rooms", "meeting", "calendar", "lms"]


def test_targets_narrow_a_session_to_named_adapters(trio: Any) -> None:
    lms, cal, meet = trio
    scheduler = Scheduler(list(trio), MemoryLedger())
    stored = scheduler.schedule(_session(targets=("meeting", "calendar")))
    assert stored.meeting is not None
    assert lms.calls == [] and len(cal.live()) == 1
    assert [r.provider for r in scheduler.ledger.list_refs("ilt-101.s1")] == ["meeting", "calendar"]


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"targets": ("zoom",)}, "targets zoom, which this scheduler does not have"),
        ({"targets": ("meeting",), "modality": Modality.IN_PERSON}, "in_person session gets no online meeting"),
        ({"targets": ()}, "no adapter serves session"),
    ],
)
def test_targets_that_cannot_be_served_are_refused_before_anything_is_made(
    trio: Any, update: dict[str, Any], expected: str
) -> None:
    ledger = MemoryLedger()
    with pytest.raises(ValidationError, match=expected):
        Scheduler(list(trio), ledger).schedule(_session(**update))
    assert ledger.get_session("ilt-101.s1") is None and all(a.calls == [] for a in trio)


def test_a_session_no_adapter_serves_is_refused(trio: Any) -> None:
    meet = trio[2]
    with pytest.raises(ValidationError, match=r"no adapter serves session 'ilt-101.s1' \(in_person\)"):
        Scheduler([meet], MemoryLedger()).schedule(_session(modality=Modality.IN_PERSON))
    assert meet.calls == []


def test_a_scheduler_without_adapters_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least one adapter"):
        Scheduler([], MemoryLedger())


# -- convergence: uncertain outcomes are ledger state, and sync() makes every provider equal the ledger ------


def _later(slot: TimeSlot, days: int = 1) -> TimeSlot:
    return slot.model_copy(update={"start": slot.start + timedelta(days=days), "end": slot.end + timedelta(days=days)})


def test_a_move_that_committed_but_lost_its_answer_is_moved_back_too(trio: Any) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    scheduler = Scheduler(list(trio), ledger)
    original = scheduler.schedule(_session())
    cal.commit_then_fail.add("reschedule")
    with pytest.raises(SchedulingFailed) as info:
        scheduler.reschedule("ilt-101.s1", _later(original.slot))
    assert info.value.step == "calendar"
    assert set(info.value.compensated) == {"calendar", "meeting"}
    assert cal.live()[0]["session"].slot == original.slot  # the committed move was undone, not left behind
    stored = ledger.get_session("ilt-101.s1")
    assert stored is not None and stored.slot == original.slot
    assert all(ref.uncertain is None for ref in ledger.list_refs("ilt-101.s1"))


def test_a_move_cut_short_by_a_crash_is_marked_in_the_ledger_and_sync_moves_it_to_the_ledger_slot(
    trio: Any,
) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    scheduler = Scheduler(list(trio), ledger)
    original = scheduler.schedule(_session())
    cal.crash_after.add("reschedule")
    with pytest.raises(KeyboardInterrupt):
        scheduler.reschedule("ilt-101.s1", _later(original.slot))
    ref = ledger.get_ref("ilt-101.s1", "calendar")
    assert ref is not None and ref.uncertain == "reschedule"  # written before the call was sent
    Scheduler(list(trio), ledger).sync("ilt-101.s1")  # the next process
    assert [x.live()[0]["session"].slot for x in trio] == [original.slot] * 3
    assert all(r.uncertain is None for r in ledger.list_refs("ilt-101.s1"))


def test_sync_repairs_a_slot_that_drifted_and_rescheduling_to_the_same_slot_re_drives_uncertain_moves(
    trio: Any,
) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    scheduler = Scheduler(list(trio), ledger)
    original = scheduler.schedule(_session())
    cal.objects["calendar-1"]["session"] = original.rescheduled(_later(original.slot))
    scheduler.sync("ilt-101.s1")
    assert cal.live()[0]["session"].slot == original.slot
    assert any(e.action == "slot_repaired" for e in ledger.iter_audit("ilt-101.s1"))
    # A move whose answer was lost is marked in the ledger; asking for the same slot again re-drives it.
    ref = ledger.get_ref("ilt-101.s1", "lms")
    assert ref is not None
    ledger.put_ref("ilt-101.s1", ref.model_copy(update={"uncertain": "reschedule"}))
    lms.objects["lms-1"]["session"] = original.rescheduled(_later(original.slot, 2))
    scheduler.reschedule("ilt-101.s1", original.slot)
    assert lms.live()[0]["session"].slot == original.slot
    assert all(r.uncertain is None for r in ledger.list_refs("ilt-101.s1"))


def test_a_push_whose_answer_was_lost_is_removed_when_the_learner_leaves(trio: Any) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    scheduler = Scheduler(list(trio), ledger)
    scheduler.schedule(_session())
    (a,) = _people(1)
    lms.commit_then_fail.add("enrol")
    with pytest.raises(ResponseLost):
        scheduler.enrol("ilt-101.s1", a)
    kept = ledger.get_enrollment("ilt-101.s1", a.email)
    assert kept is not None and "lms" not in kept.pushed_to and kept.uncertain_at == ("lms",)
    assert lms.live()[0]["roster"] == [a.email]  # it landed
    scheduler.unenrol("ilt-101.s1", a.email)
    assert [x.live()[0]["roster"] for x in trio] == [[], [], []]
    left = ledger.get_enrollment("ilt-101.s1", a.email)
    assert left is not None and left.pushed_to == () and left.uncertain_at == ()


def test_a_push_failing_at_one_provider_still_reaches_the_others(trio: Any) -> None:
    lms, cal, meet = trio
    scheduler = Scheduler(list(trio), MemoryLedger())
    scheduler.schedule(_session())
    (a,) = _people(1)
    meet.fail_next["enrol"] = TransientError("down", provider="meeting")
    with pytest.raises(TransientError):
        scheduler.enrol("ilt-101.s1", a)
    assert [x.live()[0]["roster"] for x in trio] == [[a.email], [a.email], []]


def test_a_half_failed_cancel_is_cancelling_schedule_refuses_it_and_sync_finishes_it(trio: Any) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    scheduler = Scheduler(list(trio), ledger)
    scheduler.schedule(_session())
    lms.commit_then_fail.add("cancel")  # the LMS deleted its object; the answer was garbled
    with pytest.raises(ResponseLost):
        scheduler.cancel("ilt-101.s1")
    stored = ledger.get_session("ilt-101.s1")
    assert stored is not None and stored.status is SessionStatus.CANCELLING
    with pytest.raises(SessionCancelled):
        scheduler.schedule(_session())
    with pytest.raises(SessionCancelled):
        scheduler.enrol("ilt-101.s1", _people(1)[0])
    assert [len(x.objects) for x in trio] == [1, 1, 1]  # nothing was made again
    scheduler.sync("ilt-101.s1")
    stored = ledger.get_session("ilt-101.s1")
    assert stored is not None and stored.status is SessionStatus.CANCELLED
    assert all(x.live() == [] for x in trio) and ledger.list_refs("ilt-101.s1") == []


def _a_create_left_behind(trio: Any) -> tuple[Scheduler, MemoryLedger]:
    """A failed schedule whose calendar create committed, lost its answer, and could not be looked up."""
    cal = trio[1]
    ledger = MemoryLedger()
    scheduler = Scheduler(list(trio), ledger, sole_writer=True)  # no look-up before the create
    cal.commit_then_fail.add("create")  # committed, answer lost...
    cal.fail_next["find"] = TransientError("down", provider="calendar")  # ...and the look-up fails too
    with pytest.raises(SchedulingFailed) as info:
        scheduler.schedule(_session())
    assert info.value.leftovers == ["calendar"]
    return scheduler, ledger


def test_cancel_of_a_failed_session_removes_what_a_create_left_without_a_ref(trio: Any) -> None:
    lms, cal, meet = trio
    scheduler, ledger = _a_create_left_behind(trio)
    assert len(cal.live()) == 1 and ledger.get_ref("ilt-101.s1", "calendar") is None
    scheduler.cancel("ilt-101.s1")
    assert all(x.live() == [] for x in trio)
    assert {k.state.value for k in ledger.list_keys("ilt-101.s1")} == {"retired"}


def test_sync_of_a_failed_session_removes_what_its_creates_left(trio: Any) -> None:
    scheduler, ledger = _a_create_left_behind(trio)
    summary = scheduler.sync_all()
    assert summary.synced == ("ilt-101.s1",) and summary.failed == {}
    assert all(x.live() == [] for x in trio)
    stored = ledger.get_session("ilt-101.s1")
    assert stored is not None and stored.status is SessionStatus.FAILED


def test_sync_replaces_a_dead_ref_and_carries_the_new_meeting_link(trio: Any) -> None:
    lms, cal, meet = trio
    ledger = MemoryLedger()
    events: list[ProgressEvent] = []
    scheduler = Scheduler(list(trio), ledger, on_progress=events.append)
    scheduler.schedule(_session())
    (a,) = _people(1)
    scheduler.enrol("ilt-101.s1", a)
    del meet.objects["meeting-1"]  # deleted on the provider's side
    scheduler.sync_all()
    (meeting,) = meet.live()
    assert meeting["roster"] == [a.email]
    stored = ledger.get_session("ilt-101.s1")
    assert stored is not None and stored.meeting is not None
    assert stored.meeting.join_url == "https://meet.example.org/meeting-2"
    assert cal.live()[0]["session"].meeting == stored.meeting  # re-driven with the new link
    assert lms.live()[0]["session"].meeting == stored.meeting
    ref = ledger.get_ref("ilt-101.s1", "meeting")
    assert ref is not None and ref.external_id == "meeting-2"
    assert any(e.action == "sync" and e.outcome == "done" for e in events)


def test_a_new_ledger_finds_what_an_earlier_one_made_instead_of_duplicating(trio: Any) -> None:
    Scheduler(list(trio), MemoryLedger(), sole_writer=True).schedule(_session())
    Scheduler(list(trio), MemoryLedger()).schedule(_session())  # a restored backup: safe by default
    assert [len(x.live()) for x in trio] == [1, 1, 1]
    assert [x.fresh_flags for x in trio] == [[True, False]] * 3


def test_a_cohort_costs_one_listing_per_provider_and_no_look_up(trio: Any) -> None:
    sessions = [
        _session(id=f"ilt-101.s{i}", slot=_later(_session().slot, i)) for i in range(1, 6)
    ]
    done = Scheduler(list(trio), MemoryLedger(), sole_writer=True).schedule(sessions[0])
    assert done.status is SessionStatus.SCHEDULED
    for x in trio:
        x.calls.clear()
        x.fresh_flags.clear()
    Scheduler(list(trio), MemoryLedger()).schedule_many(sessions)
    assert [len(x.live()) for x in trio] == [5, 5, 5]
    for x in trio:
        assert x.calls.count("list") == 1
        # the one listed already is looked up (and found), the four others are created without a look-up
        assert x.fresh_flags == [False, True, True, True, True]


def test_a_failed_push_is_re_sent_by_the_next_enrolment(trio: Any) -> None:
    lms, cal, meet = trio
    scheduler = Scheduler(list(trio), MemoryLedger())
    scheduler.schedule(_session(capacity=None))
    a, b = _people(2)
    lms.fail_next["enrol"] = TransientError("down", provider="lms")
    with pytest.raises(TransientError):
        scheduler.enrol("ilt-101.s1", a)
    scheduler.enrol("ilt-101.s1", b)
    assert lms.live()[0]["roster"] == [a.email, b.email]
    assert lms.calls.count("enrol:2") == 1  # the learner left uncertain rides along with the newcomer
    kept = scheduler.ledger.get_enrollment("ilt-101.s1", a.email)
    assert kept is not None and "lms" in kept.pushed_to and not kept.uncertain_at


class CountingLedger(SQLiteLedger):
    """A SQLite ledger that counts the enrolment rows it hands out and writes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.rows_read = 0
        self.rows_written = 0

    def reset(self) -> None:
        self.rows_read = self.rows_written = 0

    def get_enrollment(self, session_id: str, email: str) -> Enrollment | None:
        found = super().get_enrollment(session_id, email)
        self.rows_read += found is not None
        return found

    def list_enrollments(self, session_id: str, status: EnrollmentStatus | None = None) -> list[Enrollment]:
        rows = super().list_enrollments(session_id, status)
        self.rows_read += len(rows)
        return rows

    def first_enrollments(self, session_id: str, status: EnrollmentStatus, limit: int) -> list[Enrollment]:
        rows = super().first_enrollments(session_id, status, limit)
        self.rows_read += len(rows)
        return rows

    def list_uncertain_enrollments(self, session_id: str) -> list[Enrollment]:
        rows = super().list_uncertain_enrollments(session_id)
        self.rows_read += len(rows)
        return rows

    def upsert_enrollment(self, enrollment: Enrollment) -> None:
        super().upsert_enrollment(enrollment)
        self.rows_written += 1


def _roster_work(waitlisted: int, path: Path) -> list[tuple[int, int]]:
    """Rows read and written by one enrolment, then by one unenrolment that promotes, with a waitlist that long."""
    adapters = [RecordingAdapter("lms", AdapterKind.LMS), RecordingAdapter("calendar", AdapterKind.CALENDAR)]
    ledger = CountingLedger(path)
    scheduler = Scheduler(adapters, ledger)
    scheduler.schedule(_session(capacity=10, modality=Modality.IN_PERSON))
    people = _people(10 + waitlisted + 1)
    scheduler.enrol_many("ilt-101.s1", people[:-1])
    work = []
    ledger.reset()
    assert scheduler.enrol("ilt-101.s1", people[-1]).status is EnrollmentStatus.WAITLISTED
    work.append((ledger.rows_read, ledger.rows_written))
    ledger.reset()
    scheduler.unenrol("ilt-101.s1", people[0].email)
    work.append((ledger.rows_read, ledger.rows_written))
    promoted = ledger.get_enrollment("ilt-101.s1", people[10].email)
    assert promoted is not None and promoted.status is EnrollmentStatus.CONFIRMED
    assert set(promoted.pushed_to) == {"lms", "calendar"}
    assert adapters[0].live()[0]["roster"] == [p.email for p in people[1:11]]
    ledger.close()
    return work


def test_the_rows_an_enrolment_reads_and_writes_do_not_grow_with_the_roster(tmp_path: Path) -> None:
    small = _roster_work(10, tmp_path / "small.db")
    large = _roster_work(1_000, tmp_path / "large.db")
    assert small == large
    # A waitlisted enrolment: the look-up for an earlier enrolment finds none, and one write; the plan works on
    # the row just written, so nothing is read back. An unenrolment that promotes: the leaver's row and the
    # waitlist's head read; both written (cancelled, promoted), then written once more marked uncertain at both
    # roster providers, then at each provider the removal's and the push's answers (one write each).
    assert large == [(0, 1), (2, 2 + 2 + 2 * 2)]


# ledger transactions per operation


def _count_commits(ledger: SQLiteLedger) -> list[str]:
    """Every statement the ledger's connection runs from now on (SQLite's own trace, not the ledger's word)."""
    statements: list[str] = []
    ledger._conn.set_trace_callback(statements.append)
    return statements


def _durable_state(path: Path) -> tuple[dict[str, str], list[str]]:
    """Key states and refs as another process would read them from the file: only what was committed."""
    import json
    import sqlite3

    raw = sqlite3.connect(path)
    try:
        keys = {provider: json.loads(data)["state"] for provider, data in raw.execute("SELECT provider, data FROM idempotency_keys")}
        refs = sorted(provider for (provider,) in raw.execute("SELECT provider FROM refs"))
    finally:
        raw.close()
    return keys, refs


def test_schedule_commits_once_before_each_create_and_once_after_and_each_key_is_durable_before_it_is_sent(
    trio: Any, tmp_path: Path
) -> None:
    lms, cal, meet = trio
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    seen_at_send: dict[str, tuple[dict[str, str], list[str]]] = {}
    for adapter in trio:

        def create(session: Session, *, key: str, fresh: bool = False, _adapter: RecordingAdapter = adapter) -> ProviderRef:
            seen_at_send[_adapter.name] = _durable_state(path)
            return RecordingAdapter.create_session(_adapter, session, key=key, fresh=fresh)

        adapter.create_session = create  # type: ignore[method-assign]
    statements = _count_commits(ledger)
    Scheduler(list(trio), ledger).schedule(_session())
    # Three creates: one commit before each (its key marked sent, with the previous answer) and one after.
    assert statements.count("COMMIT") == 4
    assert seen_at_send == {
        "meeting": ({"meeting": "pending"}, []),
        "calendar": ({"meeting": "done", "calendar": "pending"}, ["meeting"]),
        "lms": ({"meeting": "done", "calendar": "done", "lms": "pending"}, ["calendar", "meeting"]),
    }
    assert _durable_state(path) == ({"meeting": "done", "calendar": "done", "lms": "done"}, ["calendar", "lms", "meeting"])

    statements.clear()
    Scheduler(list(trio), ledger).schedule(_session())  # already scheduled everywhere: nothing to write
    assert statements.count("COMMIT") == 0
    ledger.close()


def test_schedule_on_one_target_is_two_commits(tmp_path: Path) -> None:
    lms = RecordingAdapter("lms", AdapterKind.LMS)
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    statements = _count_commits(ledger)
    Scheduler([lms], ledger).schedule(_session(modality=Modality.IN_PERSON, room=Room(id="r1", name="Room 1")))
    assert statements.count("COMMIT") == 2  # the write-ahead mark before the create, the answer after it
    ledger.close()


def _durable_roster(path: Path) -> dict[str, tuple[str, list[str], list[str]]]:
    """Each enrolment as another process would read it from the file: status, pushed to, uncertain at."""
    import json
    import sqlite3

    raw = sqlite3.connect(path)
    try:
        rows = [json.loads(data) for (data,) in raw.execute("SELECT data FROM enrollments")]
    finally:
        raw.close()
    return {row["person"]["email"]: (row["status"], row["pushed_to"], row["uncertain_at"]) for row in rows}


def _watch_roster_sends(path: Path, adapters: Sequence[RecordingAdapter]) -> list[tuple[str, dict[str, Any]]]:
    """What the file held when each roster call was sent: (provider:call, durable roster)."""
    seen: list[tuple[str, dict[str, Any]]] = []
    for adapter in adapters:
        enrol, unenrol = adapter.enrol, adapter.unenrol

        def watched_enrol(*args: Any, _name: str = adapter.name, _enrol: Any = enrol, **kwargs: Any) -> Any:
            seen.append((f"{_name}:enrol", _durable_roster(path)))
            return _enrol(*args, **kwargs)

        def watched_unenrol(*args: Any, _name: str = adapter.name, _unenrol: Any = unenrol, **kwargs: Any) -> Any:
            seen.append((f"{_name}:unenrol", _durable_roster(path)))
            return _unenrol(*args, **kwargs)

        adapter.enrol = watched_enrol  # type: ignore[method-assign]
        adapter.unenrol = watched_unenrol  # type: ignore[method-assign]
    return seen


def test_an_enrolment_commits_its_row_with_the_uncertain_marks_then_one_answer_per_provider(tmp_path: Path) -> None:
    lms, cal = RecordingAdapter("lms", AdapterKind.LMS), RecordingAdapter("calendar", AdapterKind.CALENDAR)
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    scheduler = Scheduler([lms, cal], ledger)
    scheduler.schedule(_session(capacity=1, modality=Modality.IN_PERSON))
    seen = _watch_roster_sends(path, [lms, cal])
    statements = _count_commits(ledger)
    ana, ben = _people(2)

    confirmed = scheduler.enrol("ilt-101.s1", ana)
    # The row and its marks at both providers in one commit, before the first send; then each answer.
    assert statements.count("COMMIT") == 3
    assert seen == [
        ("calendar:enrol", {ana.email: ("confirmed", [], ["calendar", "lms"])}),
        ("lms:enrol", {ana.email: ("confirmed", ["calendar"], ["lms"])}),
    ]
    assert (confirmed.pushed_to, confirmed.uncertain_at) == (("calendar", "lms"), ())
    assert confirmed == ledger.get_enrollment("ilt-101.s1", ana.email)

    statements.clear()
    waitlisted = scheduler.enrol("ilt-101.s1", ben)
    assert waitlisted.status is EnrollmentStatus.WAITLISTED
    assert statements.count("COMMIT") == 1 and len(seen) == 2  # nothing to send

    statements.clear()
    seen.clear()
    assert scheduler.unenrol("ilt-101.s1", ana.email).status is EnrollmentStatus.CANCELLED
    # The cancel, the promotion and both learners' marks in one commit; then at each provider the removal's
    # answer and the push's answer.
    assert statements.count("COMMIT") == 1 + 2 * 2
    both = ["calendar", "lms"]
    assert seen[0] == ("calendar:unenrol", {ana.email: ("cancelled", both, both), ben.email: ("confirmed", [], both)})
    assert [call for call, _ in seen] == ["calendar:unenrol", "calendar:enrol", "lms:unenrol", "lms:enrol"]

    statements.clear()
    assert scheduler.enrol("ilt-101.s1", ben) == ledger.get_enrollment("ilt-101.s1", ben.email)  # already there
    assert statements.count("COMMIT") == 1  # the transaction that read it; nothing written, nothing sent
    ledger.close()


def test_enrolling_many_is_one_commit_before_the_push_and_one_after_it(tmp_path: Path) -> None:
    lms = RecordingAdapter("lms", AdapterKind.LMS)
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    scheduler = Scheduler([lms], ledger)
    scheduler.schedule(_session(capacity=10, modality=Modality.IN_PERSON))
    statements = _count_commits(ledger)
    lms.calls.clear()
    enrolled = scheduler.enrol_many("ilt-101.s1", _people(12))
    assert statements.count("COMMIT") == 2
    assert lms.calls == ["enrol:10"]
    assert [e.status for e in enrolled] == [EnrollmentStatus.CONFIRMED] * 10 + [EnrollmentStatus.WAITLISTED] * 2
    assert enrolled == ledger.list_enrollments("ilt-101.s1")
    ledger.close()
