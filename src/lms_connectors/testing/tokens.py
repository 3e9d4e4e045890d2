"""The token endpoint of the provider simulators: OAuth clients, grants, issued tokens and their lifecycle.

A simulator keeps one :class:`TokenEndpoint` and turns its answers into the provider's JSON: the state and the
rules (which client, which secret or certificate, which refresh token, which token is still live) are the same
everywhere; the shape of the answer is the provider's. Clients authenticate with a secret or with a client
assertion signed by a registered certificate (RFC 7523 ``private_key_jwt``, :meth:`~TokenEndpoint.check_assertion`),
and :meth:`~TokenEndpoint.discovery` writes the endpoint's OpenID discovery document. Tests break the credentials
through it: :meth:`~TokenEndpoint.expire` (every token issued so far expires), :meth:`~TokenEndpoint.revoke`
(tokens, or one refresh token, revoked), :meth:`~TokenEndpoint.rotate_secret` (a client's secret changes and its
tokens stop working), :meth:`~TokenEndpoint.revoke_client` (every credential of a client stops working).
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock

__all__ = ["CLIENT_ASSERTION_TYPE", "AssertionRefused", "Grant", "GrantRefused", "IssuedToken", "TokenEndpoint"]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""The ``client_assertion_type`` of a JWT client assertion (RFC 7523)."""


class GrantRefused(Exception):
    """The token endpoint refuses a grant, with OAuth's ``error`` and a description.

    Attributes:
        status: HTTP status (400 ``invalid_grant``, 401 ``invalid_client``...).
        error: OAuth's error code.
        description: The provider's words.
    """

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class AssertionRefused(GrantRefused):
    """A client assertion the endpoint does not accept: 401 ``invalid_client``, with why.

    Attributes:
        reason: ``"malformed"`` (not a JWT), ``"unknown_certificate"`` (its ``x5t`` names no certificate of the
            client), ``"invalid"`` (signature, audience or lifetime wrong) or ``"wrong_issuer"`` (``iss`` or
            ``sub`` is not the client), so that a simulator can word the refusal as its provider does.
    """

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(401, "invalid_client", description)
        self.reason = reason


@dataclass
class IssuedToken:
    """An access token the endpoint issued.

    Attributes:
        value: The token itself.
        client_id: The client it was issued to.
        principal: Who it acts for.
        expires_at: Clock time (Unix seconds) after which it is refused.
        scope: Scopes granted, space separated.
        delegated: Whether it acts for a user (False: an app or a service account acting as itself).
    """

    value: str
    client_id: str
    principal: str
    expires_at: float
    scope: str = ""
    delegated: bool = True


Grant = Callable[[Mapping[str, str]], "IssuedToken"]
"""A grant type's handler: the token request's form -> the issued token (or :class:`GrantRefused`)."""


