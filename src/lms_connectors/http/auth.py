"""How a request gets its credentials.

An :class:`Auth` adds credentials to a prepared request. The transport calls :meth:`Auth.apply` before every
attempt, and :meth:`Auth.refresh` at most once per call when the provider answers with an
:class:`~lms_connectors.errors.AuthError` (the token expired early, or was revoked).

The OAuth 2 flows (:class:`ClientCredentialsAuth`, :class:`RefreshTokenAuth`, :class:`JwtBearerAuth`) obtain
bearer tokens from a token endpoint through an :class:`~lms_connectors.http.transport.HttpTransport` of the
adapter (``Adapter.token_transport``), so that token requests get the same retries, ``Retry-After``, time bound,
injected sleep and redaction as API calls. Their classifier (:func:`oauth_token_classifier`) makes a 5xx, a 429
or a lost answer transient and a refusal an :class:`~lms_connectors.errors.AuthError` carrying the endpoint's
``error: error_description``. A :class:`~lms_connectors.http.token_cache.TokenCache` lets workers of one client
share a token.
"""

from __future__ import annotations

import base64
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, StrictStr

from lms_connectors.errors import AuthError
from lms_connectors.http.answers import AnswerShape
from lms_connectors.http.classify import ErrorBody, ErrorRule, RuleClassifier, common_error_body
from lms_connectors.http.token_cache import CachedToken, TokenCache

if TYPE_CHECKING:
    import requests

    from lms_connectors.http.transport import HttpTransport

__all__ = [
    "JWT_BEARER_GRANT",
    "OAUTH_TOKEN_RULES",
    "Auth",
    "BasicAuth",
    "BearerTokenAuth",
    "ClientCredentialsAuth",
    "JwtBearerAuth",
    "OAuthTokenAuth",
    "RefreshTokenAuth",
    "StaticTokenAuth",
    "oauth_error_body",
    "oauth_token_classifier",
]

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
"""RFC 7523 grant type: a signed JWT (a service account's assertion) exchanged for an access token."""


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


class BasicAuth(Auth):
    """HTTP Basic credentials (RFC 7617): a user name and a password, or an app-specific password.

    Servers that take them (CalDAV servers, most WebDAV) cannot issue new ones: a refused password is an
    :class:`~lms_connectors.errors.AuthError` at once.

    Args:
        username: The account's user name.
        password: Its password (UTF-8 encoded on the wire, as RFC 7617's ``charset="UTF-8"`` asks).
    """

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")

    def apply(self, request: requests.PreparedRequest) -> None:
        """Set ``Authorization: Basic <base64(user:password)>``."""
        request.headers["Authorization"] = self._header

    def secrets(self) -> list[str]:
        """Return the password and the encoded header value (which reveals it)."""
        return [self._password, self._header.removeprefix("Basic ")]


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

    def invalidate(self, replacement: str | None = None) -> None:
        """Drop the cached token: the next request fetches a new one, or is sent with ``replacement``.

        Args:
            replacement: A token to send instead until the provider refuses it (tests send a stale one, so that
                the API answers 401 and the refresh path runs).
        """
        with self._lock:
            self._token = replacement
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


def oauth_error_body(payload: Any) -> ErrorBody | None:
    """Read RFC 6749 5.2's error answer: the ``error`` code and ``error: error_description`` as the message.

    Zoom adds a ``reason`` beside ``error``; it is read as the description when there is none.
    """
    if not isinstance(payload, dict):
        return None
    code = payload.get("error")
    if not isinstance(code, str) or not code:
        return common_error_body(payload)
    description = next(
        (str(payload[name]) for name in ("error_description", "reason") if isinstance(payload.get(name), str)), ""
    )
    return ErrorBody((code,), f"{code}: {description}" if description else code)


OAUTH_TOKEN_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(AuthError, "the token endpoint refused the grant", status=frozenset(range(400, 500)) - {429}),
)
"""A token endpoint's one row: any 4xx but 429 is a refused grant; 429 and 5xx follow the core's rows (retried)."""

oauth_token_classifier = RuleClassifier(OAUTH_TOKEN_RULES, read_body=oauth_error_body)
"""The classifier of OAuth token endpoints: refusals carry the endpoint's ``error: error_description``."""


