"""Fidelity of activity completion: a live Moodle 4.5.6 transcript replayed against the sandbox.

``recordings/completion/completion.json`` was recorded on a real Moodle 4.5.6 with the web-service user of the
README's role plus ``moodle/course:overridecompletion`` and ``report/progress:view`` (then without each, and
with the service missing each function; see the recording's notes). The simulated site is set up the same way
(the same users, course 2 with a Page with manual completion, cmid 3, and one without, cmid 4; Kenji's record
as interaction 0 found it), its clock follows each answer's ``Date``, the role and the service are edited at the
same points, and every answer must match the recorded one in status, structure and every value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors.testing.simclock import SimClock
from lms_connectors_moodle.doctor import CAPABILITIES, COMPLETION_CAPABILITIES, COMPLETION_FUNCTIONS, REQUIRED_FUNCTIONS
from lms_connectors_moodle.sandbox import MoodleSimulator

from .replay import answer_diff, moment

RECORDING = json.loads((Path(__file__).parent / "recordings" / "completion" / "completion.json").read_text())
INTERACTIONS: list[dict[str, Any]] = RECORDING["interactions"]
OVERRIDE, READ = COMPLETION_FUNCTIONS
# What the role or the service lacked when each interaction was recorded (the recording's notes).
LACKING: dict[int, tuple[str | None, str | None]] = {
    **{i: (None, None) for i in range(14)}, 14: ("moodle/course:overridecompletion", None),
    15: ("moodle/course:overridecompletion", None), 16: ("report/progress:view", None), 17: (None, OVERRIDE),
    18: (None, READ),
}


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[SandboxServer, MoodleSimulator, SimClock, requests.Session]]:
    clock = SimClock(datetime.fromtimestamp(moment(INTERACTIONS[0]["response"]), UTC))
    simulator = MoodleSimulator(tokens={"<TOKEN_ws>": "lmsc.ws"}, site_timezone="Europe/London", clock=clock)
    site = simulator.site
    assert site.add_web_service_user("lmsc.ws", CAPABILITIES) == 3
    people = {}
    for first, last in (("Ana", "Lima"), ("Aiko", "Tanaka"), ("Amara", "Okafor"), ("Lena", "Fischer"),
                        ("Kenji", "Sato")):
        people[first] = site.insert_user({"username": f"{first}.{last}".lower(), "firstname": first,
                                          "lastname": last, "email": f"{first}.{last}@example.org".lower()})
    assert list(people.values()) == [4, 5, 6, 7, 8]
    assert site.add_course("ILT-101", "Instructor-led Safety Fundamentals") == 2
    for learner in ("Aiko", "Lena", "Kenji"):
        site.data.enrolments[(2, people[learner])] = {"timestart": 0, "timeend": 0, "status": 0, "roles": [5]}
    assert site.add_activity(2, tracking=1, cmid=3) == 3
    assert site.add_activity(2, tracking=0, cmid=4) == 4
    # Kenji's record as the first read found it: set back to incomplete by the token user before the transcript.
    first = INTERACTIONS[0]["response"]["json"]["statuses"][0]
    site.data.completions[(3, 8)] = {"state": 0, "timecompleted": first["timecompleted"], "overrideby": 3}
    with SandboxServer(simulator) as server, requests.Session() as http:
        yield server, simulator, clock, http


def test_every_interaction_is_covered() -> None:
    assert sorted(LACKING) == list(range(len(INTERACTIONS)))


@pytest.mark.parametrize("index", range(len(INTERACTIONS)), ids=[i["wsfunction"] for i in INTERACTIONS])
def test_recorded_interaction(
    site: tuple[SandboxServer, MoodleSimulator, SimClock, requests.Session], index: int
) -> None:
    server, simulator, clock, http = site
    raw = INTERACTIONS[index]
    capability, function = LACKING[index]
    simulator.site.assign_system_role(3, [c for c in (*CAPABILITIES, *COMPLETION_CAPABILITIES) if c != capability])
    simulator.site.service_functions = [f for f in (*REQUIRED_FUNCTIONS, *COMPLETION_FUNCTIONS) if f != function]
    clock.freeze(datetime.fromtimestamp(moment(raw["response"]), UTC))
    response = http.post(server.url + raw["request"]["path"], data=raw["request"]["body"],
                         headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert not server.errors, server.errors[-1]
    assert response.status_code == raw["response"]["status"]
    problems = answer_diff(raw["response"]["json"], response.json())
    assert not problems, f"{raw['description']}\n" + "\n".join(problems) + f"\nsandbox: {response.text[:600]}"
