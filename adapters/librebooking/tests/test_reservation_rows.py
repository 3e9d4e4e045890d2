"""How a reservation's user rows are written, and what a failed row leaves behind.

LibreBooking keys ``reservation_users`` by (reservation *instance* id, user id) and inserts the rows one by one
without a transaction. These sequences were run on a live LibreBooking (the site of ``live/README.md``) and its
tables read afterwards; the simulator must answer and store the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_librebooking.simulator import LibreBookingSimulator

PASSWORD = "rows-password"
API = "/Web/Services/index.php"


@pytest.fixture
def site() -> Iterator[tuple[SandboxServer[LibreBookingSimulator], LibreBookingSimulator]]:
    simulator = LibreBookingSimulator()
    simulator.site.add_user("admin", "admin@example.com", "Ada", "Admin", "Europe/London", PASSWORD, admin=True)
    simulator.site.add_user("london.l", "london@example.org", "Lon", "Don", "Europe/London", PASSWORD)
    simulator.site.add_user("ny.l", "ny@example.org", "New", "York", "America/New_York", PASSWORD)
    simulator.site.add_resource("Room A", 1, maxParticipants=3, autoAssignPermissions=True)
    with SandboxServer(simulator) as server:
        yield server, simulator


def _headers(server: SandboxServer[LibreBookingSimulator], username: str) -> dict[str, str]:
    answer = requests.post(f"{server.url}{API}/Authentication/Authenticate",
                           json={"username": username, "password": PASSWORD}, timeout=10).json()
    return {"X-Booked-SessionToken": answer["sessionToken"], "X-Booked-UserId": str(answer["userId"])}


def _body(day: int, title: str, participants: tuple[int, ...] = (), invitees: tuple[int, ...] = ()) -> dict[str, Any]:
    return {"accessories": [], "customAttributes": [], "description": "", "endDateTime": f"2027-02-{day:02d}T11:00:00Z",
            "invitees": list(invitees), "participants": list(participants), "participatingGuests": [],
            "invitedGuests": [], "recurrenceRule": None, "resourceId": 1, "resources": [],
            "startDateTime": f"2027-02-{day:02d}T10:00:00Z", "title": title, "userId": None, "startReminder": None,
            "endReminder": None, "allowParticipation": False, "retryParameters": [], "termsAccepted": True}


def test_the_duplicate_row_quotes_the_instance_id_not_the_series_id(
    site: tuple[SandboxServer[LibreBookingSimulator], LibreBookingSimulator],
) -> None:
    server, simulator = site
    admin = _headers(server, "admin")
    created = requests.post(f"{server.url}{API}/Reservations/", json=_body(2, "First"), headers=admin, timeout=10)
    reference = created.json()["referenceNumber"]
    # updateScope=this splits the instance into a new series (2); the instance keeps its id (1).
    moved = requests.post(f"{server.url}{API}/Reservations/{reference}", params={"updateScope": "this"},
                          json=_body(3, "First moved"), headers=admin, timeout=10)
    assert moved.status_code == 200
    assert simulator.site.reservations[reference].series_id == 2
    assert simulator.site.reservations[reference].instance_id == 1

    owner_too = requests.post(f"{server.url}{API}/Reservations/", json=_body(4, "Owner as participant", (3,)),
                              headers=_headers(server, "ny.l"), timeout=10)

    assert owner_too.status_code == 500
    assert re.findall(r"Duplicate entry '[^']*'", owner_too.text) == ["Duplicate entry '2-3'"]  # series 3, instance 2
    stored = [r for r in simulator.site.reservations.values() if r.title == "Owner as participant"]
    assert [(r.series_id, r.instance_id, r.owner_id, r.participants) for r in stored] == [(3, 2, 3, [])]


def test_an_unknown_user_keeps_the_rows_before_it_and_drops_the_rest(
    site: tuple[SandboxServer[LibreBookingSimulator], LibreBookingSimulator],
) -> None:
    server, simulator = site
    answer = requests.post(f"{server.url}{API}/Reservations/",
                           json=_body(5, "Unknown then more", participants=(2, 9999, 1), invitees=(1,)),
                           headers=_headers(server, "ny.l"), timeout=10)

    assert answer.status_code == 500
    assert "foreign key constraint fails (`librebooking`.`reservation_users`" in answer.text
    (stored,) = [r for r in simulator.site.reservations.values() if r.title == "Unknown then more"]
    assert (stored.owner_id, stored.participants, stored.invitees) == (3, [2], [])
