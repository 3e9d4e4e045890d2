"""Fidelity: every interaction recorded on a live LibreBooking (commit 7a763d9, PHP 8.2) is replayed against the
simulator, in the order it was recorded, on one simulated site whose clock follows the recordings' ``Date``
headers. Each answer must match the recorded one in HTTP status, body kind (JSON, text, empty), structure (keys,
JSON types, list lengths) and every value, session tokens and reference numbers read as aliases (see
``replay.py``), the PHP stack frames in ``replay.EXCLUSIONS`` aside. The database observations the recorder made
around some calls are either done to the simulated site (a blackout, a schedule, an expired session) or checked
against it (the sliding session expiry, the series a reservation moved to).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors.testing.simclock import SimClock
from lms_connectors_librebooking.simulator import LibreBookingSimulator

from .replay import RECORDED_BASE, Aliases, Interaction, answer_diff, load, substituted, text_diff

INTERACTIONS = load()


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[SandboxServer[LibreBookingSimulator], LibreBookingSimulator, SimClock, Aliases]]:
    clock = SimClock(datetime(2026, 12, 2, 15, 2, 46, tzinfo=UTC))
    simulator = LibreBookingSimulator(clock)
    # The administrator registered through the site's pages before the recordings began.
    simulator.site.add_user("admin", "admin@example.com", "Ada", "Admin", "Europe/London", "<PASSWORD_admin>",
                            admin=True, organization=None, position=None, phone=None,
                            created=datetime(2026, 12, 2, 14, 44, 34, tzinfo=UTC))
    with SandboxServer(simulator) as server:
        yield server, simulator, clock, Aliases()


def _token_user(simulator: LibreBookingSimulator, token: str) -> int:
    return simulator.site.sessions[token][0]


def _observe(simulator: LibreBookingSimulator, aliases: Aliases, interaction: Interaction) -> None:
    """Do, or check, what the recorder did or read in the site's database at this point."""
    data = interaction.raw["data"]
    sessions = simulator.site.sessions
    actions: dict[tuple[str, int], Callable[[], None]] = {
        ("authentication", 18): lambda: sessions.update({
            aliases.apply("<SESSION_TOKEN_user:exp>"): (_token_user(simulator, aliases.apply("<SESSION_TOKEN_user:exp>")),
                                                       datetime(2019, 12, 31, 23, 30, tzinfo=UTC))}),
        ("resources", 0): lambda: simulator.site.groups.extend([
            {"id": 1, "name": "Campus North", "parent_id": None}, {"id": 2, "name": "Floor 2", "parent_id": 1}]),
        ("resources", 6): lambda: simulator.site.add_schedule("All day", "Etc/UTC", [
            (time(h // 2, 30 * (h % 2)), time((h + 1) // 2 % 24, 30 * ((h + 1) % 2)), True) for h in range(48)]),
        ("errors", 15): lambda: simulator.add_blackout(2, datetime(2027, 2, 4, 9, tzinfo=UTC),
                                                       datetime(2027, 2, 4, 12, tzinfo=UTC), "Maintenance"),
    }
    key = (interaction.scenario, interaction.index)
    if key in actions:
        actions[key]()
    elif key == ("authentication", 20):
        assert aliases.apply("<SESSION_TOKEN_user:exp>") not in sessions, data
    elif key in {("authentication", 23), ("authentication", 25)}:
        last_used = sessions[aliases.apply("<SESSION_TOKEN_user:slide>")][1]
        assert (last_used + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S+0000") == data["SessionExpiration"]
    elif interaction.scenario == "reservations" and key[1] in (28, 30, 33):
        series = simulator.site.reservations[aliases.apply("6b103357ed9f8670734545")].series_id
        assert str(series) == data["rows"][1].split("\t")[0], data
    else:
        raise AssertionError(f"{interaction.id}: an observation the replay does not know: {interaction.raw}")


def _send(server: SandboxServer[LibreBookingSimulator], aliases: Aliases, request: dict[str, Any]) -> requests.Response:
    headers = {name: aliases.apply(value) for name, value in (request.get("headers") or {}).items()}
    headers["Host"] = RECORDED_BASE
    body = aliases.apply(request["body"]) if request.get("body") is not None else None
    query = [(name, aliases.apply(str(value))) for name, value in request.get("query") or []]
    return requests.request(request["method"], server.url + aliases.apply(request["path"]), params=query or None,
                            data=body.encode() if body is not None else None, headers=headers, timeout=10)


def _compare(expected: dict[str, Any], response: requests.Response, aliases: Aliases) -> list[str]:
    problems = []
    if response.status_code != expected["status"]:
        problems.append(f"status {expected['status']} recorded, {response.status_code} from the simulator")
    if "json" in expected:
        try:
            actual = response.json()
        except ValueError:
            return [*problems, f"JSON recorded, the simulator sent {response.text[:300]!r}"]
        aliases.bind(expected["json"], actual)
        return problems + answer_diff(substituted(expected["json"], aliases), actual)
    recorded = expected.get("text", "")
    if recorded == "":
        return problems + ([f"empty body recorded, the simulator sent {response.text[:120]!r}"] if response.content else [])
    return problems + text_diff(aliases.apply(recorded), response.text)


@pytest.mark.parametrize("interaction", [pytest.param(i, id=i.id) for i in INTERACTIONS])
def test_recorded_interaction(
    site: tuple[SandboxServer[LibreBookingSimulator], LibreBookingSimulator, SimClock, Aliases],
    interaction: Interaction,
) -> None:
    server, simulator, clock, aliases = site
    if interaction.observation:
        _observe(simulator, aliases, interaction)
        return
    clock.freeze(datetime.fromtimestamp(interaction.moment, UTC))
    response = _send(server, aliases, interaction.raw["request"])
    assert not server.errors, server.errors[-1]
    problems = _compare(interaction.raw["response"], response, aliases)
    assert not problems, f"{interaction.raw['description']}\n" + "\n".join(problems) + f"\nsimulator: {response.text[:800]}"


def test_every_recording_is_replayed() -> None:
    recorded = sum(len(json.loads(path.read_text())["interactions"])
                   for path in (__import__("pathlib").Path(__file__).parent / "recordings").glob("*.json"))
    assert len(INTERACTIONS) == recorded
    assert len(INTERACTIONS) == 303  # 293 HTTP exchanges and 10 observations of the database
