"""Configuration of the LibreBooking adapter (validated with pydantic).

The site is named by ``base_url``, the root of the LibreBooking installation (the API is at
``<base_url>/Web/Services/index.php``). The adapter signs in with a LibreBooking account (``username``, which may
be its e-mail address, and ``password``); that account should be an ordinary user, not an application
administrator: LibreBooking lets administrators bypass a room's capacity, length, notice and approval rules, so
an administrator account would book what the room's rules refuse (``lms-connectors doctor`` checks it).
"""

from __future__ import annotations

from datetime import date

from pydantic import Field, SecretStr, model_validator

from lms_connectors.http.settings import TransportSettings

__all__ = ["API_PATH", "LibreBookingConfig"]

API_PATH = "/Web/Services/index.php"
"""Where LibreBooking serves its REST API under the site's root."""


class LibreBookingConfig(TransportSettings):
    """Settings of one LibreBooking adapter instance (timeouts and rate come from the transport settings).

    Attributes:
        base_url: The site's root (``https://booking.example.org``), without ``/Web/Services/index.php``.
        username: The API account's login name or e-mail address.
        password: Its password.
        rooms: SDK room id (``Session.room.id``) -> LibreBooking resource id. A room whose id is a number is taken
            as the resource id itself.
        key_attribute_id: Id of a reservation custom attribute (a text attribute an administrator created) that
            carries each reservation's idempotency key, so that people see it in LibreBooking's own pages; the
            marker in the description is what look-ups search either way.
        lookup_since: First day of the window a look-up by key alone searches (LibreBooking lists reservations
            only by date window; a look-up for a create searches the session's own slot instead).
        lookup_until: The day after that window. Both are fixed dates, not relative to today, so that a look-up
            asks the same thing whenever it runs.
        session_minutes: LibreBooking's ``inactivity.timeout`` (30 minutes as shipped): a token unused this long
            has expired, so the adapter signs in again before using it.
    """

    base_url: str = Field(min_length=1)
    username: str = Field(min_length=1)
    password: SecretStr
    rooms: dict[str, int] = Field(default_factory=dict)
    key_attribute_id: int | None = Field(default=None, ge=1)
    lookup_since: date = date(2020, 1, 1)
    lookup_until: date = date(2100, 1, 1)
    session_minutes: float = Field(default=30.0, gt=1)

    @model_validator(mode="after")
    def _window_in_order(self) -> LibreBookingConfig:
        if self.lookup_until <= self.lookup_since:
            raise ValueError("lookup_until must be after lookup_since")
        return self

    @property
    def api_url(self) -> str:
        """The REST API's root URL."""
        return self.base_url.rstrip("/") + API_PATH
