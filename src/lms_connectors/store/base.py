"""The ledger: what the SDK made where, so that no retry duplicates and no enrolment is lost.

The ledger keeps, per session: the session itself, one :class:`ProviderRef` per provider, the idempotency
key of each provider-side create (with its generation: a provider such as Google never frees a deleted
object's id, so a session re-created after a cancel needs a new key), every enrolment with its waitlist
position, an append-only audit log of every mutation, and the cursor of each change feed it follows (where a
provider's "changes since" read last stopped, per adapter and calendar).

Three implementations ship: :class:`~lms_connectors.store.sqlite.SQLiteLedger` (a file, the default),
:class:`~lms_connectors.store.postgres.PostgresLedger` (several worker processes or hosts) and
:class:`~lms_connectors.store.memory.MemoryLedger` (tests). All pass the same test-suite.

Every row belongs to a tenant: a ledger is bound to one (:attr:`LedgerStore.tenant`) and sees only that tenant's
rows; :meth:`LedgerStore.bind` gives a handle on the same storage bound to another tenant.
"""

from __future__ import annotations

import abc
import functools
import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from lms_connectors.errors import ConfigurationError
from lms_connectors.models import Enrollment, EnrollmentStatus, ProviderRef, Session, SessionStatus, room_key, utc_now

__all__ = [
    "DEFAULT_TENANT",
    "AuditEntry",
    "Booking",
    "KeyRecord",
    "KeyState",
    "LedgerStore",
    "SessionLocks",
    "check_tenant",
    "session_from_json",
]

DEFAULT_TENANT = "default"
"""The tenant of a ledger opened without one (and of every row a pre-tenant SQLite file held)."""

_TENANT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class Booking(NamedTuple):
    """What a scheduled session holds and when: the row the conflict checker indexes.

    Attributes:
        session_id: The session.
        start: Its start, in POSIX seconds.
        end: Its end, in POSIX seconds.
        resources: What it occupies (:meth:`Session.resources <lms_connectors.models.Session.resources>`).
    """

    session_id: str
    start: float
    end: float
    resources: tuple[str, ...]

    @classmethod
    def of(cls, session: Session) -> Booking:
        """The booking of ``session`` (whatever its status)."""
        return cls(session.id, session.slot.start.timestamp(), session.slot.end.timestamp(), session.resources())

    @classmethod
    def from_row(
        cls,
        session_id: str,
        start: str,
        end: str,
        instructors: tuple[str, ...],
        room: tuple[str | None, str | None, str | None],
    ) -> Booking:
        """The booking of a session as a ledger selects it from its stored JSON.

        Args:
            session_id: The session's id.
            start: Its start, ISO 8601 with an offset.
            end: Its end, ISO 8601 with an offset.
            instructors: The instructors' emails.
            room: The room's email, provider and id (all ``None`` without a room).
        """
        email, provider, room_id = room
        held = instructors if room_id is None else (*instructors, room_key(email, provider, room_id))
        return cls(session_id, _posix_seconds(start), _posix_seconds(end), held)


@functools.lru_cache(maxsize=1 << 16)
def _posix_seconds(text: str) -> float:
    """An ISO 8601 instant with an offset, as POSIX seconds.

    Cached: a ledger's sessions start and end on few distinct instants (its schedule's grid), so most are parsed
    once.
    """
    return datetime.fromisoformat(text).timestamp()


