"""Settings of the Acme LMS adapter."""

from __future__ import annotations

from pydantic import Field

from lms_connectors.http.settings import OAuthClientSettings

__all__ = ["API_BASE_URL", "AcmeLmsConfig"]

API_BASE_URL = "https://api.acme-lms.example/v1"
"""Where Acme LMS serves its API (the token endpoint is ``<base>/oauth/token``)."""


class AcmeLmsConfig(OAuthClientSettings):
    """How to reach one Acme LMS tenant: an OAuth client (``client_id``, ``client_secret``, ``token_url``) plus
    the transport settings every adapter has.

    Attributes:
        base_url: API root; change it only for a private deployment or a sandbox.
        page_size: Items per page when listing (Acme allows 1 to 100).
    """

    base_url: str = API_BASE_URL
    page_size: int = Field(default=50, ge=1, le=100)
