"""Fidelity for a token user that is not an administrator: a live transcript replayed against the sandbox.

``recordings/ws_user_role/ws_user_role.json`` was recorded on a real Moodle 4.5.6 with a web-service user holding
exactly the README's role (then without ``moodle/site:viewuseridentity``, then without ``moodle/course:view``).
Each interaction is sent to a simulated site in the same state, with the role edited at the same points, and
the answer must match the recorded one in status, structure and every value. The one normalisation: the theme
revision inside profile-image URLs is a per-site cache number, so the recorded site's is replaced by the
simulator's before comparing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_moodle.doctor import CAPABILITIES, REQUIRED_FUNCTIONS
from lms_connectors_moodle.sandbox import MoodleSimulator

from .replay import answer_diff

RECORDING = json.loads((Path(__file__).parent / "recordings" / "ws_user_role" / "ws_user_role.json").read_text())
INTERACTIONS: list[dict[str, Any]] = RECORDING["interactions"]
# Which capability the role lacked when each interaction was recorded (see the recording's README).
WITHOUT = {**{i: None for i in range(7)}, **{i: "moodle/site:viewuseridentity" for i in range(7, 10)},
           **{i: "moodle/course:view" for i in range(10, 12)}}
_THEME_REVISION = re.compile(r"(/theme/image\.php/boost/core/)\d+/")


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[SandboxServer, MoodleSimulator, requests.Session]]:
    simulator = MoodleSimulator(tokens={"<TOKEN_ws>": "lmsc.ws"}, site_timezone="Europe/London")
    ws_user = simulator.site.add_web_service_user("lmsc.ws", CAPABILITIES)
    simulator.site.service_functions = list(REQUIRED_FUNCTIONS)
    ana = simulator.site.insert_user({"username": "ana.lima", "firstname": "Ana", "lastname": "Lima",
                                      "email": "Ana.Lima@Example.org"})
    assert (ws_user, ana) == (3, 4)
    assert simulator.site.add_course("ILT-101", "Instructor-led Safety Fundamentals") == 2
    with SandboxServer(simulator) as server, requests.Session() as http:
        yield server, simulator, http


def test_every_interaction_is_covered() -> None:
    assert sorted(WITHOUT) == list(range(len(INTERACTIONS)))


@pytest.mark.parametrize("index", range(len(INTERACTIONS)), ids=[i["wsfunction"] for i in INTERACTIONS])
def test_recorded_interaction(site: tuple[SandboxServer, MoodleSimulator, requests.Session], index: int) -> None:
    server, simulator, http = site
    raw = INTERACTIONS[index]
    lacking = WITHOUT[index]
    simulator.site.assign_system_role(3, [c for c in CAPABILITIES if c != lacking])
    response = http.post(server.url + raw["request"]["path"], data=raw["request"]["body"],
                         headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert not server.errors, server.errors[-1]
    assert response.status_code == raw["response"]["status"]
    actual = response.json()
    served = _THEME_REVISION.search(json.dumps(actual))
    expected = raw["response"]["json"]
    if served is not None:
        expected = json.loads(_THEME_REVISION.sub(served.group(0).replace("\\", "\\\\"), json.dumps(expected)))
    problems = answer_diff(expected, actual)
    assert not problems, f"{raw['description']}\n" + "\n".join(problems) + f"\nsandbox: {json.dumps(actual)[:600]}"
