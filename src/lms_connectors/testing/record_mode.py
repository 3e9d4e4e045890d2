"""What contract tests run against: recorded cassettes, the loopback sandbox, or a live tenant.

The choice comes from the ``--lmsc-record`` pytest option, else from the ``LMS_CONNECTORS_RECORD``
environment variable, else it is ``none``:

``none``
    Replay cassettes only; a request the cassette does not hold fails the test. CI runs this way, offline.
``sandbox``
    Serve the adapter's provider simulator on loopback and record fresh cassettes from that traffic.
``live``
    Talk to a real tenant (credentials from the environment) and record fresh cassettes.

This module imports nothing heavy: the pytest plug-in uses it at start-up.
"""

from __future__ import annotations

import os
from typing import Literal

from lms_connectors.errors import ConfigurationError

__all__ = ["RECORD_ENV", "RECORD_TARGETS", "RecordTarget", "resolve_record_target", "vcr_record_mode"]

RecordTarget = Literal["none", "sandbox", "live"]
RECORD_TARGETS: tuple[RecordTarget, ...] = ("none", "sandbox", "live")
RECORD_ENV = "LMS_CONNECTORS_RECORD"


def resolve_record_target(value: str | None = None) -> RecordTarget:
    """Return the record target: ``value`` if given, else the environment's, else ``"none"``.

    Raises:
        ConfigurationError: The value is not one of ``none``, ``sandbox``, ``live``.
    """
    chosen = (value if value is not None else os.environ.get(RECORD_ENV, "")).strip().lower() or "none"
    for target in RECORD_TARGETS:
        if chosen == target:
            return target
    raise ConfigurationError(f"{RECORD_ENV}={chosen!r} is not a record mode; use one of {', '.join(RECORD_TARGETS)}")


def vcr_record_mode(target: RecordTarget) -> Literal["none", "all"]:
    """The vcrpy record mode for a target: replay only, or re-record every interaction."""
    return "none" if target == "none" else "all"
