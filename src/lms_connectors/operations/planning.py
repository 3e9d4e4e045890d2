"""What applying a plan would do, per session and provider, and every problem found before any write.

:func:`preview` compares the plan with the ledger (the SDK's record of what it made where) and with the
scheduler's routing, and makes no provider call unless asked to read them (below). Each session gets steps
(create, move, cancel, enrol, unenrol, or unchanged) per provider, and problems: a session no adapter serves, a
double-booked instructor or room (in the plan or against the ledger's other sessions), an instructor without the
skills or outside her hours, a room too small, learners who would be waitlisted, learners for whom the session
falls at night in their own zone.
A problem of severity ``error`` stops :func:`lms_connectors.operations.applying.apply_plan` for that session.

With ``ask_providers=True`` (what ``lms-connectors plan`` does) the providers are read too, never written: the
instructors' busy time there counts for the assignment and the double-booking check, and each room's busy time
at its holder is checked (:mod:`lms_connectors.operations.preflight`); :func:`permission_problems` runs each
adapter's ``doctor`` checks, and checks completion write-back for the LMSs a session's ``completion:`` names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from enum import StrEnum

from lms_connectors.errors import NotFound, NotSupported, ValidationError
from lms_connectors.models import EnrollmentStatus, Person, Session, SessionStatus
from lms_connectors.operations.assignment import (
    Assignment,
    BusyCalendar,
    assign_instructors,
    unavailable_reason,
    week_of,
)
from lms_connectors.operations.plan_file import EnrolmentRow, PlanFile, SessionSpec
from lms_connectors.operations.preflight import completion_failures, failed_checks, instructors_busy, room_busy
from lms_connectors.scheduler import Scheduler
from lms_connectors.timezones import require_zone

__all__ = [
    "Problem",
    "SessionPreview",
    "Severity",
    "Step",
    "StepKind",
    "permission_problems",
    "preview",
    "preview_for_apply",
]

NIGHT = (21, 7)
"""Local hours (from, to) a learner would not expect a session in: a warning, not an error."""


class StepKind(StrEnum):
    """What applying would do."""

    CREATE = "create"
    MOVE = "move"
    CANCEL = "cancel"
    ENROL = "enrol"
    UNENROL = "unenrol"
    UNCHANGED = "unchanged"


class Severity(StrEnum):
    """How bad a problem is: an error stops the session's apply; a warning is shown."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Step:
    """One thing applying would do to one session (at one provider, or in the ledger's roster)."""

    kind: StepKind
    provider: str | None
    detail: str = ""


@dataclass(frozen=True)
class Problem:
    """Something found before any write."""

    severity: Severity
    message: str


@dataclass
class SessionPreview:
    """What applying the plan would do to one session."""

    spec: SessionSpec
    session: Session | None
    """The session as it would be scheduled (``None`` when it cannot be built)."""
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    enrol: list[Person] = field(default_factory=list)
    unenrol: list[str] = field(default_factory=list)
    assignment: Assignment | None = None

    @property
    def blocked(self) -> bool:
        """Whether an error stops this session's apply."""
        return any(p.severity is Severity.ERROR for p in self.problems)

    @property
    def changes(self) -> bool:
        """Whether applying would change anything."""
        return any(step.kind is not StepKind.UNCHANGED for step in self.steps)


def _ledger_busy(scheduler: Scheduler, plan_ids: set[str]) -> tuple[BusyCalendar, BusyCalendar]:
    """Instructors' and rooms' busy time from the ledger's live sessions outside the plan."""
    instructors, rooms = BusyCalendar(), BusyCalendar()
    for session in scheduler.ledger.list_sessions():
        if session.id in plan_ids or session.status is not SessionStatus.SCHEDULED:
            continue
        for person in session.instructors:
            instructors.add(person.email, session.slot.start, session.slot.end, session.id)
        if session.room is not None:
            rooms.add(session.room.id, session.slot.start, session.slot.end, session.id)
    return instructors, rooms


