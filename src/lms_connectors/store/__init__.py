"""The ledger: what the SDK made where. Pick an implementation with :func:`open_ledger`."""

from __future__ import annotations

from pathlib import Path

from lms_connectors.errors import ConfigurationError
from lms_connectors.store.base import DEFAULT_TENANT, AuditEntry, KeyRecord, KeyState, LedgerStore

__all__ = ["DEFAULT_TENANT", "AuditEntry", "KeyRecord", "KeyState", "LedgerStore", "open_ledger"]

MEMORY_URL = "memory:"


def open_ledger(url_or_path: str | Path | None = None, *, tenant: str = DEFAULT_TENANT) -> LedgerStore:
    """Open the ledger named by a URL or a file path.

    Args:
        url_or_path: ``"memory:"`` for an in-process ledger that is lost at exit; ``"sqlite:///<path>"``
            (SQLAlchemy style: ``sqlite:////abs/path`` for an absolute path) or a plain file path for a SQLite
            ledger; ``"postgresql://user@host/db"`` for a PostgreSQL ledger shared by several workers (needs the
            ``postgres`` extra); ``None`` for the SQLite file in the working directory
            (:data:`~lms_connectors.store.sqlite.DEFAULT_LEDGER_PATH`).
        tenant: The tenant whose rows the ledger reads and writes.

    Returns:
        An open ledger; close it with :meth:`LedgerStore.close` when done.

    Raises:
        ConfigurationError: The URL names a backend this version does not ship, the file's folder is missing, or
            the tenant id is invalid.
    """
    # Implementations are imported on demand so that ``import lms_connectors.store`` stays light.
    if url_or_path is not None and str(url_or_path) == MEMORY_URL:
        from lms_connectors.store.memory import MemoryLedger

        return MemoryLedger(tenant)
    target = "" if url_or_path is None else str(url_or_path)
    if target.startswith(("postgresql://", "postgres://")):
        from lms_connectors.store.postgres import PostgresLedger

        return PostgresLedger(target, tenant=tenant)

    from lms_connectors.store.sqlite import DEFAULT_LEDGER_PATH, SQLiteLedger

    if url_or_path is None:
        return SQLiteLedger(DEFAULT_LEDGER_PATH, tenant=tenant)
    if target.startswith("sqlite:///"):
        return SQLiteLedger(target.removeprefix("sqlite:///"), tenant=tenant)
    if "://" in target:
        scheme = target.split("://", 1)[0]
        raise ConfigurationError(
            f"unsupported ledger URL scheme {scheme!r}: use 'memory:', 'sqlite:///<path>', "
            "'postgresql://...' or a file path"
        )
    return SQLiteLedger(target, tenant=tenant)
