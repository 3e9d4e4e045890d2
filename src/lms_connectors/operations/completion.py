"""Completion written back to the LMSs from the recorded attendance, once.

:func:`write_completion` turns each confirmed learner's latest outcome (:mod:`lms_connectors.operations.attendance`)
into a completion state (attended or late: complete; no-show: incomplete) and writes it, through
:meth:`~lms_connectors.adapter.Adapter.record_completion`, to every adapter of the session that has
:attr:`~lms_connectors.adapter.Capability.COMPLETION` and for which the session names a gradeable object
(:class:`~lms_connectors.completion.CompletionItem`, from the plan's ``completion:``).

What was written is kept in the ledger's audit log: a ``completion`` entry per learner and LMS (state, item,
whether the LMS changed), a ``completion_item`` entry for an item the adapter made (its id, so it is never looked
for again) and a ``completion_failed`` entry for an LMS that refused. A learner whose state was already written on
the same item is not sent again, so a second run makes no call; an outcome recorded anew (a late sign-in sheet)
is written then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lms_connectors.adapter import Adapter, Capability
from lms_connectors.completion import CompletionItem, CompletionState
from lms_connectors.errors import ConnectorError, NotFound
from lms_connectors.operations.attendance import Outcome, attendance_of
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.base import AuditEntry, LedgerStore

__all__ = ["CompletionReport", "completion_state", "written_completion", "write_completion"]


def completion_state(outcome: Outcome) -> CompletionState:
    """The completion an outcome stands for: attended or late is complete, a no-show incomplete."""
    return CompletionState.INCOMPLETE if outcome is Outcome.NO_SHOW else CompletionState.COMPLETE


@dataclass
class CompletionReport:
    """What one :func:`write_completion` did.

    Attributes:
        written: ``(provider, email, state)`` of each learner the LMS now holds (changed there or not).
        unchanged_at_lms: ``(provider, email)`` of those the LMS held in that state already (read, not written).
        kept: ``(provider, email)`` of those the ledger shows written before (no call).
        skipped: ``(provider, why)`` of the LMSs not written to (no capability, no object of the session).
        failed: ``(provider, error)`` of the LMSs that refused (what was written before the refusal is kept).
        calls: HTTP calls made, over every adapter.
    """

    written: list[tuple[str, str, CompletionState]] = field(default_factory=list)
    unchanged_at_lms: list[tuple[str, str]] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, ConnectorError]] = field(default_factory=list)
    calls: int = 0


def written_completion(
    ledger: LedgerStore, session_id: str, provider: str
) -> tuple[str | None, dict[str, tuple[str, CompletionState]]]:
    """What the ledger shows written to ``provider`` for a session: the item it made, and each learner's last write.

    Returns:
        The id of the item the adapter made (``None``: none made), and ``email -> (item id, state)``.
    """
    made: str | None = None
    written: dict[str, tuple[str, CompletionState]] = {}
    for entry in ledger.iter_audit(session_id):
        if entry.provider != provider:
            continue
        if entry.action == "completion_item":
            made = str(entry.detail["item_id"])
        elif entry.action == "completion":
            written[str(entry.detail["email"])] = (str(entry.detail["item_id"]), CompletionState(
                str(entry.detail["state"])))
    return made, written


def write_completion(
    scheduler: Scheduler, session_id: str, items: Mapping[str, CompletionItem]
) -> CompletionReport:
    """Write the session's recorded attendance as completion to each LMS that ``items`` names an object in.

    Args:
        scheduler: The scheduler whose ledger holds the session, its attendance and its refs.
        session_id: The session.
        items: The gradeable object per adapter name (the plan's ``completion:``).

    Returns:
        What was written, kept, skipped and refused, per LMS.

    Raises:
        NotFound: The session is not in the ledger.
    """
    ledger = scheduler.ledger
    session = ledger.get_session(session_id)
    if session is None:
        raise NotFound(f"unknown session {session_id!r}")
    marks = {email: completion_state(outcome) for (sid, email), outcome in attendance_of(ledger, session_id).items()
             if sid == session_id}
    report = CompletionReport()
    adapters = {adapter.name: adapter for adapter in scheduler.adapters}
    before = sum(adapter.call_count for adapter in adapters.values())
    for provider, item in items.items():
        adapter = adapters.get(provider)
        why = _why_not(adapter, provider, ledger, session_id)
        if why is not None:
            report.skipped.append((provider, why))
            continue
        assert adapter is not None
        _write_to(adapter, ledger, session_id, item, marks, report)
    report.calls = sum(adapter.call_count for adapter in adapters.values()) - before
    return report


def _why_not(adapter: Adapter | None, provider: str, ledger: LedgerStore, session_id: str) -> str | None:
    if adapter is None:
        return "no such adapter is configured"
    if not adapter.supports(Capability.COMPLETION):
        return f"{adapter.display_name} takes no completion"
    if ledger.get_ref(session_id, provider) is None:
        return "the session has no object there"
    return None


def _write_to(
    adapter: Adapter, ledger: LedgerStore, session_id: str, item: CompletionItem,
    marks: Mapping[str, CompletionState], report: CompletionReport,
) -> None:
    provider = adapter.name
    made, written = written_completion(ledger, session_id, provider)
    if item.to_make and made is not None:
        item = item.model_copy(update={"id": made})
    pending: dict[str, CompletionState] = {}
    for email, state in sorted(marks.items()):
        if item.id is not None and written.get(email) == (item.id, state):
            report.kept.append((provider, email))
        else:
            pending[email] = state
    if not pending:
        return
    ref = ledger.get_ref(session_id, provider)
    session = ledger.get_session(session_id)
    assert ref is not None
    assert session is not None
    try:
        for done in adapter.record_completion(ref, session, item, pending):
            if item.to_make and made != done.item_id:
                made = done.item_id
                ledger.append_audit(AuditEntry(session_id=session_id, provider=provider, action="completion_item",
                                               detail={"kind": item.kind, "item_id": done.item_id}))
            ledger.append_audit(AuditEntry(session_id=session_id, provider=provider, action="completion", detail={
                "email": done.email, "state": done.state.value, "item_id": done.item_id, "changed": done.changed,
            }))
            report.written.append((provider, done.email, done.state))
            if not done.changed:
                report.unchanged_at_lms.append((provider, done.email))
    except ConnectorError as exc:
        ledger.append_audit(AuditEntry(session_id=session_id, provider=provider, action="completion_failed",
                                       detail={"error": type(exc).__name__, "message": exc.message}))
        report.failed.append((provider, exc))
