"""Replays the live-LibreBooking recordings against the simulator and compares the answers, value by value.

The recordings hold placeholders where the live site returned secrets or random values: session tokens
(``<SESSION_TOKEN_admin>``) and passwords. Reference numbers are random too. Both are read as *aliases*: the first
time a recorded answer shows one, it is bound to what the simulator answered in its place, and from then on it is
replaced by that value in every request sent and every answer expected, so a reference the simulator made must be
the one it is later asked about and answers with. Everything else is compared exactly, except the few parts in
:data:`EXCLUSIONS`, each with its reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).parent / "recordings"

ORDER = ("authentication", "users", "resources", "reservations", "errors", "timezones", "adapter_misc")
"""The order the scenarios were recorded in, on one site (ids and state carry over from one to the next)."""

RECORDED_BASE = "127.0.0.1:8090"
"""The host the live site was reached at; replayed requests name it, so the simulator's links are the same."""

_ALIASED_KEYS = ("sessionToken", "referenceNumber")
_TRACE = re.compile(r"<h2>Trace</h2><pre>.*?</pre>", re.S)

EXCLUSIONS = {
    "trace": "the PHP stack frames of a Slim error page (<h2>Trace</h2><pre>...</pre>) and of a stack trace quoted "
             "in an 'errors' entry (from 'Stack trace:' on): the simulator is not PHP; the error's type, code, "
             "message, file and line are compared",
}


@dataclass
class Interaction:
    """One recorded exchange (or observation of the site's database)."""

    scenario: str
    index: int
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.scenario}[{self.index}]"

    @property
    def observation(self) -> bool:
        return self.raw.get("kind") == "observation"

    @property
    def moment(self) -> float:
        headers = self.raw["response"]["headers"]
        return parsedate_to_datetime(headers["Date"]).timestamp()


def load() -> list[Interaction]:
    """Every interaction of every scenario, in recording order."""
    found = []
    for scenario in ORDER:
        data = json.loads((RECORDINGS / f"{scenario}.json").read_text(encoding="utf-8"))
        found += [Interaction(scenario, index, raw) for index, raw in enumerate(data["interactions"])]
    return found


@dataclass
class Aliases:
    """Recorded placeholder or random value -> the simulator's value in its place."""

    values: dict[str, str] = field(default_factory=dict)

    def apply(self, text: str) -> str:
        """``text`` with every bound recorded value replaced by its alias (longest first)."""
        for recorded in sorted(self.values, key=len, reverse=True):
            text = text.replace(recorded, self.values[recorded])
        return text

    def bind(self, expected: Any, actual: Any) -> None:
        """Bind the aliased keys' recorded values in ``expected`` to what ``actual`` holds at the same place."""
        if isinstance(expected, dict) and isinstance(actual, dict):
            for key, value in expected.items():
                if key in _ALIASED_KEYS and isinstance(value, str) and value and value not in self.values:
                    if isinstance(actual.get(key), str):
                        self.values[value] = actual[key]
                elif key in actual:
                    self.bind(value, actual[key])
        elif isinstance(expected, list) and isinstance(actual, list):
            for left, right in zip(expected, actual, strict=False):
                self.bind(left, right)


def substituted(value: Any, aliases: Aliases) -> Any:
    """A recorded answer with the bound aliases applied to every string in it."""
    if isinstance(value, str):
        return aliases.apply(value)
    if isinstance(value, list):
        return [substituted(item, aliases) for item in value]
    if isinstance(value, dict):
        return {aliases.apply(key): substituted(item, aliases) for key, item in value.items()}
    return value


def _untraced(text: str) -> str:
    head, _, _ = text.partition("Stack trace:")
    return head


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def answer_diff(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Differences of structure (keys, JSON types, list lengths) and of every value (:data:`EXCLUSIONS` aside)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        problems = []
        if list(expected) != list(actual) and set(expected) != set(actual):
            problems.append(f"{path}: keys differ: missing {sorted(set(expected) - set(actual))}, "
                            f"extra {sorted(set(actual) - set(expected))}")
        for key in [k for k in expected if k in actual]:
            problems += answer_diff(expected[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items recorded, {len(actual)} from the simulator: {actual!r:.300}"]
        return [p for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for p in answer_diff(e, a, f"{path}[{i}]")]
    if _kind(expected) != _kind(actual):
        return [f"{path}: {_kind(expected)} recorded, {_kind(actual)} from the simulator ({actual!r:.80})"]
    if isinstance(expected, str) and "Stack trace:" in expected:
        expected, actual = _untraced(expected), _untraced(str(actual))
    if expected != actual:
        return [f"{path}: {expected!r:.200} recorded, {actual!r:.200} from the simulator"]
    return []


def text_diff(expected: str, actual: str) -> list[str]:
    """Differences of a text answer (a Slim page is compared without its stack frames)."""
    if _TRACE.search(expected):
        expected, actual = _TRACE.sub("", expected), _TRACE.sub("", actual)
    if expected != actual:
        return [f"text: {expected[:600]!r} recorded, {actual[:600]!r} from the simulator"]
    return []
