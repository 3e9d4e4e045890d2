"""Replays the live-Moodle recordings against the sandbox and compares the answers' shapes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

RECORDINGS = Path(__file__).parent / "recordings"

# The order the scenarios were recorded in, on one site (ids and state carry over from one to the next).
ORDER = (
    "site_info", "create_course", "create_users", "enrol_users", "groups", "create_event", "get_events",
    "action_events", "delete_event", "reschedule_event", "timezones", "unenrol_users", "encoding",
    "bigbluebutton", "errors", "reenrol_semantics",
)

# Site settings the recorder changed in the admin UI around single calls: (scenario, index) -> settings.
SITE_SETTINGS: dict[tuple[str, int], dict[str, Any]] = {
    ("enrol_users", 12): {"mail_broken": True},
    ("errors", 10): {"debug_developer": True},
    ("errors", 11): {"debug_developer": True},
    ("errors", 12): {"rest_enabled": False},
    ("errors", 13): {"webservices_enabled": False},
}

# Values compared exactly (beyond the shape): what the behaviour under test is about.
SEMANTIC_KEYS = frozenset({
    "exception", "errorcode", "message", "debuginfo", "warningcode", "validationerror", "timestart",
    "timeduration", "eventtype", "name", "timestamp", "username", "email", "timezone", "shortname", "userids",
    "can_join", "repeatid",
})

_ABBREVIATION = re.compile("«(.)\u00d7(\\d+)»")  # a character, a multiplication sign, a count


@dataclass
class Interaction:
    scenario: str
    index: int
    description: str
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.scenario}[{self.index}]"


def load() -> list[Interaction]:
    found = []
    for scenario in ORDER:
        data = json.loads((RECORDINGS / f"{scenario}.json").read_text())
        for index, raw in enumerate(data["interactions"]):
            found.append(Interaction(scenario, index, raw["description"], raw))
    return found


def expand(text: str) -> str:
    """Undo the recordings' run-length abbreviation (a character, a multiplication sign, a count)."""
    return _ABBREVIATION.sub(lambda m: m.group(1) * int(m.group(2)), text)


def request_body(request: dict[str, Any]) -> bytes:
    """The exact body to send (rebuilt from the form when the recording shortened it)."""
    form = request.get("form")
    body = request.get("body") or ""
    if form and any(name == "..." for name, _ in form):
        # encoding[13]: 5100 values[i] fields then 'field' (the recording keeps only both ends).
        fields = [(f"values[{i}]", f"nobody{i}") for i in range(5100)] + [("field", "username")]
        return urlencode(fields).encode()
    if form is not None and ("«" in body or "truncated" in body):
        return urlencode([(name, expand(value)) for name, value in form]).encode()
    return body.encode()


def moment(response: dict[str, Any]) -> float:
    return parsedate_to_datetime(response["headers"]["Date"]).timestamp()


def token_user(token: str) -> str:
    return "admin" if token == "<TOKEN>" else token.removeprefix("<TOKEN_user:").removesuffix(">")


def shape_diff(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Differences of structure (keys, JSON types, list lengths) and of the semantic values."""
    def kind(value: Any) -> str:
        return "null" if value is None else type(value).__name__

    if isinstance(expected, dict) and isinstance(actual, dict):
        problems = []
        if set(expected) != set(actual):
            problems.append(f"{path}: keys differ: missing {sorted(set(expected) - set(actual))}, "
                            f"extra {sorted(set(actual) - set(expected))}")
        for key in set(expected) & set(actual):
            problems += shape_diff(expected[key], actual[key], f"{path}.{key}")
            differs = key in SEMANTIC_KEYS and not isinstance(expected[key], dict | list) and expected[key] != actual[key]
            if differs and not (key == "name" and "«" in str(expected[key])):
                problems.append(f"{path}.{key}: {expected[key]!r} != {actual[key]!r}")
        return problems
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items recorded, {len(actual)} from the sandbox"]
        problems = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            problems += shape_diff(e, a, f"{path}[{i}]")
        if path.endswith("userids") and expected != actual:
            problems.append(f"{path}: {expected} != {actual}")
        return problems
    if kind(expected) != kind(actual):
        return [f"{path}: {kind(expected)} recorded, {kind(actual)} from the sandbox ({actual!r:.60})"]
    return []
