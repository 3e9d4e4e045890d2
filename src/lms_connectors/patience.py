"""Waiting for work a provider finishes after it has answered (a Meet conference, a Teams link, a room's reply).

An adapter reads the object again until the work is done, pausing a little longer each time, and gives up with a
:class:`~lms_connectors.errors.TransientError` after the time its configuration allows (the caller may retry the
whole operation later). :class:`Patience` keeps the pauses and the time waited, so each adapter writes only what
"done" means for its provider.
"""

from __future__ import annotations

from collections.abc import Callable

from lms_connectors.errors import TransientError

__all__ = ["Patience"]


class Patience:
    """Pauses between reads of an object the provider is still preparing: ``first`` seconds, doubling to ``longest``.

    Args:
        sleep: How to wait (the adapter's injected sleep, so tests wait for nothing).
        first: The first pause, in seconds.
        longest: The longest pause, in seconds.
    """

    def __init__(self, sleep: Callable[[float], None], *, first: float = 0.5, longest: float = 2.0) -> None:
        self._sleep = sleep
        self._next = first
        self._longest = longest
        self.waited = 0.0
        """Seconds paused so far."""

    def used_up(self, limit: float) -> bool:
        """Whether the pauses so far have reached ``limit`` seconds."""
        return self.waited >= limit

    def pause(self) -> None:
        """Wait the next pause, and make the one after it longer (up to ``longest``)."""
        self._sleep(self._next)
        self.waited += self._next
        self._next = min(self._next * 2, self._longest)

    def gave_up(self, what: str, *, provider: str, code: str) -> TransientError:
        """The error to raise when the provider is still not done: ``what`` followed by the time waited."""
        return TransientError(f"{what} after {self.waited:.1f} s", provider=provider, code=code)
