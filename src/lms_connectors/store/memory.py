"""An in-process ledger, for tests and one-shot scripts: nothing survives the process.

Records are kept as JSON text, exactly as the SQLite ledger keeps them, so that both behave alike (a value
that cannot be serialised fails here too, and no caller can mutate a stored record through a reference).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from lms_connectors.models import Enrollment, EnrollmentStatus, ProviderRef, Session, utc_now
from lms_connectors.store.base import (
    DEFAULT_TENANT,
    AuditEntry,
    KeyRecord,
    KeyState,
    LedgerStore,
    SessionLocks,
    check_tenant,
    session_from_json,
)
from lms_connectors.store.keys import key_to_mint

__all__ = ["MemoryLedger"]


@dataclass
class _Tables:
    """Every record of the ledger, as JSON text; dicts keep insertion order, which the interface promises."""

    sessions: dict[str, str] = field(default_factory=dict)
    refs: dict[tuple[str, str], str] = field(default_factory=dict)
    keys: dict[tuple[str, str, int], str] = field(default_factory=dict)
    enrollments: dict[tuple[str, str], str] = field(default_factory=dict)
    # The columns roster queries filter and sort on (status, position, uncertain somewhere), beside the JSON,
    # so that counting seats or finding the waitlist's head validates no row it does not return.
    enrollment_columns: dict[tuple[str, str], tuple[str, int, bool]] = field(default_factory=dict)
    audit: list[str] = field(default_factory=list)
    cursors: dict[tuple[str, str], str] = field(default_factory=dict)

    def copy(self) -> _Tables:
        # Values are immutable strings, so shallow copies of the containers are a full snapshot.
        return _Tables(
            sessions=dict(self.sessions),
            refs=dict(self.refs),
            keys=dict(self.keys),
            enrollments=dict(self.enrollments),
            enrollment_columns=dict(self.enrollment_columns),
            audit=list(self.audit),
            cursors=dict(self.cursors),
        )


@dataclass
class _Storage:
    """What every handle bound to a tenant of one memory ledger shares."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    tenants: dict[str, _Tables] = field(default_factory=dict)
    session_locks: SessionLocks = field(default_factory=SessionLocks)


