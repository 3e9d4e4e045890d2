"""The default ledger: one SQLite file, embedded, nothing to set up.

Records are stored as pydantic JSON next to the few columns that queries need (ids, positions). The file is
opened in WAL mode so that readers never block the writer, and writes take the lock up front
(``BEGIN IMMEDIATE``) so that two processes sharing a file serialise instead of failing half-way.
One connection is shared by the threads of a process behind a lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from lms_connectors.errors import ConfigurationError
from lms_connectors.models import Enrollment, EnrollmentStatus, ProviderRef, Session, SessionStatus, utc_now
from lms_connectors.store.base import (
    DEFAULT_TENANT,
    AuditEntry,
    Booking,
    KeyRecord,
    KeyState,
    LedgerStore,
    SessionLocks,
    check_tenant,
    session_from_json,
)
from lms_connectors.store.file_locks import FileSessionLocks, lock_folder_for
from lms_connectors.store.keys import key_to_mint
from lms_connectors.store.migrations import Migration, pending_migrations

__all__ = ["DEFAULT_LEDGER_PATH", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteLedger"]

_BOOKING_PAGE = 5_000
# The fields of a Booking, page by page (keyset on seq), straight from the stored JSON. Paths into one document
# share SQLite's parse of it; the instructors come as the first two emails (nearly every session), or as the
# whole array when there are more.
_BOOKINGS = """
SELECT seq, id, json_extract(data, '$.status'), json_extract(data, '$.slot.start'), json_extract(data, '$.slot.end'),
       json_extract(data, '$.instructors[0].email'), json_extract(data, '$.instructors[1].email'),
       CASE WHEN json_array_length(data, '$.instructors') > 2 THEN json_extract(data, '$.instructors') END,
       json_extract(data, '$.room.email'), json_extract(data, '$.room.provider'), json_extract(data, '$.room.id')
FROM sessions WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?
"""

DEFAULT_LEDGER_PATH = Path("lms-connectors-ledger.sqlite3")
"""Where the ledger lives when no path is given (relative to the working directory)."""

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

# SQLite cannot change a table's keys in place: version 2 rebuilds each table with a tenant column (every
# existing row goes to the default tenant, DEFAULT_TENANT) and keys that start with the tenant, keeping each
# row's seq.
_SCHEMA_V2 = """
CREATE TABLE sessions_v2 (
    seq INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (tenant_id, id)
);
INSERT INTO sessions_v2 (seq, tenant_id, id, data) SELECT seq, 'default', id, data FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;
CREATE TABLE refs_v2 (
    seq INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (tenant_id, session_id, provider)
);
INSERT INTO refs_v2 (seq, tenant_id, session_id, provider, data)
    SELECT seq, 'default', session_id, provider, data FROM refs;
DROP TABLE refs;
ALTER TABLE refs_v2 RENAME TO refs;
CREATE TABLE idempotency_keys_v2 (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    generation INTEGER NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (tenant_id, session_id, provider, generation),
    UNIQUE (tenant_id, key)
);
INSERT INTO idempotency_keys_v2 (tenant_id, session_id, provider, generation, key, data)
    SELECT 'default', session_id, provider, generation, key, data FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v2 RENAME TO idempotency_keys;
CREATE TABLE enrollments_v2 (
    seq INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    email TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (tenant_id, session_id, email)
);
INSERT INTO enrollments_v2 (seq, tenant_id, session_id, email, position, status, data)
    SELECT seq, 'default', session_id, email, position, status, data FROM enrollments;
