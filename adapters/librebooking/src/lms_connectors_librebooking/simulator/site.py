"""The simulated site's data: users, schedules, resources, custom attributes, reservations, blackouts, sessions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

__all__ = ["Blackout", "Layout", "Reservation", "Resource", "Schedule", "Site", "User"]

_DURATION_KEYS = ("minLength", "maxLength", "bufferTime", "minNoticeAdd", "minNoticeUpdate", "minNoticeDelete",
                  "maxNotice")


@dataclass
class User:
    """An account: ``admin`` is an application administrator (above every room rule)."""

    id: int
    username: str
    email: str
    first: str
    last: str
    timezone: str
    password: str
    admin: bool = False
    language: str = "en_us"
    organization: str | None = ""
    position: str | None = ""
    phone: str | None = ""
    created: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    last_login: datetime | None = None

    @property
    def full_name(self) -> str:
        """First and last name, as lists show a participant."""
        return f"{self.first} {self.last}"


Layout = list[tuple[time, time, bool]]
"""One day's periods: (start, end, bookable); an end of ``time(0)`` is midnight."""


@dataclass
class Schedule:
    """A schedule: its zone and the periods of every day (one layout for every weekday)."""

    id: int
    name: str
    timezone: str
    layout: Layout
    is_default: bool = False


@dataclass
class Resource:
    """A room, with the fields LibreBooking echoes back as they were sent."""

    id: int
    name: str
    schedule_id: int
    fields: dict[str, Any] = field(default_factory=dict)
    visible_to_users: bool = True

    def text(self, key: str) -> str:
        """A field as the API echoes it (``""`` when unset)."""
        value = self.fields.get(key)
        return "" if value is None else str(value)

    def duration(self, key: str) -> timedelta | None:
        """A ``"<d>d<h>h<m>m"`` field as a timedelta, ``None`` when unset."""
        text = self.text(key)
        if not text:
            return None
        days, rest = text.split("d")
        hours, rest = rest.split("h")
        return timedelta(days=int(days), hours=int(hours), minutes=int(rest.rstrip("m")))

    @property
    def max_participants(self) -> int | None:
        """``maxParticipants``, ``None`` when unlimited."""
        value = self.fields.get("maxParticipants")
        return int(value) if value not in (None, "", 0, "0") else None

    @property
    def requires_approval(self) -> bool:
        """Whether an ordinary user's reservation waits for approval."""
        return bool(self.fields.get("requiresApproval"))


@dataclass
class Reservation:
    """One reservation (LibreBooking's instance with its series): instants in UTC."""

    reference: str
    resource_id: int
    owner_id: int
    start: datetime
    end: datetime
    title: str
    description: str
    participants: list[int] = field(default_factory=list)
    invitees: list[int] = field(default_factory=list)
    participating_guests: list[str] = field(default_factory=list)
    invited_guests: list[str] = field(default_factory=list)
    attributes: dict[int, str] = field(default_factory=dict)
    pending: bool = False
    series_id: int = 0
    instance_id: int = 0
    original_end: datetime | None = None


@dataclass
class Blackout:
    """A blackout on a room (made in LibreBooking's pages: the API has no route for them)."""

    resource_id: int
    start: datetime
    end: datetime
    title: str


@dataclass
class Site:
    """Everything the simulated site holds."""

    users: dict[int, User] = field(default_factory=dict)
    schedules: dict[int, Schedule] = field(default_factory=dict)
    resources: dict[int, Resource] = field(default_factory=dict)
    attributes: dict[int, dict[str, Any]] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    blackouts: list[Blackout] = field(default_factory=list)
    sessions: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)
    next_series: int = 1
    """``reservation_series``' AUTO_INCREMENT: a create, and an update that splits the instance off its series."""
    next_instance: int = 1
    """``reservation_instances``' AUTO_INCREMENT: a create only (an update keeps the instance's row and id).

    ``reservation_users`` is keyed by (instance id, user id), so the duplicate-row errors quote this id, not the
    series'. The two counters part after the first ``updateScope=this`` update.
    """

    def add_user(self, username: str, email: str, first: str, last: str, timezone: str, password: str, *,
                 admin: bool = False, **extra: Any) -> User:
        """Register an account."""
        user = User(max(self.users, default=0) + 1, username, email, first, last, timezone, password, admin, **extra)
        self.users[user.id] = user
        return user

    def add_schedule(self, name: str, timezone: str, layout: Layout, *, is_default: bool = False) -> Schedule:
        """Add a schedule with one layout for every day."""
        schedule = Schedule(max(self.schedules, default=0) + 1, name, timezone, layout, is_default)
        self.schedules[schedule.id] = schedule
        return schedule

    def add_resource(self, name: str, schedule_id: int, **fields: Any) -> Resource:
        """Add a room (``fields`` as the API's create takes them: ``maxParticipants``, ``requiresApproval``...)."""
        resource = Resource(max(self.resources, default=0) + 1, name, schedule_id)
        resource.fields = {key: "" for key in _DURATION_KEYS} | fields
        # Only a room created with autoAssignPermissions may be booked by ordinary users.
        resource.visible_to_users = bool(fields.get("autoAssignPermissions", False))
        self.resources[resource.id] = resource
        return resource

    def add_attribute(self, label: str, **fields: Any) -> int:
        """Add a reservation custom attribute; its id."""
        attribute_id = max(self.attributes, default=0) + 1
        self.attributes[attribute_id] = {"label": label, **fields}
        return attribute_id

    def user_named(self, login: str) -> User | None:
        """The account whose user name or e-mail is ``login`` (LibreBooking takes either)."""
        wanted = login.lower()
        return next((u for u in self.users.values() if wanted in (u.username.lower(), u.email.lower())), None)

    def open_session(self, user: User, now: datetime) -> str:
        """A new session token (50 hex digits, as LibreBooking's)."""
        token = secrets.token_hex(25)
        self.sessions[token] = (user.id, now)
        return token

    def new_reference(self, now: datetime) -> str:
        """A reference number shaped as LibreBooking's (``uniqid`` with more entropy, the dot removed)."""
        micro = int(now.timestamp() * 1_000_000)
        while True:
            reference = f"{micro // 1_000_000:08x}{micro % 1_000_000:05x}{secrets.randbelow(10**9):09d}"
            if reference not in self.reservations:
                return reference
