"""The ledger: what the SDK made where. Pick an implementation with :func:`open_ledger`."""

from __future__ import annotations

from pathlib import Path

from lms_connectors.errors import ConfigurationError
from lms_connectors.store.base import AuditEntry, KeyRecord, KeyState, LedgerStore

__all__ = ["AuditEntry", "KeyRecord", "KeyState", "LedgerStore", "open_ledger"]

MEMORY_URL = "memory:"


def open_ledger(url_or_path: str | Path | None = None) -> LedgerStore:
    """Open the ledger named by a URL or a file path.

    Args:
        url_or_path: ``"memory:"`` for an in-process ledger that is lost at exit; ``"sqlite:///<path>"``
            (SQLAlchemy style: ``sqlite:////abs/path`` for an absolute path) or a plain file path for a SQLite
            ledger; ``None`` for the SQLite file in the working directory
            (:data:`~lms_connectors.store.sqlite.DEFAULT_LEDGER_PATH`).

    Returns:
        An open ledger; close it with :meth:`LedgerStore.close` when done.

    Raises:
        ConfigurationError: The URL names a backend this version does not ship, or the file's folder is missing.
    """
    # Implementations are imported on demand so that ``import lms_connectors.store`` stays light.
    if url_or_path is not None and str(url_or_path) == MEMORY_URL:
        from lms_connectors.store.memory import MemoryLedger

        return MemoryLedger()

    from lms_connectors.store.sqlite import DEFAULT_LEDGER_PATH, SQLiteLedger

    if url_or_path is None:
        return SQLiteLedger(DEFAULT_LEDGER_PATH)
    target = str(url_or_path)
    if target.startswith("sqlite:///"):
        return SQLiteLedger(target.removeprefix("sqlite:///"))
    if "://" in target:
        scheme = target.split("://", 1)[0]
        raise ConfigurationError(
            f"unsupported ledger URL scheme {scheme!r}: use 'memory:', 'sqlite:///<path>' or a file path"
        )
    return SQLiteLedger(target)
