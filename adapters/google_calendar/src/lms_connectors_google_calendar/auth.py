"""Google credentials (google-auth) behind the transport's :class:`~lms_connectors.http.auth.Auth` seam.

Two credential kinds:

* :func:`oauth_credentials`: the organizer's OAuth refresh token (``refresh_token`` grant).
* :func:`service_account_credentials`: a service account with domain-wide delegation acting as ``subject``
  (``urn:ietf:params:oauth:grant-type:jwt-bearer`` grant, a JWT signed with the account's key).

google-auth fetches and caches the access token; :class:`GoogleAuth` adds it as a bearer token and turns
google-auth's refresh failures into the SDK's error tree. Token requests go through the adapter's own
``requests.Session`` so that they share its connection pool (and its cassette when tests record).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.oauth2 import credentials as oauth2_credentials
from google.oauth2 import service_account

from lms_connectors.errors import AuthError, ConfigurationError, TransientError
from lms_connectors.http.auth import Auth
from lms_connectors_google_calendar.config import GoogleCalendarConfig

__all__ = ["GoogleAuth", "credentials_from_config", "oauth_credentials", "service_account_credentials"]

PROVIDER = "google_calendar"


def oauth_credentials(
    *, client_id: str, client_secret: str, refresh_token: str, token_uri: str, scopes: Sequence[str]
) -> oauth2_credentials.Credentials:
    """Credentials that obtain access tokens from an OAuth refresh token."""
    return oauth2_credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=refresh_token,
        client_id=client_id,
        client_secret=client_secret,
        token_uri=token_uri,
        scopes=list(scopes),
    )


def service_account_credentials(
    info: dict[str, Any], *, subject: str, token_uri: str, scopes: Sequence[str]
) -> service_account.Credentials:
    """Credentials of a service account acting as ``subject`` through domain-wide delegation.

    Args:
        info: The service account's key JSON (``client_email``, ``private_key``, ``private_key_id``...).
        subject: The Workspace user to act as (the organizer).
        token_uri: Token endpoint; it replaces the key file's ``token_uri`` (also the JWT's audience).
        scopes: Scopes the tenant's admin granted to the account's client id.
    """
    try:
        base = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            {**info, "token_uri": token_uri}, scopes=scopes
        )
    except (KeyError, ValueError) as exc:
        raise ConfigurationError(f"invalid service-account key: {exc}", provider=PROVIDER) from exc
    delegated: service_account.Credentials = base.with_subject(subject)
    return delegated


def credentials_from_config(config: GoogleCalendarConfig) -> Any:
    """Build the google-auth credentials the configuration describes."""
    if config.uses_service_account:
        info = config.service_account_info
        if info is None:
            path = Path(str(config.service_account_file))
            try:
                info = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigurationError(f"cannot read service-account key file {path}: {exc}") from exc
        return service_account_credentials(
            dict(info), subject=str(config.subject), token_uri=config.token_uri, scopes=config.scopes
        )
    if config.client_id is None or config.client_secret is None or config.refresh_token is None:
        raise ConfigurationError("OAuth client id, client secret and refresh token are required", provider=PROVIDER)
    return oauth_credentials(
        client_id=config.client_id,
        client_secret=config.client_secret.get_secret_value(),
        refresh_token=config.refresh_token.get_secret_value(),
        token_uri=config.token_uri,
        scopes=config.scopes,
    )


class GoogleAuth(Auth):
    """Bearer tokens from google-auth credentials.

    Args:
        credentials: OAuth or service-account credentials (google-auth).
        session: The HTTP session token requests are sent through.
    """

    def __init__(self, credentials: Any, session: requests.Session) -> None:
        self._credentials = credentials
        self._request = google.auth.transport.requests.Request(session)
        # Re-entrant: redaction asks for secrets() while a token refresh holds the lock (same thread).
        self._lock = threading.RLock()
        self._issued: list[str] = []

    @property
    def credentials(self) -> Any:
        """The google-auth credentials in use."""
        return self._credentials

    def replace_credentials(self, credentials: Any) -> None:
        """Use other credentials from now on (rotated keys, or tests breaking them on purpose)."""
        with self._lock:
            self._credentials = credentials

    @property
    def can_refresh(self) -> bool:
        """Always True: both credential kinds can obtain a new access token."""
        return True

    def apply(self, request: requests.PreparedRequest) -> None:
        """Set ``Authorization: Bearer <access token>``, obtaining one first when none is valid."""
        with self._lock:
            if not self._credentials.valid:  # no token yet, or within google-auth's expiry margin
                self._refresh_locked()
            token = self._credentials.token
        request.headers["Authorization"] = f"Bearer {token}"

    def refresh(self) -> None:
        """Obtain a new access token now (the API refused the current one).

        Raises:
            AuthError: The token endpoint refused the grant (revoked refresh token, unknown client,
                delegation not granted).
            TransientError: The token endpoint could not be reached.
        """
        with self._lock:
            self._refresh_locked()

    def invalidate(self, token: str | None = None) -> None:
        """Make the cached access token unusable: the next call is sent with ``token`` (or none at all).

        Args:
            token: A token to send instead (tests use a stale one, so that the API answers 401).
        """
        with self._lock:
            self._credentials.token = token
            self._credentials.expiry = None  # google-auth treats a token without expiry as valid

    def secrets(self) -> list[str]:
        """The access tokens handed out, the refresh token and the client secret."""
        with self._lock:
            values = list(self._issued)
            for name in ("refresh_token", "client_secret"):
                value = getattr(self._credentials, name, None)
                if isinstance(value, str) and value:
                    values.append(value)
            return values

    def _refresh_locked(self) -> None:
        try:
            self._credentials.refresh(self._request)
        except google.auth.exceptions.TransportError as exc:
            raise TransientError(f"token endpoint unreachable: {exc}", provider=PROVIDER) from exc
        except google.auth.exceptions.RefreshError as exc:
            # The message is google-auth's ("invalid_grant: Token has been expired or revoked."); it holds
            # the endpoint's error code and description, not the credentials.
            raise AuthError(f"token refresh refused: {exc}", provider=PROVIDER) from exc
        token = self._credentials.token
        if isinstance(token, str) and token not in self._issued:
            self._issued.append(token)
            del self._issued[:-16]
