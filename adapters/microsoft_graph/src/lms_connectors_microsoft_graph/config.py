"""Configuration of the Microsoft Graph adapter (validated with pydantic).

The adapter authenticates as an application (OAuth 2 client credentials, no user present), with exactly one
of:

* a **client secret** (``client_secret``);
* a **certificate** (``certificate_private_key`` in PEM and the certificate's SHA-1 ``certificate_thumbprint``;
  Entra ID holds the public certificate). Microsoft recommends certificates over secrets for production.

The application needs the application permissions ``Calendars.ReadWrite`` (events of the organizer mailbox),
``Place.Read.All`` (rooms) and, for Teams links made by Outlook, a Teams application access policy that lets it
act for the organizer. Scope ``Calendars.ReadWrite`` down to the training mailboxes with an Exchange application
access policy (or RBAC for Applications): otherwise the application can write to every mailbox of the tenant.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from lms_connectors.http.settings import TransportSettings

__all__ = ["GRAPH_BASE_URL", "GRAPH_SCOPE", "LOGIN_BASE_URL", "MicrosoftGraphConfig"]

GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
LOGIN_BASE_URL = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
"""Client credentials ask for the application's statically consented permissions, never individual scopes."""


class MicrosoftGraphConfig(TransportSettings):
    """Settings of one Microsoft Graph adapter instance (plus the transport settings every adapter has).

    Attributes:
        tenant_id: The Entra ID tenant (GUID or verified domain).
        client_id: The application (client) id.
        client_secret: The application's client secret (secret flow).
        certificate_private_key: PEM private key of the application's certificate (certificate flow).
        certificate_thumbprint: SHA-1 thumbprint (hex) of that certificate, as Entra ID shows it.
        organizer: The mailbox that holds the sessions (user id or UPN); it organizes every event.
        token_cache_path: File of msal's token cache, shared (under a file lock) by every process of the app,
            so that they do not each fetch a token. ``None`` keeps the cache in memory.
        base_url: Graph root (changed only to point at a simulator).
        login_base_url: Where msal's requests to the identity platform are sent (changed only to point at a
            simulator; msal itself always names ``https://login.microsoftonline.com``).
        cancel_comment: The note attendees receive with a cancellation.
        response_timezone: Zone Graph answers times in (``Prefer: outlook.timezone``). ``UTC`` (the default)
            makes every instant unambiguous; a Windows or IANA name is accepted too and parsed back.
        mailbox_concurrency: Requests in flight at once per mailbox from this process. Outlook allows 4 per app
            and mailbox (more are refused with ``ApplicationThrottled``/``MailboxConcurrency``).
        requests_per_second: Proactive request rate. Outlook allows 10,000 requests per 10 minutes per app and
            mailbox (16.7 a second); the default stays below it. ``None`` turns it off.
        burst: Requests that may go at once after a quiet spell.
        teams_wait_seconds: How long a create waits for Outlook to attach the Teams link it makes
            asynchronously (the create answer may come without ``onlineMeeting``).
        room_wait_seconds: How long a create waits for a room mailbox to accept or decline.
        subscription_minutes: How long a change-notification subscription asks to live (Outlook events allow
            at most 10,080 minutes); it is renewed before it lapses.
        attendance_reports: Read who attended from the Teams meetings' attendance reports (needs
            ``OnlineMeetings.Read.All``, ``OnlineMeetingArtifact.Read.All`` and an application access policy
            for the organizer; the doctor checks the permissions). Off: the doctor does not ask for them, the adapter
            does not claim the ``attendance`` capability and ``list_attendance`` raises ``NotSupported``.
    """


    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    certificate_private_key: SecretStr | None = None
    certificate_thumbprint: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{40}$")
    organizer: str = Field(min_length=3)
    token_cache_path: str | None = None
    base_url: str = GRAPH_BASE_URL
    login_base_url: str = LOGIN_BASE_URL
    cancel_comment: str = "This training session has been cancelled."
    response_timezone: str = "UTC"
    mailbox_concurrency: int = Field(default=4, ge=1, le=4)
    requests_per_second: float | None = Field(default=15.0, gt=0)
    burst: int = Field(default=20, ge=1)
    teams_wait_seconds: float = Field(default=10.0, ge=0)
    room_wait_seconds: float = Field(default=10.0, ge=0)
    subscription_minutes: int = Field(default=4230, ge=45, le=10_080)
    attendance_reports: bool = True

    @model_validator(mode="after")
    def _one_credential(self) -> MicrosoftGraphConfig:
        certificate = self.certificate_private_key is not None or self.certificate_thumbprint is not None
        if self.client_secret is not None and certificate:
            raise ValueError("configure either client_secret or a certificate, not both")
        if certificate and (self.certificate_private_key is None or self.certificate_thumbprint is None):
            raise ValueError("a certificate needs both certificate_private_key and certificate_thumbprint")
        if self.client_secret is None and not certificate:
            raise ValueError(
                "configure client_secret, or certificate_private_key with certificate_thumbprint"
            )
        return self

    @property
    def authority(self) -> str:
        """The msal authority of the tenant, always on Microsoft's canonical host."""
        return f"{LOGIN_BASE_URL}/{self.tenant_id}"
