"""A ledger in PostgreSQL, for several worker processes or hosts and many tenants.

Install with ``pip install 'lms-connectors[postgres]'`` (psycopg 3 and psycopg_pool).

Concurrency: every method that reads or writes one session's rows first takes that session's
transaction-scoped advisory lock, so a transaction that counts a session's confirmed seats and then enrols
someone cannot interleave with another worker doing the same: the second waits, then sees the first's rows
(first come, first served in the order the lock was granted). :meth:`PostgresLedger.session_lock` holds a
second, session-scoped advisory lock for a whole operation, provider calls included; a worker that dies
releases it with its connection.

Tenants: every row carries ``tenant_id`` and every table has a forced row-level-security policy comparing it
with the ``app.tenant`` setting, which the ledger sets (transaction-local) at the start of each transaction. The
database role must therefore be neither a superuser nor ``BYPASSRLS``: the ledger refuses one by default.

Roster cost: the seats a session has filled and the last position it gave are counter rows per session and status
(``roster_counts``, moved by a trigger with every enrolment row written), and the ledger's connections plan no
sequential scan where an index serves (``enable_seqscan = off``), so an enrolment reaches its rows through indexes at
any roster length, whatever the table's statistics and however small the table was when a statement's plan was
cached. Raw SQL on :meth:`PostgresLedger.connection` is planned the same way (``SET LOCAL enable_seqscan = on`` for
a report that reads whole tables).

Connections come from a :mod:`psycopg_pool` pool; the schema is versioned like the SQLite file's
(:mod:`lms_connectors.store.migrations`), migrated under an advisory lock so that workers starting together
migrate once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, LiteralString

try:
    import psycopg
    from psycopg import sql
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the PostgreSQL ledger needs psycopg and psycopg_pool: pip install 'lms-connectors[postgres]'"
    ) from exc

from lms_connectors.errors import ConfigurationError, LedgerUnavailable
from lms_connectors.models import Enrollment, EnrollmentStatus, ProviderRef, Session, SessionStatus, utc_now
from lms_connectors.store.base import (
    DEFAULT_TENANT,
    AuditEntry,
    Booking,
    KeyRecord,
    KeyState,
    LedgerStore,
    check_tenant,
    session_from_json,
)
from lms_connectors.store.keys import key_to_mint
from lms_connectors.store.migrations import Migration, pending_migrations

__all__ = ["DEFAULT_SCHEMA", "MIGRATIONS", "SCHEMA_VERSION", "PostgresLedger"]

logger = logging.getLogger("lms_connectors.store.postgres")

DEFAULT_SCHEMA = "lms_connectors"
"""The PostgreSQL schema (namespace) the ledger's tables live in unless told otherwise."""

# Advisory lock spaces (the first key of the two-int form): one for the rows of a session within a
# transaction, one for a session held across a whole operation. They differ so that a worker holding a session
# for an operation does not block its own row transactions.
_ROWS_LOCK = 0x4C4D5301
_LEASE_LOCK = 0x4C4D5302
_MIGRATION_LOCK = 0x4C4D5300

_BOOKING_PAGE = 5_000
# The fields of a Booking, page by page (keyset on seq), straight from the stored jsonb; the instructors' emails
# joined by the unit separator, chr(31), which no email address holds.
_BOOKINGS: LiteralString = """
SELECT seq, id, data->>'status', data#>>'{slot,start}', data#>>'{slot,end}',
       (SELECT string_agg(person->>'email', chr(31)) FROM jsonb_array_elements(data->'instructors') AS person),
       data#>>'{room,email}', data#>>'{room,provider}', data#>>'{room,id}'
FROM sessions WHERE tenant_id = %s AND seq > %s ORDER BY seq LIMIT %s
"""

_TENANT_TABLES = ("sessions", "refs", "idempotency_keys", "enrollments", "audit")


def _tenant_policy(table: str) -> tuple[str, ...]:
    """Row-level security that keeps ``table``'s rows to the tenant ``app.tenant`` names."""
    return (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        # FORCE: the policy binds the tables' owner too (the role that ran the migration is usually the app's).
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} "
        "USING (tenant_id = current_setting('app.tenant', true)) "
        "WITH CHECK (tenant_id = current_setting('app.tenant', true))",
    )


