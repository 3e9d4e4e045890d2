"""Session locks across the processes that share one SQLite ledger file.

Workers of one host often share a SQLite ledger (the chaos run's, a cron job next to a web app). Two of them
working on the same session at once would both decide from the same ledger rows: both send the create, both push
the same learner, or seat two learners in the last seat. :class:`FileSessionLocks` makes them take turns, as the
PostgreSQL ledger's advisory locks do across hosts: an exclusive ``fcntl`` lock on one small file per session, in
the folder ``<ledger>.locks/`` next to the ledger, held for the whole operation (provider calls included). The
operating system releases it when the holder's process ends, killed or not, so a dead worker never leaves a
session locked. Lock files are left in place: removing one while another process waits on it would let a third
process lock a new file of the same name.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lms_connectors.errors import LedgerUnavailable
from lms_connectors.store.base import SessionLocks

__all__ = ["FileSessionLocks", "lock_folder_for"]

_POLL_SECONDS = 0.02


def lock_folder_for(ledger_path: Path) -> Path:
    """The folder of the session lock files of the ledger at ``ledger_path``: ``<ledger file>.locks``."""
    return ledger_path.with_name(ledger_path.name + ".locks")


class FileSessionLocks(SessionLocks):
    """Re-entrant per-session locks held across processes (threads of one process take turns first).

    Args:
        folder: Where the lock files are (created when missing).
        timeout: Seconds to wait for another process's hold on the session before giving up.
    """

    def __init__(self, folder: Path, *, timeout: float) -> None:
        super().__init__()
        self.folder = folder
        self.timeout = timeout
        self._held: dict[tuple[str, str], tuple[int, int]] = {}  # (tenant, session) -> (descriptor, depth)

    @contextmanager
    def hold(self, tenant: str, session_id: str) -> Iterator[None]:
        """Hold one tenant's session against this process's other threads and every other process.

        Raises:
            LedgerUnavailable: Another process held the session for longer than ``timeout`` seconds.
        """
        key = (tenant, session_id)
        with super().hold(tenant, session_id):  # one thread of this process at a time, re-entrant
            descriptor, depth = self._held.get(key, (-1, 0))
            if depth == 0:
                descriptor = self._acquire(tenant, session_id)
            self._held[key] = (descriptor, depth + 1)
            try:
                yield
            finally:
                if depth == 0:
                    del self._held[key]
                    fcntl.flock(descriptor, fcntl.LOCK_UN)
                    os.close(descriptor)
                else:
                    self._held[key] = (descriptor, depth)

    def _acquire(self, tenant: str, session_id: str) -> int:
        # A digest names the file: session ids may hold any character, and tenants must not share files.
        name = hashlib.sha256(f"{tenant}\0{session_id}".encode()).hexdigest()[:40] + ".lock"
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.folder / name, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return descriptor
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(descriptor)
                    raise LedgerUnavailable(
                        f"session {session_id!r} stayed locked by another process for {self.timeout:g} s"
                    ) from None
                time.sleep(_POLL_SECONDS)
