"""Replays the live-Moodle recordings against the sandbox and compares the answers: shapes and values."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

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


@dataclass(frozen=True)
class Exclusion:
    """A value compared only by its JSON type, not exactly (everything else is compared exactly)."""

    key: str
    reason: str
    where: tuple[str, Any] | None = None  # only inside objects holding this (key, value) pair

    def applies_to(self, recorded: dict[str, Any]) -> bool:
        """Whether this rule covers ``recorded[key]`` (in that recorded object)."""
        return self.key in recorded and (self.where is None or recorded.get(self.where[0]) == self.where[1])


# Every scalar of every answer is compared exactly, except these: values the transcripts cannot reproduce.
EXCLUSIONS = (
    Exclusion("userprivateaccesskey", "redacted: the recordings hold a placeholder instead of the key"),
    Exclusion("timemodified", "the site course was last edited while the site was set up, before any transcript",
              where=("format", "site")),
    Exclusion("cacherev", "the site course's cache was last rebuilt during that set-up (a wall-clock time)",
              where=("format", "site")),
    Exclusion("value", "when the admin's enrolments were last synced (wall clock; the simulator stamps its start)",
              where=("name", "last_time_enrolments_synced")),
)

_ABBREVIATION = re.compile("«(.)\u00d7(\\d+)»")  # a character, a multiplication sign, a count
_OMITTED_BASE64 = re.compile(r"<base64 payload omitted: \d+ chars>")


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


def recorded_value_matches(expected: Any, actual: Any) -> bool:
    """Whether a sandbox value equals a recorded one, reading the recordings' abbreviations back."""
    if not isinstance(expected, str) or not isinstance(actual, str):
        return bool(expected == actual)
    text = expand(expected)
    if not _OMITTED_BASE64.search(text):
        return text == actual
    # The recorder dropped generated course images' payloads, so any base64 payload stands in for them.
    pattern = "[A-Za-z0-9+/=]*".join(re.escape(part) for part in _OMITTED_BASE64.split(text))
    return re.fullmatch(pattern, actual) is not None


def _excluded_keys(recorded: dict[str, Any]) -> set[str]:
    return {rule.key for rule in EXCLUSIONS if rule.applies_to(recorded)}


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _object_diff(expected: dict[str, Any], actual: dict[str, Any], path: str, values: bool) -> list[str]:
    problems = []
    if set(expected) != set(actual):
        problems.append(f"{path}: keys differ: missing {sorted(set(expected) - set(actual))}, "
                        f"extra {sorted(set(actual) - set(expected))}")
    skipped = _excluded_keys(expected)
    for key in [k for k in expected if k in actual]:
        problems += answer_diff(expected[key], actual[key], f"{path}.{key}", values=values and key not in skipped)
    return problems


def answer_diff(expected: Any, actual: Any, path: str = "$", *, values: bool = True) -> list[str]:
    """Differences of structure (keys, JSON types, list lengths) and of every scalar not in :data:`EXCLUSIONS`.

    Args:
        expected: The recorded answer (JSON, or XML read by :func:`xml_data`).
        actual: The sandbox's answer, read the same way.
        path: Where ``expected`` sits in the whole answer (for the messages).
        values: Whether scalars are compared exactly (``False`` below an excluded key: types only).
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        return _object_diff(expected, actual, path, values)
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items recorded, {len(actual)} from the sandbox"]
        return [p for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for p in answer_diff(e, a, f"{path}[{i}]", values=values)]
    if _kind(expected) != _kind(actual):
        return [f"{path}: {_kind(expected)} recorded, {_kind(actual)} from the sandbox ({actual!r:.60})"]
    if values and not recorded_value_matches(expected, actual):
        return [f"{path}: {expected!r:.120} recorded, {actual!r:.120} from the sandbox"]
    return []


def _xml_node(node: ElementTree.Element) -> Any:
    if node.tag == "VALUE":
        return None if node.get("null") == "null" else node.text or ""
    if node.tag == "MULTIPLE":
        return [_xml_node(child) for child in node]
    return {key.get("name"): _xml_node(key[0]) if len(key) else None for key in node}  # SINGLE of KEYs


def xml_data(text: str) -> Any:
    """Moodle's REST XML read as JSON-like data (every scalar a string), so it is compared like JSON."""
    root = ElementTree.fromstring(text)
    if root.tag == "EXCEPTION":
        return {"exception": root.get("class"), **{child.tag.lower(): child.text or "" for child in root}}
    return _xml_node(root[0]) if len(root) else None
