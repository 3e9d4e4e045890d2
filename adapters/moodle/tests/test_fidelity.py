"""Fidelity: every interaction recorded on a live Moodle 4.5.6 is replayed against the sandbox.

The scenarios are replayed in the order they were recorded, on one simulated site whose clock follows the
recordings' ``Date`` headers, so ids and state line up. Each answer must match the recorded one in HTTP
status, body kind (JSON, XML, empty), structure (keys, JSON types, list lengths) and every scalar value
(XML answers are read into the same structure), except the few in ``replay.EXCLUSIONS``, each with its
reason. Interactions recorded with ``replay_with_debugging`` are sent a second time with DEVELOPER debugging
on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors.testing.simclock import SimClock
from lms_connectors_moodle.sandbox import MoodleSimulator

from .replay import (
    EXCLUSIONS,
    SITE_SETTINGS,
    Interaction,
    answer_diff,
    load,
    moment,
    request_body,
    token_user,
    xml_data,
)

INTERACTIONS = load()


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[SandboxServer, MoodleSimulator, SimClock, requests.Session]]:
    clock = SimClock(datetime.fromtimestamp(1795526450, UTC))
    tokens = {t: token_user(t) for t in {"<TOKEN>", "<TOKEN_user:ilt.alice>", "<TOKEN_user:ilt.ivan>",
                                          "<TOKEN_user:ilt.kenji>"}}
    simulator = MoodleSimulator(tokens=tokens, site_timezone="Europe/London", clock=clock)
    with SandboxServer(simulator) as server, requests.Session() as http:
        yield server, simulator, clock, http


def _send(server: SandboxServer, http: requests.Session, request: dict[str, Any]) -> requests.Response:
    headers = {k: v for k, v in (request.get("headers") or {}).items() if k.lower() == "content-type"}
    return http.request(request["method"], server.url + request["path"], params=request.get("query") or None,
                        data=request_body(request) or None, headers=headers, timeout=10)


def _compare(status: int, payload: dict[str, Any], response: requests.Response) -> list[str]:
    problems = []
    if response.status_code != status:
        problems.append(f"status {status} recorded, {response.status_code} from the sandbox")
    if "json" in payload:
        try:
            actual = response.json()
        except ValueError:
            return [*problems, f"JSON recorded, sandbox sent {response.text[:80]!r}"]
        problems += answer_diff(payload["json"], actual)
    elif payload.get("text", "") == "":
        if response.content:
            problems.append(f"empty body recorded, sandbox sent {response.text[:80]!r}")
    else:
        try:
            actual = xml_data(response.text)
        except ElementTree.ParseError:
            return [*problems, f"XML recorded, sandbox sent {response.text[:80]!r}"]
        problems += answer_diff(xml_data(payload["text"]), actual)
    return problems


@pytest.mark.parametrize("interaction", INTERACTIONS, ids=[i.id for i in INTERACTIONS])
def test_recorded_interaction(site: tuple[SandboxServer, MoodleSimulator, SimClock, requests.Session],
                              interaction: Interaction) -> None:
    server, simulator, clock, http = site
    raw = interaction.raw
    clock.freeze(datetime.fromtimestamp(moment(raw["response"]), UTC))
    settings = SITE_SETTINGS.get((interaction.scenario, interaction.index), {})
    saved = {name: getattr(simulator.site, name) for name in settings}
    for name, value in settings.items():
        setattr(simulator.site, name, value)
    try:
        response = _send(server, http, raw["request"])
    finally:
        for name, value in saved.items():
            setattr(simulator.site, name, value)
    assert not server.errors, server.errors[-1]
    problems = _compare(raw["response"]["status"], raw["response"], response)
    debug = raw.get("replay_with_debugging")
    if debug is not None:
        simulator.site.debug_developer = True
        try:
            again = _send(server, http, raw["request"])
        finally:
            simulator.site.debug_developer = False
        problems += [f"(debug replay) {p}" for p in _compare(debug["status"], debug, again)]
    assert not problems, f"{interaction.description}\n" + "\n".join(problems) + (
        f"\nsandbox: {json.dumps(response.json())[:600] if 'json' in raw['response'] else response.text[:300]}"
    )


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        value = list(value.values())
    for child in value if isinstance(value, list) else []:
        yield from _objects(child)


def _recorded_answers() -> Iterator[Any]:
    for interaction in INTERACTIONS:
        for payload in (interaction.raw["response"], interaction.raw.get("replay_with_debugging") or {}):
            if "json" in payload:
                yield payload["json"]
            elif payload.get("text"):
                yield xml_data(payload["text"])


def test_every_exclusion_still_covers_a_recorded_value() -> None:
    # An exclusion that covers nothing recorded is stale and would only hide a future difference.
    objects = [o for answer in _recorded_answers() for o in _objects(answer)]
    assert [rule for rule in EXCLUSIONS if not any(rule.applies_to(o) for o in objects)] == []
    assert all(rule.reason for rule in EXCLUSIONS)


def test_every_recording_is_replayed() -> None:
    files = sorted(p.stem for p in (__import__("pathlib").Path(__file__).parent / "recordings").glob("*.json"))
    replayed = sorted({i.scenario for i in INTERACTIONS})
    # functions_inventory.json is a listing of the site's functions, not a transcript of interactions.
    assert [f for f in files if f != "functions_inventory"] == replayed
    assert len(INTERACTIONS) == 162