_TENANT_POLICY = [statement for table in _TENANT_TABLES for statement in _tenant_policy(table)]

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "sessions, refs, idempotency keys, enrolments, audit; every row belongs to a tenant (row-level security)",
        (
            """CREATE TABLE sessions (
                seq bigserial PRIMARY KEY,
                tenant_id text NOT NULL,
                id text NOT NULL,
                data jsonb NOT NULL,
                UNIQUE (tenant_id, id)
            )""",
            """CREATE TABLE refs (
                seq bigserial PRIMARY KEY,
                tenant_id text NOT NULL,
                session_id text NOT NULL,
                provider text NOT NULL,
                data jsonb NOT NULL,
                UNIQUE (tenant_id, session_id, provider)
            )""",
            """CREATE TABLE idempotency_keys (
                tenant_id text NOT NULL,
                session_id text NOT NULL,
                provider text NOT NULL,
                generation integer NOT NULL,
                key text NOT NULL,
                data jsonb NOT NULL,
                PRIMARY KEY (tenant_id, session_id, provider, generation),
                UNIQUE (tenant_id, key)
            )""",
            """CREATE TABLE enrollments (
                seq bigserial PRIMARY KEY,
                tenant_id text NOT NULL,
                session_id text NOT NULL,
                email text NOT NULL,
                position integer NOT NULL,
                status text NOT NULL,
                data jsonb NOT NULL,
                UNIQUE (tenant_id, session_id, email)
            )""",
            "CREATE INDEX enrollments_by_position ON enrollments (tenant_id, session_id, position)",
            """CREATE TABLE audit (
                seq bigserial PRIMARY KEY,
                tenant_id text NOT NULL,
                session_id text,
                data jsonb NOT NULL
            )""",
            "CREATE INDEX audit_by_session ON audit (tenant_id, session_id, seq)",
            *_TENANT_POLICY,
        ),
    ),
    # Roster queries whose cost does not grow with the roster: seat counts and the waitlist's head through an
    # index on status, and rows with a roster write still uncertain flagged in a column under a partial index
    # (the query took every row's jsonb apart to find them).
    Migration(
        2,
        "enrolments indexed by status; uncertain rows flagged and indexed",
        (
            "ALTER TABLE enrollments ADD COLUMN uncertain boolean NOT NULL DEFAULT false",
            # Every tenant's rows are flagged: row security is lifted for the owner (who runs migrations) only
            # inside this transaction, since the migrating connection belongs to no tenant and would see none.
            "ALTER TABLE enrollments NO FORCE ROW LEVEL SECURITY",
            "UPDATE enrollments SET uncertain = true WHERE jsonb_array_length(data->'uncertain_at') > 0",
            "ALTER TABLE enrollments FORCE ROW LEVEL SECURITY",
            "CREATE INDEX enrollments_by_status ON enrollments (tenant_id, session_id, status, position, seq)",
            "CREATE INDEX enrollments_uncertain ON enrollments (tenant_id, session_id, position, seq) WHERE uncertain",
        ),
    ),
    # Where each change feed stopped (a Google sync token, a Graph delta link), per adapter and calendar.
    Migration(
        3,
        "change-feed cursors per adapter and calendar",
        (
            """CREATE TABLE feed_cursors (
                tenant_id text NOT NULL,
                feed text NOT NULL,
                scope text NOT NULL,
                cursor text NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, feed, scope)
            )""",
            *_tenant_policy("feed_cursors"),
        ),
    ),
    # Seat counts and the last position handed out, kept beside the rows (a trigger moves them with every row
    # written, raw SQL included), so that an enrolment reads a session's few counter rows instead of counting a
    # status among its rows: that count was planned from column statistics, and statistics taken while a session
    # was small (or before its waitlist formed) made the planner scan the whole roster on every enrolment until
    # the next ANALYZE.
    Migration(
        4,
        "enrolment counts and last positions per session and status, kept by a trigger",
        (
            """CREATE TABLE roster_counts (
                tenant_id text NOT NULL,
                session_id text NOT NULL,
                status text NOT NULL,
                enrollments integer NOT NULL,
                last_position integer NOT NULL,
                PRIMARY KEY (tenant_id, session_id, status)
            )""",
            # Counted over every tenant's rows, with row security lifted for the owner inside this transaction
            # only (as in step 2).
            "ALTER TABLE enrollments NO FORCE ROW LEVEL SECURITY",
            "INSERT INTO roster_counts (tenant_id, session_id, status, enrollments, last_position) "
            "SELECT tenant_id, session_id, status, COUNT(*), MAX(position) FROM enrollments "
            "GROUP BY tenant_id, session_id, status",
            "ALTER TABLE enrollments FORCE ROW LEVEL SECURITY",
            *_tenant_policy("roster_counts"),
            # SECURITY INVOKER (the default): the counts are written as the writer of the row, under the same
            # row security; the search path is fixed so that a writer naming the table by schema counts too.
            """CREATE FUNCTION count_enrollment() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    UPDATE roster_counts SET enrollments = enrollments - 1
                    WHERE tenant_id = OLD.tenant_id AND session_id = OLD.session_id AND status = OLD.status;
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    INSERT INTO roster_counts AS counted (tenant_id, session_id, status, enrollments, last_position)
                    VALUES (NEW.tenant_id, NEW.session_id, NEW.status, 1, NEW.position)
                    ON CONFLICT (tenant_id, session_id, status) DO UPDATE
                    SET enrollments = counted.enrollments + 1,
                        last_position = GREATEST(counted.last_position, excluded.last_position);
                END IF;
                RETURN NULL;
            END
            $$""",
            "CREATE TRIGGER enrollments_counted AFTER INSERT OR DELETE ON enrollments "
            "FOR EACH ROW EXECUTE FUNCTION count_enrollment()",
            # A row rewritten in place (a mark, a registration) moves no count and costs no trigger call.
            "CREATE TRIGGER enrollments_recounted AFTER UPDATE ON enrollments FOR EACH ROW "
            "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.position IS DISTINCT FROM NEW.position "
            "OR OLD.session_id IS DISTINCT FROM NEW.session_id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id) "
            "EXECUTE FUNCTION count_enrollment()",
        ),
    ),
    # Indexes that cannot stand in for the (session, email) key. Before a table's first ANALYZE, the planner
    # rates every index that starts with (tenant_id, session_id) as finding one row, so an enrolment's look-up by
    # email went through the status or the position index and read every row of the session (the order of the
    # indexes broke the tie). With the status after the tenant, only the key index matches the look-up's first
    # two columns; the position index served MAX(position), which roster_counts now answers.
    Migration(
        5,
        "enrolments by tenant, status, session (the key index alone serves a look-up by email); no position index",
        (
            "CREATE INDEX enrollments_by_status_first ON enrollments (tenant_id, status, session_id, position, seq)",
            "DROP INDEX enrollments_by_status",
            "DROP INDEX enrollments_by_position",
        ),
    ),
)
"""The PostgreSQL schema's steps; a database is brought up to the last one when a ledger opens it."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""Version of the tables above."""


