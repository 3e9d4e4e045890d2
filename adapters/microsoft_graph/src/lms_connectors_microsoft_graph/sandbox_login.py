"""The simulated Microsoft identity platform: tenant discovery and the client-credentials token endpoint.

Served under ``/login`` by the Graph simulator (the harness maps it back to ``https://login.microsoftonline.com``):

* ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the endpoints msal reads (400 for an unknown tenant);
* ``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials`` and either ``client_secret`` or a
  ``client_assertion`` (a JWT signed with the application's certificate key, checked against the registered
  certificate: ``x5t`` thumbprint, RS256 signature, ``aud`` = the token endpoint, ``iss`` = ``sub`` = client id).
  Refusals answer the platform's shape ``{"error": "invalid_client", "error_description": "AADSTS...", ...}``.

Access tokens live ``expires_in`` = 3599 seconds. Not thread-safe by itself: the Graph simulator calls it under
its lock.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import jwt

from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse

__all__ = ["SimulatedApplication", "SimulatedLogin"]

_TOKEN_LIFETIME = 3599
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LOGIN_HOST = "https://login.microsoftonline.com"


@dataclass
class SimulatedApplication:
    """An app registration: its secrets and the public certificates (PEM) it can sign assertions with.

    Attributes:
        client_id: The application id.
        secrets: Valid client secrets.
        certificates: ``{sha1_thumbprint_hex_upper: public_key_pem}``.
    """

    client_id: str
    secrets: set[str] = field(default_factory=set)
    certificates: dict[str, str] = field(default_factory=dict)


def _grant_error(status: int, error: str, description: str) -> SandboxResponse:
    code = re.match(r"AADSTS(\d+)", description)
    return SandboxResponse(
        status,
        {"error": error, "error_description": description, "error_codes": [int(code.group(1))] if code else [],
         "timestamp": "2027-01-04 12:00:00Z"},
    )


class SimulatedLogin:
    """Tenant and applications of the simulated identity platform.

    Args:
        tenant_id: The tenant that exists.
        applications: Its app registrations.
        clock: Wall clock in seconds.
    """

    def __init__(
        self,
        tenant_id: str,
        applications: Mapping[str, SimulatedApplication],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tenant_id = tenant_id
        self.applications = dict(applications)
        self._clock = clock
        self._tokens: dict[str, tuple[float, str]] = {}  # token -> (expires at, client id)
        self._serial = itertools.count(1)
        self.token_requests = 0

    def expire_all(self) -> None:
        """Every access token issued so far is expired (Graph then answers 401)."""
        self._tokens = {token: (0.0, client) for token, (_, client) in self._tokens.items()}

    def revoke_secrets(self, client_id: str) -> None:
        """The application's secrets and certificates stop working (the token endpoint refuses them)."""
        app = self.applications.get(client_id)
        if app is not None:
            app.secrets.clear()
            app.certificates.clear()

    def client_of(self, token: str) -> str | None:
        """The client id a valid access token was issued to, or ``None`` (unknown or expired)."""
        found = self._tokens.get(token)
        if found is None or found[0] <= self._clock():
            return None
        return found[1]

    def handle(self, request: SandboxRequest, rest: str) -> SandboxResponse:
        """Answer a request whose path below ``/login`` is ``rest``."""
        tenant, _, tail = rest.lstrip("/").partition("/")
        if tenant != self.tenant_id:
            return _grant_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        if tail == "v2.0/.well-known/openid-configuration" and request.method == "GET":
            base = f"{LOGIN_HOST}/{tenant}"
            return SandboxResponse(
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                    "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                              "client_secret_basic"],
                },
            )
        if tail == "oauth2/v2.0/token" and request.method == "POST":
            return self._token(request, tenant)
        return _grant_error(404, "not_found", "AADSTS90000: the endpoint does not exist.")

    def _token(self, request: SandboxRequest, tenant: str) -> SandboxResponse:
        self.token_requests += 1
        form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _grant_error(400, "unsupported_grant_type",
                                "AADSTS70003: The app requested an unsupported grant type.")
        if not str(form.get("scope", "")).endswith("/.default"):
            return _grant_error(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
        client_id = form.get("client_id", "")
        app = self.applications.get(client_id)
        if app is None:
            return _grant_error(400, "unauthorized_client",
                                f"AADSTS700016: Application with identifier '{client_id}' was not found.")
        if "client_secret" in form:
            if form["client_secret"] not in app.secrets:
                return _grant_error(401, "invalid_client",
                                    "AADSTS7000215: Invalid client secret provided.")
        elif form.get("client_assertion_type") == _ASSERTION_TYPE:
            refusal = self._check_assertion(app, form.get("client_assertion", ""), tenant)
            if refusal is not None:
                return refusal
        else:
            return _grant_error(401, "invalid_client",
                                "AADSTS7000218: The request body must contain client_assertion or client_secret.")
        token = "eyJ0eXAiOiJKV1Qi.sandbox." + hashlib.sha256(f"{client_id}-{next(self._serial)}".encode()).hexdigest()
        self._tokens[token] = (self._clock() + _TOKEN_LIFETIME, client_id)
        return SandboxResponse(
            200, {"token_type": "Bearer", "expires_in": _TOKEN_LIFETIME, "ext_expires_in": _TOKEN_LIFETIME,
                  "access_token": token}
        )

    def _check_assertion(self, app: SimulatedApplication, assertion: str, tenant: str) -> SandboxResponse | None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return _grant_error(401, "invalid_client", "AADSTS50027: JWT token is invalid or malformed.")
        thumbprint = header.get("x5t")
        try:
            hex_thumbprint = base64.urlsafe_b64decode(str(thumbprint) + "==").hex().upper()
        except (ValueError, TypeError):
            hex_thumbprint = ""
        public_key = app.certificates.get(hex_thumbprint)
        if public_key is None:
            return _grant_error(401, "invalid_client",
                                "AADSTS700027: The certificate with identifier used to sign the client assertion "
                                "is not registered on application.")
        try:
            claims = jwt.decode(assertion, public_key, algorithms=["RS256", "PS256"],
                                audience=f"{LOGIN_HOST}/{tenant}/oauth2/v2.0/token")
        except jwt.PyJWTError as exc:
            return _grant_error(401, "invalid_client", f"AADSTS700027: Client assertion failed validation: {exc}.")
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            return _grant_error(401, "invalid_client", "AADSTS700023: Client assertion issuer or subject is wrong.")
        return None