DROP TABLE enrollments;
ALTER TABLE enrollments_v2 RENAME TO enrollments;
CREATE INDEX enrollments_by_position ON enrollments (tenant_id, session_id, position);
CREATE TABLE audit_v2 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    session_id TEXT,
    data TEXT NOT NULL
);
INSERT INTO audit_v2 (seq, tenant_id, session_id, data) SELECT seq, 'default', session_id, data FROM audit;
DROP TABLE audit;
ALTER TABLE audit_v2 RENAME TO audit;
CREATE INDEX audit_by_session ON audit (tenant_id, session_id, seq);
"""


# Version 3 makes the roster queries independent of the roster's size: seat counts and the waitlist's head are
# read through an index on status (they scanned every row of the session), and rows with a roster write still
# uncertain are flagged in a column with a partial index (the query parsed every row's JSON to find them).
_SCHEMA_V3 = """
ALTER TABLE enrollments ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0;
UPDATE enrollments SET uncertain = 1 WHERE json_array_length(data, '$.uncertain_at') > 0;
CREATE INDEX enrollments_by_status ON enrollments (tenant_id, session_id, status, position, seq);
CREATE INDEX enrollments_uncertain ON enrollments (tenant_id, session_id, position, seq) WHERE uncertain = 1
"""


# Version 4 keeps where each change feed stopped (a Google sync token, a Graph delta link), per adapter and
# calendar, so that a process that starts again reads only what changed since.
_SCHEMA_V4 = """
CREATE TABLE feed_cursors (
    tenant_id TEXT NOT NULL,
    feed TEXT NOT NULL,
    scope TEXT NOT NULL,
    cursor TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, feed, scope)
)
"""


def _statements(script: str) -> tuple[str, ...]:
    # executescript() would COMMIT first; the statements run one by one inside the migrating transaction.
    return tuple(statement.strip() for statement in script.split(";") if statement.strip())


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "sessions, refs, idempotency keys, enrolments, audit", _statements(_SCHEMA_V1)),
    Migration(2, "every row belongs to a tenant", _statements(_SCHEMA_V2)),
    Migration(3, "enrolments indexed by status; uncertain rows flagged and indexed", _statements(_SCHEMA_V3)),
    Migration(4, "change-feed cursors per adapter and calendar", _statements(_SCHEMA_V4)),
)
"""The SQLite schema's steps; a file is brought up to the last one when opened."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""Version of the tables above; a file written by a newer version is refused, never half-read."""

_REGISTRY_GUARD = threading.Lock()
_SESSION_LOCKS: dict[str, SessionLocks] = {}


def _session_locks_for(path: Path | None, timeout: float) -> SessionLocks:
    """One set of session locks per database file in this process, shared by every handle on it.

    A file's locks hold across processes too (:class:`~lms_connectors.store.file_locks.FileSessionLocks`); an
    in-memory database has no other process to exclude.
    """
    if path is None:
        return SessionLocks()
    with _REGISTRY_GUARD:
        resolved = path.resolve()
        return _SESSION_LOCKS.setdefault(
            str(resolved), FileSessionLocks(lock_folder_for(resolved), timeout=timeout)
        )


class _Connection:
    """One SQLite connection shared by the handles that :meth:`SQLiteLedger.bind` made, and its transaction."""

    def __init__(self, conn: sqlite3.Connection, locks: SessionLocks) -> None:
        self.conn = conn
        self.lock = threading.RLock()
        self.depth = 0
        self.handles = 1
        self.session_locks = locks