class _TxState:
    """What the thread's open transaction has done once and need not do again."""

    def __init__(self, tenant_set: bool = False, locked: set[str] | None = None) -> None:
        self.tenant_set = tenant_set
        self.locked: set[str] = set() if locked is None else locked

    def copy(self) -> _TxState:
        return _TxState(self.tenant_set, set(self.locked))


class _Pools:
    """What every handle that :meth:`PostgresLedger.bind` made shares: the pools, closed with the last handle."""

    def __init__(self, data: ConnectionPool[Any], leases: ConnectionPool[Any], schema: str) -> None:
        self.data = data
        self.leases = leases
        self.schema = schema
        self.handles = 1
        self.guard = threading.Lock()


@contextmanager
def _unavailable_as_typed() -> Iterator[None]:
    """Database outages and lock waits that ran out become :class:`LedgerUnavailable` (retry later)."""
    try:
        yield
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise LedgerUnavailable(f"ledger database: {type(exc).__name__}: {exc}") from exc


class PostgresLedger(LedgerStore):
    """A :class:`LedgerStore` in PostgreSQL, shared by every worker that opens the same database.

    Args:
        dsn: A libpq connection string or URL (``postgresql://user@host/db``). Its role must not bypass
            row-level security unless ``require_row_security`` is False.
        tenant: The tenant whose rows this handle sees.
        schema: The PostgreSQL schema holding the tables (created if missing).
        min_size: Connections the pool keeps open.
        max_size: Connections the pool opens at most (for row transactions; leases have a pool of their own
            of the same size).
        timeout: Seconds to wait for a pooled connection, and for a session lock, before
            :class:`LedgerUnavailable`.
        migrate: Bring the schema up to date on opening (off: the schema must already be current).
        require_row_security: Refuse a role that is a superuser or has ``BYPASSRLS`` (tenants would see
            each other's rows through raw SQL).

    Raises:
        ConfigurationError: Invalid tenant or schema name, a role that bypasses row-level security, a schema
            that is newer than this version knows (or older, with ``migrate=False``).
        LedgerUnavailable: The database cannot be reached.
    """

    def __init__(
        self,
        dsn: str,
        *,
        tenant: str = DEFAULT_TENANT,
        schema: str = DEFAULT_SCHEMA,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
        migrate: bool = True,
        require_row_security: bool = True,
        _pools: _Pools | None = None,
    ) -> None:
        self.tenant = check_tenant(tenant)
        self._local = threading.local()
        if _pools is not None:
            self._pools = _pools
            return
        if not schema.isidentifier():
            raise ConfigurationError(f"invalid ledger schema name {schema!r}: use letters, digits and '_'")
        self.timeout = timeout
        search_path = sql.SQL("SET search_path TO {}").format(sql.Identifier(schema))
        lock_timeout = sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(timeout * 1000)}ms"))

        def configure(conn: psycopg.Connection[Any]) -> None:
            conn.execute(search_path)
            conn.execute(lock_timeout)
            # No plan may read a whole table where an index fits. psycopg prepares a statement after a few runs,
            # and PostgreSQL may then keep one generic plan for it: a sequential scan chosen while a table held a
            # page or two (where it is as quick as an index) stayed in use as the table grew, so an enrolment's
            # look-ups scanned the whole roster until autovacuum next analysed the table. Every statement of the
            # ledger is a keyed look-up or an ordered range that an index serves, so this costs nothing where a
            # table is small; a statement no index serves still scans. Planning every statement afresh
            # (plan_cache_mode = force_custom_plan) also avoids it, at about 0.1 ms per statement.
            conn.execute("SET enable_seqscan = off")
            if not conn.autocommit:
                conn.commit()

        data = ConnectionPool(
            dsn, min_size=min_size, max_size=max_size, timeout=timeout, configure=configure, open=False
        )
        leases = ConnectionPool(
            dsn,
            min_size=0,
            max_size=max_size,
            timeout=timeout,
            configure=configure,
            kwargs={"autocommit": True},
            open=False,
        )
        self._pools = _Pools(data, leases, schema)
        try:
            with _unavailable_as_typed():
                data.open(wait=True, timeout=timeout)
                leases.open()
            if require_row_security:
                self._refuse_bypassing_role()
            self._migrate(apply=migrate)
        except BaseException:
            data.close()
            leases.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------------------

    def _refuse_bypassing_role(self) -> None:
        with _unavailable_as_typed(), self._pools.data.connection() as conn:
            row = conn.execute(
                "SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
        if row is not None and row[1]:
            raise ConfigurationError(
                f"ledger role {row[0]!r} bypasses row-level security (superuser or BYPASSRLS), so tenants would "
                "not be kept apart: connect as an ordinary role (or pass require_row_security=False)"
            )

    def _migrate(self, *, apply: bool) -> None:
        where = f"schema {self._pools.schema!r}"
        with _unavailable_as_typed(), self._pools.data.connection() as conn, conn.transaction():
            # Workers starting together: the first migrates, the others wait and find the schema current.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            if apply:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._pools.schema)))
            exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
            current = 0
            if exists is not None and exists[0]:
                row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
                current = int(row[0]) if row is not None else 0
            pending = pending_migrations(current, MIGRATIONS, where)
            if pending and not apply:
                raise ConfigurationError(
                    f"ledger {where} is at schema version {current}, this lms-connectors needs {SCHEMA_VERSION}: "
                    "open it once with migrate=True"
                )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version integer PRIMARY KEY, description text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for migration in pending:
                for statement in migration.statements:
                    conn.execute(_trusted(statement))
                conn.execute(
                    "INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                    (migration.version, migration.description),
                )
                logger.info("ledger %s migrated to schema version %d", where, migration.version)

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        with self._tx() as conn:
            self._scope(conn)
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    @contextmanager
    def _tx(self, *, savepoint: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """The thread's transaction on this handle: joined if open (as a savepoint if asked), else begun.

        One statement joins without a savepoint: if it fails, the error propagates and the enclosing block
        rolls back, so a savepoint would only cost two more round trips.

        Every statement on the connection must follow :meth:`_scope`, which sets the tenant for the transaction
        (until then row security shows no row and refuses every write).
        """
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None:
            if savepoint:
                # A savepoint that rolls back undoes the tenant setting and releases the locks taken inside it.
                state: _TxState = self._local.state
                before = state.copy()
                try:
                    with conn.transaction():
                        yield conn
                except BaseException:
                    self._local.state = before
                    raise
            else:
                yield conn
            return
        with _unavailable_as_typed(), self._pools.data.connection() as conn:
            self._local.conn = conn
            self._local.state = _TxState()
            try:
                with conn.transaction():
                    yield conn
            finally:
                self._local.conn = None
                self._local.state = _TxState()

    def _scope(self, conn: psycopg.Connection[Any], session_id: str | None = None) -> None:
        """Before a statement: the tenant set and the session's rows locked, each once per transaction.

        The tenant setting is transaction-local, so a pooled connection never carries one tenant's setting into
        the next use. The lock is waited for, then held until the transaction ends. Both go in one round trip
        when both are due (the first statement of an operation on a session).
        """
        state: _TxState = self._local.state
        name = None if session_id is None else self._lock_name(session_id)
        lock = name is not None and name not in state.locked
        if not state.tenant_set and lock:
            conn.execute(
                "SELECT set_config('app.tenant', %s, true), pg_advisory_xact_lock(%s, hashtext(%s))",
                (self.tenant, _ROWS_LOCK, name),
            )
        elif not state.tenant_set:
            conn.execute("SELECT set_config('app.tenant', %s, true)", (self.tenant,))
        elif lock:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_ROWS_LOCK, name))
        state.tenant_set = True
        if lock and name is not None:
            state.locked.add(name)

    def _lock_name(self, session_id: str) -> str:
        # Tenant ids cannot contain '/', so the name is unambiguous.
        return f"{self.tenant}/{session_id}"

    def _one(self, query: LiteralString, params: tuple[object, ...], session_id: str | None = None) -> str | None:
        with self._tx() as conn:
            self._scope(conn, session_id)
            row = conn.execute(query, (self.tenant, *params)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def _all(self, query: LiteralString, params: tuple[object, ...], session_id: str | None = None) -> list[str]:
        with self._tx() as conn:
            self._scope(conn, session_id)
            rows = conn.execute(query, (self.tenant, *params)).fetchall()
        return [str(row[0]) for row in rows]

    def _run(self, query: LiteralString, params: tuple[object, ...], session_id: str) -> None:
        # The tenant is always the first parameter, so that no statement can leave it out.
        with self._tx() as conn:
            self._scope(conn, session_id)
            conn.execute(query, (self.tenant, *params))

    # -- handles, transactions, locks -------------------------------------------------------------------

    def bind(self, tenant: str) -> PostgresLedger:
        """A handle on the same database and pools bound to ``tenant``; the pools close with the last handle."""
        bound = PostgresLedger("", tenant=tenant, _pools=self._pools)
        with self._pools.guard:
            self._pools.handles += 1
        return bound

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group calls so that they all land or none does.

        The outermost block is one database transaction on one pooled connection (other threads use others);
        nested blocks are savepoints, so a nested block that raises undoes only its own changes. Session locks
        taken inside are held until the outermost block ends.
        """
        with self._tx(savepoint=True):
            yield

    def session_lock(self, session_id: str) -> AbstractContextManager[None]:
        """Hold one session exclusively across every process sharing the database (re-entrant per thread).

        Raises:
            LedgerUnavailable: The lock was not granted within ``timeout`` seconds, or the database is down.
        """
        return self._lease(session_id)

    @contextmanager
    def _lease(self, session_id: str) -> Iterator[None]:
        held: dict[str, int] = self._local.__dict__.setdefault("leases", {})
        if session_id in held:
            held[session_id] += 1
            try:
                yield
            finally:
                held[session_id] -= 1
            return
        name = self._lock_name(session_id)
        with _unavailable_as_typed(), self._pools.leases.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_LEASE_LOCK, name))
            held[session_id] = 1
            try:
                yield
            finally:
                del held[session_id]
                # A connection lost meanwhile released the lock with it; nothing more to undo then.
                with contextlib.suppress(psycopg.OperationalError):
                    conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_LEASE_LOCK, name))

    def close(self) -> None:
        """Release this handle; the pools close with the last handle on them."""
        with self._pools.guard:
            self._pools.handles -= 1
            last = self._pools.handles <= 0
        if last:
            self._pools.data.close()
            self._pools.leases.close()

    # -- sessions ---------------------------------------------------------------------------------------

    def save_session(self, session: Session) -> None:
        """Insert or replace a session by its id (a replaced session keeps its place in the order)."""
        self._run(
            "INSERT INTO sessions (tenant_id, id, data) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant_id, id) DO UPDATE SET data = excluded.data",
            (session.id, session.model_dump_json()),
            session.id,
        )

    def get_session(self, session_id: str) -> Session | None:
        """The session with this id, or ``None``."""
        raw = self._one("SELECT data::text FROM sessions WHERE tenant_id = %s AND id = %s", (session_id,), session_id)
        return None if raw is None else session_from_json(raw)

    def list_sessions(self) -> list[Session]:
        """Every session, in insertion order, all in memory at once (see :meth:`iter_sessions`)."""
        raws = self._all("SELECT data::text FROM sessions WHERE tenant_id = %s ORDER BY seq", ())
        return [Session.model_validate_json(raw) for raw in raws]

    def iter_sessions(self, page_size: int = 500) -> Iterator[Session]:
        """Every session, in insertion order, one page of ``page_size`` rows per query (flat memory).

        Each page is its own short transaction (keyset on ``seq``), so no connection is held while the caller
        works on a session.
        """
        after = 0
        limit = max(1, page_size)
        while True:
            with self._tx() as conn:
                self._scope(conn)
                rows = conn.execute(
                    "SELECT seq, data::text FROM sessions WHERE tenant_id = %s AND seq > %s ORDER BY seq LIMIT %s",
                    (self.tenant, after, limit),
                ).fetchall()
            for seq, raw in rows:
                after = int(seq)
                yield Session.model_validate_json(raw)
            if len(rows) < limit:
                return

    def iter_bookings(self) -> Iterator[Booking]:
        """A :class:`Booking` of every scheduled session, selected with ``jsonb`` operators (no session built).

        One page of rows per short transaction, keyset on ``seq``.
        """
        after = 0
        while True:
            with self._tx() as conn:
                self._scope(conn)  # the tenant, without which row security shows no row
                rows = conn.execute(_BOOKINGS, (self.tenant, after, _BOOKING_PAGE)).fetchall()
            for seq, session_id, status, start, end, instructors, email, provider, room_id in rows:
                after = int(seq)
                if status == SessionStatus.SCHEDULED:
                    people = tuple(instructors.split("\x1f")) if instructors else ()
                    yield Booking.from_row(session_id, start, end, people, (email, provider, room_id))
            if len(rows) < _BOOKING_PAGE:
                return

    def count_sessions(self) -> int:
        """How many sessions the ledger holds (one COUNT)."""
        count = self._one("SELECT COUNT(*) FROM sessions WHERE tenant_id = %s", ())
        return 0 if count is None else int(count)

    # -- provider refs ----------------------------------------------------------------------------------

    def put_ref(self, session_id: str, ref: ProviderRef) -> None:
        """Insert or replace the ref of ``ref.provider`` for this session."""
        self._run(
            "INSERT INTO refs (tenant_id, session_id, provider, data) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (tenant_id, session_id, provider) DO UPDATE SET data = excluded.data",
            (session_id, ref.provider, ref.model_dump_json()),
            session_id,
        )

    def get_ref(self, session_id: str, provider: str) -> ProviderRef | None:
        """The session's ref in ``provider``, or ``None``."""
        raw = self._one(
            "SELECT data::text FROM refs WHERE tenant_id = %s AND session_id = %s AND provider = %s",
            (session_id, provider),
            session_id,
        )
        return None if raw is None else ProviderRef.model_validate_json(raw)

    def list_refs(self, session_id: str) -> list[ProviderRef]:
        """Every ref of the session, in insertion order."""
        raws = self._all(
            "SELECT data::text FROM refs WHERE tenant_id = %s AND session_id = %s ORDER BY seq",
            (session_id,),
            session_id,
        )
        return [ProviderRef.model_validate_json(raw) for raw in raws]

    def delete_ref(self, session_id: str, provider: str) -> None:
        """Forget the session's ref in ``provider`` (no error if absent)."""
        self._run(
            "DELETE FROM refs WHERE tenant_id = %s AND session_id = %s AND provider = %s",
            (session_id, provider),
            session_id,
        )

    # -- idempotency keys -------------------------------------------------------------------------------

    def current_key(self, session_id: str, provider: str) -> KeyRecord:
        """The live key of the session's create in ``provider``, minting one when there is none.

        See :meth:`LedgerStore.current_key`. Reading and minting happen under the session's row lock, so two
        workers asking at once get the same key.
        """
        with self._tx() as conn:
            raw = self._one(
                "SELECT data::text FROM idempotency_keys WHERE tenant_id = %s AND session_id = %s AND provider = %s "
                "ORDER BY generation DESC LIMIT 1",
                (session_id, provider),
                session_id,
            )
            latest = None if raw is None else KeyRecord.model_validate_json(raw)
            minted = key_to_mint(session_id, provider, latest)
            if minted is None:
                assert latest is not None  # key_to_mint only reuses an existing record
                return latest
            conn.execute(
                "INSERT INTO idempotency_keys (tenant_id, session_id, provider, generation, key, data) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (self.tenant, session_id, provider, minted.generation, minted.key, minted.model_dump_json()),
            )
            return minted

    def set_key_state(self, session_id: str, provider: str, generation: int, state: KeyState) -> None:
        """Move the key of that generation to ``state``.

        Raises:
            KeyError: No key of that generation was minted.
        """
        with self._tx() as conn:
            raw = self._one(
                "SELECT data::text FROM idempotency_keys "
                "WHERE tenant_id = %s AND session_id = %s AND provider = %s AND generation = %s",
                (session_id, provider, generation),
                session_id,
            )
            if raw is None:
                raise KeyError(f"no idempotency key g{generation} for session {session_id!r} in {provider!r}")
            record = KeyRecord.model_validate_json(raw)
            updated = record.model_copy(update={"state": state, "updated_at": utc_now()})
            conn.execute(
                "UPDATE idempotency_keys SET data = %s "
                "WHERE tenant_id = %s AND session_id = %s AND provider = %s AND generation = %s",
                (updated.model_dump_json(), self.tenant, session_id, provider, generation),
            )

    def list_keys(self, session_id: str) -> list[KeyRecord]:
        """Every key of the session, all generations, by provider then generation."""
        raws = self._all(
            "SELECT data::text FROM idempotency_keys WHERE tenant_id = %s AND session_id = %s "
            "ORDER BY provider, generation",
            (session_id,),
            session_id,
        )
        return [KeyRecord.model_validate_json(raw) for raw in raws]

    # -- enrolments -------------------------------------------------------------------------------------

    def upsert_enrollment(self, enrollment: Enrollment) -> None:
        """Insert or replace the enrolment of ``enrollment.person.email`` in its session."""
        self._run(
            "INSERT INTO enrollments (tenant_id, session_id, email, position, status, uncertain, data) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (tenant_id, session_id, email) DO UPDATE SET "
            "position = excluded.position, status = excluded.status, uncertain = excluded.uncertain, "
            "data = excluded.data",
            (
                enrollment.session_id,
                enrollment.person.email,
                enrollment.position,
                enrollment.status.value,
                bool(enrollment.uncertain_at),
                enrollment.model_dump_json(),
            ),
            enrollment.session_id,
        )

    def get_enrollment(self, session_id: str, email: str) -> Enrollment | None:
        """The enrolment of that email (compared in lower case) in that session, or ``None``."""
        raw = self._one(
            "SELECT data::text FROM enrollments WHERE tenant_id = %s AND session_id = %s AND email = %s",
            (session_id, email.strip().lower()),
            session_id,
        )
        return None if raw is None else Enrollment.model_validate_json(raw)

    def list_enrollments(self, session_id: str, status: EnrollmentStatus | None = None) -> list[Enrollment]:
        """Enrolments of the session (optionally of one status), ordered by position, then arrival."""
        if status is None:
            raws = self._all(
                "SELECT data::text FROM enrollments WHERE tenant_id = %s AND session_id = %s ORDER BY position, seq",
                (session_id,),
                session_id,
            )
        else:
            raws = self._all(
                "SELECT data::text FROM enrollments WHERE tenant_id = %s AND session_id = %s AND status = %s "
                "ORDER BY position, seq",
                (session_id, status.value),
                session_id,
            )
        return [Enrollment.model_validate_json(raw) for raw in raws]

    def count_enrollments(self, session_id: str, status: EnrollmentStatus) -> int:
        """How many enrolments of the session have ``status``: one counter row, whatever the roster's length."""
        count = self._one(
            "SELECT enrollments FROM roster_counts WHERE tenant_id = %s AND session_id = %s AND status = %s",
            (session_id, status.value),
            session_id,
        )
        return 0 if count is None else int(count)

    def first_enrollments(self, session_id: str, status: EnrollmentStatus, limit: int) -> list[Enrollment]:
        """The first ``limit`` enrolments of that status, ordered by position, then arrival."""
        raws = self._all(
            "SELECT data::text FROM enrollments WHERE tenant_id = %s AND session_id = %s AND status = %s "
            "ORDER BY position, seq LIMIT %s",
            (session_id, status.value, max(0, limit)),
            session_id,
        )
        return [Enrollment.model_validate_json(raw) for raw in raws]

    def list_uncertain_enrollments(self, session_id: str) -> list[Enrollment]:
        """Enrolments with a roster write still uncertain somewhere (only those rows are read into models)."""
        raws = self._all(
            "SELECT data::text FROM enrollments WHERE tenant_id = %s AND session_id = %s "
            "AND uncertain ORDER BY position, seq",
            (session_id,),
            session_id,
        )
        return [Enrollment.model_validate_json(raw) for raw in raws]

    def seats_and_next_position(self, session_id: str) -> tuple[int, int]:
        """The confirmed enrolments and the next arrival's position, in one statement.

        Both come from the session's counter rows (one per status), not from its enrolments.
        """
        with self._tx() as conn:
            self._scope(conn, session_id)
            row = conn.execute(
                "SELECT COALESCE(SUM(enrollments) FILTER (WHERE status = %s), 0), COALESCE(MAX(last_position) + 1, 0) "
                "FROM roster_counts WHERE tenant_id = %s AND session_id = %s",
                (EnrollmentStatus.CONFIRMED.value, self.tenant, session_id),
            ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def next_position(self, session_id: str) -> int:
        """One more than the largest position given in the session (cancelled enrolments included), 0 first."""
        largest = self._one(
            "SELECT MAX(last_position) FROM roster_counts WHERE tenant_id = %s AND session_id = %s",
            (session_id,),
            session_id,
        )
        return 0 if largest is None else int(largest) + 1

    # -- change-feed cursors ----------------------------------------------------------------------------

    def get_cursor(self, feed: str, scope: str) -> str | None:
        """Where ``feed`` last stopped for ``scope``, or ``None``."""
        return self._one(
            "SELECT cursor FROM feed_cursors WHERE tenant_id = %s AND feed = %s AND scope = %s", (feed, scope)
        )

    def put_cursor(self, feed: str, scope: str, cursor: str) -> None:
        """Keep ``cursor`` as where ``feed`` stopped for ``scope``."""
        with self._tx() as conn:
            self._scope(conn)
            conn.execute(
                "INSERT INTO feed_cursors (tenant_id, feed, scope, cursor) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (tenant_id, feed, scope) DO UPDATE SET cursor = excluded.cursor, updated_at = now()",
                (self.tenant, feed, scope, cursor),
            )

    def delete_cursor(self, feed: str, scope: str) -> None:
        """Forget ``feed``'s cursor for ``scope`` (no error if there is none)."""
        with self._tx() as conn:
            self._scope(conn)
            conn.execute(
                "DELETE FROM feed_cursors WHERE tenant_id = %s AND feed = %s AND scope = %s", (self.tenant, feed, scope)
            )

    # -- audit ------------------------------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> None:
        """Append to the audit log."""
        with self._tx() as conn:
            self._scope(conn, entry.session_id)
            conn.execute(
                "INSERT INTO audit (tenant_id, session_id, data) VALUES (%s, %s, %s)",
                (self.tenant, entry.session_id, entry.model_dump_json()),
            )

    def iter_audit(self, session_id: str | None = None) -> Iterator[AuditEntry]:
        """The audit log in order of appending, optionally of one session."""
        if session_id is None:
            raws = self._all("SELECT data::text FROM audit WHERE tenant_id = %s ORDER BY seq", ())
        else:
            raws = self._all(
                "SELECT data::text FROM audit WHERE tenant_id = %s AND session_id = %s ORDER BY seq",
                (session_id,),
                session_id,
            )
        return (AuditEntry.model_validate_json(raw) for raw in raws)

    # -- raw access -------------------------------------------------------------------------------------

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The connection of this handle's current transaction (one is begun if none is open), for raw SQL.

        Raw statements run as the ledger's role with ``app.tenant`` set to this handle's tenant, so row-level
        security limits them to this tenant's rows just as it limits the ledger's own queries. They are planned
        without sequential scans where an index serves, like the ledger's (``SET LOCAL enable_seqscan = on`` for a
        report that reads whole tables).
        """
        with self._tx() as conn:
            self._scope(conn)
            yield conn


def _trusted(statement: str) -> sql.SQL:
    """A migration statement (a constant of this module) as SQL to run verbatim."""
    return sql.SQL(statement)  # type: ignore[arg-type,unused-ignore]  # constants of this module, never user input
