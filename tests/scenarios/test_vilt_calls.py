"""Calls per scheduler operation for one virtual session, per provider: the figures benchmarks/calls_per_operation.py
prints, locked so that a change in any adapter's calls shows here.

Each chain runs on its providers' simulators with a fresh ledger (``sole_writer``: nothing exists that this
ledger did not make), ten learners who have no LMS account yet, then one of them leaving.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer

NY = ZoneInfo("America/New_York")

# operation: calls per provider, in the chain's order
EXPECTED: dict[tuple[str, ...], dict[str, tuple[int, ...]]] = {
    ("zoom", "google_calendar", "moodle"): {
        "schedule": (1, 1, 2),  # Moodle: group, event made by the form with its join link
        "enrol 10": (1, 1, 6),  # Moodle: by email, domain search, create, enrol, the SDK's group, add to groups
        "unenrol 1": (1, 1, 3),  # Moodle: course groups, members, unenrol
        "reschedule": (1, 1, 1),
        "cancel": (1, 1, 5),  # Moodle: event, course groups, members, unenrol the nine in one call, group
    },
    ("microsoft_graph", "moodle"): {
        "schedule": (1, 2), "enrol 10": (2, 6), "unenrol 1": (2, 3), "reschedule": (1, 1), "cancel": (1, 5),
    },
    ("zoom", "google_calendar", "canvas"): {
        "schedule": (1, 1, 2),
        "enrol 10": (1, 1, 10),  # Canvas enrols one user per call
        "unenrol 1": (1, 1, 1), "reschedule": (1, 1, 1), "cancel": (1, 1, 2),
    },
}


def _run(chain: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    with contextlib.ExitStack() as stack:
        harnesses = [load_harness(name) for name in chain]
        servers = [stack.enter_context(SandboxServer(h.make_simulator())) for h in harnesses]
        adapters = [h.build_adapter(s.url, sleep=lambda _s: None) for h, s in zip(harnesses, servers, strict=True)]
        for adapter in adapters:
            stack.callback(adapter.close)
        extras: dict[str, Any] = {}
        for harness in harnesses:
            extras.update(harness.session_extras())
        scheduler = Scheduler(adapters, MemoryLedger(), sole_writer=True)
        start = datetime(2027, 4, 6, 10, 0, tzinfo=NY)
        session = Session(id="vilt.calls", title="Advanced Excel (virtual)", modality=Modality.VIRTUAL,
                          slot=TimeSlot(start=start, end=start + timedelta(hours=1), timezone="America/New_York"),
                          **extras)
        learners = [Person(email=f"v{i}@example.org", name=f"Learner {i}") for i in range(10)]
        later = session.slot.model_copy(update={"start": start + timedelta(days=1),
                                                "end": session.slot.end + timedelta(days=1)})
        steps: dict[str, Callable[[], object]] = {
            "schedule": lambda: scheduler.schedule(session),
            "enrol 10": lambda: scheduler.enrol_many(session.id, learners),
            "unenrol 1": lambda: scheduler.unenrol(session.id, learners[0].email),
            "reschedule": lambda: scheduler.reschedule(session.id, later),
            "cancel": lambda: scheduler.cancel(session.id),
        }
        counts: dict[str, tuple[int, ...]] = {}
        for label, step in steps.items():
            before = [a.transport.counter.total for a in adapters]
            step()
            counts[label] = tuple(a.transport.counter.total - b for a, b in zip(adapters, before, strict=True))
        return counts


@pytest.mark.parametrize("chain", list(EXPECTED), ids=["+".join(c) for c in EXPECTED])
def test_calls_per_operation_of_a_virtual_session(chain: tuple[str, ...]) -> None:
    assert _run(chain) == EXPECTED[chain]
