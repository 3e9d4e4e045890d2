"""The one clock of the provider simulators: injectable, advanceable, wall time unless frozen."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

__all__ = ["SimClock"]


class SimClock:
    """A clock a simulator reads and a test moves.

    By default it follows the wall clock; :meth:`advance` moves it forward from there (token expiry, a quota's
    next window) without waiting. Given an instant, it is frozen there and moves only when told.

    Args:
        start: Freeze the clock at this aware instant (None: follow the wall clock).

    Raises:
        ValueError: ``start`` is naive.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("a simulator clock needs an aware instant (with a zone)")
        self._lock = threading.Lock()
        self._frozen = start.timestamp() if start is not None else None
        self._offset = 0.0

    def time(self) -> float:
        """Unix seconds."""
        with self._lock:
            return (self._frozen if self._frozen is not None else time.time()) + self._offset

    def now(self) -> datetime:
        """The aware UTC instant."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, by: float | timedelta) -> None:
        """Move the clock forward (never back)."""
        seconds = by.total_seconds() if isinstance(by, timedelta) else float(by)
        if seconds < 0:
            raise ValueError("a simulator clock only moves forward")
        with self._lock:
            self._offset += seconds

    def freeze(self, at: datetime) -> None:
        """Stop the clock at ``at`` (aware)."""
        if at.tzinfo is None:
            raise ValueError("a simulator clock needs an aware instant (with a zone)")
        with self._lock:
            self._frozen = at.timestamp()
            self._offset = 0.0
