"""The simulated Microsoft identity platform: tenant discovery and the client-credentials token endpoint.

Served under ``/login`` by the Graph simulator (the harness maps it back to ``https://login.microsoftonline.com``):

* ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the endpoints msal reads (400 for an unknown tenant);
* ``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials`` and either ``client_secret`` or a
  ``client_assertion`` (a JWT signed with the application's certificate key, checked against the registered
  certificate: ``x5t`` thumbprint, RS256 signature, ``aud`` = the token endpoint, ``iss`` = ``sub`` = client id).
  Refusals answer the platform's shape ``{"error": "invalid_client", "error_description": "AADSTS...", ...}``.

The clients, secrets, certificates and issued tokens are the kit's
:class:`~lms_connectors.testing.tokens.TokenEndpoint`; this module holds only what is the identity platform's own:
its paths, its ``scope=.../.default`` rule, its AADSTS wording and its answer (``expires_in`` =
``ext_expires_in`` = 3599 seconds, no ``scope``). Not thread-safe by itself: the Graph simulator calls it under its
lock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock
from lms_connectors.testing.tokens import AssertionRefused, GrantRefused, TokenEndpoint

__all__ = ["DEFAULT_ROLES", "SimulatedApplication", "SimulatedLogin"]

DEFAULT_ROLES = frozenset({
    "Calendars.ReadWrite", "Place.Read.All", "OnlineMeetings.Read.All", "OnlineMeetingArtifact.Read.All",
})
"""The application permissions a simulated app holds unless it says otherwise."""

_TOKEN_LIFETIME = 3599
LOGIN_HOST = "https://login.microsoftonline.com"

_ASSERTION_WORDING = {
    "malformed": "AADSTS50027: JWT token is invalid or malformed.",
    "unknown_certificate": "AADSTS700027: The certificate with identifier used to sign the client assertion is not "
                           "registered on application.",
    "wrong_issuer": "AADSTS700023: Client assertion issuer or subject is wrong.",
}
"""The platform's words for each reason a client assertion is refused (``invalid``: the library's reason follows)."""


@dataclass
class SimulatedApplication:
    """An app registration: its secrets and the public certificates (PEM) it can sign assertions with.

    Attributes:
        client_id: The application id.
        secrets: Valid client secrets.
        certificates: ``{sha1_thumbprint_hex_upper: public_key_pem}``.
        roles: The application permissions an administrator consented to (the tokens' ``roles`` claim).
    """

    client_id: str
    secrets: set[str] = field(default_factory=set)
    certificates: dict[str, str] = field(default_factory=dict)
    roles: frozenset[str] = DEFAULT_ROLES


def _grant_error(status: int, error: str, description: str) -> SandboxResponse:
    code = re.match(r"AADSTS(\d+)", description)
    return SandboxResponse(
        status,
        {"error": error, "error_description": description, "error_codes": [int(code.group(1))] if code else [],
         "timestamp": "2027-01-04 12:00:00Z"},
    )


def _segment(value: Mapping[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


class SimulatedLogin:
    """Tenant and applications of the simulated identity platform.

    Args:
        tenant_id: The tenant that exists.
        applications: Its app registrations.
        clock: The simulator's clock.

    Attributes:
        tokens: The applications' credentials and the tokens issued to them.
        token_requests: Token requests answered, refused ones included.
    """

    def __init__(self, tenant_id: str, applications: Iterable[SimulatedApplication], clock: SimClock) -> None:
        self.tenant_id = tenant_id
        self.tokens = TokenEndpoint(clock, lifetime=_TOKEN_LIFETIME, mint=self._mint)
        self.roles: dict[str, frozenset[str]] = {}
        """The application permissions of each client id."""
        for app in applications:
            self.tokens.add_client(app.client_id, secrets=app.secrets, certificates=app.certificates)
            self.roles[app.client_id] = app.roles
        self._issuing = ""
        self.token_requests = 0

    def _mint(self, serial: int) -> str:
        """A JWT-shaped token naming the app's permissions in ``roles``, as the platform's app tokens do.

        Its signature part is a digest, not a signature: only this simulator reads the token back (by value).
        """
        claims = {"aud": "https://graph.microsoft.com", "tid": self.tenant_id, "appid": self._issuing,
                  "roles": sorted(self.roles.get(self._issuing, ())), "jti": f"sandbox-token-{serial}"}
        header = _segment({"typ": "JWT", "alg": "RS256"})
        body = _segment(claims)
        digest = base64.urlsafe_b64encode(hashlib.sha256(f"{header}.{body}".encode()).digest()).decode().rstrip("=")
        return f"{header}.{body}.{digest}"

    def roles_of(self, token: str) -> frozenset[str]:
        """The application permissions of the client a live token was issued to (none for an unknown token)."""
        client = self.client_of(token)
        return self.roles.get(client, frozenset()) if client is not None else frozenset()

    def client_of(self, token: str) -> str | None:
        """The client id a live access token was issued to, or ``None`` (unknown, revoked or expired)."""
        issued = self.tokens.lookup(token)
        return issued.client_id if issued is not None else None

    def handle(self, request: SandboxRequest, rest: str) -> SandboxResponse:
        """Answer a request whose path below ``/login`` is ``rest``."""
        tenant, _, tail = rest.lstrip("/").partition("/")
        if tenant != self.tenant_id:
            return _grant_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        base = f"{LOGIN_HOST}/{tenant}"
        if tail == "v2.0/.well-known/openid-configuration" and request.method == "GET":
            return SandboxResponse(200, TokenEndpoint.discovery(
                f"{base}/v2.0", token_endpoint=f"{base}/oauth2/v2.0/token",
                authorization_endpoint=f"{base}/oauth2/v2.0/authorize",
            ))
        if tail == "oauth2/v2.0/token" and request.method == "POST":
            return self._token(request, f"{base}/oauth2/v2.0/token")
        return _grant_error(404, "not_found", "AADSTS90000: the endpoint does not exist.")

    def _token(self, request: SandboxRequest, token_url: str) -> SandboxResponse:
        self.token_requests += 1
        form = dict(request.form())
        if form.get("grant_type") != "client_credentials":
            return _grant_error(400, "unsupported_grant_type",
                                "AADSTS70003: The app requested an unsupported grant type.")
        if not str(form.get("scope", "")).endswith("/.default"):
            return _grant_error(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
        client_id = form.get("client_id", "")
        if client_id not in self.tokens.secrets and client_id not in self.tokens.certificates:
            return _grant_error(400, "unauthorized_client",
                                f"AADSTS700016: Application with identifier '{client_id}' was not found.")
        try:
            self.tokens.authenticate_client(form, audience=token_url)
        except AssertionRefused as refused:
            wording = _ASSERTION_WORDING.get(refused.reason, f"AADSTS700027: {refused.description}.")
            return _grant_error(401, "invalid_client", wording)
        except GrantRefused:
            wording = ("AADSTS7000215: Invalid client secret provided." if "client_secret" in form else
                       "AADSTS7000218: The request body must contain client_assertion or client_secret.")
            return _grant_error(401, "invalid_client", wording)
        self._issuing = client_id
        token = self.tokens.issue(client_id, principal=client_id, delegated=False)
        return SandboxResponse(
            200, {"token_type": "Bearer", "expires_in": _TOKEN_LIFETIME, "ext_expires_in": _TOKEN_LIFETIME,
                  "access_token": token.value}
        )
