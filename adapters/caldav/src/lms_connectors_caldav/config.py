"""Configuration of the CalDAV adapter (validated with pydantic).

The server is named by ``base_url`` (its root, where ``/.well-known/caldav`` is found, RFC 6764); the calendar
that holds the sessions is found from there by discovery (the account's principal, its calendar home, then the
collection ``calendar`` in it), unless ``calendar_url`` names it directly.

Exactly one way to authenticate: HTTP Basic (``username`` and ``password``: most servers, app-specific passwords
on iCloud and Nextcloud) or a bearer token (``bearer_token``: servers behind OAuth, such as Google's CalDAV
endpoint, with a token obtained elsewhere).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, model_validator

from lms_connectors.http.settings import TransportSettings

__all__ = ["CalDavConfig"]


def _lower_email(value: str) -> str:
    text = value.strip().lower()
    if "@" not in text or text.startswith("@") or text.endswith("@"):
        raise ValueError(f"{value!r} is not an email address")
    return text


Email = Annotated[str, AfterValidator(_lower_email)]


class CalDavConfig(TransportSettings):
    """Settings of one CalDAV adapter instance (the transport settings, timeouts and rate, come from the base).

    Attributes:
        base_url: The server's root URL (``https://dav.example.org``); discovery starts at its
            ``/.well-known/caldav``.
        calendar: Name of the calendar collection in the account's calendar home that holds the sessions.
        calendar_url: The collection's URL or absolute path, to skip discovery (``/remote.php/dav/calendars/u/t/``).
        username: Basic auth user name.
        password: Basic auth password (an app-specific password where the server has them).
        bearer_token: A bearer token, instead of Basic credentials.
        organizer_email: Written as the events' ORGANIZER; also the address whose free/busy is the sessions
            calendar's.
        organizer_name: The organizer's display name (CN).
        uid_domain: Right-hand side of every event's UID; keep it equal to the one invites are written with,
            so that an invite and the stored event are one event for calendar clients.
        free_busy_calendars: Email of a person or room -> URL or path of a calendar collection the account may
            read, whose free/busy answers for that address.
    """

    base_url: str = Field(min_length=1)
    calendar: str = Field(default="training", min_length=1, pattern=r"^[^/]+$")
    calendar_url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    bearer_token: SecretStr | None = None
    organizer_email: Email | None = None
    organizer_name: str | None = None
    uid_domain: str = Field(default="lms-connectors", min_length=1, pattern=r"^[^\s@]+$")
    free_busy_calendars: dict[Email, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_auth_method(self) -> CalDavConfig:
        basic = self.username is not None or self.password is not None
        if basic and self.bearer_token is not None:
            raise ValueError("configure Basic credentials (username, password) or a bearer_token, not both")
        if basic and (not self.username or self.password is None):
            raise ValueError("Basic auth needs both username and password")
        if not basic and self.bearer_token is None:
            raise ValueError("configure Basic credentials (username, password) or a bearer_token")
        return self
