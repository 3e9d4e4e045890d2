"""The schedule layout over a reader's day and PHP's reading of wall times, against answers of a live LibreBooking.

``live/slots_by_zone.json`` holds a live site's ``Schedules/1/Slots`` answers for four readers' zones on the
days the clocks change; ``live/php_wall_times.txt`` how PHP reads wall times around every 2027 clock change of six
zones (see ``live/README.md``). The simulated site is set up as the live one was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_librebooking.simulator import LibreBookingSimulator
from lms_connectors_librebooking.simulator.dates import local_wall_time
from lms_connectors_librebooking.simulator.layout import periods_of_day

from .replay import answer_diff

LIVE = Path(__file__).parent / "live"
SLOTS = json.loads((LIVE / "slots_by_zone.json").read_text(encoding="utf-8"))["interactions"]
READERS = {"london.l": "Europe/London", "ny.l": "America/New_York", "tokyo.l": "Asia/Tokyo", "utc.l": "Etc/UTC"}
PASSWORD = "reader-password"


@pytest.fixture(scope="module")
def site() -> Iterator[SandboxServer[LibreBookingSimulator]]:
    simulator = LibreBookingSimulator()
    simulator.site.add_user("admin", "admin@example.com", "Ada", "Admin", "Europe/London", PASSWORD, admin=True)
    for name, zone in READERS.items():
        simulator.site.add_user(name, f"{name}@example.org", "Reader", name, zone, PASSWORD)
    simulator.site.add_resource("Room A", 1, maxParticipants=3, autoAssignPermissions=True)
    with SandboxServer(simulator) as server:
        yield server


def _signed_in(server: SandboxServer[LibreBookingSimulator], reader: str) -> dict[str, str]:
    answer = requests.post(f"{server.url}/Web/Services/index.php/Authentication/Authenticate",
                           json={"username": reader, "password": PASSWORD}, timeout=10).json()
    return {"X-Booked-SessionToken": answer["sessionToken"], "X-Booked-UserId": str(answer["userId"]),
            "Host": "booking.example.org"}


@pytest.mark.parametrize("recorded", SLOTS, ids=[f"{s['reader']}-{s['request']['query'][0][1]}" for s in SLOTS])
def test_slots_match_the_live_site(site: SandboxServer[LibreBookingSimulator], recorded: dict[str, Any]) -> None:
    headers = _signed_in(site, recorded["reader"])
    assert headers["X-Booked-UserId"] == recorded["request"]["headers"]["X-Booked-UserId"]
    answer = requests.get(site.url + recorded["request"]["path"], params=recorded["request"]["query"],
                          headers=headers, timeout=10)
    assert answer.status_code == recorded["response"]["status"]
    # The live site was served over HTTPS at its public URL; the simulator answers on plain HTTP.
    expected = json.loads(json.dumps(recorded["response"]["json"]).replace("https://", "http://"))
    assert answer_diff(expected, answer.json()) == []


def test_the_recording_covers_every_reader_and_clock_change() -> None:
    days = {s["request"]["query"][0][1] for s in SLOTS}
    assert {s["reader"] for s in SLOTS} == set(READERS)
    assert {"2027-03-14", "2027-03-28", "2027-10-31", "2027-11-07"} <= days


def _php_readings() -> list[tuple[str, str, str]]:
    lines = (LIVE / "php_wall_times.txt").read_text(encoding="utf-8").splitlines()
    return [(zone, f"{day} {clock}", iso) for zone, day, clock, iso in (line.split() for line in lines)]


def test_wall_times_are_read_as_php_reads_them() -> None:
    readings = _php_readings()
    assert len(readings) == 810
    wrong = [(zone, wall, iso, local_wall_time(datetime.strptime(wall, "%Y-%m-%d %H:%M"), ZoneInfo(zone)).isoformat())
             for zone, wall, iso in readings
             if local_wall_time(datetime.strptime(wall, "%Y-%m-%d %H:%M"), ZoneInfo(zone)).isoformat() != iso]
    assert wrong == []


@pytest.mark.parametrize(("zone", "wall", "expected"), [
    ("Europe/London", "2027-10-31 01:30", "2027-10-31T01:30:00+00:00"),      # ambiguous, east: the second
    ("America/New_York", "2027-11-07 01:30", "2027-11-07T01:30:00-04:00"),   # ambiguous, west: the first
    ("Europe/London", "2027-03-28 01:30", "2027-03-28T02:30:00+01:00"),      # skipped: moves forward
    ("America/New_York", "2027-03-14 02:30", "2027-03-14T03:30:00-04:00"),
])
def test_the_rule_at_each_kind_of_clock_change(zone: str, wall: str, expected: str) -> None:
    assert (zone, wall, expected) in _php_readings()  # what PHP itself answered
    assert local_wall_time(datetime.strptime(wall, "%Y-%m-%d %H:%M"), ZoneInfo(zone)).isoformat() == expected


def test_layout_on_the_day_london_moves_back() -> None:
    """The UTC schedule's midnight is read back as 01:00 GMT: LibreBooking's first period starts an hour late."""
    layout = [(time(0), time(8), False), (time(8), time(18), True), (time(18), time(0), False)]
    periods = periods_of_day(layout, ZoneInfo("Etc/UTC"), date(2027, 10, 31), ZoneInfo("Europe/London"))
    first = periods[0]
    assert first[0].isoformat() == "2027-10-31T01:00:00+00:00"
    assert first[1].isoformat() == "2027-10-31T08:00:00+00:00"
    assert [p[2] for p in periods] == [False, True, False]


def test_a_window_ending_at_a_time_of_day_lists_the_next_day_too(site: SandboxServer[LibreBookingSimulator]) -> None:
    """Seen live: the slots asked for 09:00Z-10:00Z on 2027-05-03 came for 2027-05-03 and 2027-05-04 (the conflict
    case's cassette), LibreBooking's range running to a day after ``endDateTime``."""
    headers = _signed_in(site, "utc.l")
    path = f"{site.url}/Web/Services/index.php/Schedules/1/Slots"
    timed = requests.get(path, params={"startDateTime": "2027-05-03T09:00:00Z", "endDateTime": "2027-05-03T10:00:00Z",
                                       "resourceId": "1"}, headers=headers, timeout=10).json()
    dated = requests.get(path, params={"startDateTime": "2027-05-03", "endDateTime": "2027-05-03", "resourceId": "1"},
                         headers=headers, timeout=10).json()
    assert [d["date"] for d in timed["dates"]] == ["2027-05-03T00:00:00+0000", "2027-05-04T00:00:00+0000"]
    assert [d["date"] for d in dated["dates"]] == ["2027-05-03T00:00:00+0000"]