class TokenEndpoint:
    """OAuth clients, refresh tokens and issued access tokens of one simulated provider.

    Not thread-safe by itself: simulators call it under their lock.

    Args:
        clock: The simulator's clock.
        clients: ``{client_id: client_secret}``; :meth:`add_client` registers more secrets and certificates.
        refresh_tokens: ``{refresh_token: client_id}``.
        lifetime: Seconds an access token lives.
        mint: Makes the value of the n-th token (1, 2, ...).
        single_token: Issuing a token to a client revokes the client's earlier ones (Zoom's behaviour).
    """

    def __init__(
        self,
        clock: SimClock,
        *,
        clients: Mapping[str, str] | None = None,
        refresh_tokens: Mapping[str, str] | None = None,
        lifetime: int = 3600,
        mint: Callable[[int], str] = lambda n: f"sim-access-{n:04d}",
        single_token: bool = False,
    ) -> None:
        self.clock = clock
        self.secrets: dict[str, set[str]] = {client: {secret} for client, secret in (clients or {}).items()}
        self.certificates: dict[str, dict[str, str]] = {}
        self.refresh_tokens = dict(refresh_tokens or {})
        self.lifetime = lifetime
        self.single_token = single_token
        self.tokens: dict[str, IssuedToken] = {}
        self.issued = 0
        self._mint = mint
        self._serial = itertools.count(1)

    # -- clients -------------------------------------------------------------------------------------------------

    def add_client(
        self, client_id: str, *, secrets: Iterable[str] = (), certificates: Mapping[str, str] | None = None
    ) -> None:
        """Register a client, or more credentials of one.

        Args:
            client_id: The client.
            secrets: Secrets it may authenticate with.
            certificates: ``{sha1_thumbprint_hex_upper: public_key_pem}`` of the keys it signs assertions with.
        """
        self.secrets.setdefault(client_id, set()).update(secrets)
        self.certificates.setdefault(client_id, {}).update(certificates or {})

    def check_client(self, client_id: str | None, client_secret: str | None) -> str:
        """The client id when the secret is one of the client's.

        Raises:
            GrantRefused: 401 ``invalid_client``.
        """
        if not client_id or client_secret is None or client_secret not in self.secrets.get(client_id, ()):
            raise GrantRefused(401, "invalid_client", "The OAuth client was not found.")
        return client_id

    def check_assertion(self, client_id: str, assertion: str, *, audience: str) -> str:
        """The client id when ``assertion`` is a JWT the client signed with one of its registered certificates.

        The header's ``x5t`` (the certificate's SHA-1 thumbprint, base64url) picks the certificate; the signature
        (RS256 or PS256), ``aud`` (the token endpoint's URL), ``exp`` and ``nbf`` are checked, and ``iss`` and
        ``sub`` must both be the client. Needs PyJWT with its crypto extra (which msal installs).

        Raises:
            AssertionRefused: 401 ``invalid_client``, with the reason.
        """
        import jwt  # PyJWT: only simulators that take client assertions need it

        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise AssertionRefused("malformed", "the client assertion is not a JWT") from None
        try:
            thumbprint = base64.urlsafe_b64decode(str(header.get("x5t")) + "==").hex().upper()
        except (ValueError, TypeError):
            thumbprint = ""
        public_key = self.certificates.get(client_id, {}).get(thumbprint)
        if public_key is None:
            raise AssertionRefused("unknown_certificate", "the certificate that signed the assertion is not registered")
        try:
            claims = jwt.decode(assertion, public_key, algorithms=["RS256", "PS256"], audience=audience)
        except jwt.PyJWTError as exc:
            raise AssertionRefused("invalid", f"Client assertion failed validation: {exc}") from None
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise AssertionRefused("wrong_issuer", "the client assertion's issuer or subject is not the client")
        return client_id

    def authenticate_client(self, form: Mapping[str, str], *, audience: str) -> str:
        """The client id of a token request that carries a client secret or a client assertion.

        Args:
            form: The token request's form.
            audience: The token endpoint's URL, which an assertion must be addressed to.

        Raises:
            GrantRefused: 401 ``invalid_client``: neither is there, or the one there is wrong
                (:class:`AssertionRefused` for an assertion).
        """
        client_id = form.get("client_id", "")
        if "client_secret" in form:
            return self.check_client(client_id, form["client_secret"])
        if form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE:
            return self.check_assertion(client_id, form.get("client_assertion", ""), audience=audience)
        raise GrantRefused(401, "invalid_client", "the request has neither client_secret nor client_assertion")

    # -- grants --------------------------------------------------------------------------------------------------

    def client_credentials(self, client_id: str | None, client_secret: str | None, *, scope: str = "") -> IssuedToken:
        """The client-credentials grant: a token for the app itself.

        Raises:
            GrantRefused: 401 ``invalid_client``.
        """
        client = self.check_client(client_id, client_secret)
        return self.issue(client, principal=client, scope=scope, delegated=False)

    def refresh(
        self, client_id: str | None, client_secret: str | None, refresh_token: str | None, *, principal: str,
        scope: str = "",
    ) -> IssuedToken:
        """The refresh-token grant: a token for the user the refresh token belongs to.

        Raises:
            GrantRefused: 401 ``invalid_client``; 400 ``invalid_grant`` for an unknown or revoked refresh token.
        """
        client = self.check_client(client_id, client_secret)
        if self.refresh_tokens.get(refresh_token or "") != client:
            raise GrantRefused(400, "invalid_grant", "Token has been expired or revoked.")
        return self.issue(client, principal=principal, scope=scope)

    def issue(self, client_id: str, *, principal: str, scope: str = "", delegated: bool = True) -> IssuedToken:
        """Issue an access token (the grant was checked by the caller)."""
        if self.single_token:
            self._drop_tokens_of(client_id)
        token = IssuedToken(
            self._mint(next(self._serial)), client_id, principal, self.clock.time() + self.lifetime, scope, delegated
        )
        self.tokens[token.value] = token
        self.issued += 1
        return token

    def serve(
        self, request: SandboxRequest, *, principal: str = "", grants: Mapping[str, Grant] | None = None
    ) -> SandboxResponse:
        """Answer an RFC 6749 token request (form body) with the standard JSON, or the standard OAuth error.

        Grants served: ``client_credentials``, ``refresh_token`` (for ``principal``), and any in ``grants``.

        Args:
            request: The token request.
            principal: The user a refresh token acts for.
            grants: More grant types, by ``grant_type``.
        """
        form = dict(request.form())
        grant = form.get("grant_type", "")
        handlers: dict[str, Grant] = {
            "client_credentials": lambda f: self.client_credentials(
                f.get("client_id"), f.get("client_secret"), scope=f.get("scope", "")
            ),
            "refresh_token": lambda f: self.refresh(
                f.get("client_id"), f.get("client_secret"), f.get("refresh_token"), principal=principal,
                scope=f.get("scope", ""),
            ),
            **(grants or {}),
        }
        try:
            if grant not in handlers:
                raise GrantRefused(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
            token = handlers[grant](form)
        except GrantRefused as refused:
            return SandboxResponse(refused.status, {"error": refused.error, "error_description": refused.description})
        return SandboxResponse(200, self.answer(token))

    @staticmethod
    def discovery(issuer: str, *, token_endpoint: str, authorization_endpoint: str) -> dict[str, Any]:
        """The endpoint's OpenID discovery document (``.well-known/openid-configuration``).

        It lists the client authentication methods the endpoint checks: a secret in the form or in Basic, and
        ``private_key_jwt``.
        """
        return {
            "token_endpoint": token_endpoint,
            "authorization_endpoint": authorization_endpoint,
            "issuer": issuer,
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        }

    def answer(self, token: IssuedToken, **extra: Any) -> dict[str, Any]:
        """The standard token answer: ``access_token``, ``token_type``, ``expires_in``, ``scope``, plus ``extra``."""
        return {"access_token": token.value, "token_type": "Bearer", "expires_in": self.lifetime,
                "scope": token.scope, **extra}

    # -- bearer check --------------------------------------------------------------------------------------------

    def lookup(self, value: str) -> IssuedToken | None:
        """The live token with this value (None: unknown, revoked or expired)."""
        token = self.tokens.get(value)
        return token if token is not None and token.expires_at > self.clock.time() else None

    def bearer(self, request: SandboxRequest) -> IssuedToken | None:
        """The live token of a request's ``Authorization: Bearer`` header (None when absent or not live)."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return self.lookup(value.strip()) if scheme.lower() == "bearer" else None

    def is_expired(self, value: str) -> bool:
        """Whether this token was issued and has expired (as opposed to never issued or revoked)."""
        token = self.tokens.get(value)
        return token is not None and token.expires_at <= self.clock.time()

    # -- lifecycle controls for tests ----------------------------------------------------------------------------

    def expire(self) -> None:
        """Every token issued so far expires now (the next API call is refused; a new token works)."""
        now = self.clock.time()
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now)

    def revoke(self, refresh_token: str | None = None) -> None:
        """Revoke one refresh token, or (without one) every access token issued so far."""
        if refresh_token is not None:
            self.refresh_tokens.pop(refresh_token, None)
        else:
            self.tokens.clear()

    def rotate_secret(self, client_id: str, new_secret: str) -> None:
        """Change a client's secret and revoke its tokens: credentials holding the old secret stop working."""
        self.secrets[client_id] = {new_secret}
        self._drop_tokens_of(client_id)

    def revoke_client(self, client_id: str) -> None:
        """The client's secrets and certificates stop working (it stays registered), and its tokens are revoked."""
        self.secrets[client_id] = set()
        self.certificates[client_id] = {}
        self._drop_tokens_of(client_id)

    def _drop_tokens_of(self, client_id: str) -> None:
        for value in [v for v, token in self.tokens.items() if token.client_id == client_id]:
            del self.tokens[value]