class MemoryLedger(LedgerStore):
    """A :class:`LedgerStore` held in memory; thread-safe, with re-entrant all-or-nothing transactions.

    Args:
        tenant: The tenant whose rows this handle sees.
    """

    def __init__(self, tenant: str = DEFAULT_TENANT, *, _storage: _Storage | None = None) -> None:
        self.tenant = check_tenant(tenant)
        self._storage = _storage or _Storage()
        self._lock = self._storage.lock
        self._storage.tenants.setdefault(self.tenant, _Tables())

    @property
    def _tables(self) -> _Tables:
        return self._storage.tenants[self.tenant]

    @_tables.setter
    def _tables(self, tables: _Tables) -> None:
        self._storage.tenants[self.tenant] = tables

    def bind(self, tenant: str) -> MemoryLedger:
        """A handle on the same memory bound to ``tenant``."""
        return MemoryLedger(tenant, _storage=self._storage)

    def session_lock(self, session_id: str) -> AbstractContextManager[None]:
        """Hold one session exclusively within this process (see :meth:`LedgerStore.session_lock`)."""
        return self._storage.session_locks.hold(self.tenant, session_id)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group calls so that they all land or none does.

        The lock is held for the whole block, so other threads see either none or all of it. A nested block
        that raises undoes only its own changes (like a SQL savepoint); the exception then propagates.
        """
        with self._lock:
            snapshot = self._tables.copy()
            try:
                yield
            except BaseException:
                self._tables = snapshot
                raise

    # sessions
    def save_session(self, session: Session) -> None:
        """Insert or replace a session by its id."""
        with self._lock:
            self._tables.sessions[session.id] = session.model_dump_json()

    def get_session(self, session_id: str) -> Session | None:
        """The session with this id, or ``None``."""
        with self._lock:
            raw = self._tables.sessions.get(session_id)
        return None if raw is None else session_from_json(raw)

    def list_sessions(self) -> list[Session]:
        """Every session, in insertion order."""
        with self._lock:
            raws = list(self._tables.sessions.values())
        return [Session.model_validate_json(raw) for raw in raws]

    def iter_sessions(self, page_size: int = 500) -> Iterator[Session]:
        """Every session, in insertion order, a page at a time (sessions saved during the walk are met too)."""
        position, limit = 0, max(1, page_size)
        while True:
            with self._lock:
                raws = list(itertools.islice(self._tables.sessions.values(), position, position + limit))
            position += len(raws)
            for raw in raws:
                yield Session.model_validate_json(raw)
            if len(raws) < limit:
                return

    def count_sessions(self) -> int:
        """How many sessions the ledger holds."""
        with self._lock:
            return len(self._tables.sessions)

    # provider refs
    def put_ref(self, session_id: str, ref: ProviderRef) -> None:
        """Insert or replace the ref of ``ref.provider`` for this session."""
        with self._lock:
            self._tables.refs[(session_id, ref.provider)] = ref.model_dump_json()

    def get_ref(self, session_id: str, provider: str) -> ProviderRef | None:
        """The session's ref in ``provider``, or ``None``."""
        with self._lock:
            raw = self._tables.refs.get((session_id, provider))
        return None if raw is None else ProviderRef.model_validate_json(raw)

    def list_refs(self, session_id: str) -> list[ProviderRef]:
        """Every ref of the session, in insertion order."""
        with self._lock:
            raws = [raw for (sid, _), raw in self._tables.refs.items() if sid == session_id]
        return [ProviderRef.model_validate_json(raw) for raw in raws]

    def delete_ref(self, session_id: str, provider: str) -> None:
        """Forget the session's ref in ``provider`` (no error if absent)."""
        with self._lock:
            self._tables.refs.pop((session_id, provider), None)

    # idempotency keys
    def current_key(self, session_id: str, provider: str) -> KeyRecord:
        """The live key of the session's create in ``provider``, minting one when there is none.

        See :meth:`LedgerStore.current_key`.
        """
        with self._lock:
            records = self._records(session_id, provider)
            latest = records[-1] if records else None
            minted = key_to_mint(session_id, provider, latest)
            if minted is None:
                assert latest is not None  # key_to_mint only reuses an existing record
                return latest
            self._tables.keys[(session_id, provider, minted.generation)] = minted.model_dump_json()
            return minted

    def set_key_state(self, session_id: str, provider: str, generation: int, state: KeyState) -> None:
        """Move the key of that generation to ``state``.

        Raises:
            KeyError: No key of that generation was minted.
        """
        with self._lock:
            raw = self._tables.keys.get((session_id, provider, generation))
            if raw is None:
                raise KeyError(f"no idempotency key g{generation} for session {session_id!r} in {provider!r}")
            record = KeyRecord.model_validate_json(raw)
            updated = record.model_copy(update={"state": state, "updated_at": utc_now()})
            self._tables.keys[(session_id, provider, generation)] = updated.model_dump_json()

    def list_keys(self, session_id: str) -> list[KeyRecord]:
        """Every key of the session, all generations, by provider then generation."""
        with self._lock:
            raws = [raw for (sid, _, _), raw in sorted(self._tables.keys.items()) if sid == session_id]
        return [KeyRecord.model_validate_json(raw) for raw in raws]

    def _records(self, session_id: str, provider: str) -> list[KeyRecord]:
        found = [
            (generation, raw)
            for (sid, prov, generation), raw in self._tables.keys.items()
            if sid == session_id and prov == provider
        ]
        return [KeyRecord.model_validate_json(raw) for _, raw in sorted(found)]

    # enrolments
    def upsert_enrollment(self, enrollment: Enrollment) -> None:
        """Insert or replace the enrolment of ``enrollment.person.email`` in its session."""
        with self._lock:
            key = (enrollment.session_id, enrollment.person.email)
            self._tables.enrollments[key] = enrollment.model_dump_json()
            self._tables.enrollment_columns[key] = (
                enrollment.status.value,
                enrollment.position,
                bool(enrollment.uncertain_at),
            )

    def get_enrollment(self, session_id: str, email: str) -> Enrollment | None:
        """The enrolment of that email (compared in lower case) in that session, or ``None``."""
        with self._lock:
            raw = self._tables.enrollments.get((session_id, email.strip().lower()))
        return None if raw is None else Enrollment.model_validate_json(raw)

    def list_enrollments(self, session_id: str, status: EnrollmentStatus | None = None) -> list[Enrollment]:
        """Enrolments of the session (optionally of one status), ordered by position, then arrival."""
        with self._lock:
            raws = [raw for (sid, _), raw in self._tables.enrollments.items() if sid == session_id]
        enrollments = [Enrollment.model_validate_json(raw) for raw in raws]
        # sorted() is stable: equal positions keep insertion order, as SQLite's rowid tie-break does.
        return sorted(
            (e for e in enrollments if status is None or e.status is status),
            key=lambda e: e.position,
        )

    def next_position(self, session_id: str) -> int:
        """One more than the largest position in the session (cancelled enrolments included), 0 first."""
        with self._lock:
            positions = [pos for (sid, _), (_, pos, _) in self._tables.enrollment_columns.items() if sid == session_id]
        return max(positions, default=-1) + 1

    def count_enrollments(self, session_id: str, status: EnrollmentStatus) -> int:
        """How many enrolments of the session have ``status`` (no row is read into a model)."""
        with self._lock:
            columns = self._tables.enrollment_columns.items()
            return sum(1 for (sid, _), (state, _, _) in columns if sid == session_id and state == status.value)

    def first_enrollments(self, session_id: str, status: EnrollmentStatus, limit: int) -> list[Enrollment]:
        """The first ``limit`` enrolments of that status, ordered by position, then arrival."""
        return self._matching(session_id, lambda state, _uncertain: state == status.value, limit)

    def list_uncertain_enrollments(self, session_id: str) -> list[Enrollment]:
        """Enrolments with a roster write still uncertain somewhere (only those rows are read into models)."""
        return self._matching(session_id, lambda _state, uncertain: uncertain)

    def _matching(
        self, session_id: str, keep: Callable[[str, bool], bool], limit: int | None = None
    ) -> list[Enrollment]:
        with self._lock:
            # Insertion order then a stable sort by position: the same tie-break as SQLite's rowid.
            keys = [
                (pos, key)
                for key, (state, pos, uncertain) in self._tables.enrollment_columns.items()
                if key[0] == session_id and keep(state, uncertain)
            ]
            keys.sort(key=lambda item: item[0])
            # Only the rows handed out are read into models (the head of a long waitlist, not all of it).
            kept = keys if limit is None else keys[: max(0, limit)]
            raws = [self._tables.enrollments[key] for _, key in kept]
        return [Enrollment.model_validate_json(raw) for raw in raws]

    # change-feed cursors
    def get_cursor(self, feed: str, scope: str) -> str | None:
        """Where ``feed`` last stopped for ``scope``, or ``None``."""
        with self._lock:
            return self._tables.cursors.get((feed, scope))

    def put_cursor(self, feed: str, scope: str, cursor: str) -> None:
        """Keep ``cursor`` as where ``feed`` stopped for ``scope``."""
        with self._lock:
            self._tables.cursors[(feed, scope)] = cursor

    def delete_cursor(self, feed: str, scope: str) -> None:
        """Forget ``feed``'s cursor for ``scope`` (no error if there is none)."""
        with self._lock:
            self._tables.cursors.pop((feed, scope), None)

    # audit
    def append_audit(self, entry: AuditEntry) -> None:
        """Append to the audit log."""
        with self._lock:
            self._tables.audit.append(entry.model_dump_json())

    def iter_audit(self, session_id: str | None = None) -> Iterator[AuditEntry]:
        """The audit log in order of appending, optionally of one session."""
        with self._lock:
            entries = [AuditEntry.model_validate_json(raw) for raw in self._tables.audit]
        return (entry for entry in entries if session_id is None or entry.session_id == session_id)