def preview(
    plan: PlanFile, rows: Sequence[EnrolmentRow], scheduler: Scheduler, *, ask_providers: bool = False
) -> list[SessionPreview]:
    """What applying ``plan`` through ``scheduler`` would do, with every preflight problem; makes no write.

    Instructors are assigned (:func:`~lms_connectors.operations.assignment.assign_instructors`) to sessions
    that name none, unless the ledger already holds the session with an instructor: a choice made by an earlier
    apply is kept.

    Args:
        plan: The plan.
        rows: Its enrolments.
        scheduler: The adapters and the ledger the plan would be applied through.
        ask_providers: Also read the providers' free/busy (instructors and rooms busy outside this ledger);
            without it, no provider call is made.
    """
    ledger = scheduler.ledger
    plan_ids = {spec.id for spec in plan.sessions}
    busy, rooms_taken = _ledger_busy(scheduler, plan_ids)
    ledger_busy, _ = _ledger_busy(scheduler, plan_ids)  # the assignment adds the plan's own sessions to busy
    if ask_providers:
        for clash in instructors_busy(scheduler, [i.email for i in plan.instructors], plan.sessions):
            for calendar in (busy, ledger_busy):
                calendar.add(clash.resource, clash.start, clash.end, f"an event in {clash.provider}")
    kept: dict[str, str] = {}
    for spec in plan.sessions:
        stored = ledger.get_session(spec.id)
        if spec.instructor is None and stored is not None and stored.instructors:
            kept[spec.id] = stored.instructors[0].email
    specs = [s.model_copy(update={"instructor": kept.get(s.id, s.instructor)}) for s in plan.sessions]
    assigned = assign_instructors(specs, plan.instructors, busy=busy, solver=plan.assign_with)
    assignments = {a.session_id: a for a in assigned}
    by_session: dict[str, list[EnrolmentRow]] = {}
    for row in rows:
        by_session.setdefault(row.session_id, []).append(row)

    teachers = {
        spec.id: spec.instructor or (assignments[spec.id].instructor if spec.id in assignments else None)
        for spec in specs
    }
    over_week = _weekly_overruns(plan, specs, teachers)
    previews: list[SessionPreview] = []
    for spec in specs:
        assignment = assignments.get(spec.id)
        instructor = spec.instructor or (assignment.instructor if assignment else None)
        item = SessionPreview(spec=spec, session=None, assignment=assignment)
        previews.append(item)
        if spec.id in over_week:
            item.problems.append(Problem(Severity.ERROR, over_week[spec.id]))
        try:
            session = plan.to_session(spec, instructor)
            item.session = session
            targets = [a.name for a in scheduler.targets_for(session)]
        except ValidationError as exc:
            item.problems.append(Problem(Severity.ERROR, exc.message))
            continue
        _check_people_and_room(plan, specs, teachers, spec, session, item, (ledger_busy, rooms_taken))
        if ask_providers and session.room is not None and not spec.cancelled:
            _check_room_at_provider(scheduler, session, item)
        if assignment is not None and assignment.instructor is None:
            reasons = "; ".join(f"{k}: {v}" for k, v in sorted(assignment.turned_down.items()))
            item.problems.append(Problem(Severity.ERROR, f"no instructor can teach it ({reasons or 'none listed'})"))
        _session_steps(scheduler, spec, session, targets, item)
        if not spec.cancelled:
            _roster_steps(scheduler, spec, session, by_session.get(spec.id, []), item)
    return previews


def _weekly_overruns(
    plan: PlanFile, specs: Sequence[SessionSpec], teachers: dict[str, str | None]
) -> dict[str, str]:
    """Named sessions in a week their instructor teaches past her ``max_hours_per_week``, with why.

    Assigned sessions keep the limit already; a named instructor is the plan's word, so it is checked here.
    """
    weeks: dict[tuple[str, str], list[SessionSpec]] = {}
    for spec in specs:
        email = teachers.get(spec.id)
        if spec.cancelled or email is None:
            continue
        instructor = next((i for i in plan.instructors if i.email == email), None)
        if instructor is None or instructor.max_hours_per_week is None:
            continue
        weeks.setdefault((email, week_of(instructor, spec.slot().start)), []).append(spec)
    found: dict[str, str] = {}
    for (email, week), taught in weeks.items():
        cap = plan.instructor(email).max_hours_per_week
        hours = sum(spec.minutes for spec in taught) / 60
        if cap is not None and hours > cap:
            for spec in taught:
                if spec.instructor is not None:
                    found[spec.id] = f"{email} teaches {hours:g} h in {week} (her own zone's week), over her {cap:g} h"
    return found


