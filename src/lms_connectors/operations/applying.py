"""Make a plan so, idempotently, and undo the last time it was made so.

:func:`apply_plan` runs the steps :func:`~lms_connectors.operations.planning.preview` found, through the
scheduler (so every guarantee holds: no duplicate on a retry, waitlist in order, write-ahead ledger records),
skipping sessions with an error. Each change is written to the ledger's audit log under one apply id with what
it replaced (``apply.create``, ``apply.move`` with the old slot, ``apply.enrol`` ...), between
``apply.started`` and ``apply.finished``; an instructor assignment is logged with its reasons. Applying the
same plan again finds nothing to do and makes no provider call.

:func:`rollback_last_apply` reads the newest apply that was not rolled back and undoes its changes newest
first: a session it created is cancelled, a move is moved back, an enrolment is withdrawn, an unenrolment is
enrolled again. Two things are reported as not undone: a cancel (Zoom and Moodle delete the object, so it
cannot be restored at the providers), and an unenrolment whose seat went to a promoted learner (she was told
she has it; the learner enrolled again queues on the waitlist instead).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from lms_connectors.errors import ConnectorError, NotFound
from lms_connectors.models import EnrollmentStatus, Person, SessionStatus, TimeSlot
from lms_connectors.operations.planning import SessionPreview, StepKind
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.base import AuditEntry

__all__ = ["ApplyReport", "RollbackReport", "apply_plan", "rollback_last_apply"]


@dataclass
class ApplyReport:
    """What an apply did."""

    apply_id: str
    done: list[tuple[str, str, str]] = field(default_factory=list)
    """``(session id, step, detail)`` per change made."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """``(session id, why)`` per session left alone because of an error."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """``(session id, error)`` per session a provider refused (the scheduler undid its partial work)."""


@dataclass
class RollbackReport:
    """What a rollback undid."""

    apply_id: str | None
    undone: list[tuple[str, str]] = field(default_factory=list)
    not_undone: list[tuple[str, str]] = field(default_factory=list)


def _log(scheduler: Scheduler, apply_id: str, session_id: str | None, action: str, **detail: object) -> None:
    scheduler.ledger.append_audit(
        AuditEntry(session_id=session_id, provider=None, action=action, detail={"apply_id": apply_id, **detail})
    )


def apply_plan(
    previews: Sequence[SessionPreview],
    scheduler: Scheduler,
    *,
    on_step: Callable[[str, str, str], None] | None = None,
) -> ApplyReport:
    """Apply what ``previews`` found, session by session; a session with an error is skipped.

    Args:
        previews: From :func:`~lms_connectors.operations.planning.preview` on the same ledger, just before.
        scheduler: The scheduler whose ledger the previews read.
        on_step: Called with ``(session id, step, detail)`` after each change (progress output).

    Returns:
        What was done, skipped and refused, under a new apply id (also in the audit log). When nothing needed
        doing no apply is logged and the id is empty.
    """
    report = ApplyReport(apply_id="")
    if not any(p.changes or p.blocked for p in previews):
        return report
    report.apply_id = uuid.uuid4().hex
    _log(scheduler, report.apply_id, None, "apply.started", sessions=[p.spec.id for p in previews])

    def done(session_id: str, step: str, detail: str) -> None:
        report.done.append((session_id, step, detail))
        if on_step is not None:
            on_step(session_id, step, detail)

    for item in previews:
        sid = item.spec.id
        if item.blocked or item.session is None:
            report.skipped.append((sid, "; ".join(p.message for p in item.problems)))
            continue
        if not item.changes:
            continue
        try:
            _apply_one(scheduler, report.apply_id, item, done)
        except ConnectorError as exc:
            report.failed.append((sid, exc.message))
            _log(scheduler, report.apply_id, sid, "apply.failed", error=exc.message)
    _log(scheduler, report.apply_id, None, "apply.finished", done=len(report.done), failed=len(report.failed))
    return report


def _apply_one(
    scheduler: Scheduler, apply_id: str, item: SessionPreview, done: Callable[[str, str, str], None]
) -> None:
    session = item.session
    assert session is not None
    sid = session.id
    kinds = {step.kind for step in item.steps}
    stored = scheduler.ledger.get_session(sid)
    if StepKind.CANCEL in kinds:
        scheduler.cancel(sid)
        _log(scheduler, apply_id, sid, "apply.cancel")
        done(sid, "cancel", "")
        return
    if item.assignment is not None and item.assignment.instructor is not None and StepKind.CREATE in kinds:
        _log(
            scheduler, apply_id, sid, "apply.assign",
            instructor=item.assignment.instructor, reasons=list(item.assignment.reasons),
            turned_down=item.assignment.turned_down,
        )
    if StepKind.MOVE in kinds and stored is not None:
        _log(scheduler, apply_id, sid, "apply.move", before=stored.slot.model_dump(mode="json"))
        scheduler.reschedule(sid, session.slot)
        done(sid, "move", f"{stored.slot.start.isoformat()} -> {session.slot.start.isoformat()}")
    if StepKind.CREATE in kinds:
        new = stored is None
        # Logged before the calls, so a rollback after a crash mid-create still cancels what was made.
        _log(scheduler, apply_id, sid, "apply.create", new=new)
        scheduler.schedule(session if stored is None else stored)
        done(sid, "create", ", ".join(s.provider or "" for s in item.steps if s.kind is StepKind.CREATE))
    for email in item.unenrol:
        before = scheduler.ledger.get_enrollment(sid, email)
        if before is None:
            continue
        _log(scheduler, apply_id, sid, "apply.unenrol", email=email, status=before.status.value)
        scheduler.unenrol(sid, email)
        done(sid, "unenrol", email)
    if item.enrol:
        for person in item.enrol:
            _log(scheduler, apply_id, sid, "apply.enrol", email=person.email)
        results = scheduler.enrol_many(sid, item.enrol)
        for enrollment in results:
            done(sid, "enrol", f"{enrollment.person.email} ({enrollment.status.value})")


def _applies(scheduler: Scheduler) -> Iterator[tuple[str, list[AuditEntry]]]:
    """Each apply in the audit log, newest first, with its entries in order; rolled-back ones left out."""
    entries: dict[str, list[AuditEntry]] = {}
    order: list[str] = []
    rolled_back: set[str] = set()
    for entry in scheduler.ledger.iter_audit():
        apply_id = entry.detail.get("apply_id") if entry.action.startswith("apply.") else None
        if not isinstance(apply_id, str):
            continue
        if entry.action == "apply.rolled_back":
            rolled_back.add(apply_id)
            continue
        if apply_id not in entries:
            order.append(apply_id)
        entries.setdefault(apply_id, []).append(entry)
    for apply_id in reversed(order):
        if apply_id not in rolled_back:
            yield apply_id, entries[apply_id]


def rollback_last_apply(scheduler: Scheduler) -> RollbackReport:
    """Undo the newest apply not yet rolled back, newest change first, driven by the audit log.

    Returns:
        What was undone and what could not be (a cancel; a session another writer has since changed).
    """
    latest = next(_applies(scheduler), None)
    if latest is None:
        return RollbackReport(apply_id=None)
    apply_id, entries = latest
    report = RollbackReport(apply_id=apply_id)
    # A session this apply created is cancelled whole: undoing its enrolments one by one first would only
    # cost calls (and push promotions) for objects about to go.
    created = {e.session_id for e in entries if e.action == "apply.create" and e.detail.get("new")}
    for entry in reversed(entries):
        sid = entry.session_id
        if sid is None or (sid in created and entry.action in ("apply.enrol", "apply.unenrol")):
            continue
        try:
            _undo(scheduler, entry, sid, report)
        except ConnectorError as exc:
            report.not_undone.append((sid, f"{entry.action}: {exc.message}"))
    _log(scheduler, apply_id, None, "apply.rolled_back", undone=len(report.undone), not_undone=len(report.not_undone))
    return report


def _undo(scheduler: Scheduler, entry: AuditEntry, sid: str, report: RollbackReport) -> None:
    session = scheduler.ledger.get_session(sid)
    live = session is not None and session.status is SessionStatus.SCHEDULED
    match entry.action:
        case "apply.create":
            if live:
                scheduler.cancel(sid)
                report.undone.append((sid, "cancelled what the apply created"))
        case "apply.move":
            before = TimeSlot.model_validate(entry.detail["before"])
            if live:
                scheduler.reschedule(sid, before)
                report.undone.append((sid, f"moved back to {before.start.isoformat()}"))
        case "apply.enrol":
            email = str(entry.detail["email"])
            enrollment = scheduler.ledger.get_enrollment(sid, email)
            if live and enrollment is not None and enrollment.status is not EnrollmentStatus.CANCELLED:
                scheduler.unenrol(sid, email)
                report.undone.append((sid, f"unenrolled {email}"))
        case "apply.unenrol":
            email = str(entry.detail["email"])
            enrollment = scheduler.ledger.get_enrollment(sid, email)
            if live and enrollment is not None and enrollment.status is EnrollmentStatus.CANCELLED:
                person = Person.model_validate(enrollment.person.model_dump())
                again = scheduler.enrol(sid, person)
                if again.status is not EnrollmentStatus(str(entry.detail.get("status", again.status.value))):
                    # Her seat went to the first waitlisted learner, who was told she has it: taking it back
                    # would break a promise made to someone else, so she queues again instead.
                    report.not_undone.append(
                        (sid, f"{email} enrolled again but waitlisted: her seat went to a promoted learner")
                    )
                else:
                    report.undone.append((sid, f"enrolled {email} again"))
        case "apply.cancel":
            report.not_undone.append((sid, "a cancelled session cannot be restored at the providers"))
        case _:
            pass
    if session is None and entry.action != "apply.create":
        raise NotFound(f"session {sid!r} is no longer in the ledger")
