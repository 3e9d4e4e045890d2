"""Orchestrate one training session across several providers, with the ledger as the source of truth.

The scheduler fans a session out in a fixed order (rooms and meetings first, then calendars, then LMSs) so
that a meeting link made by a meeting provider reaches every later target. One scheduler serves sessions of
every modality: each session goes only to the adapters whose part it needs (:meth:`Scheduler.targets_for`):
a meeting provider for a virtual or hybrid session, a room provider when a room is asked for, calendars and
LMSs always, narrowed further by :attr:`Session.targets <lms_connectors.models.Session.targets>`.
Each provider-side create carries an idempotency key minted once in the ledger, so a retried call never
duplicates. When a later step fails the
earlier ones are undone (compensation) and the ledger and audit log say what happened.

Capacity is an SDK-side rule: learners beyond the capacity are waitlisted in order of arrival and promoted
automatically when a seat frees. Rosters are *reconciled*: the ledger says who is confirmed, each
enrolment records which providers hold it (``pushed_to``), and every roster change pushes the difference. A
push that fails leaves the ledger right and is retried by the next change or by :meth:`Scheduler.sync`, so an
enrolment is never lost.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Concatenate, ParamSpec, TypeVar

from lms_connectors.adapter import Adapter, AdapterKind, Capability, CreateTrace, RoomResponse
from lms_connectors.conflicts import ConflictChecker, books_room
from lms_connectors.errors import (
    ConfigurationError,
    ConnectorError,
    DoubleBooked,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    SchedulingFailed,
    ValidationError,
)
from lms_connectors.models import (
    Enrollment,
    EnrollmentStatus,
    Meeting,
    Person,
    ProviderRef,
    Room,
    RosterMember,
    Session,
    SessionStatus,
    TimeSlot,
    utc_now,
)
from lms_connectors.outcomes import maybe_committed
from lms_connectors.store.base import AuditEntry, KeyRecord, KeyState, LedgerStore

__all__ = ["ProgressEvent", "Scheduler", "SessionCancelled", "SyncSummary"]

logger = logging.getLogger("lms_connectors.scheduler")


class SessionCancelled(InvalidRequest):
    """The session is cancelled: it takes no more enrolments and cannot be rescheduled."""


@dataclass(frozen=True)
class ProgressEvent:
    """One step of the scheduler's work, for progress displays and logs."""

    action: str
    session_id: str
    provider: str | None
    outcome: str
    detail: str = ""


ProgressCallback = Callable[[ProgressEvent], None]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_Target = TypeVar("_Target", str, Session)


