"""A simulated REST API that takes OAuth bearer tokens from its own token endpoint: the common case, written once.

Most providers' APIs work the same way at the edge: ``POST /oauth/token`` mints an access token for a registered
client (RFC 6749), every API call carries it as ``Authorization: Bearer``, and an unknown, revoked or expired
token gets a 401. :class:`BearerSimulator` does all of that with a
:class:`~lms_connectors.testing.tokens.TokenEndpoint`, and gives tests the tenant admin's controls (expire or
revoke the tokens, rotate the client's secret). The contract kit's default ``expire_auth`` and ``break_auth`` use
those controls, so a harness whose simulator is a ``BearerSimulator`` writes neither. A provider whose token
endpoint differs (another grant, client authentication in a Basic header) overrides :meth:`token_endpoint`; one
whose 401 has another shape overrides :meth:`invalid_token`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator, route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock
from lms_connectors.testing.tokens import TokenEndpoint

__all__ = ["BearerSimulator"]


class BearerSimulator(RoutedSimulator):
    """A :class:`RoutedSimulator` whose API needs a bearer token from its token endpoint at ``/oauth/token``.

    Args:
        clients: The registered OAuth clients, ``{client_id: client_secret}``.
        clock: The simulator's clock.
        **token_options: More options of :class:`~lms_connectors.testing.tokens.TokenEndpoint` (``lifetime``,
            ``mint``, ``single_token``, ``refresh_tokens``).

    Attributes:
        tokens: The token endpoint's clients and issued tokens.
    """

    def __init__(self, clients: Mapping[str, str], *, clock: SimClock | None = None, **token_options: Any) -> None:
        super().__init__(clock)
        self.tokens = TokenEndpoint(self.clock, clients=clients, **token_options)

    # -- what a provider may override --------------------------------------------------------------------------

    @route("POST", "/oauth/token", auth=False)
    def token_endpoint(self, request: SandboxRequest) -> SandboxResponse:
        """The RFC 6749 token endpoint (client credentials and refresh token grants, standard JSON answers)."""
        return self.tokens.serve(request)

    def authenticate(self, request: SandboxRequest) -> None:
        """A live bearer token the endpoint issued (else :meth:`invalid_token`)."""
        if self.tokens.bearer(request) is None:
            raise self.invalid_token(request)

    def invalid_token(self, request: SandboxRequest) -> Refusal:
        """The provider's answer to a missing, unknown, revoked or expired token (401 ``invalid_token``)."""
        return Refusal(401, "the access token is invalid or has expired", "invalid_token")

    # -- the tenant admin's controls, for tests -----------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (the next API call gets a 401; a new token works)."""
        with self.lock:
            self.tokens.expire()

    def revoke_tokens(self) -> None:
        """Revoke every access token issued so far (the next API call gets a 401; a new token works)."""
        with self.lock:
            self.tokens.revoke()

    def rotate_client_secret(
        self,
        new_secret: str = "rotated-by-the-tenant-admin",  # noqa: S107 - a placeholder the tests know
        *,
        client_id: str | None = None,
    ) -> None:
        """Change a client's secret (every client's by default) and revoke its tokens: its credentials stop working."""
        with self.lock:
            for client in [client_id] if client_id is not None else list(self.tokens.secrets):
                self.tokens.rotate_secret(client, new_secret)
