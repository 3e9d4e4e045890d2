"""The marker an adapter writes into a provider object so that it can find the object again by its key.

Providers without an idempotency key (Zoom, Moodle, Canvas) are searched for an earlier create by this marker
before a retried create: ``[lmsc:<key>]`` in a meeting's agenda or an event's description. One format for every
adapter, so that tools (and people) recognise the SDK's objects whichever provider holds them.
"""

from __future__ import annotations

import re

__all__ = ["MARKER_PATTERN", "key_in", "marker"]

MARKER_PATTERN = re.compile(r"\[lmsc:(?P<key>[A-Za-z0-9._:-]+)\]")
"""Matches a marker; group ``key`` is the idempotency key."""


def marker(key: str) -> str:
    """The marker of an idempotency key: ``[lmsc:<key>]``."""
    return f"[lmsc:{key}]"


def key_in(text: str | None) -> str | None:
    """The idempotency key marked in ``text``, or ``None``."""
    found = MARKER_PATTERN.search(text or "")
    return found.group("key") if found else None
