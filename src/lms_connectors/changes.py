"""Changes people make at a provider, found and brought back under a policy per kind of change.

Sync otherwise runs one way: the ledger pushes. A person may also act at a provider: an instructor drags the
event to another hour, a host deletes the meeting, a learner cancels her registration, an admin removes a group
member. This module turns what a provider shows into :class:`Change` records (by polling with
:func:`poll_changes`, or from a provider's push, see an adapter's webhook module) and decides each under a
:class:`ChangePolicy`:

- ``reassert``: the ledger wins; :meth:`Scheduler.sync <lms_connectors.scheduler.Scheduler.sync>` puts the
  provider back (moves the object back, pushes the learner again, makes a deleted object again);
- ``accept``: the change flows into the ledger and on to the other providers (a move becomes a reschedule
  everywhere; a learner who left is unenrolled, which promotes the waitlist; a deleted object cancels the
  session everywhere);
- ``flag``: nothing is changed; the change waits for a person, in the audit log.

The policy is per field: the slot (``moved``), the title, description and place (``edited``), the meeting link
(``relinked``), the capacity (``resized``), the object itself (``deleted``) and each learner (``learner_left``:
a learner a provider no longer holds, or who declined there). Defaults: slot, title, link and capacity are
reasserted (they are the plan), a learner who left or declined is accepted (an unenrolment that promotes the
waitlist), and a deleted object is flagged: it is never made again behind a person's back unless the policy
says so. The ledger owns the meeting link and the capacity, so those two are reasserted or flagged, never
accepted. When two providers moved the
same session to different slots, the ledger is the tie-breaker: both are reasserted and the conflict is logged.
Every decision is an audit entry ``change.<kind>`` with the provider, the decision and where the change came
from.

Polling costs one listing of the adapter's sessions over the window the ledger's sessions span (or one read per
session for an adapter that cannot list), plus one roster listing per session for an adapter with rosters. A
provider with a change feed (:mod:`lms_connectors.feeds`) is read from a cursor the ledger keeps instead; polling
stays the fallback for every other adapter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import ValidationError as PydanticValidationError

from lms_connectors.adapter import Adapter, Capability
from lms_connectors.errors import ConnectorError, NotFound, ValidationError
from lms_connectors.models import (
    EnrollmentStatus,
    ProviderRef,
    ProviderSession,
    RosterMember,
    Session,
    SessionStatus,
    TimeSlot,
)
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.base import AuditEntry

__all__ = [
    "LEFT_STATUSES",
    "AppliedChange",
    "Change",
    "ChangeKind",
    "ChangePolicy",
    "Decision",
    "ReplayGuard",
    "apply_changes",
    "changes_of",
    "live_sessions",
    "poll_changes",
]

LEFT_STATUSES = frozenset({"declined", "denied", "cancelled"})
"""Roster statuses of a learner who is still listed but has left: declined the invitation (a calendar's
``responseStatus``), was denied or cancelled her registration (a meeting's registrant status)."""


class ChangeKind(StrEnum):
    """What a person did at a provider."""

    MOVED = "moved"
    """The object's start or end differs from the ledger's slot."""
    EDITED = "edited"
    """The title differs from the ledger's, or the description or place differs from what the SDK wrote."""
    RELINKED = "relinked"
    """The meeting link the object carries differs from the ledger's meeting."""
    RESIZED = "resized"
    """The capacity the object shows differs from the ledger's."""
    DELETED = "deleted"
    """The object is gone or cancelled while the session is live."""
    LEARNER_LEFT = "learner_left"
    """A confirmed learner the provider held is no longer on its roster, or declined (cancelled, removed)."""


class Decision(StrEnum):
    """What to do about a change."""

    REASSERT = "reassert"
    ACCEPT = "accept"
    FLAG = "flag"


class ChangePolicy(BaseModel):
    """The decision per kind of change."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    moved: Decision = Decision.REASSERT
    edited: Decision = Decision.REASSERT
    relinked: Decision = Decision.REASSERT
    resized: Decision = Decision.REASSERT
    deleted: Decision = Decision.FLAG
    learner_left: Decision = Decision.ACCEPT

    @model_validator(mode="after")
    def _ledger_owned(self) -> ChangePolicy:
        for name in ("relinked", "resized"):
            if getattr(self, name) is Decision.ACCEPT:
                raise ValueError(f"{name}: the ledger owns the meeting link and the capacity: reassert or flag")
        return self

    def decide(self, kind: ChangeKind) -> Decision:
        """The decision for ``kind``."""
        return Decision(getattr(self, kind.value))


@dataclass(frozen=True)
class Change:
    """One change found at one provider for one session."""

    provider: str
    session_id: str
    kind: ChangeKind
    slot: TimeSlot | None = None
    """For a move: the slot the provider now shows, in the session's zone."""
    email: str | None = None
    """For a learner who left."""
    title: str | None = None
    """For an edit: the title the provider now shows."""
    source: str = "poll"
    """``poll`` or the push that told (``zoom-webhook``, ...)."""


@dataclass(frozen=True)
class AppliedChange:
    """A change and what was done about it."""

    change: Change
    decision: Decision
    outcome: str


def _slot_of(found: ProviderSession, session: Session) -> TimeSlot:
    zone = session.slot.timezone
    start, end = found.start.astimezone(session.slot.start.tzinfo), found.end.astimezone(session.slot.start.tzinfo)
    return TimeSlot(start=start, end=end, timezone=zone)


def live_sessions(scheduler: Scheduler, adapter: Adapter, session_ids: Iterable[str] | None = None) -> list[Session]:
    """The ledger's scheduled sessions (all, or ``session_ids``) whose object at ``adapter`` is settled.

    A ref whose last write had an uncertain outcome is left out: that is :meth:`Scheduler.sync`'s to settle, not a
    person's change.
    """
    ledger = scheduler.ledger
    chosen = [ledger.get_session(sid) for sid in session_ids] if session_ids is not None else ledger.iter_sessions()
    live = []
    for session in chosen:
        if session is None or session.status is not SessionStatus.SCHEDULED:
            continue
        ref = ledger.get_ref(session.id, adapter.name)
        if ref is not None and not ref.uncertain:
            live.append(session)
    return live


def window_of(sessions: Sequence[Session]) -> tuple[datetime, datetime]:
    """The listing window that holds ``sessions``, a day wider each side (an object moved a little stays in it)."""
    margin = timedelta(days=1)
    return min(s.slot.start for s in sessions) - margin, max(s.slot.end for s in sessions) + margin


def poll_changes(scheduler: Scheduler, adapter: Adapter, session_ids: Iterable[str] | None = None) -> list[Change]:
    """What people changed at ``adapter`` on the ledger's live sessions (all, or ``session_ids``); reads only.

    Raises:
        ConnectorError: The provider could not be read (nothing is decided from a partial read).
    """
    sessions = live_sessions(scheduler, adapter, session_ids)
    if not sessions:
        return []
    refs = {s.id: _ref_of(scheduler, s, adapter) for s in sessions}
    found: dict[str, ProviderSession | None] = {}
    if adapter.supports(Capability.LIST_SESSIONS):
        listed = {item.ref.external_id: item for item in adapter.list_sessions(*window_of(sessions))}
        # A session moved out of the window is not listed: read it before calling it deleted.
        for session in sessions:
            ref = refs[session.id]
            found[session.id] = listed.get(ref.external_id) or _read(adapter, ref)
    else:
        for session in sessions:
            found[session.id] = _read(adapter, refs[session.id])
    changes: list[Change] = []
    for session in sessions:
        changes.extend(changes_of(scheduler, adapter, session, refs[session.id], found[session.id]))
    return changes


def _ref_of(scheduler: Scheduler, session: Session, adapter: Adapter) -> ProviderRef:
    ref = scheduler.ledger.get_ref(session.id, adapter.name)
    assert ref is not None  # live_sessions kept only sessions with a ref
    return ref


def changes_of(
    scheduler: Scheduler,
    adapter: Adapter,
    session: Session,
    ref: ProviderRef,
    found: ProviderSession | None,
    roster: Iterable[RosterMember] | None = None,
    *,
    source: str = "poll",
) -> list[Change]:
    """What differs between the ledger's ``session`` and the object ``found`` at ``adapter`` (``None``: gone).

    Args:
        scheduler: Its ledger is the reference.
        adapter: Where the object lives.
        session: The ledger's session.
        ref: The ledger's ref of the object (its ``extra["owned"]``, where the adapter keeps one, is the
            fingerprint of the title, text, place and times the SDK last wrote).
        found: The object as the provider shows it now.
        roster: The object's roster when the read already carried it; ``None`` reads it (one roster listing)
            for an adapter with rosters.
        source: Where the object was read (``poll``, a feed's name).
    """
    if found is None or found.cancelled:
        return [Change(adapter.name, session.id, ChangeKind.DELETED, source=source)]
    changes: list[Change] = []
    moved = (found.start, found.end) != (session.slot.start, session.slot.end)
    if moved:
        changes.append(Change(adapter.name, session.id, ChangeKind.MOVED, slot=_slot_of(found, session), source=source))
    owned, now_owned = ref.extra.get("owned"), found.ref.extra.get("owned")
    if found.title != session.title or (not moved and owned is not None and now_owned not in (None, owned)):
        changes.append(Change(adapter.name, session.id, ChangeKind.EDITED, title=found.title, source=source))
    meeting = session.meeting
    if (
        meeting is not None
        and meeting.provider != adapter.name
        and adapter.supports(Capability.PUBLISHES_MEETING_LINK)
        and found.join_url is not None
        and found.join_url != meeting.join_url
    ):
        changes.append(Change(adapter.name, session.id, ChangeKind.RELINKED, source=source))
    if found.capacity is not None and session.capacity is not None and found.capacity != session.capacity:
        changes.append(Change(adapter.name, session.id, ChangeKind.RESIZED, source=source))
    if adapter.supports(Capability.ROSTER):
        members = list(roster) if roster is not None else list(adapter.list_roster(ref))
        held = {member.email for member in members if (member.status or "").lower() not in LEFT_STATUSES}
        for enrollment in scheduler.ledger.list_enrollments(session.id, EnrollmentStatus.CONFIRMED):
            pushed = adapter.name in enrollment.pushed_to and adapter.name not in enrollment.uncertain_at
            if pushed and enrollment.person.email not in held:
                changes.append(
                    Change(adapter.name, session.id, ChangeKind.LEARNER_LEFT, email=enrollment.person.email,
                           source=source)
                )
    return changes


def _read(adapter: Adapter, ref: ProviderRef) -> ProviderSession | None:
    try:
        return adapter.get_session(ref)
    except NotFound:
        return None


def apply_changes(
    scheduler: Scheduler, changes: Sequence[Change], policy: ChangePolicy | None = None
) -> list[AppliedChange]:
    """Decide each change under ``policy`` and carry the decision out through the scheduler.

    A change that no longer holds (the ledger moved on since it was found) is still logged, and the scheduler
    call is idempotent. A scheduler call that fails is logged as the outcome; the others go on.
    """
    chosen = policy or ChangePolicy()
    applied: list[AppliedChange] = []
    conflicted = _conflicting_moves(changes)
    for change in changes:
        decision = chosen.decide(change.kind)
        if change.session_id in conflicted and change.kind is ChangeKind.MOVED:
            decision = Decision.REASSERT
        try:
            outcome = _carry_out(scheduler, change, decision, conflicted=change.session_id in conflicted)
        except ConnectorError as exc:
            outcome = f"failed: {exc.message}"
        scheduler.ledger.append_audit(
            AuditEntry(
                session_id=change.session_id,
                provider=change.provider,
                action=f"change.{change.kind.value}",
                detail={
                    "decision": decision.value,
                    "source": change.source,
                    "outcome": outcome,
                    "email": change.email,
                    "slot_start": change.slot.start.isoformat() if change.slot else None,
                },
            )
        )
        applied.append(AppliedChange(change, decision, outcome))
    return applied


def _conflicting_moves(changes: Sequence[Change]) -> set[str]:
    """Sessions two providers moved to different slots: the ledger breaks the tie."""
    slots: dict[str, set[TimeSlot]] = {}
    for change in changes:
        if change.kind is ChangeKind.MOVED and change.slot is not None:
            slots.setdefault(change.session_id, set()).add(change.slot)
    return {sid for sid, seen in slots.items() if len(seen) > 1}


def _carry_out(scheduler: Scheduler, change: Change, decision: Decision, *, conflicted: bool) -> str:
    sid = change.session_id
    session = scheduler.ledger.get_session(sid)
    if session is None or session.status is not SessionStatus.SCHEDULED:
        return "session no longer live: nothing to do"
    if decision is Decision.FLAG:
        return "flagged for a person"
    if decision is Decision.REASSERT:
        rewrite = {change.provider} if change.kind in _REWRITTEN else set()
        scheduler.sync(sid, rewrite=rewrite)
        return "providers disagreed: ledger kept and reasserted" if conflicted else "ledger reasserted"
    match change.kind:
        case ChangeKind.MOVED:
            assert change.slot is not None  # a move always carries its slot
            scheduler.reschedule(sid, change.slot)
            return f"rescheduled everywhere to {change.slot.start.isoformat()}"
        case ChangeKind.EDITED:
            return _retitle(scheduler, session, change)
        case ChangeKind.DELETED:
            scheduler.cancel(sid)
            return "cancelled everywhere"
        case ChangeKind.LEARNER_LEFT:
            assert change.email is not None  # a learner change always names her
            enrollment = scheduler.ledger.get_enrollment(sid, change.email)
            if enrollment is None or enrollment.status is EnrollmentStatus.CANCELLED:
                return "already unenrolled"
            scheduler.unenrol(sid, change.email)
            return "unenrolled (the waitlist moves up)"
    return "nothing to do"  # pragma: no cover - the policy refuses to accept a link or capacity change


_REWRITTEN = frozenset({ChangeKind.EDITED, ChangeKind.RELINKED, ChangeKind.RESIZED})
"""Changes that leave the slot as it is: reasserting them writes the object again."""


def _retitle(scheduler: Scheduler, session: Session, change: Change) -> str:
    """Take the provider's title into the ledger and write it to every other provider."""
    if not change.title or change.title == session.title:
        scheduler.sync(session.id, rewrite={change.provider})  # only the text or place changed: nothing to take
        return "only the description or place changed: ledger reasserted"
    try:  # the provider's title may not fit the ledger's rules (too long): then nothing is taken
        retitled = Session.model_validate({**session.model_dump(), "title": change.title})
    except PydanticValidationError as exc:
        raise ValidationError(f"the title {change.provider} shows cannot be taken: {exc.errors()[0]['msg']}") from exc
    with scheduler.ledger.session_lock(session.id):
        scheduler.ledger.save_session(retitled)
        # The provider that was edited is written too: its text and place are the ledger's again, and the ledger's
        # ref learns the fingerprint of what it now shows.
        scheduler.sync(session.id, rewrite={a.name for a in scheduler.targets_for(session)})
    return f"retitled everywhere to {change.title!r}"


@dataclass
class ReplayGuard:
    """Refuses a push delivered twice: each signature is accepted once while its timestamp is acceptable.

    Args:
        window: How long a delivery's signature is remembered (at least the receiver's timestamp tolerance, so
            a replay inside the tolerance is still caught).
        clock: Current time in seconds (injected by tests).
    """

    window: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, float] = field(default_factory=dict)

    def first_time(self, signature: str) -> bool:
        """Whether ``signature`` is new (and remember it); ``False`` for a replay."""
        now = self.clock()
        self._seen = {sig: at for sig, at in self._seen.items() if now - at <= self.window}
        if signature in self._seen:
            return False
        self._seen[signature] = now
        return True
