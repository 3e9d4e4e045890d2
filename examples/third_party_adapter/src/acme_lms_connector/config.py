"""Settings of the Acme LMS adapter."""

from __future__ import annotations

from pydantic import Field, SecretStr

from lms_connectors.http.settings import TransportSettings

__all__ = ["API_BASE_URL", "AcmeLmsConfig"]

API_BASE_URL = "https://api.acme-lms.example/v1"
"""Where Acme LMS serves its API (the token endpoint is ``<base>/oauth/token``)."""


class AcmeLmsConfig(TransportSettings):
    """How to reach one Acme LMS tenant (plus the transport settings every adapter has).

    Attributes:
        client_id: OAuth client id of the integration registered in Acme LMS.
        client_secret: Its secret (kept out of logs and reprs).
        base_url: API root; change it only for a private deployment or a sandbox.
        token_url: OAuth token endpoint; ``<base_url>/oauth/token`` when unset.
        page_size: Items per page when listing (Acme allows 1 to 100).
    """

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    base_url: str = API_BASE_URL
    token_url: str | None = None
    page_size: int = Field(default=50, ge=1, le=100)

    @property
    def resolved_token_url(self) -> str:
        """The token endpoint actually used."""
        return self.token_url or f"{self.base_url.rstrip('/')}/oauth/token"