def _check_room_at_provider(scheduler: Scheduler, session: Session, item: SessionPreview) -> None:
    assert session.room is not None
    try:
        clashes = room_busy(scheduler, session)
    except (NotSupported, NotFound) as exc:  # a holder that cannot show its busy time, or does not know it
        item.problems.append(
            Problem(Severity.WARNING, f"room {session.room.id}: busy time not readable ({exc.message})")
        )
        return
    for clash in clashes:
        item.problems.append(Problem(
            Severity.ERROR,
            f"room {session.room.id} is busy at {clash.provider} {clash.start:%Y-%m-%d %H:%M}-{clash.end:%H:%M} UTC",
        ))


def _check_people_and_room(
    plan: PlanFile,
    specs: Sequence[SessionSpec],
    teachers: dict[str, str | None],
    spec: SessionSpec,
    session: Session,
    item: SessionPreview,
    ledger_busy: tuple[BusyCalendar, BusyCalendar],
) -> None:
    instructor_busy, room_busy = ledger_busy
    slot = session.slot
    for person in session.instructors:
        instructor = plan.instructor(person.email)
        missing = sorted(set(spec.skills) - set(instructor.skills))
        if missing:
            item.problems.append(Problem(Severity.ERROR, f"{person.email} lacks {', '.join(missing)}"))
        outside = unavailable_reason(instructor, slot.start, slot.end)
        if outside:
            item.problems.append(Problem(Severity.ERROR, f"{person.email}: {outside}"))
        buffer = timedelta(minutes=instructor.buffer_minutes)
        clash = instructor_busy.clash(person.email, slot.start, slot.end, buffer)
        if clash and not spec.cancelled:
            item.problems.append(Problem(Severity.ERROR, f"{person.email} is double-booked with {clash}"))
    if spec.cancelled:
        return
    for other in specs:
        if other.id == spec.id or other.cancelled:
            continue
        other_slot = other.slot()
        if not (other_slot.start < slot.end and slot.start < other_slot.end):
            continue
        if spec.room is not None and other.room == spec.room:
            item.problems.append(Problem(Severity.ERROR, f"room {spec.room} is double-booked with {other.id}"))
        teacher = teachers.get(spec.id)
        if teacher is not None and teachers.get(other.id) == teacher:
            item.problems.append(Problem(Severity.ERROR, f"{teacher} is double-booked with {other.id}"))
    if session.room is not None:
        clash = room_busy.clash(session.room.id, slot.start, slot.end, timedelta(0))
        if clash:
            item.problems.append(Problem(Severity.ERROR, f"room {session.room.id} is booked for {clash}"))
        seats = session.room.capacity
        if seats is not None and spec.capacity is not None and seats < spec.capacity:
            item.problems.append(
                Problem(Severity.ERROR, f"room {session.room.id} seats {seats} < capacity {spec.capacity}")
            )
    if spec.room_needs is not None and spec.room is None:
        item.problems.append(Problem(Severity.WARNING, "room needs given but no room named: no room is booked"))


def _session_steps(
    scheduler: Scheduler, spec: SessionSpec, session: Session, targets: list[str], item: SessionPreview
) -> None:
    stored = scheduler.ledger.get_session(spec.id)
    refs = {ref.provider: ref for ref in scheduler.ledger.list_refs(spec.id)} if stored is not None else {}
    if spec.cancelled:
        if stored is None or stored.status is SessionStatus.CANCELLED:
            item.steps.append(Step(StepKind.UNCHANGED, None, "cancelled" if stored else "never scheduled"))
        else:
            item.steps.extend(Step(StepKind.CANCEL, name, refs[name].external_id) for name in sorted(refs))
            if not refs:
                item.steps.append(Step(StepKind.CANCEL, None, "ledger only"))
        return
    if stored is not None and stored.status is SessionStatus.CANCELLED:
        item.problems.append(
            Problem(Severity.ERROR, "cancelled in the ledger: a cancelled session is not revived; give it a new id")
        )
        return
    for name in targets:
        if name not in refs:
            when = f"{session.slot.start:%Y-%m-%d %H:%M} {session.slot.timezone}"
            item.steps.append(Step(StepKind.CREATE, name, when))
        elif stored is not None and stored.slot != session.slot:
            item.steps.append(
                Step(StepKind.MOVE, name, f"{stored.slot.start:%Y-%m-%d %H:%M} -> {session.slot.start:%Y-%m-%d %H:%M}")
            )
        else:
            item.steps.append(Step(StepKind.UNCHANGED, name, refs[name].external_id))
    if stored is not None and (stored.title, stored.description) != (session.title, session.description):
        item.problems.append(Problem(Severity.WARNING, "title or description differs from the ledger: not rewritten"))