def _one_at_a_time(
    method: Callable[Concatenate[Scheduler, _Target, _P], _R],
) -> Callable[Concatenate[Scheduler, _Target, _P], _R]:
    """Run the method holding its session's ledger lock, so that workers sharing a ledger take turns on it.

    Two workers scheduling the same session, or pushing the same roster, would otherwise both send the create
    or the enrolment (see :meth:`LedgerStore.session_lock`).
    """

    @functools.wraps(method)
    def holding(self: Scheduler, target: _Target, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        session_id = target.id if isinstance(target, Session) else target
        with self.ledger.session_lock(session_id):
            return method(self, target, *args, **kwargs)

    return holding


@dataclass(frozen=True)
class SyncSummary:
    """What :meth:`Scheduler.sync_all` did.

    Attributes:
        synced: Sessions that now match the ledger everywhere.
        failed: Sessions whose sync raised, with the error (their ledger state says what is left to do).
    """

    synced: tuple[str, ...]
    failed: dict[str, ConnectorError]


@dataclass(frozen=True)
class _KeyReservation:
    """A create's key as marked sent in the ledger, with what the create needs to know.

    ``fresh`` says whether the adapter may skip its look-up; ``seated`` are the learners the create carries,
    marked uncertain at the adapter in the same transaction as the key.
    """

    record: KeyRecord
    fresh: bool
    sent_before: bool
    seated: tuple[Enrollment, ...] = ()


@dataclass(frozen=True)
class _RosterWrite:
    """What one provider's roster needs: learners to remove, then learners to add (emails, in roster order)."""

    adapter: Adapter
    ref: ProviderRef
    remove: tuple[str, ...]
    add: tuple[str, ...]


@dataclass
class _RosterPlan:
    """Roster writes decided, and marked uncertain at their providers, in the ledger transaction that read them.

    ``rows`` holds every row the plan touches as the ledger now holds it; the pushes that follow the commit
    keep it current, so the rows need not be read again (the session is held, so no one else writes them).
    """

    rows: dict[str, Enrollment]
    writes: list[_RosterWrite]


@dataclass(frozen=True)
class _CreateAnswer:
    """What a create answered, kept until the next commit records it."""

    adapter: str
    ref: ProviderRef
    record: KeyRecord
    trace: CreateTrace
    seated: tuple[Enrollment, ...] = ()


@contextlib.contextmanager
def _provider_step(adapter: Adapter) -> Iterator[None]:
    """Turn anything but a :class:`ConnectorError` an adapter lets out into a :class:`MalformedResponse`.

    An adapter bug or a provider answer it did not foresee (a ``KeyError`` in a mapping) must not skip the
    compensation and leave a half-made session behind: the scheduler handles it as the step's failure, and as
    an answer it could not understand, so the step may have been carried out (its outcome is uncertain).
    """
    try:
        yield
    except ConnectorError:
        raise
    except Exception as exc:
        raise MalformedResponse(
            f"{adapter.name} failed unexpectedly: {type(exc).__name__}: {exc}", provider=adapter.name
        ) from exc


def _needed(session: Session, adapter: Adapter) -> str | None:
    """Why ``session`` does not need ``adapter``, or ``None`` when it does."""
    kind = adapter.kind
    if kind is AdapterKind.MEETING and not session.is_virtual:
        return f"an {session.modality.value} session gets no online meeting (make it hybrid to have one)"
    if kind is AdapterKind.ROOM and session.room is None:
        return "the session asks for no room"
    if kind is AdapterKind.ROOM and session.room is not None and not books_room(adapter, session.room):
        return f"its room {session.room.name!r} is held by {session.room.provider or 'no room-booking system'}"
    return None


class Scheduler:
    """Schedule sessions of every modality across adapters and keep their rosters.

    Args:
        adapters: Every adapter a session may go to. Their order is fixed by :attr:`Adapter.kind` (room,
            meeting, calendar, LMS), stable within a kind; each session goes to those it needs
            (:meth:`targets_for`).
        ledger: Where refs, keys, enrolments and the audit log live.
        on_progress: Called after every step.
        notify: Ask providers to notify attendees on reschedule and cancel.
        sole_writer: This ledger is the only one that ever sent these sessions' keys (skips look-ups by key).
        check_free_busy: Before a create or a reschedule, also ask the providers' free/busy whether the
            session's instructors and room are busy (one call per provider that reads it); the ledger's own
            sessions are always checked, at no provider call.
    """

    def __init__(
        self,
        adapters: Sequence[Adapter],
        ledger: LedgerStore,
        *,
        on_progress: ProgressCallback | None = None,
        notify: bool = True,
        sole_writer: bool = False,
        check_free_busy: bool = False,
    ) -> None:
        names = [a.name for a in adapters]
        if not names:
            raise ConfigurationError("a scheduler needs at least one adapter (see lms_connectors.registry)")
        if len(set(names)) != len(names):
            raise InvalidRequest(f"each adapter may appear once, got {names}")
        self.adapters: list[Adapter] = sorted(adapters, key=lambda a: a.kind.order)
        self.ledger = ledger
        self._on_progress = on_progress
        self._notify = notify
        self._sole_writer = sole_writer
        self._check_free_busy = check_free_busy
        self.conflicts = ConflictChecker(ledger)
        """The double-booking check (:mod:`lms_connectors.conflicts`); ``conflicts.refresh()`` re-reads the ledger."""
        # (session id, adapter) pairs a preflight listing proved absent: their first create needs no look-up.
        self._absent: set[tuple[str, str]] = set()

    # -- sessions ---------------------------------------------------------------------------------------

    def targets_for(self, session: Session) -> list[Adapter]:
        """The adapters ``session`` goes to, in fan-out order.

        A meeting provider only for a virtual or hybrid session, a room provider only when the session asks
        for a room, every calendar and LMS; then only those named in ``session.targets`` when it names any.

        Raises:
            ValidationError: ``session.targets`` names an adapter this scheduler lacks or the session does not
                need, or no adapter is left.
        """
        if session.targets is not None:
            by_name = {a.name: a for a in self.adapters}
            unknown = sorted(set(session.targets) - by_name.keys())
            if unknown:
                raise ValidationError(
                    f"session {session.id!r} targets {', '.join(unknown)}, which this scheduler does not have "
                    f"(it has {', '.join(sorted(by_name))})"
                )
            for name in session.targets:
                reason = _needed(session, by_name[name])
                if reason is not None:
                    raise ValidationError(
                        f"session {session.id!r} targets {name}, a {by_name[name].kind.value} provider, but {reason}"
                    )
        chosen = [
            a
            for a in self.adapters
            if _needed(session, a) is None and (session.targets is None or a.name in session.targets)
        ]
        if not chosen:
            raise ValidationError(
                f"no adapter serves session {session.id!r} ({session.modality.value}): this scheduler has only "
                + ", ".join(f"{a.name} ({a.kind.value})" for a in self.adapters)
            )
        return chosen

    @_one_at_a_time
    def schedule(self, session: Session, *, allow_conflicts: bool = False) -> Session:
        """Create ``session`` in every target; idempotent for ``session.id``.

        Targets that already hold the session (per the ledger) are left alone, so calling this again after a
        crash or with the same plan resumes instead of duplicating. Objects whose last write had an uncertain
        outcome are read back first (see :meth:`sync`). Before the first create, the session's instructors and
        room are checked for double bookings (:mod:`lms_connectors.conflicts`).

        Args:
            session: What to schedule.
            allow_conflicts: Book even when an instructor or the room is busy then.

        Returns:
            The session as stored, with its meeting link when a target made one.

        Raises:
            DoubleBooked: An instructor or the room is busy at that time; nothing was stored or created.
            SessionCancelled: A cancel of this session is in progress (``cancel()`` or ``sync()`` finishes it).
            SchedulingFailed: A target refused; every object made for this session was undone.
        """
        targets = self.targets_for(session)  # refused before anything is stored or sent
        stored = self.ledger.get_session(session.id)
        if stored is not None and stored.status is SessionStatus.CANCELLING:
            raise SessionCancelled(f"session {session.id!r} is being cancelled; cancel() or sync() finishes it")
        if stored is not None and stored.status is SessionStatus.SCHEDULED and self._complete(stored):
            if any(ref.uncertain for ref in self.ledger.list_refs(stored.id)):
                self.sync(stored.id)
                return self.ledger.get_session(stored.id) or stored
            self._progress("schedule", session.id, None, "unchanged", "already scheduled everywhere")
            return stored
        current = session.model_copy(update={"status": SessionStatus.SCHEDULED})
        if not allow_conflicts:
            self._refuse_clashes(current, current.slot, "schedule")
        # Reuse the stored meeting only while it still exists: one undone by a compensation or a cancel is dead.
        if (
            stored is not None
            and stored.meeting is not None
            and current.meeting is None
            and self.ledger.get_ref(stored.id, stored.meeting.provider) is not None
        ):
            current = current.model_copy(update={"meeting": stored.meeting})
        # Ledger commits: one before each create (the write-ahead mark that its key is sent, together with the
        # previous create's answer) and one at the end, so n creates cost n + 1 commits. Fewer would either
        # send a key the ledger does not yet know is sent (a crash then duplicates the object) or hold an
        # answer back past the next send (a crash then leaves an object that only a look-up can find).
        introduced = False  # the session row and its audit entry ride on the first commit
        answer: _CreateAnswer | None = None  # the last create's answer, not yet recorded
        for adapter in targets:
            ref = self.ledger.get_ref(current.id, adapter.name)
            if ref is None:
                with self.ledger.transaction():
                    if not introduced:
                        self._introduce(current)
                        introduced = True
                    if answer is not None:
                        self._record_created(current.id, answer)
                    reservation = self._reserve_key(adapter, current)
                answer = self._send_create(adapter, current, reservation)
                ref = answer.ref
            current = self._adopt_meeting(current, adapter, ref)
        with self.ledger.transaction():
            if not introduced:
                self._introduce(current)
            if answer is not None:
                self._record_created(current.id, answer)
            self._save(current)
            plan = self._plan_roster(current)  # roster pushes are marked in the same commit
        self._push_roster(current, plan)
        return current

    def _introduce(self, session: Session) -> None:
        self._save(session)
        self._audit(session.id, None, "schedule", title=session.title, start=session.slot.start.isoformat())

    def schedule_many(self, sessions: Sequence[Session]) -> list[Session]:
        """Schedule a cohort, with one preflight listing per provider instead of a look-up per session.

        Before anything is created, each target that can list its sessions (:attr:`Capability.LIST_SESSIONS`)
        is listed once over the cohort's time window; a session not found there is created without a look-up by
        marker, and one found (made under its key by an earlier run) is looked up and reused, not duplicated.
        Targets that cannot list are looked up per session as :meth:`schedule` does. This keeps a cohort
        scheduled from a new ledger (restored from a backup, a second deployment) free of duplicates at the cost
        of one listing per provider.

        Returns:
            The sessions as stored, in the given order.

        Raises:
            SchedulingFailed: As :meth:`schedule`, for the first session that fails (the earlier ones stay).
        """
        if not sessions:
            return []
        self._preflight(sessions)
        return [self.schedule(session) for session in sessions]

    @_one_at_a_time
    def reschedule(self, session_id: str, slot: TimeSlot, *, allow_conflicts: bool = False) -> Session:
        """Move a session to ``slot`` in every target (in place where the provider allows).

        If a target refuses, the targets already moved (and the failing one, when its answer left it uncertain
        whether it moved) are moved back and the ledger keeps the old slot. Rescheduling to the ledger's own slot
        re-drives the objects whose last move has an uncertain outcome.

        Args:
            session_id: The session to move.
            slot: Where to.
            allow_conflicts: Move even when an instructor or the room is busy at ``slot``.

        Raises:
            DoubleBooked: An instructor or the room is busy at ``slot``; nothing was moved.
            SchedulingFailed: A target refused; the targets already moved were moved back.
        """
        old = self._require_active(session_id)
        if old.slot == slot:
            if any(ref.uncertain for ref in self.ledger.list_refs(session_id)):
                self.sync(session_id)
                return self.ledger.get_session(session_id) or old
            self._progress("reschedule", session_id, None, "unchanged", "already at that slot")
            return old
        new = old.rescheduled(slot)
        if not allow_conflicts:
            self._refuse_clashes(old, slot, "reschedule")
        touched: list[tuple[Adapter, ProviderRef]] = []
        for adapter in self.targets_for(old):
            ref = self._require_ref(session_id, adapter)
            self._mark_uncertain(session_id, ref, "reschedule")
            try:
                with _provider_step(adapter):
                    new_ref = adapter.reschedule_session(ref, new)
            except ConnectorError as exc:
                self._progress("reschedule", session_id, adapter.name, "failed", str(exc))
                if maybe_committed(exc):
                    touched.append((adapter, ref))  # it may have moved: move it back with the others
                else:
                    self._settle(session_id, ref)
                undone, leftovers = self._undo_reschedules(old, touched)
                self._audit(session_id, adapter.name, "reschedule_failed", error=exc.evidence(), undone=undone)
                raise SchedulingFailed(
                    f"reschedule of {session_id!r} failed at {adapter.name}: {exc.message}",
                    step=adapter.name,
                    cause=exc,
                    compensated=undone,
                    leftovers=leftovers,
                ) from exc
            self._settle(session_id, new_ref)
            touched.append((adapter, new_ref))
            self._audit(session_id, adapter.name, "rescheduled", external_id=new_ref.external_id)
            self._progress("reschedule", session_id, adapter.name, "done", new_ref.external_id)
        self._save(new)
        return new

    @_one_at_a_time
    def cancel(self, session_id: str) -> Session:
        """Cancel a session everywhere (targets in reverse order); idempotent.

        The ledger marks the session ``CANCELLING`` before the first call, so a cancel cut short (a failed
        target, a lost answer, a crash) is never taken for a live session: :meth:`schedule` refuses it, and
        calling ``cancel`` again or :meth:`sync` finishes the job. Objects a failed create may have left
        without a ref (their key was sent) are looked up by key and removed too.
        """
        session = self.ledger.get_session(session_id)
        if session is None:
            raise NotFound(f"unknown session {session_id!r}")
        if session.status is SessionStatus.SCHEDULED:
            session = session.model_copy(update={"status": SessionStatus.CANCELLING})
            self._save(session)
            self._audit(session_id, None, "cancel_started")
        failure = self._remove_everything(session, notify=self._notify, action="cancel")
        if failure is not None:
            raise failure
        cancelled = session.model_copy(update={"status": SessionStatus.CANCELLED})
        self._save(cancelled)
        self._audit(session_id, None, "session_cancelled")
        return cancelled

    # -- roster -----------------------------------------------------------------------------------------

    def enrol(self, session_id: str, person: Person) -> Enrollment:
        """Enrol one learner: confirmed while seats remain, waitlisted after."""
        return self.enrol_many(session_id, [person])[0]

    @_one_at_a_time
    def enrol_many(self, session_id: str, people: Iterable[Person]) -> list[Enrollment]:
        """Enrol several learners in arrival order; providers receive the confirmed ones in one push each.

        Enrolling someone already confirmed or waitlisted returns their current enrolment unchanged.
        """
        results: list[str] = []
        # One transaction reads the session, its refs and the roster rows, writes the new rows and marks the
        # pushes they need uncertain at their providers: one commit before the first provider call.
        with self.ledger.transaction():
            session = self._require_active(session_id)
            confirmed, position = self.ledger.seats_and_next_position(session_id)
            written: dict[str, Enrollment] = {}
            for person in people:
                email = person.email
                existing = written.get(email) or self.ledger.get_enrollment(session_id, email)
                results.append(email)
                if existing is not None and existing.status is not EnrollmentStatus.CANCELLED:
                    written[email] = existing
                    continue
                seat_free = session.capacity is None or confirmed < session.capacity
                status = EnrollmentStatus.CONFIRMED if seat_free else EnrollmentStatus.WAITLISTED
                confirmed += seat_free
                enrollment = Enrollment(
                    session_id=session_id,
                    person=person,
                    status=status,
                    position=position,
                    pushed_to=existing.pushed_to if existing else (),
                    registrations=existing.registrations if existing else {},
                )
                position += 1
                self.ledger.upsert_enrollment(enrollment)
                self._audit(session_id, None, "enrolled", email=email, status=status.value)
                written[email] = enrollment
            plan = self._plan_roster(session, written)
        self._push_roster(session, plan)
        return [plan.rows[email] for email in results]

    @_one_at_a_time
    def unenrol(self, session_id: str, email: str) -> Enrollment:
        """Cancel a learner's place; the first waitlisted learners are promoted into freed seats."""
        with self.ledger.transaction():  # read, write and mark in one commit, as in enrol_many
            session = self._require_active(session_id)
            existing = self.ledger.get_enrollment(session_id, email.lower())
            if existing is None:
                raise NotFound(f"{email} is not enrolled in {session_id!r}")
            if existing.status is EnrollmentStatus.CANCELLED:
                return existing
            cancelled = existing.model_copy(update={"status": EnrollmentStatus.CANCELLED, "updated_at": utc_now()})
            self.ledger.upsert_enrollment(cancelled)
            self._audit(session_id, None, "unenrolled", email=cancelled.person.email)
            written = {cancelled.person.email: cancelled}
            written.update((row.person.email, row) for row in self._promote(session))
            plan = self._plan_roster(session, written)
        self._push_roster(session, plan)
        return plan.rows[cancelled.person.email]

    def roster(self, session_id: str) -> list[Enrollment]:
        """Every enrolment of the session, in arrival order."""
        return self.ledger.list_enrollments(session_id)

    @_one_at_a_time
    def sync(self, session_id: str, *, rewrite: Collection[str] = ()) -> None:
        """Make every provider equal the ledger for this session, whatever failed before.

        ``rewrite`` names adapters whose object is written again from the ledger even where its slot is right
        (its title, text, place and link are put back after a person edited them there).

        For a scheduled session, each provider object is read back: one that is gone (or cancelled) is dropped
        and made again under a new key generation, one whose times differ from the ledger's slot (or whose last
        move had an uncertain outcome) is moved to it; a target without an object gets one (looked up by key
        first when a create was sent before); a re-made meeting's link is carried to the later targets; then
        rosters are reconciled, learners whose push or removal was uncertain included. For a session being
        cancelled, cancelled or failed, every object still recorded, and every object a create may have left
        under a key that was sent, is removed; a cancel in progress is then finished.

        Raises:
            NotFound: The ledger has no such session.
            ConnectorError: A provider failed; the ledger says what is left, and the next ``sync`` resumes.
        """
        session = self.ledger.get_session(session_id)
        if session is None:
            raise NotFound(f"unknown session {session_id!r}")
        if session.status is SessionStatus.SCHEDULED:
            self._converge_live(session, rewrite=frozenset(rewrite))
            return
        notify = self._notify and session.status is SessionStatus.CANCELLING
        failure = self._remove_everything(session, notify=notify, action="sync")
        if failure is not None:
            raise failure
        if session.status is SessionStatus.CANCELLING:
            self._save(session.model_copy(update={"status": SessionStatus.CANCELLED}))
            self._audit(session_id, None, "session_cancelled")

    def sync_all(self) -> SyncSummary:
        """:meth:`sync` every session of the ledger, reporting each through ``on_progress``.

        A session whose sync fails does not stop the others.

        Returns:
            Which sessions converged and which failed (with their errors).
        """
        synced: list[str] = []
        failed: dict[str, ConnectorError] = {}
        total = self.ledger.count_sessions()
        # Streamed: a ledger of 100,000 sessions is walked page by page, never held in memory at once.
        for index, session in enumerate(self.ledger.iter_sessions(), start=1):
            try:
                self.sync(session.id)
            except ConnectorError as exc:
                failed[session.id] = exc
                self._progress("sync", session.id, None, "failed", f"{index}/{total}: {exc}")
                continue
            synced.append(session.id)
            self._progress("sync", session.id, None, "done", f"{index}/{total} {session.status.value}")
        return SyncSummary(synced=tuple(synced), failed=failed)

    # -- rooms and availability ------------------------------------------------------------------------

    def available_rooms(
        self, slot: TimeSlot, *, capacity: int | None = None, features: Sequence[str] = ()
    ) -> list[Room]:
        """Rooms of every adapter that holds rooms, seating ``capacity`` with ``features``, free during ``slot``.

        Free means: no session of this ledger holds it then, and its holder's availability (free/busy of its
        resource calendar, or a booking system's own) shows nothing then.

        :calls: each room-holding adapter's :meth:`~lms_connectors.adapter.Adapter.list_rooms` and
        :meth:`~lms_connectors.adapter.Adapter.room_busy`.
        """
        found: list[Room] = []
        for adapter in self.adapters:
            if not adapter.supports(Capability.ROOMS):
                continue
            with _provider_step(adapter):
                wanted = tuple(features)
                # A room listed without a holder is held by the adapter that listed it.
                listed = [room if room.provider else room.model_copy(update={"provider": adapter.name})
                          for room in adapter.list_rooms()]
                fitting = [room for room in listed if room.offers(capacity=capacity, features=wanted)]
                found.extend(self.conflicts.free_rooms(fitting, slot, [adapter]))
        return found

    def available_instructors(self, slot: TimeSlot, candidates: Iterable[Person]) -> list[Person]:
        """The ones of ``candidates`` that teach no session of this ledger during ``slot`` and no provider shows busy.

        :calls: :meth:`~lms_connectors.adapter.Adapter.free_busy` of every adapter that reads it.
        """
        readers = [adapter for adapter in self.adapters if adapter.supports(Capability.FREE_BUSY)]
        return self.conflicts.free_people(candidates, slot, readers)

    def room_holder(self, session: Session) -> Adapter:
        """The adapter that books ``session``'s room.

        The one :attr:`Room.provider` names, else the first target that books rooms (a room-booking system first,
        then a calendar carrying the room as a resource attendee).

        Raises:
            ValidationError: The session asks for no room, or no adapter of this scheduler books it.
        """
        room = session.room
        if room is None:
            raise ValidationError(f"session {session.id!r} asks for no room", field="room")
        for adapter in self.targets_for(session):
            if (adapter.kind is AdapterKind.ROOM or adapter.supports(Capability.ROOMS)) and books_room(adapter, room):
                return adapter
        raise ValidationError(
            f"no adapter of this scheduler books room {room.name!r}"
            + (f" (held by {room.provider})" if room.provider else " (it has no resource email)"),
            field="room",
        )

    def room_status(self, session_id: str) -> RoomResponse:
        """The room's current answer to the session's booking, whatever system holds the room.

        :calls: the holder's :meth:`~lms_connectors.adapter.Adapter.room_response`.
        """
        session = self._require_active(session_id)
        holder = self.room_holder(session)
        assert session.room is not None  # room_holder refused a session without one
        ref = self._require_ref(session_id, holder)
        with _provider_step(holder):
            return holder.room_response(ref, session.room)

    @_one_at_a_time
    def book_room(self, session_id: str, room: Room, *, allow_conflicts: bool = False) -> Session:
        """Book ``room`` for a scheduled session that has none, the same way whatever system holds it.

        A room-booking system (:attr:`AdapterKind.ROOM`) gets its reservation created under a key, like any
        create; a calendar adds the room's resource calendar to the session's event
        (:meth:`~lms_connectors.adapter.Adapter.book_room`). Calendars that do not hold the room show it as the
        location on the next reschedule or sync.

        Raises:
            DoubleBooked: The room is busy then (this ledger or its holder's availability); nothing was sent.
            Conflict: The room declined; the session stays without a room.
            ValidationError: The session has a room already (release it first) or no adapter books this one.
        """
        session = self._require_active(session_id)
        if session.room is not None:
            raise ValidationError(f"session {session_id!r} has room {session.room.name!r}: release it first",
                                  field="room")
        booked = session.model_copy(update={"room": room})
        holder = self.room_holder(booked)
        if not allow_conflicts:
            self._refuse_clashes(booked.model_copy(update={"instructors": ()}), booked.slot, "book_room")
        if holder.kind is AdapterKind.ROOM:
            self._save(booked)
            try:
                self._create_on(holder, booked, compensate=False)
            except ConnectorError:
                if self.ledger.get_ref(session_id, holder.name) is None:
                    self._save(session)  # nothing was reserved: the session keeps no room
                raise
        else:
            ref = self._require_ref(session_id, holder)
            self._mark_uncertain(session_id, ref, "book_room")
            try:
                with _provider_step(holder):
                    new_ref, answer = holder.book_room(ref, booked)
            except ConnectorError as exc:
                self._audit(session_id, holder.name, "room_refused", room=room.id, error=exc.evidence())
                raise
            self._settle(session_id, new_ref)
            self._save(booked)
            self._audit(session_id, holder.name, "room_booked", room=room.id, response=answer.value)
        self._progress("book_room", session_id, holder.name, "done", room.name)
        return booked

    @_one_at_a_time
    def release_room(self, session_id: str) -> Session:
        """Give up the session's room in the system that holds it; the session stays scheduled.

        Raises:
            ValidationError: The session has no room.
        """
        session = self._require_active(session_id)
        room = session.room
        holder = self.room_holder(session)
        assert room is not None
        without = session.model_copy(update={"room": None})
        ref = self.ledger.get_ref(session_id, holder.name)
        if holder.kind is AdapterKind.ROOM:
            if ref is not None:
                with _provider_step(holder):
                    holder.cancel_session(ref, notify=self._notify)
                self._forget(session_id, holder, "room_released")
        elif ref is not None:
            self._mark_uncertain(session_id, ref, "release_room")
            with _provider_step(holder):
                ref = holder.release_room(ref, without, room)
            self._settle(session_id, ref)
            self._audit(session_id, holder.name, "room_released", room=room.id)
        self._save(without)
        self._progress("release_room", session_id, holder.name, "done", room.name)
        return without

    # -- internals --------------------------------------------------------------------------------------

    def _save(self, session: Session) -> None:
        """Store ``session`` and keep the conflict index equal to the ledger."""
        self.ledger.save_session(session)
        self.conflicts.note(session)

    def _refuse_clashes(self, session: Session, slot: TimeSlot, action: str) -> None:
        """Raise :class:`DoubleBooked` when ``session`` at ``slot`` clashes; before any provider write.

        Free/busy (when asked for) comes from every adapter of the scheduler, not only the session's targets: an
        instructor's calendar may be one the session does not go to; the room is asked of its holder only.
        """
        clashes = self.conflicts.clashes(session, self.adapters, slot=slot, free_busy=self._check_free_busy)
        if clashes:
            refused = DoubleBooked(session.id, clashes)
            self._progress(action, session.id, None, "refused", refused.message)
            raise refused

    def _complete(self, session: Session) -> bool:
        return all(self.ledger.get_ref(session.id, a.name) is not None for a in self.targets_for(session))

    def _mark_uncertain(self, session_id: str, ref: ProviderRef, write: str) -> None:
        """Write ahead: the ledger says a ``write`` to this object is in flight before it is sent."""
        self.ledger.put_ref(session_id, ref.model_copy(update={"uncertain": write}))

    def _settle(self, session_id: str, ref: ProviderRef) -> None:
        """Record ``ref`` as the provider's understood answer: its last write's outcome is known."""
        self.ledger.put_ref(session_id, ref.model_copy(update={"uncertain": None}))

    # -- convergence ------------------------------------------------------------------------------------

    def _converge_live(self, session: Session, *, rewrite: frozenset[str] = frozenset()) -> None:
        """Bring every provider of a scheduled session to the ledger: objects, slots, meeting link, rosters."""
        current = session
        relink = False  # the meeting was made again: later targets must carry its new link
        for adapter in self.targets_for(session):
            ref = self.ledger.get_ref(session.id, adapter.name)
            if ref is not None:
                ref = self._check_leg(adapter, current, ref, redrive=relink or adapter.name in rewrite)
            if ref is None:
                if current.meeting is not None and current.meeting.provider == adapter.name:
                    current = current.model_copy(update={"meeting": None})
                    relink = True
                ref = self._create_on(adapter, current, compensate=False)
                self._progress("sync", session.id, adapter.name, "done", f"made again: {ref.external_id}")
            current = self._adopt_meeting(current, adapter, ref)
        with self.ledger.transaction():
            if current != session:
                self._save(current)
            plan = self._plan_roster(current)
        self._push_roster(current, plan)

    def _check_leg(self, adapter: Adapter, session: Session, ref: ProviderRef, *, redrive: bool) -> ProviderRef | None:
        """Read one object back: ``None`` when it is gone (its ref dropped), else its ref once at the ledger's slot."""
        try:
            with _provider_step(adapter):
                found = adapter.get_session(ref)
        except NotFound:
            found = None
        if found is None or found.cancelled:
            self._forget(session.id, adapter, "dead_ref_dropped")
            return None
        at_slot = found.start.astimezone(UTC) == session.slot.start_utc() and (
            found.end.astimezone(UTC) == session.slot.end_utc()
        )
        if at_slot and not redrive and ref.uncertain is None:
            return ref
        if not at_slot or redrive:
            # Moved on what was just read: its version and fingerprints are the provider's now. A move of ours
            # that landed unseen (its answer lost, the process killed) is then not taken for someone else's edit.
            read = found.ref
            if read.external_id == ref.external_id:
                fresh = {"version": read.version or ref.version, "extra": {**ref.extra, **read.extra}}
                ref = ref.model_copy(update=fresh)
            self._mark_uncertain(session.id, ref, "reschedule")
            with _provider_step(adapter):
                ref = adapter.reschedule_session(ref, session)
            repaired = "rewritten" if at_slot else "slot_repaired"
            self._audit(session.id, adapter.name, repaired, start=session.slot.start.isoformat())
            self._progress("sync", session.id, adapter.name, "done",
                           "written again from the ledger" if at_slot else "moved to the ledger's slot")
        self._settle(session.id, ref)
        return ref

    def _remove_everything(self, session: Session, *, notify: bool, action: str) -> ConnectorError | None:
        """Remove every object of ``session`` (reverse order): recorded refs, and what sent keys may have made.

        Returns:
            The first failure (the others are still tried), or ``None`` when nothing is left.
        """
        failure: ConnectorError | None = None
        for adapter in reversed(self.adapters):
            ref = self.ledger.get_ref(session.id, adapter.name)
            try:
                if ref is not None:
                    with _provider_step(adapter):
                        adapter.cancel_session(ref, notify=notify)
                    self._forget(session.id, adapter, "cancelled")
                for record in self.ledger.list_keys(session.id):
                    if record.provider != adapter.name or record.state not in (KeyState.PENDING, KeyState.DONE):
                        continue
                    # A create was sent under this key and no ref names its object: find it by key and remove it.
                    with _provider_step(adapter):
                        found = adapter.discard(record.key)
                    self.ledger.set_key_state(session.id, adapter.name, record.generation, KeyState.RETIRED)
                    if found:
                        self._audit(session.id, adapter.name, "orphan_removed", key=record.key)
                        self._progress(action, session.id, adapter.name, "done", f"removed what {record.key} made")
            except ConnectorError as exc:
                self._progress(action, session.id, adapter.name, "failed", str(exc))
                self._audit(session.id, adapter.name, f"{action}_failed", error=exc.evidence())
                failure = failure or exc
        return failure

    def _preflight(self, sessions: Sequence[Session]) -> None:
        """List each provider once over the cohort's window and note which sessions it does not hold.

        A session the listing does not show gets its first create without a look-up by marker; one it shows
        (made by a run whose ledger is not this one) is left to the adapter's look-up, which returns the whole
        object instead of making a second one.
        """
        wanted = [s for s in sessions if self._needs_create(s)]
        if not wanted:
            return
        start = min(s.slot.start_utc() for s in wanted)
        end = max(s.slot.start_utc() for s in wanted) + timedelta(seconds=1)
        for adapter in {a.name: a for s in wanted for a in self.targets_for(s)}.values():
            if not adapter.supports(Capability.LIST_SESSIONS):
                continue
            try:
                with _provider_step(adapter):
                    listed = {found.ref.extra.get("key") for found in adapter.list_sessions(start, end)}
            except ConnectorError as exc:
                self._progress("preflight", "*", adapter.name, "failed", str(exc))
                continue  # every session of this provider is looked up one by one instead
            self._progress("preflight", "*", adapter.name, "done", f"{len(listed)} object(s) listed")
            for session in wanted:
                if adapter not in self.targets_for(session):
                    continue
                record = self.ledger.current_key(session.id, adapter.name)
                if record.state is KeyState.NEW and record.key not in listed:
                    self._absent.add((session.id, adapter.name))

    def _needs_create(self, session: Session) -> bool:
        stored = self.ledger.get_session(session.id)
        if stored is not None and stored.status is SessionStatus.CANCELLING:
            return False
        return any(self.ledger.get_ref(session.id, a.name) is None for a in self.targets_for(session))

    def _create_on(self, adapter: Adapter, session: Session, *, compensate: bool = True) -> ProviderRef:
        """Create ``session`` on ``adapter`` under its live key, recording the answer.

        With ``compensate`` a failure undoes the whole session (:meth:`_fail_schedule`); without it (a sync
        re-making one lost object) the key stays ``PENDING`` and the error is raised: the next sync looks it up.
        """
        with self.ledger.transaction():
            reservation = self._reserve_key(adapter, session)
        answer = self._send_create(adapter, session, reservation, compensate=compensate)
        with self.ledger.transaction():
            self._record_created(session.id, answer)
        return answer.ref

    def _reserve_key(self, adapter: Adapter, session: Session) -> _KeyReservation:
        """Mark the live key of ``session`` on ``adapter`` as sent; the caller commits before sending it.

        A key never sent cannot name a provider object, but only this ledger knows it was never sent: another
        ledger (a restored backup, a second deployment) may have sent the same key. So the adapter's look-up
        is skipped only when the caller says this ledger is the only writer, or a preflight listing of the
        provider proved the session absent. The key is marked sent *before* sending: a crash mid-call makes
        the next run look up.
        """
        record = self.ledger.current_key(session.id, adapter.name)
        new = record.state is KeyState.NEW
        fresh = new and (self._sole_writer or (session.id, adapter.name) in self._absent)
        if new:
            self.ledger.set_key_state(session.id, adapter.name, record.generation, KeyState.PENDING)
        self._absent.discard((session.id, adapter.name))
        seated: tuple[Enrollment, ...] = ()
        if adapter.supports(Capability.ROSTER) and adapter.supports(Capability.ROSTER_AT_CREATE):
            # Learners confirmed before the object exists (a sync re-making it) go with the create; like any
            # push they are marked uncertain there first, so a create whose answer is lost is reconciled.
            confirmed = self.ledger.list_enrollments(session.id, EnrollmentStatus.CONFIRMED)
            seated = tuple(self._mark_roster_uncertain(session.id, adapter.name, confirmed))
        return _KeyReservation(record=record, fresh=fresh, sent_before=not new, seated=seated)

    def _send_create(
        self, adapter: Adapter, session: Session, reservation: _KeyReservation, *, compensate: bool = True
    ) -> _CreateAnswer:
        """Send the create under a reserved key; a failure is audited, then compensated or raised."""
        record = reservation.record
        self._progress("create", session.id, adapter.name, "start")
        trace = CreateTrace()
        sent = session
        if reservation.seated:
            sent = session.model_copy(update={"learners": tuple(e.person for e in reservation.seated)})
        try:
            with _provider_step(adapter):
                ref = adapter.create_traced(sent, key=record.key, fresh=reservation.fresh, trace=trace)
        except ConnectorError as exc:
            self._progress("create", session.id, adapter.name, "failed", str(exc))
            self._audit(session.id, adapter.name, "create_failed", key=record.key, error=exc.evidence(),
                        **trace.as_detail())
            if not compensate:
                raise
            self._fail_schedule(session, adapter, record.key, exc, sent_before=reservation.sent_before)
            raise AssertionError("unreachable") from exc  # _fail_schedule always raises
        self._progress("create", session.id, adapter.name, "done", ref.external_id)
        return _CreateAnswer(adapter=adapter.name, ref=ref, record=record, trace=trace, seated=reservation.seated)

    def _record_created(self, session_id: str, answer: _CreateAnswer) -> None:
        """Record a create's answer: the ref, its key done, the audit entry (inside the caller's transaction)."""
        record = answer.record
        self.ledger.put_ref(session_id, answer.ref.model_copy(update={"uncertain": None}))
        self.ledger.set_key_state(session_id, answer.adapter, record.generation, KeyState.DONE)
        self._audit(session_id, answer.adapter, "created", external_id=answer.ref.external_id, key=record.key,
                    **answer.trace.as_detail())
        if answer.seated:
            rows = {e.person.email: e for e in answer.seated}
            self._mark_pushed(session_id, answer.adapter, rows, list(rows), pushed=True)

    def _fail_schedule(
        self, session: Session, failed: Adapter, key: str, cause: ConnectorError, *, sent_before: bool = True
    ) -> None:
        """Undo every object of ``session`` (the failed step included, if it committed) and raise.

        ``sent_before`` says whether the failed step's key was sent by an earlier attempt too.
        """
        compensated: list[str] = []
        leftovers: list[str] = []
        # The failed create may have committed before its answer was lost: find it by key and undo it too.
        try:
            with _provider_step(failed):
                orphan = failed.find_session(key)
        except ConnectorError as exc:
            orphan = None
            # A look-up that fails leaves the provider unknown only if something may live under the key: this
            # create may have committed, or an earlier attempt sent the same key. A create refused outright (a
            # wrong token, a missing permission) on its first attempt made nothing (adapters undo their own
            # half-made objects), so nothing is left for retry.
            if sent_before or maybe_committed(cause):
                leftovers.append(failed.name)
            else:
                self._audit(session.id, failed.name, "lookup_failed", error=exc.evidence())
        if orphan is not None:
            self.ledger.put_ref(session.id, orphan)
        elif failed.name not in leftovers and failed.supports(Capability.NATIVE_IDEMPOTENCY):
            # Nothing lives under this key, but a provider whose ids are derived from keys may have burnt that id
            # when the adapter undid its own half-made object (Google never reuses an event id): the next attempt
            # takes a new generation. A marker-based adapter keeps its key, so that a create the provider shows
            # late is still found by the next attempt rather than duplicated.
            self._retire_keys(session.id, failed)
        for adapter in reversed(self.adapters):
            ref = self.ledger.get_ref(session.id, adapter.name)
            if ref is None:
                continue
            try:
                with _provider_step(adapter):
                    adapter.cancel_session(ref, notify=False)
            except ConnectorError as exc:
                leftovers.append(adapter.name)
                self._audit(session.id, adapter.name, "compensation_failed", error=exc.evidence())
                continue
            self._forget(session.id, adapter, "compensated")
            compensated.append(adapter.name)
        meeting = session.meeting
        if meeting is not None and self.ledger.get_ref(session.id, meeting.provider) is None:
            meeting = None  # its meeting was undone with the rest
        failed_session = session.model_copy(update={"status": SessionStatus.FAILED, "meeting": meeting})
        self._save(failed_session)
        self._audit(
            session.id,
            failed.name,
            "schedule_failed",
            error=cause.evidence(),
            compensated=compensated,
            leftovers=leftovers,
        )
        raise SchedulingFailed(
            f"scheduling {session.id!r} failed at {failed.name}: {cause.message}"
            + (f"; undone: {', '.join(compensated)}" if compensated else "")
            + (f"; left for retry: {', '.join(leftovers)}" if leftovers else ""),
            step=failed.name,
            cause=cause,
            compensated=compensated,
            leftovers=leftovers,
        ) from cause

    def _forget(self, session_id: str, adapter: Adapter, action: str) -> None:
        """Drop an adapter's object from the ledger after it was cancelled or compensated."""
        with self.ledger.transaction():
            self._retire_keys(session_id, adapter)
            self.ledger.delete_ref(session_id, adapter.name)
            for enrollment in self.ledger.list_enrollments(session_id):
                if adapter.name in (*enrollment.pushed_to, *enrollment.uncertain_at, *enrollment.registrations):
                    remaining = tuple(p for p in enrollment.pushed_to if p != adapter.name)
                    unsure = tuple(p for p in enrollment.uncertain_at if p != adapter.name)
                    registrations = {k: v for k, v in enrollment.registrations.items() if k != adapter.name}
                    self.ledger.upsert_enrollment(
                        enrollment.model_copy(
                            update={"pushed_to": remaining, "uncertain_at": unsure, "registrations": registrations}
                        )
                    )
            self._audit(session_id, adapter.name, action)
        self._progress(action, session_id, adapter.name, "done")

    def _retire_keys(self, session_id: str, adapter: Adapter) -> None:
        with self.ledger.transaction():
            for record in self.ledger.list_keys(session_id):
                if record.provider == adapter.name and record.state is not KeyState.RETIRED:
                    self.ledger.set_key_state(session_id, adapter.name, record.generation, KeyState.RETIRED)

    def _adopt_meeting(self, session: Session, adapter: Adapter, ref: ProviderRef) -> Session:
        """Carry a meeting link made by ``adapter`` to every later target."""
        if session.meeting is None and ref.join_url and adapter.supports(Capability.MEETING_LINK):
            meeting = Meeting(provider=adapter.name, join_url=ref.join_url, external_id=ref.external_id)
            return session.model_copy(update={"meeting": meeting})
        return session

    def _undo_reschedules(
        self, old: Session, touched: list[tuple[Adapter, ProviderRef]]
    ) -> tuple[list[str], list[str]]:
        undone: list[str] = []
        leftovers: list[str] = []
        # Moving back is itself a change attendees see, so it carries a newer sequence than the failed move.
        restore = old.model_copy(update={"sequence": old.sequence + 2})
        for adapter, current in reversed(touched):
            self._mark_uncertain(old.id, current, "reschedule")
            try:
                with _provider_step(adapter):
                    back = adapter.reschedule_session(current, restore)
            except ConnectorError as exc:
                # The ref keeps its mark: the next sync reads the object back and moves it to the ledger's slot.
                leftovers.append(adapter.name)
                self._audit(old.id, adapter.name, "reschedule_undo_failed", error=exc.evidence())
                continue
            self._settle(old.id, back)
            undone.append(adapter.name)
        if undone:
            self._save(restore)
        return undone, leftovers

    def _promote(self, session: Session) -> list[Enrollment]:
        """Confirm the head of the waitlist into free seats; the rows promoted, in order, as written."""
        if session.capacity is None:
            waiting = self.ledger.list_enrollments(session.id, EnrollmentStatus.WAITLISTED)
        else:
            free = session.capacity - self.ledger.count_enrollments(session.id, EnrollmentStatus.CONFIRMED)
            waiting = self.ledger.first_enrollments(session.id, EnrollmentStatus.WAITLISTED, free) if free > 0 else []
        promoted: list[Enrollment] = []
        for enrollment in waiting:
            row = enrollment.model_copy(update={"status": EnrollmentStatus.CONFIRMED, "updated_at": utc_now()})
            self.ledger.upsert_enrollment(row)
            self._audit(session.id, None, "promoted", email=enrollment.person.email)
            self._progress("promote", session.id, None, "done", enrollment.person.email)
            promoted.append(row)
        return promoted

    def _plan_roster(self, session: Session, written: dict[str, Enrollment] | None = None) -> _RosterPlan:
        """Decide what each roster-holding provider needs and mark it uncertain there (in the caller's transaction).

        Removals come before additions at each provider (they free seats). Learners are marked uncertain at a
        provider before a push or removal is sent, and the mark is cleared only by an answer the adapter
        understood: a removal includes every learner marked there, and a push is re-sent to them. Each row is
        written once, however many providers it is marked at.

        With ``written`` (the rows a roster operation just wrote, by email), only those rows and the rows left
        uncertain by an earlier push are read, so the cost of an enrolment does not grow with the roster: every
        other row already matches its providers, because a push is marked uncertain before it is sent and only
        an understood answer clears the mark. Without it (schedule, sync), every row is read.
        """
        rows = self._roster_rows(session.id, written)
        plan = _RosterPlan(rows=rows, writes=[])
        if not any(e.status is EnrollmentStatus.CONFIRMED or e.pushed_to or e.uncertain_at for e in rows.values()):
            return plan  # waitlisted learners no provider has heard of: nothing to send, no ref to read
        refs = {ref.provider: ref for ref in self.ledger.list_refs(session.id)}
        wanted = {email for email, row in rows.items() if row.status is EnrollmentStatus.CONFIRMED}
        marks: dict[str, list[str]] = {}
        for adapter in self.targets_for(session):
            ref = refs.get(adapter.name)
            if ref is None or not adapter.supports(Capability.ROSTER):
                continue
            name = adapter.name
            remove = tuple(
                email
                for email, row in rows.items()
                if email not in wanted and name in (*row.pushed_to, *row.uncertain_at)
            )
            add = tuple(email for email, row in rows.items() if email in wanted and name not in row.pushed_to)
            if not (remove or add):
                continue
            plan.writes.append(_RosterWrite(adapter=adapter, ref=ref, remove=remove, add=add))
            for email in (*remove, *add):
                if name not in rows[email].uncertain_at:
                    marks.setdefault(email, []).append(name)
        for email, providers in marks.items():
            row = rows[email]
            rows[email] = row.model_copy(update={"uncertain_at": (*row.uncertain_at, *providers)})
            self.ledger.upsert_enrollment(rows[email])
        return plan

    def _roster_rows(self, session_id: str, written: dict[str, Enrollment] | None) -> dict[str, Enrollment]:
        """The enrolments a roster plan looks at, by email in roster order.

        Every one, or the ``written`` ones and those left uncertain at some provider.
        """
        if written is None:
            found = self.ledger.list_enrollments(session_id)
        else:
            rows = {e.person.email: e for e in self.ledger.list_uncertain_enrollments(session_id)}
            rows.update(written)
            found = list(rows.values())
        return {e.person.email: e for e in sorted(found, key=lambda e: e.position)}

    def _push_roster(self, session: Session, plan: _RosterPlan) -> None:
        """Send a plan's roster writes, each answer committed before the next send.

        A provider that fails does not stop the others; the first failure is raised after.
        """
        failure: ConnectorError | None = None
        for write in plan.writes:
            try:
                self._push_one(session, write, plan.rows)
            except ConnectorError as exc:
                self._progress("roster", session.id, write.adapter.name, "failed", str(exc))
                self._audit(session.id, write.adapter.name, "roster_failed", error=exc.evidence())
                failure = failure or exc
        if failure is not None:
            raise failure

    def _push_one(self, session: Session, write: _RosterWrite, rows: dict[str, Enrollment]) -> None:
        adapter, name = write.adapter, write.adapter.name
        if write.remove:
            known = {e: rows[e].registrations[name] for e in write.remove if name in rows[e].registrations}
            with _provider_step(adapter):
                adapter.unenrol(write.ref, session, [rows[e].person for e in write.remove], registrations=known)
            self._mark_pushed(session.id, name, rows, write.remove, pushed=False)
        if write.add:
            with _provider_step(adapter):
                members = adapter.enrol(write.ref, session, [rows[e].person for e in write.add], seated=True)
            self._mark_pushed(session.id, name, rows, write.add, pushed=True, members=members)

    def _mark_roster_uncertain(self, session_id: str, provider: str, enrollments: list[Enrollment]) -> list[Enrollment]:
        """Mark the rows uncertain at ``provider`` (in the caller's transaction); the rows as written."""
        marked: list[Enrollment] = []
        for enrollment in enrollments:
            if provider not in enrollment.uncertain_at:
                enrollment = enrollment.model_copy(update={"uncertain_at": (*enrollment.uncertain_at, provider)})
                self.ledger.upsert_enrollment(enrollment)
            marked.append(enrollment)
        return marked

    def _mark_pushed(
        self,
        session_id: str,
        provider: str,
        rows: dict[str, Enrollment],
        emails: Sequence[str],
        *,
        pushed: bool,
        members: Sequence[RosterMember] = (),
    ) -> None:
        """Record a roster answer for ``emails``: one commit, ``rows`` (the ledger's rows) kept current."""
        answered = {member.email: member for member in members}
        with self.ledger.transaction():
            for email in emails:
                current = rows[email]
                others = tuple(p for p in current.pushed_to if p != provider)
                unsure = tuple(p for p in current.uncertain_at if p != provider)
                registrations = {k: v for k, v in current.registrations.items() if k != provider}
                if pushed and email in answered:
                    registrations[provider] = answered[email]
                rows[email] = current.model_copy(
                    update={
                        "pushed_to": (*others, provider) if pushed else others,
                        "uncertain_at": unsure,
                        "registrations": registrations,
                    }
                )
                self.ledger.upsert_enrollment(rows[email])
            self._audit(session_id, provider, "roster_pushed" if pushed else "roster_removed", emails=list(emails))
        self._progress("enrol" if pushed else "unenrol", session_id, provider, "done", f"{len(emails)} learner(s)")

    def _require_active(self, session_id: str) -> Session:
        session = self.ledger.get_session(session_id)
        if session is None:
            raise NotFound(f"unknown session {session_id!r}")
        if session.status is not SessionStatus.SCHEDULED:
            raise SessionCancelled(f"session {session_id!r} is {session.status.value}")
        return session

    def _require_ref(self, session_id: str, adapter: Adapter) -> ProviderRef:
        ref = self.ledger.get_ref(session_id, adapter.name)
        if ref is None:
            raise NotFound(f"session {session_id!r} has no object in {adapter.name}; schedule it first")
        return ref

    def _audit(self, session_id: str | None, provider: str | None, action: str, **detail: object) -> None:
        self.ledger.append_audit(AuditEntry(session_id=session_id, provider=provider, action=action, detail=detail))

    def _progress(self, action: str, session_id: str, provider: str | None, outcome: str, detail: str = "") -> None:
        logger.info("%s %s %s: %s %s", action, session_id, provider or "-", outcome, detail)
        if self._on_progress is not None:
            self._on_progress(ProgressEvent(action, session_id, provider, outcome, detail))