def check_tenant(tenant: str) -> str:
    """Validate a tenant id: 1-64 letters, digits, ``_``, ``.`` or ``-``, starting with a letter or digit.

    Args:
        tenant: The id to check.

    Returns:
        The id, unchanged.

    Raises:
        ConfigurationError: The id is empty or has other characters.
    """
    if not isinstance(tenant, str) or _TENANT_PATTERN.fullmatch(tenant) is None:
        raise ConfigurationError(
            f"invalid tenant id {tenant!r}: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return tenant


@functools.lru_cache(maxsize=64)
def session_from_json(raw: str) -> Session:
    """A stored session's JSON as a model, validated once per distinct text.

    Every scheduler operation starts by reading its session, and validating one (time zones, the slot's
    checks) costs more than the rest of an enrolment's ledger work together. Sessions are frozen, so the same
    text can share one model.

    Args:
        raw: The JSON the ledger stored.

    Returns:
        The session.

    Raises:
        ValidationError: The text is not a valid session.
    """
    return Session.model_validate_json(raw)


class SessionLocks:
    """Re-entrant per-session locks of one process (what :meth:`LedgerStore.session_lock` holds by default).

    Handles on the same storage share one instance, so that they exclude each other too.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], threading.RLock] = {}

    @contextmanager
    def hold(self, tenant: str, session_id: str) -> Iterator[None]:
        """Hold the lock of one tenant's session until the block ends (re-entrant within a thread)."""
        with self._guard:
            lock = self._locks.setdefault((tenant, session_id), threading.RLock())
        with lock:
            yield


class KeyState(StrEnum):
    """Where a provider-side create stands."""

    NEW = "new"
    """Minted; no create has been sent with it yet, so no provider can hold an object for it."""
    PENDING = "pending"
    """A create was sent with it; the provider may or may not hold the object (a response may have been lost)."""
    DONE = "done"
    """The provider holds the object; its ref is in the ledger."""
    RETIRED = "retired"
    """The object was cancelled or compensated; a new create needs the next generation."""


class KeyRecord(BaseModel):
    """The idempotency key of one provider-side create of one session."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    session_id: str
    provider: str
    generation: int = Field(ge=1)
    key: str
    state: KeyState
    updated_at: datetime = Field(default_factory=utc_now)


class AuditEntry(BaseModel):
    """One mutation, as the audit log keeps it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    at: datetime = Field(default_factory=utc_now)
    session_id: str | None
    provider: str | None
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


class LedgerStore(abc.ABC):
    """Storage interface of the ledger. Every method is atomic on its own; use :meth:`transaction` to group.

    Every method reads and writes the rows of :attr:`tenant` only.
    """

    tenant: str = DEFAULT_TENANT
    """The tenant whose rows this handle reads and writes."""

    @abc.abstractmethod
    def bind(self, tenant: str) -> LedgerStore:
        """A handle on the same storage bound to ``tenant`` (this one stays bound to its own).

        Raises:
            ConfigurationError: ``tenant`` is not a valid tenant id.
        """

    @abc.abstractmethod
    def session_lock(self, session_id: str) -> AbstractContextManager[None]:
        """Hold one session exclusively for a whole operation, provider calls included (re-entrant per thread).

        Two callers working on the same session (scheduling it twice at once, enrolling into it from two
        workers) run one after the other, so neither sends a create or a roster push the other already sent.
        The memory ledger locks within its process; the SQLite ledger across the processes that share its file
        (one host); the PostgreSQL ledger across every process and host that shares the database.
        """

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Group several calls so that they all land or none does (re-entrant)."""

    # sessions
    @abc.abstractmethod
    def save_session(self, session: Session) -> None:
        """Insert or replace a session by its id."""

    @abc.abstractmethod
    def get_session(self, session_id: str) -> Session | None:
        """The session with this id, or ``None``."""

    @abc.abstractmethod
    def list_sessions(self) -> list[Session]:
        """Every session, in insertion order, all in memory at once (see :meth:`iter_sessions` for a large ledger)."""

    def iter_sessions(self, page_size: int = 500) -> Iterator[Session]:
        """Every session, in insertion order, read ``page_size`` at a time: memory stays flat however many.

        The SQLite and PostgreSQL ledgers read page after page (keyset on the insertion order, so a session saved
        during the walk is never seen twice); the base implementation, for ledgers that do not page, is
        :meth:`list_sessions`.

        Args:
            page_size: Sessions read per query.
        """
        yield from self.list_sessions()

    def iter_bookings(self) -> Iterator[Booking]:
        """A :class:`Booking` of every scheduled session, in insertion order: all the conflict checker reads.

        The SQLite and PostgreSQL ledgers select just these fields from the stored sessions (no session is
        built), so indexing a large ledger costs a query and a parse of two instants per session; the base
        implementation walks :meth:`iter_sessions`.
        """
        for session in self.iter_sessions():
            if session.status is SessionStatus.SCHEDULED:
                yield Booking.of(session)

    def count_sessions(self) -> int:
        """How many sessions the ledger holds."""
        return sum(1 for _ in self.iter_sessions())

    # provider refs
    @abc.abstractmethod
    def put_ref(self, session_id: str, ref: ProviderRef) -> None:
        """Insert or replace the ref of ``ref.provider`` for this session."""

    @abc.abstractmethod
    def get_ref(self, session_id: str, provider: str) -> ProviderRef | None:
        """The session's ref in ``provider``, or ``None``."""

    @abc.abstractmethod
    def list_refs(self, session_id: str) -> list[ProviderRef]:
        """Every ref of the session."""

    @abc.abstractmethod
    def delete_ref(self, session_id: str, provider: str) -> None:
        """Forget the session's ref in ``provider`` (no error if absent)."""

    # idempotency keys
    @abc.abstractmethod
    def current_key(self, session_id: str, provider: str) -> KeyRecord:
        """The live key of the session's create in ``provider``, minted when there is none.

        Minting gives generation 1, or the next generation after a retired one, as ``NEW``.
        The key is ``"<session_id>.<provider>.g<generation>"``.
        """

    @abc.abstractmethod
    def set_key_state(self, session_id: str, provider: str, generation: int, state: KeyState) -> None:
        """Move the key of that generation to ``state``."""

    @abc.abstractmethod
    def list_keys(self, session_id: str) -> list[KeyRecord]:
        """Every key of the session, all generations."""

    # enrolments
    @abc.abstractmethod
    def upsert_enrollment(self, enrollment: Enrollment) -> None:
        """Insert or replace the enrolment of ``enrollment.person.email`` in its session."""

    @abc.abstractmethod
    def get_enrollment(self, session_id: str, email: str) -> Enrollment | None:
        """The enrolment of that email in that session, or ``None``."""

    @abc.abstractmethod
    def list_enrollments(self, session_id: str, status: EnrollmentStatus | None = None) -> list[Enrollment]:
        """Enrolments of the session (optionally of one status), ordered by position."""

    @abc.abstractmethod
    def next_position(self, session_id: str) -> int:
        """The position the next arrival gets (one more than the largest so far, 0 first)."""

    # Roster queries whose cost does not grow with the roster: the scheduler asks the ledger for counts and
    # for the few rows it needs instead of reading every enrolment. These defaults are correct for any
    # implementation; the shipped ledgers answer them with one indexed query that validates only rows returned.
    def count_enrollments(self, session_id: str, status: EnrollmentStatus) -> int:
        """How many enrolments of the session have ``status`` (no row is read into a model)."""
        return len(self.list_enrollments(session_id, status))

    def seats_and_next_position(self, session_id: str) -> tuple[int, int]:
        """The confirmed enrolments of the session and the position the next arrival gets, read together."""
        return self.count_enrollments(session_id, EnrollmentStatus.CONFIRMED), self.next_position(session_id)

    def first_enrollments(self, session_id: str, status: EnrollmentStatus, limit: int) -> list[Enrollment]:
        """The first ``limit`` enrolments of that status, ordered by position (the head of the waitlist)."""
        return self.list_enrollments(session_id, status)[: max(0, limit)]

    def list_uncertain_enrollments(self, session_id: str) -> list[Enrollment]:
        """Enrolments with a roster push or removal still uncertain at some provider, ordered by position."""
        return [e for e in self.list_enrollments(session_id) if e.uncertain_at]

    # change-feed cursors
    @abc.abstractmethod
    def get_cursor(self, feed: str, scope: str) -> str | None:
        """Where the change feed ``feed`` (an adapter's name) last stopped for ``scope`` (a calendar), or ``None``."""

    @abc.abstractmethod
    def put_cursor(self, feed: str, scope: str, cursor: str) -> None:
        """Keep ``cursor`` as where ``feed`` stopped for ``scope`` (replacing the one kept before)."""

    @abc.abstractmethod
    def delete_cursor(self, feed: str, scope: str) -> None:
        """Forget ``feed``'s cursor for ``scope``: its next read starts over (no error if there is none)."""

    # audit
    @abc.abstractmethod
    def append_audit(self, entry: AuditEntry) -> None:
        """Append to the audit log."""

    @abc.abstractmethod
    def iter_audit(self, session_id: str | None = None) -> Iterator[AuditEntry]:
        """The audit log in order, optionally of one session."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the store's resources."""
