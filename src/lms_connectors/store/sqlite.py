"""The default ledger: one SQLite file, embedded, nothing to set up.

Records are stored as pydantic JSON next to the few columns that queries need (ids, positions). The file is
opened in WAL mode so that readers never block the writer, and writes take the lock up front
(``BEGIN IMMEDIATE``) so that two processes sharing a file serialise instead of failing half-way.
One connection is shared by the threads of a process behind a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lms_connectors.errors import ConfigurationError
from lms_connectors.models import Enrollment, EnrollmentStatus, ProviderRef, Session, utc_now
from lms_connectors.store.base import AuditEntry, KeyRecord, KeyState, LedgerStore
from lms_connectors.store.keys import key_to_mint

__all__ = ["DEFAULT_LEDGER_PATH", "SCHEMA_VERSION", "SQLiteLedger"]

DEFAULT_LEDGER_PATH = Path("lms-connectors-ledger.sqlite3")
"""Where the ledger lives when no path is given (relative to the working directory)."""

SCHEMA_VERSION = 1
"""Version of the tables below; a file written by a newer version is refused, never half-read."""

_SCHEMA_V1 = """
CREATE TABLE sessions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);
CREATE TABLE refs (
    seq INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (session_id, provider)
);
CREATE TABLE idempotency_keys (
    session_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    generation INTEGER NOT NULL,
    key TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL,
    PRIMARY KEY (session_id, provider, generation)
);
CREATE TABLE enrollments (
    seq INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    email TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (session_id, email)
);
CREATE INDEX enrollments_by_position ON enrollments (session_id, position);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX audit_by_session ON audit (session_id, seq);
"""


class SQLiteLedger(LedgerStore):
    """A :class:`LedgerStore` in a SQLite file.

    Args:
        path: The database file; created with its tables when missing. Its folder must exist.
            ``":memory:"`` gives a private in-memory database (no WAL).
        timeout: Seconds to wait for another process's write lock before failing.

    Raises:
        ConfigurationError: The folder does not exist, or the file was written by a newer schema.
    """

    def __init__(self, path: str | Path = DEFAULT_LEDGER_PATH, *, timeout: float = 30.0) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None and not self.path.parent.is_dir():
            raise ConfigurationError(f"ledger folder {str(self.path.parent)!r} does not exist")
        self._lock = threading.RLock()
        self._depth = 0
        # isolation_level=None: the module must not open transactions behind our back; transaction() does.
        self._conn = sqlite3.connect(
            ":memory:" if self.path is None else str(self.path),
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _migrate(self) -> None:
        with self.transaction():
            self._conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            version = 0 if row[0] is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise ConfigurationError(
                    f"ledger {self.path} has schema version {version}; this lms-connectors knows up to "
                    f"{SCHEMA_VERSION}: upgrade lms-connectors"
                )
            if version < 1:
                # executescript() would COMMIT first; run the statements one by one inside our transaction.
                for statement in _SCHEMA_V1.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                self._conn.execute("INSERT INTO schema_version (version) VALUES (1)")
            # Later versions add their steps here: `if version < 2: ...`.

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        with self._lock:
            row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group calls so that they all land or none does.

        The outermost block is a ``BEGIN IMMEDIATE`` transaction; nested blocks are savepoints, so a nested
        block that raises undoes only its own changes. Other threads wait until the outermost block ends.
        """
        with self._lock:
            depth = self._depth
            savepoint = f"ledger_sp{depth}"
            self._conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth = depth
                if depth == 0:
                    self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO {savepoint}")
                    self._conn.execute(f"RELEASE {savepoint}")
                raise
            self._depth = depth
            if depth > 0:
                self._conn.execute(f"RELEASE {savepoint}")
                return
            try:
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the database connection; the ledger cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    def _one(self, sql: str, params: tuple[object, ...]) -> str | None:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def _all(self, sql: str, params: tuple[object, ...]) -> list[str]:
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [str(row[0]) for row in rows]

    # sessions
    def save_session(self, session: Session) -> None:
        """Insert or replace a session by its id (a replaced session keeps its place in the order)."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO sessions (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (session.id, session.model_dump_json()),
            )

    def get_session(self, session_id: str) -> Session | None:
        """The session with this id, or ``None``."""
        raw = self._one("SELECT data FROM sessions WHERE id = ?", (session_id,))
        return None if raw is None else Session.model_validate_json(raw)

    def list_sessions(self) -> list[Session]:
        """Every session, in insertion order."""
        return [Session.model_validate_json(raw) for raw in self._all("SELECT data FROM sessions ORDER BY seq", ())]

    # provider refs
    def put_ref(self, session_id: str, ref: ProviderRef) -> None:
        """Insert or replace the ref of ``ref.provider`` for this session."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO refs (session_id, provider, data) VALUES (?, ?, ?) "
                "ON CONFLICT (session_id, provider) DO UPDATE SET data = excluded.data",
                (session_id, ref.provider, ref.model_dump_json()),
            )

    def get_ref(self, session_id: str, provider: str) -> ProviderRef | None:
        """The session's ref in ``provider``, or ``None``."""
        raw = self._one("SELECT data FROM refs WHERE session_id = ? AND provider = ?", (session_id, provider))
        return None if raw is None else ProviderRef.model_validate_json(raw)

    def list_refs(self, session_id: str) -> list[ProviderRef]:
        """Every ref of the session, in insertion order."""
        raws = self._all("SELECT data FROM refs WHERE session_id = ? ORDER BY seq", (session_id,))
        return [ProviderRef.model_validate_json(raw) for raw in raws]

    def delete_ref(self, session_id: str, provider: str) -> None:
        """Forget the session's ref in ``provider`` (no error if absent)."""
        with self.transaction():
            self._conn.execute("DELETE FROM refs WHERE session_id = ? AND provider = ?", (session_id, provider))

    # idempotency keys
    def current_key(self, session_id: str, provider: str) -> KeyRecord:
        """The live key of the session's create in ``provider``, minting one when there is none.

        See :meth:`LedgerStore.current_key`. Reading and minting happen in one write transaction, so two
        processes asking at once get the same key.
        """
        with self.transaction():
            raw = self._one(
                "SELECT data FROM idempotency_keys WHERE session_id = ? AND provider = ? "
                "ORDER BY generation DESC LIMIT 1",
                (session_id, provider),
            )
            latest = None if raw is None else KeyRecord.model_validate_json(raw)
            minted = key_to_mint(session_id, provider, latest)
            if minted is None:
                assert latest is not None  # key_to_mint only reuses an existing record
                return latest
            self._conn.execute(
                "INSERT INTO idempotency_keys (session_id, provider, generation, key, data) VALUES (?, ?, ?, ?, ?)",
                (session_id, provider, minted.generation, minted.key, minted.model_dump_json()),
            )
            return minted

    def set_key_state(self, session_id: str, provider: str, generation: int, state: KeyState) -> None:
        """Move the key of that generation to ``state``.

        Raises:
            KeyError: No key of that generation was minted.
        """
        with self.transaction():
            raw = self._one(
                "SELECT data FROM idempotency_keys WHERE session_id = ? AND provider = ? AND generation = ?",
                (session_id, provider, generation),
            )
            if raw is None:
                raise KeyError(f"no idempotency key g{generation} for session {session_id!r} in {provider!r}")
            record = KeyRecord.model_validate_json(raw)
            updated = record.model_copy(update={"state": state, "updated_at": utc_now()})
            self._conn.execute(
                "UPDATE idempotency_keys SET data = ? WHERE session_id = ? AND provider = ? AND generation = ?",
                (updated.model_dump_json(), session_id, provider, generation),
            )

    def list_keys(self, session_id: str) -> list[KeyRecord]:
        """Every key of the session, all generations, by provider then generation."""
        raws = self._all(
            "SELECT data FROM idempotency_keys WHERE session_id = ? ORDER BY provider, generation", (session_id,)
        )
        return [KeyRecord.model_validate_json(raw) for raw in raws]

    # enrolments
    def upsert_enrollment(self, enrollment: Enrollment) -> None:
        """Insert or replace the enrolment of ``enrollment.person.email`` in its session."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO enrollments (session_id, email, position, status, data) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (session_id, email) DO UPDATE SET "
                "position = excluded.position, status = excluded.status, data = excluded.data",
                (
                    enrollment.session_id,
                    enrollment.person.email,
                    enrollment.position,
                    enrollment.status.value,
                    enrollment.model_dump_json(),
                ),
            )

    def get_enrollment(self, session_id: str, email: str) -> Enrollment | None:
        """The enrolment of that email (compared in lower case) in that session, or ``None``."""
        raw = self._one(
            "SELECT data FROM enrollments WHERE session_id = ? AND email = ?", (session_id, email.strip().lower())
        )
        return None if raw is None else Enrollment.model_validate_json(raw)

    def list_enrollments(self, session_id: str, status: EnrollmentStatus | None = None) -> list[Enrollment]:
        """Enrolments of the session (optionally of one status), ordered by position, then arrival."""
        if status is None:
            raws = self._all("SELECT data FROM enrollments WHERE session_id = ? ORDER BY position, seq", (session_id,))
        else:
            raws = self._all(
                "SELECT data FROM enrollments WHERE session_id = ? AND status = ? ORDER BY position, seq",
                (session_id, status.value),
            )
        return [Enrollment.model_validate_json(raw) for raw in raws]

    def next_position(self, session_id: str) -> int:
        """One more than the largest position in the session (cancelled enrolments included), 0 first."""
        largest = self._one("SELECT MAX(position) FROM enrollments WHERE session_id = ?", (session_id,))
        return 0 if largest is None else int(largest) + 1

    # audit
    def append_audit(self, entry: AuditEntry) -> None:
        """Append to the audit log."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO audit (session_id, data) VALUES (?, ?)", (entry.session_id, entry.model_dump_json())
            )

    def iter_audit(self, session_id: str | None = None) -> Iterator[AuditEntry]:
        """The audit log in order of appending, optionally of one session."""
        if session_id is None:
            raws = self._all("SELECT data FROM audit ORDER BY seq", ())
        else:
            raws = self._all("SELECT data FROM audit WHERE session_id = ? ORDER BY seq", (session_id,))
        return (AuditEntry.model_validate_json(raw) for raw in raws)