def _roster_steps(
    scheduler: Scheduler, spec: SessionSpec, session: Session, rows: list[EnrolmentRow], item: SessionPreview
) -> None:
    current = {
        e.person.email: e
        for e in scheduler.ledger.list_enrollments(spec.id)
        if e.status is not EnrollmentStatus.CANCELLED
    }
    wanted = {row.learner.email: row.learner.person() for row in rows}
    confirmed = sum(e.status is EnrollmentStatus.CONFIRMED for e in current.values())
    for email, person in wanted.items():
        if email in current:
            continue
        seat = spec.capacity is None or confirmed < spec.capacity
        confirmed += seat
        item.enrol.append(person)
        item.steps.append(Step(StepKind.ENROL, None, f"{email} ({'confirmed' if seat else 'waitlisted'})"))
        _night_warning(session, person, item)
    for email in sorted(set(current) - set(wanted)):
        item.unenrol.append(email)
        item.steps.append(Step(StepKind.UNENROL, None, email))
    waitlisted = sum(1 for s in item.steps if s.kind is StepKind.ENROL and s.detail.endswith("(waitlisted)"))
    if waitlisted:
        item.problems.append(
            Problem(Severity.WARNING, f"{waitlisted} learner(s) would be waitlisted (capacity {spec.capacity})")
        )


def _night_warning(session: Session, person: Person, item: SessionPreview) -> None:
    if person.timezone is None:
        return
    local = session.slot.start.astimezone(UTC).astimezone(require_zone(person.timezone))
    late, early = NIGHT
    if local.hour >= late or local.hour < early:
        item.problems.append(
            Problem(Severity.WARNING, f"{person.email}: starts {local:%a %H:%M} in {person.timezone}")
        )


def preview_for_apply(plan: PlanFile, rows: Sequence[EnrolmentRow], scheduler: Scheduler) -> list[SessionPreview]:
    """The preview ``apply`` acts on: the providers' free/busy is read only when something would change.

    With changes to make, the instructors are chosen with the providers' free/busy, as ``plan`` showed them;
    with none (the plan already applied), the ledger alone answers, so a second apply makes no call.

    :calls: as :func:`preview` with ``ask_providers=True``, only when the ledger shows something to change.
    """
    previews = preview(plan, rows, scheduler)
    if any(item.changes for item in previews):
        previews = preview(plan, rows, scheduler, ask_providers=True)
    return previews


def permission_problems(scheduler: Scheduler, previews: Sequence[SessionPreview]) -> list[Problem]:
    """Each failed ``doctor`` check of an adapter that applying ``previews`` would write to, as an error.

    A missing permission (a Moodle function not in the token's service, a Zoom scope, a Canvas course
    permission, no access to the Google calendar) is found before the first write instead of halfway through.

    A session whose plan entry has ``completion:`` also needs what writing completion takes in each LMS named
    there (permissions ``doctor`` only reports as optional, the named activity or assignment): each failure is an
    error naming the LMS and the session, whether or not the session has anything to change now (completion is
    written after it took place). A plan without ``completion:`` asks for none of it.

    :calls: :meth:`~lms_connectors.adapter.Adapter.diagnose` of those adapters, and
        :meth:`~lms_connectors.adapter.Adapter.check_completion` of each LMS a session names for completion
        (reads only).
    """
    written = {step.provider for item in previews if item.changes for step in item.steps if step.provider}
    problems = [
        Problem(Severity.ERROR, f"{name}: {check.name}: {check.detail}")
        for name, check in failed_checks(scheduler, written)
    ]
    asked = [(item.session, {name: spec.item() for name, spec in item.spec.completion.items()}) for item in previews
             if item.session is not None and item.spec.completion and not item.spec.cancelled]
    problems.extend(
        Problem(Severity.ERROR, f"{name}: session {session_id}: {check.name}: {check.detail}")
        for name, session_id, check in completion_failures(scheduler, asked)
    )
    return problems
