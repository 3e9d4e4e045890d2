"""LibreBooking's session tokens as an :class:`~lms_connectors.http.auth.Auth` of the core.

``POST /Authentication/Authenticate`` with the account's name and password returns a session token and the
account's user id; every secure call sends both (``X-Booked-SessionToken`` and ``X-Booked-UserId``). The session
slides: each successful call moves its expiry to 30 minutes later, but the new expiry is never sent back. So this
auth signs in lazily, signs in again before a token idle for longer than the session lasts is used, and the
transport re-authenticates once when LibreBooking answers 401 anyway (the site's timeout was shorter, or the
session was signed out). :meth:`SessionTokenAuth.sign_out` ends the session (the adapter's ``close()``).

A refused sign-in is **HTTP 200** with ``isAuthenticated: false``: it is read from the body, not the status.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lms_connectors.errors import AuthError, ConnectorError, MalformedResponse
from lms_connectors.http.auth import Auth
from lms_connectors.http.classify import json_body
from lms_connectors.http.transport import HttpTransport

if TYPE_CHECKING:
    import requests

__all__ = ["SessionTokenAuth", "TOKEN_HEADER", "USER_HEADER"]

TOKEN_HEADER = "X-Booked-SessionToken"  # noqa: S105 - a header name, not a secret
USER_HEADER = "X-Booked-UserId"


class SessionTokenAuth(Auth):
    """Sign in with a user name and password; send the session token and user id with every call.

    Args:
        transport: The transport of the ``Authentication`` routes (no auth of its own), base URL
            ``<api>/Authentication``.
        username: The account's login name or e-mail address.
        password: Its password.
        session_seconds: How long an unused session lives on the site (its ``inactivity.timeout``).
        margin_seconds: A token idle for longer than ``session_seconds - margin_seconds`` is replaced before use,
            so that it never expires on the wire.
        clock: Monotonic clock in seconds (injected by tests).
    """

    def __init__(
        self,
        transport: HttpTransport,
        *,
        username: str,
        password: str,
        session_seconds: float = 1800.0,
        margin_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self._username = username
        self._password = password
        self._idle_limit = max(session_seconds - margin_seconds, session_seconds / 2)
        self._clock = clock
        self._lock = threading.RLock()
        self._token: str | None = None
        self._user_id: str | None = None
        self._last_used = 0.0
        self._issued: list[str] = []
        self.sign_ins = 0
        """How many sessions this auth opened (tests and ``doctor`` read it)."""

    @property
    def can_refresh(self) -> bool:
        """Always True: a new session can be opened with the password."""
        return True

    @property
    def user_id(self) -> str:
        """The account's LibreBooking user id (signs in first when needed)."""
        with self._lock:
            self._ensure_locked()
            assert self._user_id is not None
            return self._user_id

    def apply(self, request: requests.PreparedRequest) -> None:
        """Set the session headers, signing in first when there is no session or it has been idle too long."""
        with self._lock:
            self._ensure_locked()
            assert self._token is not None
            assert self._user_id is not None
            request.headers[TOKEN_HEADER] = self._token
            request.headers[USER_HEADER] = self._user_id
            self._last_used = self._clock()  # LibreBooking slides the session's expiry on every call

    def refresh(self) -> None:
        """Open a new session now (the site refused the current token)."""
        with self._lock:
            self._sign_in_locked()

    def invalidate(self, replacement: str | None = None) -> None:
        """Forget the session: the next call signs in again, or is sent with ``replacement`` as its token.

        Args:
            replacement: A token to send until the site refuses it (tests send a stale one to see the 401 path).
        """
        with self._lock:
            self._token = replacement
            if replacement is None:
                self._user_id = None
            self._last_used = self._clock()

    def use_password(self, password: str) -> None:
        """Sign in with another password from the next sign-in on (the account's password was changed)."""
        with self._lock:
            self._password = password

    def end_at_site(self) -> None:
        """Sign the session out at the site but keep sending its token, as when the site expired it.

        The next call is answered 401 and the transport signs in again: what a session LibreBooking expired while
        the adapter was idle looks like (tests and the contract kit use it).
        """
        with self._lock:
            token, user_id = self._token, self._user_id
        if token is not None and user_id is not None:
            self.transport.request("POST", "SignOut", json={"userId": user_id, "sessionToken": token}, idempotent=True)

    def sign_out(self) -> None:
        """End the session at the site (``POST /Authentication/SignOut``); best effort, the session is forgotten."""
        with self._lock:
            token, user_id = self._token, self._user_id
            self._token = None
            self._user_id = None
        if token is None or user_id is None:
            return
        # The session ends by itself after its timeout: closing must not fail because signing out did.
        with contextlib.suppress(ConnectorError):
            self.transport.request("POST", "SignOut", json={"userId": user_id, "sessionToken": token}, idempotent=True)

    def secrets(self) -> list[str]:
        """The password and every token handed out (so that logs and cassettes never show them)."""
        with self._lock:
            return [self._password, *self._issued]

    def _ensure_locked(self) -> None:
        if self._token is None or self._user_id is None or self._clock() - self._last_used > self._idle_limit:
            self._sign_in_locked()

    def _sign_in_locked(self) -> None:
        response = self.transport.request(
            "POST",
            "Authenticate",
            json={"username": self._username, "password": self._password},
            idempotent=True,  # a second sign-in only opens a second session
        )
        payload = json_body(response, self.secrets())
        if not isinstance(payload, dict):
            raise MalformedResponse("LibreBooking's Authenticate answer is not an object", provider="librebooking")
        if payload.get("isAuthenticated") is not True:
            message = payload.get("message") or "Authenticate answered isAuthenticated: false"
            raise AuthError(f"LibreBooking refused the sign-in of {self._username!r}: {message}",
                            provider="librebooking", status=response.status_code)
        token, user_id = payload.get("sessionToken"), payload.get("userId")
        if not isinstance(token, str) or not token or user_id in (None, ""):
            raise MalformedResponse("LibreBooking's Authenticate answer has no sessionToken or userId",
                                    provider="librebooking")
        self._token = token
        self._user_id = str(user_id)
        self._last_used = self._clock()
        self.sign_ins += 1
        if token not in self._issued:
            self._issued.append(token)
            del self._issued[:-16]
