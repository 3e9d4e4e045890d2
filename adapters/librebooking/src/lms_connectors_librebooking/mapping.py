"""Sessions to LibreBooking reservation bodies and back.

What LibreBooking needs, each point seen on a live site (the adapter's README cites them):

* **Every key of the request object**, or PHP fails with an HTML 500 (``Undefined property``) that may still
  have written: :func:`reservation_body` always sends the full set, ``title`` never null.
* **Instants in UTC with ``Z``**: a time with ``T`` and no offset is read as UTC, one without ``T`` in the
  account's own zone; an explicit ``Z`` is what LibreBooking reads the same way every time.
* **An update replaces the whole reservation**: participants and invitees left out are removed and the owner is
  reset to ``userId`` (the caller when null), so every update sends the owner and the full roster again.
* **Read-back offsets vary**: a single reservation comes back in the *reader's* zone (``+HHMM``), lists in UTC;
  :func:`parse_instant` reads either as an aware instant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lms_connectors.errors import MalformedResponse
from lms_connectors.markers import marker

__all__ = ["ReservationDraft", "parse_instant", "reservation_body", "utc_text"]


def utc_text(instant: datetime) -> str:
    """An aware instant as LibreBooking reads it the same way for every account: ``2027-02-10T14:00:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(value: Any, what: str = "date") -> datetime:
    """An instant LibreBooking answered (``2027-01-12T09:00:00+0000`` or ``...-0400``), as an aware datetime.

    Raises:
        MalformedResponse: The value is not an ISO 8601 instant with an offset.
    """
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise MalformedResponse(f"LibreBooking answered {what} {value!r}, not an instant with an offset",
                            provider="librebooking")


@dataclass
class ReservationDraft:
    """What one reservation holds, as the adapter writes it.

    Attributes:
        resource_id: The room's resource id.
        start: Aware start instant.
        end: Aware end instant.
        title: The session's title.
        description: The session's description (the key's marker is appended).
        key: The idempotency key.
        owner_id: The API account's user id (sent as ``userId``, so that an update keeps the owner).
        participants: User ids of learners with an account (they count towards ``maxParticipants``).
        invitees: User ids of instructors with an account (invited, not counted).
        key_attribute_id: The custom attribute carrying the key, if configured.
    """

    resource_id: int
    start: datetime
    end: datetime
    title: str
    description: str
    key: str
    owner_id: int
    participants: Sequence[int] = field(default_factory=tuple)
    invitees: Sequence[int] = field(default_factory=tuple)
    key_attribute_id: int | None = None


def described(description: str, key: str) -> str:
    """The description with the key's marker on a line of its own (what look-ups search: lists show it)."""
    tag = marker(key)
    text = description.strip()
    return f"{text}\n\n{tag}" if text else tag


def reservation_body(draft: ReservationDraft) -> dict[str, Any]:
    """The full request object of a create or an update (every key: a missing one is a PHP error)."""
    attributes = (
        [{"attributeId": draft.key_attribute_id, "attributeValue": draft.key}]
        if draft.key_attribute_id is not None
        else []
    )
    return {
        "accessories": [],
        "customAttributes": attributes,
        "description": described(draft.description, draft.key),
        "endDateTime": utc_text(draft.end),
        "invitees": sorted(set(draft.invitees)),
        "participants": sorted(set(draft.participants)),
        "participatingGuests": [],
        "invitedGuests": [],
        "recurrenceRule": None,
        "resourceId": draft.resource_id,
        "resources": [],
        "startDateTime": utc_text(draft.start),
        "title": draft.title,
        "userId": draft.owner_id,
        "startReminder": None,
        "endReminder": None,
        "allowParticipation": False,
        "retryParameters": [],
        "termsAccepted": True,
    }


def user_ids(people: Any) -> list[int]:
    """User ids of a reservation's ``participants`` or ``invitees``.

    A single read answers them as a list of users, a listing as an object of id -> name.
    """
    if isinstance(people, Mapping):
        return [int(key) for key in people if str(key).isdigit()]
    if isinstance(people, list):
        return [int(p["userId"]) for p in people if isinstance(p, Mapping) and str(p.get("userId", "")).isdigit()]
    return []


def emails_of(people: Any) -> list[str]:
    """E-mail addresses of a single read's ``participants``/``invitees`` (lower case)."""
    if not isinstance(people, list):
        return []
    return [str(p["emailAddress"]).lower() for p in people if isinstance(p, Mapping) and p.get("emailAddress")]