class _ClientAuthentication(Auth):
    """How the OAuth client proves itself on the token transport, and which of the grant's values are secret.

    With ``basic`` the client id and secret go in an ``Authorization: Basic`` header (``client_secret_basic``);
    otherwise the flow puts them in the form (``client_secret_post``) and this only reports them for redaction.
    """

    def __init__(self, client_id: str | None, client_secret: str | None, *, basic: bool) -> None:
        self._client_id = client_id
        self._basic = basic
        self._lock = threading.Lock()
        self._client_secret = client_secret
        self._grant_secrets: list[str] = []

    @property
    def client_secret(self) -> str | None:
        with self._lock:
            return self._client_secret

    def rotate(self, client_secret: str) -> None:
        with self._lock:
            self._client_secret = client_secret

    def add_secret(self, value: str) -> None:
        with self._lock:
            if value and value not in self._grant_secrets:
                self._grant_secrets.append(value)
                del self._grant_secrets[:-16]

    def _basic_header(self) -> str | None:
        if not self._basic or self._client_id is None or self._client_secret is None:
            return None
        pair = f"{self._client_id}:{self._client_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def apply(self, request: requests.PreparedRequest) -> None:
        with self._lock:
            header = self._basic_header()
        if header is not None:
            request.headers["Authorization"] = header

    def secrets(self) -> list[str]:
        with self._lock:
            values = [*self._grant_secrets]
            if self._client_secret:
                values.append(self._client_secret)
            header = self._basic_header()
            if header is not None:
                values.append(header.removeprefix("Basic "))
            return values


class TokenAnswer(AnswerShape):
    """The fields of an OAuth 2.0 token answer the flows read (RFC 6749 5.1)."""

    access_token: Annotated[StrictStr, Field(min_length=1)]
    expires_in: float | None = None
    """Seconds the token lives (a number, or a numeric string as some endpoints send it)."""
    scope: StrictStr | None = None


class OAuthTokenAuth(BearerTokenAuth):
    """Bearer tokens from an OAuth 2 token endpoint, sent through the adapter's token transport.

    Subclasses say what the grant sends (:meth:`grant_form`); this class sends it (``POST``, repeatable: a
    second token request only mints a second token), reads ``access_token`` and ``expires_in``, and shares
    the token through ``cache`` when one is given.

    A cached token is reused unless it is the one this instance handed out last (then it was just refused, or is
    about to expire, and a new one is minted), so workers sharing a cache stop invalidating each other's tokens.

    Args:
        transport: The token transport (``base_url`` the token endpoint, classifier
            :func:`oauth_token_classifier`); this flow authenticates the client on it and tells it its secrets.
        token_url: The token endpoint (absolute, or relative to the transport's base URL); the transport's base
            URL itself by default.
        client_id: The OAuth client id, if the grant has one.
        client_secret: The client secret, if the grant has one.
        client_auth: ``"post"`` puts the client id and secret in the form, ``"basic"`` in an HTTP Basic header.
        query: Parameters sent in the URL instead of the form (Zoom's ``account_credentials`` grant).
        cache: Where the token is shared with other workers of the same client; ``None`` keeps it here.
        cache_key: The client's key in ``cache``.
        min_validity: A cached token with less than this many seconds left is not reused.
        clock: Wall clock in Unix seconds (cache entries are compared across processes).
        default_lifetime: Seconds a token lives when the endpoint does not say (``expires_in`` missing).
    """

    def __init__(
        self,
        transport: HttpTransport,
        *,
        token_url: str = "",
        client_id: str | None = None,
        client_secret: str | None = None,
        client_auth: Literal["post", "basic"] = "post",
        query: Mapping[str, str] | None = None,
        cache: TokenCache | None = None,
        cache_key: str | None = None,
        min_validity: float = 60.0,
        clock: Callable[[], float] = time.time,
        default_lifetime: float = 3600.0,
    ) -> None:
        super().__init__(self._fetch, clock=clock, early_refresh_seconds=min_validity)
        self.token_transport = transport
        self.token_url = token_url
        self.client_id = client_id
        self.cache = cache
        self.cache_key = cache_key or f"{transport.provider}:{client_id or ''}"
        self.mints = 0
        """How many tokens this flow obtained from the endpoint (the rest came from the cache)."""
        self.granted_scopes: tuple[str, ...] | None = None
        """The scopes the endpoint said it granted with the last token it minted (RFC 6749 5.1 ``scope``)."""
        self._client_auth_mode = client_auth
        self._client = _ClientAuthentication(client_id, client_secret, basic=client_auth == "basic")
        self._query = dict(query) if query else None
        self._min_validity = min_validity
        self._wall = clock
        self._default_lifetime = default_lifetime
        self._last_handed_out: str | None = None
        self._mint_lock = threading.Lock()
        transport.auth = self._client

    @abstractmethod
    def grant_form(self) -> dict[str, str]:
        """The grant's form fields (``grant_type`` and its parameters), without the client's credentials."""

    def rotate_client_secret(self, client_secret: str) -> None:
        """Use a new client secret from the next token request on (after it was rotated at the provider)."""
        self._client.rotate(client_secret)

    def secrets(self) -> list[str]:
        """The tokens handed out, the client secret and the grant's own secrets (refresh token, assertion)."""
        return [*super().secrets(), *self._client.secrets()]

    def _remember_secret(self, value: str) -> None:
        self._client.add_secret(value)

    def _fetch(self) -> tuple[str, float | None]:
        if self.cache is None:
            token = self._mint(self._wall())
            return token.access_token, token.expires_at - self._wall()
        with self._mint_lock, self.cache.lock():
            now = self._wall()
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

    def _mint(self, now: float) -> CachedToken:
        """``POST <token_url>`` with the grant; the answer's ``access_token`` and its expiry."""
        form = self.grant_form()
        secret = self._client.client_secret
        if self._client_auth_mode == "post" and self.client_id is not None:
            form["client_id"] = self.client_id
            if secret is not None:
                form["client_secret"] = secret
        # Idempotent: a second token request only mints a second token, so an answer that is not the endpoint's
        # JSON (an HTML page or cut JSON with status 200) is asked for again, like any garbled read.
        payload = self.token_transport.request_json(
            "POST",
            self.token_url or self.token_transport.base_url,
            params=self._query,
            data=form if form else None,
            idempotent=True,
            shape=TokenAnswer,
        )
        answer = TokenAnswer.model_validate(payload)  # checked by request_json: the fields, typed
        lifetime = answer.expires_in if answer.expires_in is not None else self._default_lifetime
        self.mints += 1
        if answer.scope is not None:
            self.granted_scopes = tuple(answer.scope.split())
        self._after_mint(payload)
        return CachedToken(access_token=answer.access_token, expires_at=now + lifetime)

    def _after_mint(self, payload: dict[str, Any]) -> None:
        """Read more of a token answer (a rotated refresh token); nothing by default."""


