"""Google's two credential kinds as the core's OAuth flows (token requests go through the adapter's transport).

* OAuth refresh token of the organizer: the core's :class:`~lms_connectors.http.auth.RefreshTokenAuth`.
* Service account with domain-wide delegation acting as ``subject``: the core's
  :class:`~lms_connectors.http.auth.JwtBearerAuth` (``urn:ietf:params:oauth:grant-type:jwt-bearer``) with a
  :class:`ServiceAccountAssertion`, a JWT signed with the account's key by google-auth's ``crypt`` module.

google-auth only signs here; it never sends a request, so the token endpoint is retried, bounded in time and
redacted like every other call of the adapter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lms_connectors.errors import ConfigurationError
from lms_connectors.http.auth import JwtBearerAuth, OAuthTokenAuth, RefreshTokenAuth
from lms_connectors.http.transport import HttpTransport
from lms_connectors_google_calendar.config import GoogleCalendarConfig

__all__ = ["ServiceAccountAssertion", "google_auth", "service_account_info"]

PROVIDER = "google_calendar"
_ASSERTION_LIFETIME = 3600  # Google accepts at most one hour between iat and exp


class ServiceAccountAssertion:
    """Signs the JWT a service account exchanges for an access token (RFC 7523, Google's claims).

    Args:
        info: The service account's key JSON (``client_email``, ``private_key``, ``private_key_id``).
        subject: The Workspace user to act as (domain-wide delegation); ``None`` acts as the account itself.
        token_uri: The token endpoint (the JWT's audience).
        scopes: Scopes the tenant's admin granted to the account's client id.
        clock: Wall clock in Unix seconds.

    Raises:
        ConfigurationError: The key JSON has no usable private key or client email.
    """

    def __init__(
        self,
        info: dict[str, Any],
        *,
        subject: str | None,
        token_uri: str,
        scopes: Sequence[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        # google-auth (and the cryptography it loads, a quarter of a second) is imported only by the
        # service-account flow that signs with it: the refresh-token flow and every other import never pay it.
        from google.auth import crypt

        try:
            self._signer = crypt.RSASigner.from_service_account_info(info)  # type: ignore[no-untyped-call]
            self.issuer = str(info["client_email"])
        except (KeyError, ValueError) as exc:
            raise ConfigurationError(f"invalid service-account key: {exc}", provider=PROVIDER) from exc
        self.subject = subject
        self._token_uri = token_uri
        self._scope = " ".join(scopes)
        self._clock = clock

    def __call__(self) -> str:
        """A newly signed assertion."""
        issued = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "scope": self._scope,
            "aud": self._token_uri,
            "iat": issued,
            "exp": issued + _ASSERTION_LIFETIME,
        }
        if self.subject:
            claims["sub"] = self.subject
        from google.auth import jwt

        signed: bytes = jwt.encode(self._signer, claims)  # type: ignore[no-untyped-call]
        return signed.decode("ascii")


def service_account_info(config: GoogleCalendarConfig) -> dict[str, Any]:
    """The service account's key JSON, from the configuration or its file.

    Raises:
        ConfigurationError: The key file cannot be read or is not JSON.
    """
    if config.service_account_info is not None:
        return dict(config.service_account_info)
    path = Path(str(config.service_account_file))
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read service-account key file {path}: {exc}", provider=PROVIDER) from exc
    if not isinstance(info, dict):
        raise ConfigurationError(f"service-account key file {path} is not a JSON object", provider=PROVIDER)
    return info


def google_auth(config: GoogleCalendarConfig, token_transport: HttpTransport) -> OAuthTokenAuth:
    """The flow the configuration describes, sending its token requests through ``token_transport``.

    :calls: ``POST https://oauth2.googleapis.com/token`` (``refresh_token`` or ``jwt-bearer`` grant).
    """
    if config.uses_service_account:
        assertion = ServiceAccountAssertion(
            service_account_info(config), subject=config.subject, token_uri=config.token_uri, scopes=config.scopes
        )
        return JwtBearerAuth(token_transport, assertion=assertion)
    if config.client_id is None or config.client_secret is None or config.refresh_token is None:
        raise ConfigurationError("OAuth client id, client secret and refresh token are required", provider=PROVIDER)
    return RefreshTokenAuth(
        token_transport,
        client_id=config.client_id,
        client_secret=config.client_secret.get_secret_value(),
        refresh_token=config.refresh_token.get_secret_value(),
        scopes=config.scopes,
    )
