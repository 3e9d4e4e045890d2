"""Completion written back from attendance: states, the ledger's memory of writes, failures, plan fields.

The LMS here is an adapter that keeps the completion it is told in a dict (as a gradebook would) and counts the
calls it would make; the Canvas and Moodle adapters are checked against their simulators in their own tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from tests.test_scheduler import RecordingAdapter

from lms_connectors.adapter import AdapterKind, Capability, Presence
from lms_connectors.completion import CompletionItem, CompletionState, CompletionWritten, require_item_kind
from lms_connectors.errors import NotFound, PermissionDenied, ValidationError
from lms_connectors.models import Person, ProviderRef, Session, TimeSlot
from lms_connectors.operations.attendance import record_attendance
from lms_connectors.operations.completion import write_completion, written_completion
from lms_connectors.operations.plan_file import load_plan
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.capabilities import capability_mismatches

START = datetime(2027, 3, 16, 13, 0, tzinfo=UTC)

MINIMAL = """\
version: 1
sessions:
  - id: s.one
    title: One
    start: 2027-03-16 09:00
    minutes: 60
    timezone: America/New_York
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


class Gradebook(RecordingAdapter):
    """An LMS that records completion on assignments it may make, one call per write (plus one to make one)."""

    capabilities: ClassVar[frozenset[Capability]] = RecordingAdapter.capabilities | {Capability.COMPLETION}

    def __init__(self) -> None:
        super().__init__("gradebook", AdapterKind.LMS)
        self.grades: dict[tuple[str, str], CompletionState] = {}
        self.made: list[str] = []
        self.writes = 0
        self.refuse_after: int | None = None

    @property
    def call_count(self) -> int:
        return self.writes + len(self.made)

    def record_completion(
        self, ref: ProviderRef, session: Session, item: CompletionItem, marks: Mapping[str, CompletionState]
    ) -> Iterator[CompletionWritten]:
        item_id = require_item_kind(item, "assignment", self.name, can_make=True)
        if item_id is None:
            item_id = f"a{len(self.made) + 1}"
            self.made.append(item_id)
        for email, state in marks.items():
            if self.refuse_after is not None and self.writes >= self.refuse_after:
                raise PermissionDenied("grading is not allowed", provider=self.name)
            self.writes += 1
            changed = self.grades.get((item_id, email)) != state
            self.grades[(item_id, email)] = state
            yield CompletionWritten(email=email, state=state, item_id=item_id, changed=changed)


def _session_with_attendance(ledger: MemoryLedger, adapters: list[RecordingAdapter]) -> Scheduler:
    scheduler = Scheduler(adapters, ledger)
    session = Session(id="s.one", title="Forklift safety",
                      slot=TimeSlot(start=START, end=START + timedelta(hours=2), timezone="UTC"))
    scheduler.schedule(session)
    scheduler.enrol_many("s.one", [Person(email=f"{n}@example.org", name=n) for n in ("ana", "ben", "cy")])
    record_attendance(ledger, "s.one", [
        Presence(email="ana@example.org", joined=START),
        Presence(email="ben@example.org", joined=START + timedelta(minutes=30)),  # late: still complete
    ])
    return scheduler


def test_attended_and_late_are_complete_a_no_show_incomplete_and_a_second_run_makes_no_call() -> None:
    ledger = MemoryLedger()
    lms = Gradebook()
    scheduler = _session_with_attendance(ledger, [lms])
    report = write_completion(scheduler, "s.one", {"gradebook": CompletionItem(kind="assignment")})
    assert lms.made == ["a1"]
    assert lms.grades == {("a1", "ana@example.org"): CompletionState.COMPLETE,
                          ("a1", "ben@example.org"): CompletionState.COMPLETE,
                          ("a1", "cy@example.org"): CompletionState.INCOMPLETE}
    assert report.calls == 4 and not report.failed and len(report.written) == 3
    made, written = written_completion(ledger, "s.one", "gradebook")
    assert made == "a1" and written["cy@example.org"] == ("a1", CompletionState.INCOMPLETE)

    again = write_completion(scheduler, "s.one", {"gradebook": CompletionItem(kind="assignment")})
    assert (again.calls, again.written, len(again.kept)) == (0, [], 3)
    assert lms.made == ["a1"]


def test_a_changed_outcome_is_written_alone() -> None:
    ledger = MemoryLedger()
    lms = Gradebook()
    scheduler = _session_with_attendance(ledger, [lms])
    item = {"gradebook": CompletionItem(kind="assignment", id="77")}
    write_completion(scheduler, "s.one", item)
    record_attendance(ledger, "s.one", [Presence(email="ana@example.org", joined=START),
                                         Presence(email="ben@example.org", joined=START),
                                         Presence(email="cy@example.org", joined=START)])  # a late sign-in sheet
    report = write_completion(scheduler, "s.one", item)
    assert report.calls == 1
    assert report.written == [("gradebook", "cy@example.org", CompletionState.COMPLETE)]
    assert lms.grades[("77", "cy@example.org")] is CompletionState.COMPLETE


