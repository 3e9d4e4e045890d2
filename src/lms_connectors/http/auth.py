"""How a request gets its credentials.

An :class:`Auth` adds credentials to a prepared request. The transport calls :meth:`Auth.apply` before every
attempt, and :meth:`Auth.refresh` at most once per call when the provider answers with an
:class:`~lms_connectors.errors.AuthError` (the token expired early, or was revoked).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

import requests

from lms_connectors.errors import AuthError

__all__ = ["Auth", "BearerTokenAuth", "StaticTokenAuth"]


class Auth(ABC):
    """Credentials for one provider account."""

    @abstractmethod
    def apply(self, request: requests.PreparedRequest) -> None:
        """Add the credentials to a request about to be sent (usually a header).

        Args:
            request: The prepared request; modified in place.
        """

    @property
    def can_refresh(self) -> bool:
        """Whether :meth:`refresh` can obtain new credentials (False for a fixed token)."""
        return False

    def refresh(self) -> None:
        """Obtain new credentials now, e.g. after the provider refused the current ones.

        Raises:
            AuthError: These credentials cannot be refreshed, or the refresh was refused.
        """
        raise AuthError(f"{type(self).__name__} cannot refresh its credentials")

    @abstractmethod
    def secrets(self) -> list[str]:
        """Return the secret values in use, so that they are redacted from logs and errors."""


class StaticTokenAuth(Auth):
    """A fixed bearer token (a personal access token, an admin-issued service token).

    Args:
        token: The token, sent as ``Authorization: Bearer <token>``.
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def apply(self, request: requests.PreparedRequest) -> None:
        """Set ``Authorization: Bearer <token>``."""
        request.headers["Authorization"] = f"Bearer {self._token}"

    def secrets(self) -> list[str]:
        """Return the token."""
        return [self._token]


class BearerTokenAuth(Auth):
    """A bearer token obtained on demand and cached until shortly before it expires.

    ``fetch_token`` is called lazily (at the first request), again when the cached token is within
    ``early_refresh_seconds`` of its expiry, and whenever :meth:`refresh` is called. A lock makes sure that
    threads sharing one instance do not fetch a token each.

    Args:
        fetch_token: Returns ``(access_token, expires_in_seconds)``; ``expires_in`` None means "no known
            expiry" (the token is kept until :meth:`invalidate` or :meth:`refresh`).
        clock: Wall or monotonic clock in seconds (injected by tests).
        early_refresh_seconds: How long before the announced expiry a new token is fetched, so that a token
            never expires while a request is on the wire (at most half the token's lifetime).
    """

    def __init__(
        self,
        fetch_token: Callable[[], tuple[str, float | None]],
        *,
        clock: Callable[[], float] = time.time,
        early_refresh_seconds: float = 60,
    ) -> None:
        self._fetch_token = fetch_token
        self._clock = clock
        self._early_refresh_seconds = early_refresh_seconds
        # Re-entrant: secrets() may be read (by the cassette scrubber) while fetch_token() runs.
        self._lock = threading.RLock()
        self._token: str | None = None
        self._valid_until: float | None = None
        # Tokens handed out earlier stay redacted: a log line may be written after a refresh.
        self._issued: list[str] = []

    @property
    def can_refresh(self) -> bool:
        """Always True: a new token can be fetched."""
        return True

    def apply(self, request: requests.PreparedRequest) -> None:
        """Set ``Authorization: Bearer <token>``, fetching a token first if none is cached or it is about to expire."""
        request.headers["Authorization"] = f"Bearer {self.token()}"

    def token(self) -> str:
        """Return a valid access token, fetching one when needed."""
        with self._lock:
            if self._token is None or (self._valid_until is not None and self._clock() >= self._valid_until):
                self._fetch_locked()
            assert self._token is not None  # set by _fetch_locked
            return self._token

    def refresh(self) -> None:
        """Fetch a new token now, whatever the cached one's expiry."""
        with self._lock:
            self._fetch_locked()

    def invalidate(self) -> None:
        """Drop the cached token; the next request fetches a new one."""
        with self._lock:
            self._token = None
            self._valid_until = None

    def secrets(self) -> list[str]:
        """Return every token this instance has handed out (the current one last)."""
        with self._lock:
            return list(self._issued)

    def _fetch_locked(self) -> None:
        token, expires_in = self._fetch_token()
        if not token:
            raise AuthError("the token endpoint returned an empty access token")
        fetched_at = self._clock()
        self._token = token
        if expires_in is None:
            self._valid_until = None
        else:
            # A token shorter-lived than the margin would otherwise be "expired" at once and fetched on every
            # request: renew it half-way through its life instead.
            margin = min(self._early_refresh_seconds, expires_in / 2)
            self._valid_until = fetched_at + expires_in - margin
        if token not in self._issued:
            self._issued.append(token)
            del self._issued[:-16]  # bounded: a long-running process refreshes many times
