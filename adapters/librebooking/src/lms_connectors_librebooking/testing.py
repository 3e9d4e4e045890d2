"""The LibreBooking contract harness: how the lms-connectors contract kit builds, records and breaks this adapter.

Both the simulated site (:meth:`LibreBookingHarness.make_simulator`) and the live site the committed cassettes were
recorded on hold the same things: an ordinary API account ``lmsc.rooms``, an administrator, the contract's
learners as accounts, the room "Harbour Training Room" (resource 1, 20 participants) on LibreBooking's default
schedule (30-minute slots from 08:00 to 18:00 UTC) and the reservation attribute 1 that carries the key.

Re-recording against a live LibreBooking: ``LMS_CONNECTORS_RECORD=live`` with ``LMSC_LIBREBOOKING_URL``,
``LMSC_LIBREBOOKING_USERNAME``, ``LMSC_LIBREBOOKING_PASSWORD``, ``LMSC_LIBREBOOKING_ROOM`` (the resource id of
the room) and ``LMSC_LIBREBOOKING_KEY_ATTRIBUTE`` (the attribute id).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from lms_connectors.errors import ConfigurationError
from lms_connectors.markers import key_in
from lms_connectors.models import Room, Session, TimeSlot
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_librebooking.adapter import LibreBookingAdapter
from lms_connectors_librebooking.simulator import LibreBookingSimulator

__all__ = ["API_USERNAME", "CANONICAL_BASE_URL", "LibreBookingHarness", "contract_site"]

CANONICAL_BASE_URL = "https://booking.example.org"
"""Where cassettes say the site is (the live site was served with this public URL)."""
API_USERNAME = "lmsc.rooms"
PLACEHOLDER_PASSWORD = "placeholder-librebooking-password"  # noqa: S105 - a placeholder, never a real secret
CONTRACT_ROOM_ID = "contract-room-1"
LEARNER_ACCOUNTS = (
    ("amara.okafor", "amara.okafor@example.org", "Amara", "Okafor", "America/New_York"),
    ("lena.fischer", "lena.fischer@example.org", "Lena", "Fischer", "Europe/Berlin"),
    ("kenji.sato", "kenji.sato@example.org", "Kenji", "Sato", "Asia/Tokyo"),
    ("aiko.tanaka", "aiko.tanaka@example.org", "Aiko", "Tanaka", "Asia/Tokyo"),
)
_Sandbox = SandboxServer[LibreBookingSimulator] | None


def contract_site(simulator: LibreBookingSimulator, password: str = PLACEHOLDER_PASSWORD) -> None:
    """Give a simulated site what the contract needs (as the live site was set up through its API)."""
    site = simulator.site
    site.add_user("admin", "admin@example.org", "Ada", "Admin", "Europe/London", "admin-" + password, admin=True)
    site.add_user(API_USERNAME, "rooms-api@example.org", "Rooms", "Integration", "Etc/UTC", password)
    for username, email, first, last, zone in LEARNER_ACCOUNTS:
        site.add_user(username, email, first, last, zone, "learner-" + password)
    site.add_resource("Harbour Training Room", 1, location="12 Quay Street", description="Harbour training room",
                      maxParticipants=20, requiresApproval=False, autoAssignPermissions=True)
    site.add_resource("Quay Meeting Room", 1, location="14 Quay Street", description="Small room",
                      maxParticipants=2, requiresApproval=False, autoAssignPermissions=True)
    site.add_resource("Boardroom (approval)", 1, location="12 Quay Street", description="Needs approval",
                      maxParticipants=8, requiresApproval=True, autoAssignPermissions=True)
    # The room of the SDK's demo, found by its name (the demo's Room has no LibreBooking id).
    site.add_resource("HQ Training Room 3", 1, location="HQ, 3rd floor", description="Training room",
                      maxParticipants=12, requiresApproval=False, autoAssignPermissions=True)
    site.add_attribute("lms-connectors key", type=1, categoryId=1)


class LibreBookingHarness(ContractHarness[LibreBookingAdapter, LibreBookingSimulator]):
    """Contract harness of the LibreBooking adapter."""

    canonical_base_url: ClassVar[str] = CANONICAL_BASE_URL
    keeps: ClassVar[frozenset[str]] = frozenset({"location"})
    missing_external_id: ClassVar[str] = "6b1000000000000000000000"
    unsupported: ClassVar[dict[str, str]] = {
        "rate_limited": "LibreBooking has no rate limit: it sends no 429 and no rate-limit headers (30 calls in a "
                        "row were all answered 200), so there is no throttling answer to record",
        "pagination": "LibreBooking has no paging: reservations are listed by date window, all of a window in one "
                      "answer",
    }

    def make_simulator(self) -> LibreBookingSimulator:
        """A simulated site set up as the live one the cassettes were recorded on."""
        simulator = LibreBookingSimulator()
        contract_site(simulator)
        return simulator

    def adapter_settings(self, base_url: str) -> dict[str, Any]:
        """The API account, the contract room as resource 1 and the key attribute 1."""
        return {"base_url": base_url, "username": API_USERNAME, "password": PLACEHOLDER_PASSWORD,
                "rooms": {CONTRACT_ROOM_ID: 1}, "key_attribute_id": 1}

    def live_adapter(self, *, sleep: Callable[[float], None]) -> LibreBookingAdapter:
        """The adapter on the live site the ``LMSC_LIBREBOOKING_*`` variables name.

        Raises:
            ConfigurationError: A variable is missing.
        """
        names = ("URL", "USERNAME", "PASSWORD", "ROOM", "KEY_ATTRIBUTE")
        values = {name: os.environ.get(f"LMSC_LIBREBOOKING_{name}", "") for name in names}
        missing = [f"LMSC_LIBREBOOKING_{name}" for name, value in values.items() if not value]
        if missing:
            raise ConfigurationError(f"recording against a live LibreBooking needs {', '.join(missing)}")
        return LibreBookingAdapter.from_config({
            "base_url": values["URL"], "username": values["USERNAME"], "password": values["PASSWORD"],
            "rooms": {CONTRACT_ROOM_ID: int(values["ROOM"])}, "key_attribute_id": int(values["KEY_ATTRIBUTE"]),
        }, sleep=sleep)

    def clean_live(self, adapter: LibreBookingAdapter) -> None:
        """Cancel the API account's reservations that contract cases made (their key starts with ``contract-``).

        Every case books the same room at the same times, so each must start on a room that no earlier case (or
        an interrupted run) left booked.
        """
        since = datetime.combine(adapter.config.lookup_since, time(0), UTC)
        until = datetime.combine(adapter.config.lookup_until, time(0), UTC)
        for found in list(adapter.list_sessions(since, until)):
            key = key_in(str(found.raw.get("description") or "")) or ""
            if key.startswith("contract-"):
                adapter.cancel_session(found.ref)

    def secret_values(self) -> list[str]:
        """The placeholder password must not reach a cassette either."""
        return [PLACEHOLDER_PASSWORD]

    def session_extras(self) -> dict[str, Any]:
        """The contract's room is resource 1."""
        return {}

    def expire_auth(self, adapter: LibreBookingAdapter, sandbox: _Sandbox) -> None:
        """The session ends at the site (signed out there) while the adapter still holds its token."""
        adapter.auth.end_at_site()

    def break_auth(self, adapter: LibreBookingAdapter, sandbox: _Sandbox) -> None:
        """The account's password changes: the session ends and signing in again is refused."""
        adapter.auth.use_password("changed-" + PLACEHOLDER_PASSWORD)
        adapter.auth.end_at_site()

    def provoke_invalid_request(self, adapter: LibreBookingAdapter, sandbox: _Sandbox) -> None:
        """Book the room in the past: ``The start date and time cannot be in the past.`` (400)."""
        past = _contract_session("contract-invalid", datetime(2020, 1, 6, 9, 0))
        adapter.create_session(past, key="contract-invalid.librebooking.g1")

    def provoke_conflict(self, adapter: LibreBookingAdapter, sandbox: _Sandbox) -> None:
        """Book the room twice at the same time: ``There are conflicting reservations ...`` (400)."""
        first = _contract_session("contract-conflict-1", datetime(2027, 5, 3, 10, 0))
        adapter.create_session(first, key="contract-conflict-1.librebooking.g1", fresh=True)
        second = first.model_copy(update={"id": "contract-conflict-2", "title": "Contract conflict, the other"})
        adapter.create_session(second, key="contract-conflict-2.librebooking.g1", fresh=True)


def _contract_session(session_id: str, wall: datetime) -> Session:
    zone = ZoneInfo("Europe/London")
    start = wall.replace(tzinfo=zone)
    end = datetime.combine(start.date(), time(start.hour + 1, start.minute), zone)
    return Session(id=session_id, title=f"Contract {session_id}", slot=TimeSlot(start=start, end=end,
                   timezone="Europe/London"), room=Room(id=CONTRACT_ROOM_ID, name="Harbour Training Room"))
