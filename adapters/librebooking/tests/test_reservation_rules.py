"""Where a reservation may start and end, against a live LibreBooking's answers (``live/reservation_edges.json``).

Each case was sent to the live site of ``live/README.md`` set up as the contract site (room 2 "Quay Meeting Room"
on the UTC schedule, not allowing reservations across days), by the API account or a learner in their own zone,
and any reservation made was deleted again. ``SchedulePeriodRule`` wants the start to begin a bookable period and
the end to begin any period; ``ResourceCrossDayRule`` wants both on one date of the schedule's zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_librebooking.simulator import LibreBookingSimulator
from lms_connectors_librebooking.testing import API_USERNAME, PLACEHOLDER_PASSWORD, contract_site

CASES = json.loads((Path(__file__).parent / "live" / "reservation_edges.json").read_text(encoding="utf-8"))
API = "/Web/Services/index.php"


@pytest.fixture(scope="module")
def site() -> Iterator[SandboxServer[LibreBookingSimulator]]:
    simulator = LibreBookingSimulator()
    contract_site(simulator)
    with SandboxServer(simulator) as server:
        yield server


def _body(case: dict[str, Any]) -> dict[str, Any]:
    return {"accessories": [], "customAttributes": [], "description": "", "endDateTime": case["endDateTime"],
            "invitees": [], "participants": [], "participatingGuests": [], "invitedGuests": [],
            "recurrenceRule": None, "resourceId": case["resourceId"], "resources": [],
            "startDateTime": case["startDateTime"], "title": "Edge", "userId": None, "startReminder": None,
            "endReminder": None, "allowParticipation": False, "retryParameters": [], "termsAccepted": True}


@pytest.mark.parametrize("case", CASES, ids=[f"{c['account']}-{c['startDateTime']}-{c['endDateTime']}" for c in CASES])
def test_the_simulator_accepts_and_refuses_as_the_live_site(
    site: SandboxServer[LibreBookingSimulator], case: dict[str, Any]
) -> None:
    password = PLACEHOLDER_PASSWORD if case["account"] == API_USERNAME else "learner-" + PLACEHOLDER_PASSWORD
    signed = requests.post(f"{site.url}{API}/Authentication/Authenticate",
                           json={"username": case["account"], "password": password}, timeout=10).json()
    headers = {"X-Booked-SessionToken": signed["sessionToken"], "X-Booked-UserId": str(signed["userId"])}
    answer = requests.post(f"{site.url}{API}/Reservations/", json=_body(case), headers=headers, timeout=10)
    made = answer.json()
    if made.get("referenceNumber"):
        requests.delete(f"{site.url}{API}/Reservations/{made['referenceNumber']}", params={"updateScope": "this"},
                        headers=headers, timeout=10)
    assert (answer.status_code, made.get("errors")) == (case["status"], case["errors"])


def test_the_cases_cover_both_rules_and_acceptances() -> None:
    errors = [" ".join(c["errors"] or []) for c in CASES]
    assert any("across days" in e for e in errors)
    assert any("end date and time requested is not valid" in e for e in errors)
    assert any("start date and time requested is not valid" in e for e in errors)
    assert sum(c["status"] == 201 for c in CASES) >= 4
