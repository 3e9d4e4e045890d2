"""``lms-connectors doctor`` for LibreBooking: credentials, not an administrator, rooms, the key attribute.

The account must be an ordinary user: LibreBooking lets an application administrator bypass a room's capacity,
length, notice and approval rules, so the adapter would book what the room's rules refuse. The API has no route
that says whether an account is an administrator, so doctor asks one of the administrators' routes
(``POST /Users/``) with a body that LibreBooking's validation refuses before anything is written (every field
present, names and e-mail empty): an ordinary account is answered 401 before the route runs, an administrator
gets the validation's 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lms_connectors.adapter import DiagnosticCheck

if TYPE_CHECKING:
    from lms_connectors_librebooking.adapter import LibreBookingAdapter

__all__ = ["ADMIN_PROBE", "run_checks"]

ADMIN_PROBE = {
    "firstName": "", "lastName": "", "emailAddress": "", "userName": "", "timezone": "Etc/UTC",
    "language": "en_us", "password": "", "phone": "", "organization": "", "position": "",
}
"""A user LibreBooking refuses in validation (400, nothing stored): only administrators reach validation."""


def _not_administrator(adapter: LibreBookingAdapter) -> DiagnosticCheck:
    status = adapter.ex_post_probe("Users/", ADMIN_PROBE)
    if status == 401:
        return DiagnosticCheck.of("not an administrator", True,
                                  "the account is an ordinary user: the rooms' capacity, length, notice and approval "
                                  "rules apply to its reservations")
    if status == 400:
        return DiagnosticCheck.of("not an administrator", False,
                                  "the account is an application administrator: LibreBooking lets it bypass the "
                                  "rooms' capacity, length, notice and approval rules; use an ordinary account")
    return DiagnosticCheck.of("not an administrator", False, f"could not tell (POST /Users/ answered {status})")


def _rooms(adapter: LibreBookingAdapter) -> str | tuple[bool, str]:
    rooms = list(adapter.list_rooms())
    if not rooms:
        return False, "the account may book no room (give it permission on the resources)"
    shown = ", ".join(f"{room.id} {room.name!r} ({room.capacity or 'no'} seats)" for room in rooms[:10])
    missing = [f"{sdk_id} -> {rid}" for sdk_id, rid in adapter.config.rooms.items()
               if str(rid) not in {room.id for room in rooms}]
    if missing:
        return False, f"configured rooms the account cannot book: {', '.join(missing)}; it sees {shown}"
    return f"{len(rooms)} room(s): {shown}"


def _key_attribute(adapter: LibreBookingAdapter) -> str | tuple[bool, str]:
    attribute_id = adapter.config.key_attribute_id
    if attribute_id is None:
        return "no key attribute configured: the key travels in the description's marker only"
    found = adapter.ex_json(f"Attributes/{attribute_id}")
    return f"custom attribute {attribute_id} {found.get('label')!r} carries the key"


def run_checks(adapter: LibreBookingAdapter) -> list[DiagnosticCheck]:
    """Every check, stopping after the credentials when they fail.

    :calls: ``POST /Authentication/Authenticate``, ``POST /Users/`` (refused), ``GET /Resources/``, and
        ``GET /Attributes/{id}`` when a key attribute is configured.
    """
    credentials = adapter.check_credentials()
    if not credentials.ok:
        return [credentials]
    return [
        credentials,
        _not_administrator(adapter),
        DiagnosticCheck.probe("rooms", lambda: _rooms(adapter)),
        DiagnosticCheck.probe("key attribute", lambda: _key_attribute(adapter)),
        adapter.check_listing(),
    ]