def test_a_refusal_keeps_what_was_written_before_it_and_the_next_run_finishes() -> None:
    ledger = MemoryLedger()
    lms = Gradebook()
    lms.refuse_after = 1
    scheduler = _session_with_attendance(ledger, [lms])
    item = {"gradebook": CompletionItem(kind="assignment")}
    report = write_completion(scheduler, "s.one", item)
    assert [provider for provider, _ in report.failed] == ["gradebook"]
    assert isinstance(report.failed[0][1], PermissionDenied)
    assert [e.action for e in ledger.iter_audit("s.one") if e.action.startswith("completion")] == [
        "completion_item", "completion", "completion_failed"]
    lms.refuse_after = None
    finished = write_completion(scheduler, "s.one", item)
    assert (finished.calls, len(finished.kept), len(finished.written)) == (2, 1, 2)
    assert lms.made == ["a1"]  # the made assignment is taken from the ledger, not made again


def test_adapters_without_the_capability_or_the_object_are_skipped_with_the_reason() -> None:
    ledger = MemoryLedger()
    plain = RecordingAdapter("plainlms", AdapterKind.LMS)
    scheduler = _session_with_attendance(ledger, [plain])
    report = write_completion(scheduler, "s.one", {"plainlms": CompletionItem(kind="activity", id="5"),
                                                   "elsewhere": CompletionItem(kind="activity", id="5")})
    assert report.skipped == [("plainlms", "Recording takes no completion"),
                              ("elsewhere", "no such adapter is configured")]
    with pytest.raises(NotFound):
        write_completion(scheduler, "s.unknown", {})


def test_an_item_of_the_wrong_kind_is_a_validation_error_naming_the_field() -> None:
    ledger = MemoryLedger()
    scheduler = _session_with_attendance(ledger, [Gradebook()])
    report = write_completion(scheduler, "s.one", {"gradebook": CompletionItem(kind="activity", id="5")})
    error = report.failed[0][1]
    assert isinstance(error, ValidationError) and error.field == "completion.gradebook"
    with pytest.raises(ValidationError, match="cannot make an activity"):
        require_item_kind(CompletionItem(kind="activity"), "activity", "moodle", can_make=False)


def test_writing_record_completion_is_having_the_capability() -> None:
    assert capability_mismatches(Gradebook) == []

    class Undeclared(RecordingAdapter):
        record_completion = Gradebook.record_completion

    assert Capability.COMPLETION in Undeclared.capabilities
    assert Capability.COMPLETION not in RecordingAdapter.capabilities


PLAN_WITH_COMPLETION = MINIMAL + (
    "    completion:\n"
    "      moodle: {activity: 57}\n"
    "      canvas: {assignment: new, points: 2}\n"
)


def test_the_plan_names_the_object_per_lms(tmp_path: Path) -> None:
    plan, _ = load_plan(_write(tmp_path, PLAN_WITH_COMPLETION))
    assert plan.completion_items("s.one") == {
        "moodle": CompletionItem(kind="activity", id="57"),
        "canvas": CompletionItem(kind="assignment", id=None, points=2.0),
    }


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ("moodle: {activity: 57, assignment: 3}", "sessions.0.completion.moodle", "either an activity"),
        ("moodle: {}", "sessions.0.completion.moodle", "either an activity"),
        ("moodle: {activity: 0}", "sessions.0.completion.moodle.activity", "greater than 0"),
        ("canvas: {assignment: later}", "sessions.0.completion.canvas.assignment", "new"),
        ("canvas: {assignment: 12, points: 3}", "sessions.0.completion.canvas", "points"),
        ("canvas: {assignment: new, colour: red}", "sessions.0.completion.canvas.colour", "Extra inputs"),
    ],
)
def test_a_wrong_completion_entry_names_its_field_and_line(tmp_path: Path, entry: str, field: str, words: str) -> None:
    text = MINIMAL + f"    completion:\n      {entry}\n"
    with pytest.raises(ValidationError) as caught:
        load_plan(_write(tmp_path, text))
    assert caught.value.field == field
    assert words in caught.value.message
    assert caught.value.message.startswith("plan.yaml:9:")  # the LMS's line under completion


def test_completion_for_an_lms_the_session_does_not_use_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + "    providers: [moodle]\n    completion:\n      canvas: {assignment: new}\n"
    with pytest.raises(ValidationError) as caught:
        load_plan(_write(tmp_path, text))
    assert caught.value.field == "sessions.0.completion.canvas"
