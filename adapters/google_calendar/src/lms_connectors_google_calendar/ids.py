"""Client-chosen event ids, derived from the SDK's idempotency key.

Google lets the client choose an event's id on insert (characters ``a-v`` and ``0-9``, i.e. RFC 4648
base32hex in lower case, 5 to 1024 characters, unique per calendar) and answers 409 when that id exists. Deriving
the id from the idempotency key therefore turns a retried insert into a duplicate the API itself refuses.

Google never frees the id of a deleted event, so the key must change when a session is re-created after a
cancel; the scheduler's keys carry a generation counter for exactly that reason.
"""

from __future__ import annotations

import base64
import hashlib
import re

__all__ = ["EVENT_ID_PATTERN", "conference_request_id", "event_id_for_key", "is_valid_event_id"]

EVENT_ID_PATTERN = re.compile(r"^[0-9a-v]{5,1024}$")
"""What Google accepts as a client-supplied event id."""


def event_id_for_key(key: str) -> str:
    """Return the event id for an idempotency key.

    The id is the SHA-256 digest of the key in lower-case base32hex without padding (52 characters), so it
    is stable across processes and machines, and any change to the key (its generation included) changes it.

    Args:
        key: The idempotency key minted by the scheduler (``"<session>.<provider>.g<generation>"``).

    Returns:
        A valid Google event id.
    """
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def conference_request_id(key: str) -> str:
    """Return the Meet ``createRequest.requestId`` for an idempotency key.

    Google de-duplicates conference creation by this id, so every retry of one create reuses it.
    """
    return "lmsc-" + event_id_for_key(key)[:32]


def is_valid_event_id(value: str) -> bool:
    """Whether ``value`` is an id Google would accept on insert."""
    return EVENT_ID_PATTERN.fullmatch(value) is not None
