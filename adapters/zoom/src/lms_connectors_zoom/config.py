"""Configuration of the Zoom adapter (validated with pydantic).

The adapter authenticates as a **Server-to-Server OAuth** app of the Zoom account (``account_id``,
``client_id``, ``client_secret``; JWT apps are retired). Meetings are created for ``user_id`` (a user id, an
email, or ``"me"`` for the app's owner), who hosts them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from lms_connectors.http.settings import TransportSettings
from lms_connectors_zoom.settings import ZoomMeetingSettings

__all__ = ["API_BASE_URL", "TOKEN_URL", "ZoomConfig"]

API_BASE_URL = "https://api.zoom.us/v2"
TOKEN_URL = "https://zoom.us/oauth/token"  # noqa: S105 - an endpoint, not a secret


class ZoomConfig(TransportSettings):
    """Settings of one Zoom adapter instance (plus the transport settings every adapter has).

    Attributes:
        account_id: The Zoom account the Server-to-Server OAuth app belongs to.
        client_id: The app's client id.
        client_secret: The app's client secret.
        user_id: Host of the meetings: a user id, an email, or ``"me"``.
        base_url: API root (changed only to point at a simulator).
        token_url: OAuth token endpoint.
        token_cache_file: A file shared by every process that uses this app, so that they reuse one access token
            instead of minting tokens that replace each other; ``None`` keeps the token in this process.
        token_cache_url: A Redis URL (``redis://host:6379/0``) holding the token for every worker on every host
            (needs ``lms-connectors[workers]``); takes precedence over ``token_cache_file``.
        native_capacity: Let Zoom hold the waitlist: a session with a capacity becomes a meeting with manual
            approval, the adapter approves registrants up to the capacity and the rest stay ``pending``.
        meeting_settings: Settings sent with every meeting.
        page_size: Page size of listings (Zoom allows up to 300).

    ``requests_per_second`` may be set below the account's per-second allowance (it depends on the plan and is
    shared by every app of the account); unset, the adapter relies on Zoom's 429 and ``Retry-After``. The token
    endpoint gets the same attempts and time bound as API calls.
    """

    account_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    user_id: str = Field(default="me", min_length=1)
    base_url: str = API_BASE_URL
    token_url: str = TOKEN_URL
    token_cache_file: Path | None = None
    token_cache_url: str | None = None
    native_capacity: bool = True
    meeting_settings: ZoomMeetingSettings = Field(default_factory=ZoomMeetingSettings)
    page_size: int = Field(default=300, ge=1, le=300)