class SQLiteLedger(LedgerStore):
    """A :class:`LedgerStore` in a SQLite file.

    Args:
        path: The database file; created with its tables when missing, migrated when older. Its folder must
            exist. ``":memory:"`` gives a private in-memory database (no WAL).
        tenant: The tenant whose rows this handle sees (files written before tenants hold ``"default"``'s).
        timeout: Seconds to wait for another process's write lock, or its hold on a session, before failing.

    Raises:
        ConfigurationError: The folder does not exist, the tenant id is invalid, or the file was written by a
            newer schema.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_LEDGER_PATH,
        *,
        tenant: str = DEFAULT_TENANT,
        timeout: float = 30.0,
        _shared: _Connection | None = None,
    ) -> None:
        self.tenant = check_tenant(tenant)
        self.path = Path(path) if str(path) != ":memory:" else None
        if _shared is not None:
            self._shared = _shared
            return
        if self.path is not None and not self.path.parent.is_dir():
            raise ConfigurationError(f"ledger folder {str(self.path.parent)!r} does not exist")
        # isolation_level=None: the module must not open transactions behind our back; transaction() does.
        conn = sqlite3.connect(
            ":memory:" if self.path is None else str(self.path),
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        self._shared = _Connection(conn, _session_locks_for(self.path, timeout))
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self._migrate()
        except BaseException:
            conn.close()
            raise

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._shared.conn

    @property
    def _lock(self) -> threading.RLock:
        return self._shared.lock

    def bind(self, tenant: str) -> SQLiteLedger:
        """A handle on the same file (and connection) bound to ``tenant``; the connection closes with the last."""
        bound = SQLiteLedger(self.path or ":memory:", tenant=tenant, _shared=self._shared)
        with self._lock:
            self._shared.handles += 1
        return bound

    def session_lock(self, session_id: str) -> AbstractContextManager[None]:
        """Hold one session exclusively, across the threads and processes that share the file (re-entrant).

        Every handle on the same file in this process shares the locks; processes take turns through a lock file
        per session in ``<ledger>.locks/`` (see :mod:`lms_connectors.store.file_locks`), released by the
        operating system when a holder dies. Workers on several hosts need the PostgreSQL ledger.

        Raises:
            LedgerUnavailable: Another process held the session for longer than the ledger's ``timeout``.
        """
        return self._shared.session_locks.hold(self.tenant, session_id)

    def _migrate(self) -> None:
        with self.transaction():
            self._conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = 0 if row[0] is None else int(row[0])
            for migration in pending_migrations(current, MIGRATIONS, str(self.path)):
                for statement in migration.statements:
                    self._conn.execute(statement)
                self._conn.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.version,))

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
        shared = self._shared
        with self._lock:
            depth = shared.depth
            savepoint = f"ledger_sp{depth}"
            self._conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
            shared.depth += 1
            try:
                yield
            except BaseException:
                shared.depth = depth
                if depth == 0:
                    self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO {savepoint}")
                    self._conn.execute(f"RELEASE {savepoint}")
                raise
            shared.depth = depth
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
        """Release this handle; the connection closes with the last handle on it."""
        with self._lock:
            self._shared.handles -= 1
            if self._shared.handles <= 0:
                self._conn.close()

    def _one(self, sql: str, params: tuple[object, ...]) -> str | None:
        with self._lock:
            row = self._conn.execute(sql, (self.tenant, *params)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def _all(self, sql: str, params: tuple[object, ...]) -> list[str]:
        with self._lock:
            rows = self._conn.execute(sql, (self.tenant, *params)).fetchall()
        return [str(row[0]) for row in rows]

    def _run(self, sql: str, params: tuple[object, ...]) -> None:
        # The tenant is always the first parameter, so that no statement can leave it out.
        self._conn.execute(sql, (self.tenant, *params))

    # sessions
    def save_session(self, session: Session) -> None:
        """Insert or replace a session by its id (a replaced session keeps its place in the order)."""
        with self.transaction():
            self._run(
                "INSERT INTO sessions (tenant_id, id, data) VALUES (?, ?, ?) "
                "ON CONFLICT (tenant_id, id) DO UPDATE SET data = excluded.data",
                (session.id, session.model_dump_json()),
            )

    def get_session(self, session_id: str) -> Session | None:
        """The session with this id, or ``None``."""
        raw = self._one("SELECT data FROM sessions WHERE tenant_id = ? AND id = ?", (session_id,))
        return None if raw is None else session_from_json(raw)

    def list_sessions(self) -> list[Session]:
        """Every session, in insertion order, all in memory at once (see :meth:`iter_sessions`)."""
        raws = self._all("SELECT data FROM sessions WHERE tenant_id = ? ORDER BY seq", ())
        return [Session.model_validate_json(raw) for raw in raws]

    def iter_sessions(self, page_size: int = 500) -> Iterator[Session]:
        """Every session, in insertion order, one page of ``page_size`` rows per query (flat memory)."""
        after = 0
        while True:
            with self._lock:  # held per page, never while the caller works on a session
                rows = self._conn.execute(
                    "SELECT seq, data FROM sessions WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (self.tenant, after, max(1, page_size)),
                ).fetchall()
            for seq, raw in rows:
                after = int(seq)
                yield Session.model_validate_json(raw)
            if len(rows) < max(1, page_size):
                return

    def iter_bookings(self) -> Iterator[Booking]:
        """A :class:`Booking` of every scheduled session, selected by SQLite's JSON functions (no session built).

        One page of rows per query, keyset on ``seq``.
        """
        after = 0
        while True:
            with self._lock:
                rows = self._conn.execute(_BOOKINGS, (self.tenant, after, _BOOKING_PAGE)).fetchall()
            for seq, session_id, status, start, end, first, second, many, email, provider, room_id in rows:
                after = int(seq)
                if status != SessionStatus.SCHEDULED:
                    continue
                if many is None:
                    instructors: tuple[str, ...] = (first, second) if second else (first,) if first else ()
                else:
                    instructors = tuple(person["email"] for person in json.loads(many))
                yield Booking.from_row(session_id, start, end, instructors, (email, provider, room_id))
            if len(rows) < _BOOKING_PAGE:
                return

    def count_sessions(self) -> int:
        """How many sessions the ledger holds (one COUNT)."""
        count = self._one("SELECT COUNT(*) FROM sessions WHERE tenant_id = ?", ())
        return 0 if count is None else int(count)

    # provider refs
    def put_ref(self, session_id: str, ref: ProviderRef) -> None:
        """Insert or replace the ref of ``ref.provider`` for this session."""
        with self.transaction():
            self._run(
                "INSERT INTO refs (tenant_id, session_id, provider, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, session_id, provider) DO UPDATE SET data = excluded.data",
                (session_id, ref.provider, ref.model_dump_json()),
            )

    def get_ref(self, session_id: str, provider: str) -> ProviderRef | None:
        """The session's ref in ``provider``, or ``None``."""
        raw = self._one(
            "SELECT data FROM refs WHERE tenant_id = ? AND session_id = ? AND provider = ?", (session_id, provider)
        )
        return None if raw is None else ProviderRef.model_validate_json(raw)

    def list_refs(self, session_id: str) -> list[ProviderRef]:
        """Every ref of the session, in insertion order."""
        raws = self._all("SELECT data FROM refs WHERE tenant_id = ? AND session_id = ? ORDER BY seq", (session_id,))
        return [ProviderRef.model_validate_json(raw) for raw in raws]

    def delete_ref(self, session_id: str, provider: str) -> None:
        """Forget the session's ref in ``provider`` (no error if absent)."""
        with self.transaction():
            self._run(
                "DELETE FROM refs WHERE tenant_id = ? AND session_id = ? AND provider = ?", (session_id, provider)
            )

    # idempotency keys
    def current_key(self, session_id: str, provider: str) -> KeyRecord:
        """The live key of the session's create in ``provider``, minting one when there is none.

        See :meth:`LedgerStore.current_key`. Reading and minting happen in one write transaction, so two
        processes asking at once get the same key.
        """
        with self.transaction():
            raw = self._one(
                "SELECT data FROM idempotency_keys WHERE tenant_id = ? AND session_id = ? AND provider = ? "
                "ORDER BY generation DESC LIMIT 1",
                (session_id, provider),
            )
            latest = None if raw is None else KeyRecord.model_validate_json(raw)
            minted = key_to_mint(session_id, provider, latest)
            if minted is None:
                assert latest is not None  # key_to_mint only reuses an existing record
                return latest
            self._run(
                "INSERT INTO idempotency_keys (tenant_id, session_id, provider, generation, key, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
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
                "SELECT data FROM idempotency_keys "
                "WHERE tenant_id = ? AND session_id = ? AND provider = ? AND generation = ?",
                (session_id, provider, generation),
            )
            if raw is None:
                raise KeyError(f"no idempotency key g{generation} for session {session_id!r} in {provider!r}")
            record = KeyRecord.model_validate_json(raw)
            updated = record.model_copy(update={"state": state, "updated_at": utc_now()})
            self._conn.execute(
                "UPDATE idempotency_keys SET data = ? "
                "WHERE tenant_id = ? AND session_id = ? AND provider = ? AND generation = ?",
                (updated.model_dump_json(), self.tenant, session_id, provider, generation),
            )

    def list_keys(self, session_id: str) -> list[KeyRecord]:
        """Every key of the session, all generations, by provider then generation."""
        raws = self._all(
            "SELECT data FROM idempotency_keys WHERE tenant_id = ? AND session_id = ? ORDER BY provider, generation",
            (session_id,),
        )
        return [KeyRecord.model_validate_json(raw) for raw in raws]

    # enrolments
    def upsert_enrollment(self, enrollment: Enrollment) -> None:
        """Insert or replace the enrolment of ``enrollment.person.email`` in its session."""
        with self.transaction():
            self._run(
                "INSERT INTO enrollments (tenant_id, session_id, email, position, status, uncertain, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, session_id, email) DO UPDATE SET "
                "position = excluded.position, status = excluded.status, uncertain = excluded.uncertain, "
                "data = excluded.data",
                (
                    enrollment.session_id,
                    enrollment.person.email,
                    enrollment.position,
                    enrollment.status.value,
                    int(bool(enrollment.uncertain_at)),
                    enrollment.model_dump_json(),
                ),
            )

    def get_enrollment(self, session_id: str, email: str) -> Enrollment | None:
        """The enrolment of that email (compared in lower case) in that session, or ``None``."""
        raw = self._one(
            "SELECT data FROM enrollments WHERE tenant_id = ? AND session_id = ? AND email = ?",
            (session_id, email.strip().lower()),
        )
        return None if raw is None else Enrollment.model_validate_json(raw)

    def list_enrollments(self, session_id: str, status: EnrollmentStatus | None = None) -> list[Enrollment]:
        """Enrolments of the session (optionally of one status), ordered by position, then arrival."""
        if status is None:
            raws = self._all(
                "SELECT data FROM enrollments WHERE tenant_id = ? AND session_id = ? ORDER BY position, seq",
                (session_id,),
            )
        else:
            raws = self._all(
                "SELECT data FROM enrollments WHERE tenant_id = ? AND session_id = ? AND status = ? "
                "ORDER BY position, seq",
                (session_id, status.value),
            )
        return [Enrollment.model_validate_json(raw) for raw in raws]

    def count_enrollments(self, session_id: str, status: EnrollmentStatus) -> int:
        """How many enrolments of the session have ``status`` (one COUNT, no row read into a model)."""
        count = self._one(
            "SELECT COUNT(*) FROM enrollments WHERE tenant_id = ? AND session_id = ? AND status = ?",
            (session_id, status.value),
        )
        return 0 if count is None else int(count)

    def first_enrollments(self, session_id: str, status: EnrollmentStatus, limit: int) -> list[Enrollment]:
        """The first ``limit`` enrolments of that status, ordered by position, then arrival."""
        raws = self._all(
            "SELECT data FROM enrollments WHERE tenant_id = ? AND session_id = ? AND status = ? "
            "ORDER BY position, seq LIMIT ?",
            (session_id, status.value, max(0, limit)),
        )
        return [Enrollment.model_validate_json(raw) for raw in raws]

    def list_uncertain_enrollments(self, session_id: str) -> list[Enrollment]:
        """Enrolments with a roster write still uncertain somewhere (only those rows are read into models)."""
        raws = self._all(
            "SELECT data FROM enrollments WHERE tenant_id = ? AND session_id = ? AND uncertain = 1 "
            "ORDER BY position, seq",
            (session_id,),
        )
        return [Enrollment.model_validate_json(raw) for raw in raws]

    def next_position(self, session_id: str) -> int:
        """One more than the largest position in the session (cancelled enrolments included), 0 first."""
        largest = self._one(
            "SELECT MAX(position) FROM enrollments WHERE tenant_id = ? AND session_id = ?", (session_id,)
        )
        return 0 if largest is None else int(largest) + 1

    # change-feed cursors
    def get_cursor(self, feed: str, scope: str) -> str | None:
        """Where ``feed`` last stopped for ``scope``, or ``None``."""
        return self._one(
            "SELECT cursor FROM feed_cursors WHERE tenant_id = ? AND feed = ? AND scope = ?", (feed, scope)
        )

    def put_cursor(self, feed: str, scope: str, cursor: str) -> None:
        """Keep ``cursor`` as where ``feed`` stopped for ``scope``."""
        with self.transaction():
            self._run(
                "INSERT INTO feed_cursors (tenant_id, feed, scope, cursor, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, feed, scope) DO UPDATE SET cursor = excluded.cursor, "
                "updated_at = excluded.updated_at",
                (feed, scope, cursor, utc_now().isoformat()),
            )

    def delete_cursor(self, feed: str, scope: str) -> None:
        """Forget ``feed``'s cursor for ``scope`` (no error if there is none)."""
        with self.transaction():
            self._run("DELETE FROM feed_cursors WHERE tenant_id = ? AND feed = ? AND scope = ?", (feed, scope))

    # audit
    def append_audit(self, entry: AuditEntry) -> None:
        """Append to the audit log."""
        with self.transaction():
            self._run(
                "INSERT INTO audit (tenant_id, session_id, data) VALUES (?, ?, ?)",
                (entry.session_id, entry.model_dump_json()),
            )

    def iter_audit(self, session_id: str | None = None) -> Iterator[AuditEntry]:
        """The audit log in order of appending, optionally of one session."""
        if session_id is None:
            raws = self._all("SELECT data FROM audit WHERE tenant_id = ? ORDER BY seq", ())
        else:
            raws = self._all(
                "SELECT data FROM audit WHERE tenant_id = ? AND session_id = ? ORDER BY seq", (session_id,)
            )
        return (AuditEntry.model_validate_json(raw) for raw in raws)
