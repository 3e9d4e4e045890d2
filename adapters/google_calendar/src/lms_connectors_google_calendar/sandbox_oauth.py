"""The simulated Google OAuth 2 token endpoint and the access tokens it hands out.

Two grants, as Google's ``https://oauth2.googleapis.com/token`` serves them:

* ``refresh_token`` (installed-app flow): ``client_id`` + ``client_secret`` + ``refresh_token``; an unknown client
  is ``401 invalid_client``, an unknown or revoked refresh token ``400 invalid_grant``;
* ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (service account): a JWT signed with the account's private key,
  verified here against the public key registered for its ``kid``; ``sub`` names the user the account acts as
  (domain-wide delegation). A wrong signature is ``400 invalid_grant``.

Access tokens live ``expires_in`` = 3599 seconds, like Google's. Not thread-safe by itself: the calendar simulator
calls it under its lock.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse

__all__ = ["JWT_BEARER", "AccessToken", "SimulatedOAuth"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_TOKEN_LIFETIME = 3599


@dataclass
class AccessToken:
    """An issued access token.

    Attributes:
        expires_at: Clock time after which the API refuses it.
        principal: The user it acts for (the organizer, or the service account itself without delegation).
        delegated: Whether it acts for a user (refresh token, or a service account with ``sub``).
        scope: Scopes granted, space separated.
    """

    expires_at: float
    principal: str
    delegated: bool
    scope: str


def _grant_error(status: int, error: str, description: str) -> SandboxResponse:
    return SandboxResponse(status, {"error": error, "error_description": description})


class SimulatedOAuth:
    """Token endpoint state: OAuth clients, refresh tokens, service-account keys, issued access tokens.

    Args:
        user: The user a refresh token belongs to (the organizer).
        clients: ``{client_id: client_secret}``.
        refresh_tokens: ``{refresh_token: client_id}``.
        service_accounts: ``{client_email: {key_id: public_key_pem}}``.
        clock: Wall clock in seconds.
    """

    def __init__(
        self,
        *,
        user: str,
        clients: Mapping[str, str] | None = None,
        refresh_tokens: Mapping[str, str] | None = None,
        service_accounts: Mapping[str, Mapping[str, str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.user = user
        self.clients = dict(clients or {})
        self.refresh_tokens = dict(refresh_tokens or {})
        self.service_accounts = {email: dict(keys) for email, keys in (service_accounts or {}).items()}
        self.tokens: dict[str, AccessToken] = {}
        self._clock = clock
        self._serial = itertools.count(1)

    def expire_all(self) -> None:
        """Make every access token issued so far expired."""
        for token in self.tokens.values():
            token.expires_at = 0.0

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token."""
        self.refresh_tokens.pop(refresh_token, None)

    def lookup(self, access_token: str) -> AccessToken | None:
        """The live token with this value, or ``None`` when unknown or expired."""
        token = self.tokens.get(access_token)
        return token if token is not None and token.expires_at > self._clock() else None

    def token_endpoint(self, request: SandboxRequest) -> SandboxResponse:
        """Answer ``POST /token``."""
        form = dict(request.form())
        grant = form.get("grant_type")
        if grant == "refresh_token":
            return self._refresh_grant(form)
        if grant == JWT_BEARER:
            return self._jwt_grant(form.get("assertion", ""))
        return _grant_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _refresh_grant(self, form: Mapping[str, str]) -> SandboxResponse:
        client_id = form.get("client_id", "")
        secret = self.clients.get(client_id)
        if secret is None or secret != form.get("client_secret"):
            return _grant_error(401, "invalid_client", "The OAuth client was not found.")
        if self.refresh_tokens.get(form.get("refresh_token", "")) != client_id:
            return _grant_error(400, "invalid_grant", "Token has been expired or revoked.")
        return self._issue(principal=self.user, delegated=True, scope=form.get("scope", ""))

    def _jwt_grant(self, assertion: str) -> SandboxResponse:
        # google-auth is the adapter's own dependency; its JWT module verifies RS256 with the registered keys.
        from google.auth import exceptions as google_exceptions
        from google.auth import jwt

        try:
            unverified = jwt.decode(assertion, verify=False)  # type: ignore[no-untyped-call]
        except (ValueError, google_exceptions.GoogleAuthError):
            return _grant_error(400, "invalid_grant", "Invalid JWT Signature.")
        issuer = str(unverified.get("iss", ""))
        keys = self.service_accounts.get(issuer)
        if not keys:
            return _grant_error(400, "invalid_grant", "Invalid email or User ID")
        try:
            claims = jwt.decode(assertion, certs=keys, verify=True)  # type: ignore[no-untyped-call]
        except (ValueError, google_exceptions.GoogleAuthError):
            return _grant_error(400, "invalid_grant", "Invalid JWT Signature.")
        if not str(claims.get("aud", "")).endswith("/token"):
            return _grant_error(400, "invalid_grant", "Invalid JWT: audience is not the token endpoint.")
        subject = claims.get("sub")
        principal = str(subject).lower() if subject else issuer
        return self._issue(principal=principal, delegated=bool(subject), scope=str(claims.get("scope", "")))

    def _issue(self, *, principal: str, delegated: bool, scope: str) -> SandboxResponse:
        value = f"ya29.sandbox-{next(self._serial)}"
        self.tokens[value] = AccessToken(self._clock() + _TOKEN_LIFETIME, principal, delegated, scope)
        return SandboxResponse(
            200, {"access_token": value, "expires_in": _TOKEN_LIFETIME, "scope": scope, "token_type": "Bearer"}
        )
