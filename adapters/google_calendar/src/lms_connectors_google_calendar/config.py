"""Configuration of the Google Calendar adapter (validated with pydantic).

Two ways to authenticate, exactly one of which must be configured:

* **OAuth refresh token** of the organizer (``client_id``, ``client_secret``, ``refresh_token``): for a single
  account that consented once (installed-app flow).
* **Service account with domain-wide delegation** (``service_account_info`` or ``service_account_file``, plus
  ``subject``, the organizer to act as): for a Google Workspace tenant. Without ``subject`` the account acts as
  itself, which cannot invite attendees by email nor create Meet links, so ``subject`` is required.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from lms_connectors.http.settings import TransportSettings

__all__ = [
    "CALENDAR_BASE_URL",
    "DEFAULT_SCOPES",
    "DIRECTORY_BASE_URL",
    "TOKEN_URI",
    "GoogleCalendarConfig",
    "SendUpdates",
]

CALENDAR_BASE_URL = "https://www.googleapis.com/calendar/v3"
DIRECTORY_BASE_URL = "https://admin.googleapis.com/admin/directory/v1"
TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret
DEFAULT_SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
    "https://www.googleapis.com/auth/admin.directory.resource.calendar.readonly",
)

SendUpdates = Literal["all", "externalOnly", "none"]


class GoogleCalendarConfig(TransportSettings):
    """Settings of one Google Calendar adapter instance (plus the transport settings every adapter has).

    Attributes:
        calendar_id: The organizer's calendar that holds the sessions (``"primary"`` or a calendar id).
        send_updates: Who Google emails on create, reschedule, roster change and cancel.
        base_url: Calendar API root (changed only to point at a simulator).
        directory_base_url: Admin SDK Directory API root, for rooms.
        token_uri: OAuth 2 token endpoint.
        customer: Workspace customer whose rooms are listed (``"my_customer"`` is the caller's own).
        client_id: OAuth client id (refresh-token flow).
        client_secret: OAuth client secret (refresh-token flow).
        refresh_token: The organizer's refresh token (refresh-token flow).
        service_account_info: Parsed service-account key JSON (delegation flow).
        service_account_file: Path of a service-account key JSON file (delegation flow).
        subject: The Workspace user the service account acts as; the organizer of every event.
        scopes: OAuth scopes asked for.
        requests_per_second: Proactive limit of this adapter's calls. Google allows 600 requests a minute per
            user (and 10,000 per project); the default, 10 a second with bursts of ``burst``, stays within the
            per-user quota instead of learning of it from a 403 ``userRateLimitExceeded``. ``None`` turns it off.
        burst: Calls that may go at once after a quiet spell.
        meet_wait_seconds: How long a create waits for Google to finish making a Meet conference (Google makes
            it asynchronously: ``status.statusCode`` is ``pending`` first).
        channel_ttl_seconds: The time to live a push channel asks for (``params.ttl``); ``None`` takes Google's
            default (one week).

    The token endpoint (``token_uri``) gets the same attempts and time bound as API calls.
    """

    calendar_id: str = Field(default="primary", min_length=1)
    send_updates: SendUpdates = "all"
    base_url: str = CALENDAR_BASE_URL
    directory_base_url: str = DIRECTORY_BASE_URL
    token_uri: str = TOKEN_URI
    customer: str = "my_customer"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    service_account_info: dict[str, Any] | None = Field(default=None, repr=False)
    service_account_file: str | None = None
    subject: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    requests_per_second: float | None = Field(default=10.0, gt=0)
    burst: int = Field(default=50, ge=1)
    meet_wait_seconds: float = Field(default=10.0, ge=0)
    channel_ttl_seconds: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_auth_method(self) -> GoogleCalendarConfig:
        oauth = [self.client_id, self.client_secret, self.refresh_token]
        service = self.service_account_info is not None or self.service_account_file is not None
        if service and any(value is not None for value in oauth):
            raise ValueError("configure either an OAuth refresh token or a service account, not both")
        if service:
            if self.service_account_info is not None and self.service_account_file is not None:
                raise ValueError("give service_account_info or service_account_file, not both")
            if not self.subject:
                raise ValueError(
                    "a service account needs 'subject' (the organizer it acts as, through domain-wide delegation)"
                )
            return self
        if not all(value is not None for value in oauth):
            raise ValueError(
                "configure OAuth (client_id, client_secret, refresh_token) or a service account "
                "(service_account_info or service_account_file, with subject)"
            )
        return self

    @property
    def uses_service_account(self) -> bool:
        """Whether the delegation flow is configured."""
        return self.service_account_info is not None or self.service_account_file is not None
