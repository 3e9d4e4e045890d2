"""Fidelity: every interaction recorded on a live Moodle 4.5.6 is replayed against the sandbox.

The scenarios are replayed in the order they were recorded, on one simulated site whose clock follows the
recordings' ``Date`` headers, so ids and state line up. Each answer must match the recorded one in HTTP
status, body kind (JSON, XML, empty), structure (keys, JSON types, list lengths) and the values that carry
the behaviour (error codes and messages, debug info, names, event times, time zones, warnings).
Interactions recorded with ``replay_with_debugging`` are sent a second time with DEVELOPER debugging on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_moodle.sandbox import MoodleSimulator

from .replay import SITE_SETTINGS, Interaction, load, moment, request_body, shape_diff, token_user

INTERACTIONS = load()


class _Clock:
    now = 1795526450.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[SandboxServer, MoodleSimulator, _Clock, requests.Session]]:
    clock = _Clock()
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
        problems += shape_diff(payload["json"], actual)
    elif payload.get("text", "") == "":
        if response.content:
            problems.append(f"empty body recorded, sandbox sent {response.text[:80]!r}")
    else:
        expected_root = payload["text"].split("\n")[1].split(" ")[0].rstrip(">")
        actual_lines = response.text.split("\n")
        if len(actual_lines) < 2 or actual_lines[1].split(" ")[0].rstrip(">") != expected_root:
            problems.append(f"XML root {expected_root} recorded, sandbox sent {response.text[:80]!r}")
        for tag in ("ERRORCODE", "MESSAGE"):
            if f"<{tag}>" in payload["text"] and payload["text"].split(f"<{tag}>")[1].split("<")[0] not in (
                response.text
            ):
                problems.append(f"XML {tag} differs")
    return problems


@pytest.mark.parametrize("interaction", INTERACTIONS, ids=[i.id for i in INTERACTIONS])
def test_recorded_interaction(site: tuple[SandboxServer, MoodleSimulator, _Clock, requests.Session],
                              interaction: Interaction) -> None:
    server, simulator, clock, http = site
    raw = interaction.raw
    clock.now = moment(raw["response"])
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


def test_every_recording_is_replayed() -> None:
    files = sorted(p.stem for p in (__import__("pathlib").Path(__file__).parent / "recordings").glob("*.json"))
    replayed = sorted({i.scenario for i in INTERACTIONS})
    # functions_inventory.json is a listing of the site's functions, not a transcript of interactions.
    assert [f for f in files if f != "functions_inventory"] == replayed
    assert len(INTERACTIONS) == 162
