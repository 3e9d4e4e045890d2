"""The simulated Google OAuth 2 token endpoint and the access tokens it hands out.

Two grants, as Google's ``https://oauth2.googleapis.com/token`` serves them:

* ``refresh_token`` (installed-app flow): ``client_id`` + ``client_secret`` + ``refresh_token``; an unknown client
  is ``401 invalid_client``, an unknown or revoked refresh token ``400 invalid_grant``;
* ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (service account): a JWT signed with the account's private key,
  verified here against the public key registered for its ``kid``; ``sub`` names the user the account acts as
  (domain-wide delegation). A wrong signature is ``400 invalid_grant``.

Access tokens live ``expires_in`` = 3599 seconds, like Google's. The clients, refresh tokens, issued tokens and
their lifecycle are the kit's :class:`~lms_connectors.testing.tokens.TokenEndpoint`; Google adds the service
accounts' grant. Not thread-safe by itself: the calendar simulator calls it under its lock.
"""

from __future__ import annotations

from collections.abc import Mapping

from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock
from lms_connectors.testing.tokens import GrantRefused, IssuedToken, TokenEndpoint

__all__ = ["JWT_BEARER", "GoogleOAuth"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_TOKEN_LIFETIME = 3599


class GoogleOAuth(TokenEndpoint):
    """Google's token endpoint: OAuth clients and refresh tokens, plus service accounts' public keys.

    Args:
        clock: The simulator's clock.
        user: The user a refresh token belongs to (the organizer).
        clients: ``{client_id: client_secret}``.
        refresh_tokens: ``{refresh_token: client_id}``.
        service_accounts: ``{client_email: {key_id: public_key_pem}}``.
    """

    def __init__(
        self,
        clock: SimClock,
        *,
        user: str,
        clients: Mapping[str, str] | None = None,
        refresh_tokens: Mapping[str, str] | None = None,
        service_accounts: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        super().__init__(clock, clients=clients, refresh_tokens=refresh_tokens, lifetime=_TOKEN_LIFETIME,
                         mint=lambda n: f"ya29.sandbox-{n}")
        self.user = user
        self.service_accounts = {email: dict(keys) for email, keys in (service_accounts or {}).items()}

    def token_endpoint(self, request: SandboxRequest) -> SandboxResponse:
        """Answer ``POST /token``: the refresh-token grant for the organizer, or a service account's JWT."""
        return self.serve(request, principal=self.user, grants={JWT_BEARER: self._jwt_grant})

    def _jwt_grant(self, form: Mapping[str, str]) -> IssuedToken:
        # google-auth is the adapter's own dependency; its JWT module verifies RS256 with the registered keys.
        from google.auth import exceptions as google_exceptions
        from google.auth import jwt

        assertion = form.get("assertion", "")
        try:
            issuer = str(jwt.decode(assertion, verify=False).get("iss", ""))  # type: ignore[no-untyped-call]
        except (ValueError, google_exceptions.GoogleAuthError):
            raise GrantRefused(400, "invalid_grant", "Invalid JWT Signature.") from None
        keys = self.service_accounts.get(issuer)
        if not keys:
            raise GrantRefused(400, "invalid_grant", "Invalid email or User ID")
        try:
            claims = jwt.decode(assertion, certs=keys, verify=True)  # type: ignore[no-untyped-call]
        except (ValueError, google_exceptions.GoogleAuthError):
            raise GrantRefused(400, "invalid_grant", "Invalid JWT Signature.") from None
        if not str(claims.get("aud", "")).endswith("/token"):
            raise GrantRefused(400, "invalid_grant", "Invalid JWT: audience is not the token endpoint.")
        subject = claims.get("sub")
        principal = str(subject).lower() if subject else issuer
        return self.issue(issuer, principal=principal, scope=str(claims.get("scope", "")), delegated=bool(subject))
