"""The ledger: what the SDK made where, so that no retry duplicates and no enrolment is lost.

The ledger keeps, per session: the session itself, one :class:`ProviderRef` per provider, the idempotency
key of each provider-side create (with its generation: a provider such as Google never frees a deleted
object's id, so a session re-created after a cancel needs a new key), every enrolment with its waitlist
position, and an append-only audit log of every mutation.

Two implementations ship: :class:`~lms_connectors.store.sqlite.SQLiteLedger` (a file, the default) and
:class:`~lms_connectors.store.memory.MemoryLedger` (tests). Both pass the same test-suite.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lms_connectors.models import Enrollment, EnrollmentStatus, ProviderRef, Session, utc_now

__all__ = ["AuditEntry", "KeyRecord", "KeyState", "LedgerStore"]


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

    model_config = ConfigDict(frozen=True)

    session_id: str
    provider: str
    generation: int = Field(ge=1)
    key: str
    state: KeyState
    updated_at: datetime = Field(default_factory=utc_now)


class AuditEntry(BaseModel):
    """One mutation, as the audit log keeps it."""

    model_config = ConfigDict(frozen=True)

    at: datetime = Field(default_factory=utc_now)
    session_id: str | None
    provider: str | None
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


class LedgerStore(abc.ABC):
    """Storage interface of the ledger. Every method is atomic on its own; use :meth:`transaction` to group."""

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
        """Every session, in insertion order."""

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

    # audit
    @abc.abstractmethod
    def append_audit(self, entry: AuditEntry) -> None:
        """Append to the audit log."""

    @abc.abstractmethod
    def iter_audit(self, session_id: str | None = None) -> Iterator[AuditEntry]:
        """The audit log in order, optionally of one session."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the store's resources."""