class ClientCredentialsAuth(OAuthTokenAuth):
    """OAuth 2 client credentials grant (RFC 6749 4.4): the client's own id and secret buy a token.

    Args:
        transport: The token transport.
        grant_type: ``client_credentials``, or a provider's variant (Zoom's ``account_credentials``).
        scope: Scopes asked for, space-separated in the form; none by default.
        **options: As :class:`OAuthTokenAuth` (``token_url``, ``client_id``, ``client_secret``, ``client_auth``,
            ``query``, ``cache``...).
    """

    def __init__(
        self,
        transport: HttpTransport,
        *,
        grant_type: str = "client_credentials",
        scope: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(transport, **options)
        self._grant_type = grant_type
        self._scope = scope

    def grant_form(self) -> dict[str, str]:
        """``grant_type`` (and ``scope``), in the form unless the grant goes in the query."""
        if self._query is not None:
            return {}
        form = {"grant_type": self._grant_type}
        if self._scope:
            form["scope"] = self._scope
        return form


class RefreshTokenAuth(OAuthTokenAuth):
    """OAuth 2 refresh token grant (RFC 6749 6): a user's long-lived refresh token buys access tokens.

    A rotated refresh token in the answer replaces the configured one from then on.

    Args:
        transport: The token transport.
        refresh_token: The user's refresh token.
        scopes: Scopes asked for (none: the consented ones).
        **options: As :class:`OAuthTokenAuth`.
    """

    def __init__(
        self, transport: HttpTransport, *, refresh_token: str, scopes: tuple[str, ...] = (), **options: Any
    ) -> None:
        super().__init__(transport, **options)
        self._refresh_token = refresh_token
        self._scopes = scopes
        self._remember_secret(refresh_token)

    def use_refresh_token(self, refresh_token: str) -> None:
        """Use another refresh token from the next token request on (the user consented again)."""
        self._remember_secret(refresh_token)
        self._refresh_token = refresh_token

    def grant_form(self) -> dict[str, str]:
        """``grant_type=refresh_token`` and the refresh token."""
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        return form

    def _after_mint(self, payload: dict[str, Any]) -> None:
        rotated = payload.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._remember_secret(rotated)
            self._refresh_token = rotated


class JwtBearerAuth(OAuthTokenAuth):
    """JWT bearer grant (RFC 7523): a signed assertion (a service account's) buys an access token.

    Args:
        transport: The token transport.
        assertion: Returns a freshly signed JWT for each token request (the issuer's key never leaves it).
        **options: As :class:`OAuthTokenAuth`.
    """

    def __init__(self, transport: HttpTransport, *, assertion: Callable[[], str], **options: Any) -> None:
        super().__init__(transport, **options)
        self.assertion = assertion

    def grant_form(self) -> dict[str, str]:
        """``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and a new assertion."""
        signed = self.assertion()
        self._remember_secret(signed)
        return {"grant_type": JWT_BEARER_GRANT, "assertion": signed}
