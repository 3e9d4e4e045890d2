"""Where access tokens are kept, so that several workers of one OAuth client share one token.

Some providers keep one live token per client (Zoom's Server-to-Server OAuth; Microsoft's and Canvas's tokens are
cheap to share too): workers that each mint their own token for the same client can invalidate each other's
tokens; then every worker keeps answering 401 by minting yet another. A shared cache stops that: a worker takes
the cache's lock, reuses the token found there if it is still good (or newer than the one that was refused),
and mints only when nobody else has.

:class:`TokenCache` is the protocol; :class:`MemoryTokenCache` shares a token between adapters of one process,
:class:`FileTokenCache` between processes of one host (a JSON file guarded by an ``fcntl`` lock). A Redis or
database cache for several hosts implements the same three methods.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["CachedToken", "FileTokenCache", "MemoryTokenCache", "TokenCache"]


@dataclass(frozen=True)
class CachedToken:
    """An access token and when it expires.

    Attributes:
        access_token: The bearer token.
        expires_at: Expiry as Unix time (seconds; wall clock, comparable across processes).
    """

    access_token: str
    expires_at: float


class TokenCache(Protocol):
    """A token store shared by the workers of one app, keyed by app (account and client id)."""

    def lock(self) -> AbstractContextManager[None]:
        """Hold the cache exclusively while reading, minting and storing (one minter at a time)."""
        ...

    def load(self, key: str) -> CachedToken | None:
        """The token stored for ``key``, or None."""
        ...

    def store(self, key: str, token: CachedToken) -> None:
        """Keep ``token`` for ``key``, replacing the previous one."""
        ...


class MemoryTokenCache:
    """A cache in this process's memory (shared by the adapters that are given the same instance)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tokens: dict[str, CachedToken] = {}

    def lock(self) -> AbstractContextManager[None]:
        """Hold the cache exclusively."""
        return self._hold()

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        with self._lock:
            yield

    def load(self, key: str) -> CachedToken | None:
        """The token stored for ``key``, or None."""
        with self._lock:
            return self._tokens.get(key)

    def store(self, key: str, token: CachedToken) -> None:
        """Keep ``token`` for ``key``."""
        with self._lock:
            self._tokens[key] = token


class FileTokenCache:
    """A JSON file shared by the processes of one host, guarded by an ``fcntl`` lock on a sibling file.

    The file holds live access tokens: it is created readable by its owner only (mode 0600). Writes replace the
    file atomically, so a reader never sees half a file even without the lock.

    Args:
        path: The cache file; ``<path>.lock`` is the lock file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        # flock is per open file: threads of this process also serialise through their own descriptors, but the
        # thread lock keeps one process from contending with itself on the file.
        self._thread_lock = threading.RLock()

    def lock(self) -> AbstractContextManager[None]:
        """Hold the cache exclusively, across processes."""
        return self._hold()

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        with self._thread_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def _read_all(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}  # no cache yet, or a damaged one: minting a new token repairs it
        return data if isinstance(data, dict) else {}

    def load(self, key: str) -> CachedToken | None:
        """The token stored for ``key``, or None."""
        entry = self._read_all().get(key)
        if not isinstance(entry, dict):
            return None
        token, expires_at = entry.get("access_token"), entry.get("expires_at")
        if not isinstance(token, str) or not isinstance(expires_at, int | float):
            return None
        return CachedToken(access_token=token, expires_at=float(expires_at))

    def store(self, key: str, token: CachedToken) -> None:
        """Keep ``token`` for ``key`` (atomic replace of the file)."""
        data = self._read_all()
        data[key] = {"access_token": token.access_token, "expires_at": token.expires_at}
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temporary, self.path)
