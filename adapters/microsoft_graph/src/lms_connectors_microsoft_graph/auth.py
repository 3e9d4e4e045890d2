"""Client-credentials authentication with msal, its HTTP requests sent through the SDK transport.

msal does the OAuth 2 work (tenant discovery, the client-credentials grant with a secret or a signed
certificate assertion, the token cache and its expiry rules). It accepts an ``http_client`` object with
``get`` and ``post``; :class:`TransportHttpClient` is that object over an
:class:`~lms_connectors.http.transport.HttpTransport`, so a token request gets the SDK's retries,
``Retry-After``, time bound, injected sleep, counting and redaction like any Graph call. A 5xx, a throttle or a
lost answer from the identity platform therefore surfaces as a transient error; only a refusal
(``invalid_client``, ``unauthorized_client`` ...) is an :class:`~lms_connectors.errors.AuthError`, carrying
the platform's own reason.

The token cache is msal's ``SerializableTokenCache``: in memory by default, or persisted in a file under a
cross-process lock (msal-extensions) when ``token_cache_path`` is set, so that every worker of one app reuses
one token.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lms_connectors.errors import AuthError
from lms_connectors.http.auth import Auth
from lms_connectors.http.transport import HttpTransport
from lms_connectors_microsoft_graph.config import GRAPH_SCOPE, LOGIN_BASE_URL, MicrosoftGraphConfig

if TYPE_CHECKING:
    import msal
    import requests

__all__ = ["MsalClientCredentials", "TransportHttpClient", "token_cache_for"]

PROVIDER = "microsoft_graph"
_ISSUED_KEPT = 16  # tokens handed out earlier stay redacted (a log line may be written after a refresh)


class TransportHttpClient:
    """msal's ``http_client`` interface over the SDK transport.

    msal names Microsoft's canonical login host in every URL; requests are sent to ``login_base_url`` instead
    (the same host in production, a simulator in tests).

    Args:
        transport: The transport of the identity platform (no auth of its own).
        login_base_url: Where requests to ``https://login.microsoftonline.com`` go.
    """

    def __init__(self, transport: HttpTransport, login_base_url: str = LOGIN_BASE_URL) -> None:
        self.transport = transport
        self._login_base_url = login_base_url.rstrip("/")

    def _target(self, url: str) -> str:
        if url.startswith(LOGIN_BASE_URL + "/"):
            return self._login_base_url + url[len(LOGIN_BASE_URL) :]
        return url

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> requests.Response:
        """Send a GET (tenant discovery) through the transport."""
        return self.transport.request(
            "GET", self._target(url), params=params, headers=headers, operation=_operation("GET", url)
        )

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> requests.Response:
        """Send a POST (the token request) through the transport.

        A client-credentials grant changes nothing on the server: sending it twice only issues two tokens, so
        the transport may resend it after a 5xx or a lost answer.
        """
        return self.transport.request(
            "POST",
            self._target(url),
            params=params,
            data=data,
            headers=headers,
            idempotent=True,
            operation=_operation("POST", url),
        )

    def close(self) -> None:
        """Nothing to release: the transport belongs to the adapter."""


def _operation(method: str, url: str) -> str:
    path = urlsplit(url).path
    if path.endswith("/token"):
        return "login.token"
    if path.endswith("/openid-configuration"):
        return "login.openid-configuration"
    return f"login {method} {path}"


def token_cache_for(config: MicrosoftGraphConfig) -> msal.SerializableTokenCache:
    """Msal's token cache for ``config``: in memory, or in ``token_cache_path`` shared by processes.

    The file holds access tokens in clear text (msal-extensions encrypts only on Windows and macOS): keep it
    in a directory only the app's account can read.
    """
    # msal (with requests and its JWT and crypto libraries) is imported when an adapter is built, not with it.
    import msal

    if config.token_cache_path is None:
        return msal.SerializableTokenCache()
    import msal_extensions

    persistence = msal_extensions.FilePersistence(config.token_cache_path)
    return msal_extensions.PersistedTokenCache(persistence)


class MsalClientCredentials(Auth):
    """Application tokens from msal's client-credentials flow (secret or certificate).

    Args:
        config: The adapter's settings (tenant, client, credential).
        http_client: msal's HTTP client, normally a :class:`TransportHttpClient`.
        token_cache: msal token cache to use (default: :func:`token_cache_for`).
    """

    def __init__(
        self,
        config: MicrosoftGraphConfig,
        http_client: TransportHttpClient,
        token_cache: msal.SerializableTokenCache | None = None,
    ) -> None:
        self._secrets: list[str] = []
        credential: Any
        if config.client_secret is not None:
            credential = config.client_secret.get_secret_value()
            self._secrets.append(credential)
        else:
            assert config.certificate_private_key is not None  # the config's validator guarantees it
            key = config.certificate_private_key.get_secret_value()
            credential = {"private_key": key, "thumbprint": config.certificate_thumbprint}
            self._secrets.append(key)
        self.http_client = http_client
        self.token_cache = token_cache if token_cache is not None else token_cache_for(config)
        self._config = config
        self._credential = credential
        self._app: Any = None
        self._lock = threading.RLock()
        self._issued: list[str] = []

    def _application(self) -> Any:
        """Msal's application, built at the first token request (msal discovers the tenant when built)."""
        if self._app is None:
            import msal

            try:
                self._app = msal.ConfidentialClientApplication(
                    self._config.client_id,
                    client_credential=self._credential,
                    authority=self._config.authority,
                    token_cache=self.token_cache,
                    http_client=self.http_client,
                    # The authority is configured, not user input: no instance-discovery round trip to check it.
                    instance_discovery=False,
                )
            except ValueError as exc:  # msal's answer to a tenant the identity platform does not know
                raise AuthError(
                    f"tenant {self._config.tenant_id!r} is unknown to the identity platform", provider=PROVIDER,
                    code="tenant_discovery_failed",
                ) from exc
        return self._app

    @property
    def can_refresh(self) -> bool:
        """Always True: msal can ask for a new token."""
        return True

    def apply(self, request: requests.PreparedRequest) -> None:
        """Set ``Authorization: Bearer <token>`` (msal answers from its cache while the token is valid)."""
        request.headers["Authorization"] = f"Bearer {self.token()}"

    def token(self) -> str:
        """A valid access token, from the cache or the identity platform.

        Raises:
            AuthError: The identity platform refused the credentials (its reason is in the message and code).
            TransientError: The identity platform failed or throttled past the transport's bounds.
        """
        with self._lock:
            result = self._application().acquire_token_for_client(scopes=[GRAPH_SCOPE])
            if not isinstance(result, dict):
                raise AuthError("msal returned no token result", provider=PROVIDER)
            token = result.get("access_token")
            if not isinstance(token, str) or not token:
                error = str(result.get("error") or "no_token")
                reason = str(result.get("error_description") or "the identity platform returned no access token")
                raise AuthError(f"token request refused: {error}: {reason.splitlines()[0]}", provider=PROVIDER,
                                code=error)
            if token not in self._issued:
                self._issued.append(token)
                del self._issued[:-_ISSUED_KEPT]
            return token

    def refresh(self) -> None:
        """Drop the cached application token and fetch a new one (Graph refused the current one)."""
        with self._lock:
            self._application().remove_tokens_for_client()
            self.token()

    def secrets(self) -> list[str]:
        """The client secret or certificate key, and every token handed out."""
        with self._lock:
            return [*self._secrets, *self._issued]
