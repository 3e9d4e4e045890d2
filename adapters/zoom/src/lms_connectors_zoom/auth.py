"""Server-to-Server OAuth for Zoom: mint, cache and share access tokens.

``POST https://zoom.us/oauth/token?grant_type=account_credentials&account_id=<id>`` with HTTP Basic
``client_id:client_secret`` answers ``{"access_token": ..., "expires_in": 3600}``; there is no refresh token, a
new token is simply minted. :class:`ZoomTokenSource` is the ``fetch_token`` function of the core's
:class:`~lms_connectors.http.auth.BearerTokenAuth`, which caches the token in the adapter and calls the source
again shortly before expiry or once after a 401.

The source keeps the token in a :class:`~lms_connectors_zoom.token_cache.TokenCache` shared by every worker of the
app. When it is asked for a token it holds the cache's lock and:

* reuses the cached token if it is still valid and is *not* the one it handed out last (first use, or another
  worker already replaced the token that was just refused);
* otherwise (the cached token is the one that was refused or is about to expire) mints a new one and stores it.

So a 401 caused by another worker's new token costs no extra mint, and workers stop invalidating each other.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable

import requests

from lms_connectors.errors import MalformedResponse
from lms_connectors.http.auth import BearerTokenAuth
from lms_connectors.http.transport import HttpTransport, RetryPolicy
from lms_connectors_zoom.classify import token_endpoint_classifier
from lms_connectors_zoom.token_cache import CachedToken, MemoryTokenCache, TokenCache

__all__ = ["ZoomTokenSource", "zoom_bearer_auth"]

_DEFAULT_LIFETIME = 3600.0


class ZoomTokenSource:
    """Mints Zoom access tokens, shared through a token cache (the ``fetch_token`` of ``BearerTokenAuth``).

    Args:
        account_id: The Zoom account.
        client_id: The Server-to-Server OAuth app's client id.
        client_secret: Its client secret.
        token_url: The token endpoint.
        cache: Where the token is shared; a private in-memory cache by default.
        min_validity: A cached token with less than this many seconds left is not reused.
        clock: Wall clock in Unix seconds (cache entries are compared across processes).
        sleep: How the token endpoint's transport waits between retries.
        session: The ``requests.Session`` to use.
    """

    def __init__(
        self,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        token_url: str,
        cache: TokenCache | None = None,
        min_validity: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self._account_id = account_id
        self._token_url = token_url
        self._client_id = client_id
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._basic = f"Basic {basic}"
        self.cache: TokenCache = cache if cache is not None else MemoryTokenCache()
        self.cache_key = f"zoom:{account_id}:{client_id}"
        self._min_validity = min_validity
        self._clock = clock
        self._last_handed_out: str | None = None
        self._lock = threading.Lock()
        self.mints = 0
        """How many tokens this source minted (the rest came from the cache)."""
        self.transport = HttpTransport(
            provider="zoom",
            base_url=token_url,
            classifier=token_endpoint_classifier,
            retry=RetryPolicy(max_attempts=3, total_timeout=30.0),
            sleep=sleep,
            session=session,
            extra_secrets=(client_secret, basic),
        )

    def __call__(self) -> tuple[str, float | None]:
        """Return ``(access_token, seconds_left)``: a shared valid token, or a newly minted one."""
        with self._lock, self.cache.lock():
            now = self._clock()
            cached = self.cache.load(self.cache_key)
            if (
                cached is not None
                and cached.expires_at - now > self._min_validity
                and cached.access_token != self._last_handed_out
            ):
                token = cached
            else:
                token = self._mint(now)
                self.cache.store(self.cache_key, token)
            self._last_handed_out = token.access_token
            return token.access_token, token.expires_at - now

    def set_client_secret(self, client_secret: str) -> None:
        """Use a new client secret from the next mint on (after the secret was rotated in the Zoom app)."""
        basic = base64.b64encode(f"{self._client_id}:{client_secret}".encode()).decode("ascii")
        with self._lock:
            # Sent only inside the Authorization header, which the transport and the cassettes redact by name.
            self._basic = f"Basic {basic}"

    def _mint(self, now: float) -> CachedToken:
        """``POST /oauth/token?grant_type=account_credentials&account_id=<id>`` (HTTP Basic)."""
        payload = self.transport.request_json(
            "POST",
            self._token_url,
            params={"grant_type": "account_credentials", "account_id": self._account_id},
            headers={"Authorization": self._basic},
            # Minting twice only yields two tokens; safe to resend after a lost answer.
            idempotent=True,
            operation="POST /oauth/token",
        )
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise MalformedResponse("Zoom's token endpoint answered without an access_token", provider="zoom")
        expires_in = payload.get("expires_in", _DEFAULT_LIFETIME)
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else _DEFAULT_LIFETIME
        self.mints += 1
        return CachedToken(access_token=token, expires_at=now + lifetime)

    def close(self) -> None:
        """Close the token endpoint's connections."""
        self.transport.close()


def zoom_bearer_auth(source: ZoomTokenSource, *, clock: Callable[[], float] = time.time) -> BearerTokenAuth:
    """The core's ``BearerTokenAuth`` over a :class:`ZoomTokenSource`."""
    return BearerTokenAuth(source, clock=clock)
