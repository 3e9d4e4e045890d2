"""Call limits a simulator enforces by itself: N calls per window, answered with the provider's own refusal.

A test need not inject a fault to see a 429: a simulator configured with ``throttle(calls=10, seconds=1)`` or
``quota(calls=100, seconds=86400)`` counts the calls and, once a window's allowance is spent, answers what the
provider answers (Google's 403 ``rateLimitExceeded``, Zoom's 429 daily limit...) until the window ends.
Windows are fixed and aligned on multiples of their length since the epoch, so a day-long window resets at
00:00 UTC, as Zoom's and Google's daily quotas do.

:class:`FailureRate` is the other self-made trouble: a share of the calls fails the way the provider fails when
it has a bad moment (Google's 500 ``backendError``), drawn from a seeded generator so a run can be repeated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.sandbox import SandboxRequest
from lms_connectors.testing.simclock import SimClock

__all__ = ["CallLimit", "FailureRate", "LimitKind", "LimitState"]

LimitKind = Literal["throttle", "quota"]


@dataclass(frozen=True)
class LimitState:
    """A limit's window as one call sees it.

    Attributes:
        limit: Calls allowed per window.
        used: Calls counted in this window (this one included when it was let through).
        window_end: Clock time (Unix seconds) the window ends.
        now: Clock time of the call.
    """

    limit: int
    used: int
    window_end: float
    now: float

    @property
    def remaining(self) -> int:
        """Calls left in this window."""
        return max(0, self.limit - self.used)

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window ends (at least 1), for a ``Retry-After`` header."""
        return max(1, math.ceil(self.window_end - self.now))

    @property
    def resets_at(self) -> datetime:
        """When the window ends, as an aware UTC instant."""
        return datetime.fromtimestamp(self.window_end, UTC)


class CallLimit:
    """Allow ``calls`` per window of ``seconds``, per key; refuse the next ones with the provider's answer.

    Args:
        calls: Calls allowed per window.
        seconds: Window length.
        clock: The simulator's clock.
        refuse: Builds the provider's refusal for a call over the limit.
        kind: ``"throttle"`` (short windows, retry soon) or ``"quota"`` (long windows, do not retry).
        applies: Which requests count (all by default).
    """

    def __init__(
        self,
        calls: int,
        seconds: float,
        *,
        clock: SimClock,
        refuse: Callable[[LimitState], Refusal],
        kind: LimitKind = "throttle",
        applies: Callable[[SandboxRequest], bool] = lambda request: True,
    ) -> None:
        if calls < 0 or seconds <= 0:
            raise ValueError("a call limit allows calls >= 0 per window of seconds > 0")
        self.calls = calls
        self.seconds = seconds
        self.clock = clock
        self.refuse = refuse
        self.kind = kind
        self.applies = applies
        self._counts: dict[tuple[str, float], int] = {}

    def state(self, key: str = "") -> LimitState:
        """The current window of ``key`` without counting a call."""
        now = self.clock.time()
        start = math.floor(now / self.seconds) * self.seconds
        return LimitState(self.calls, self._counts.get((key, start), 0), start + self.seconds, now)

    def take(self, key: str = "") -> LimitState:
        """Count one call of ``key``.

        Returns:
            The window after counting it.

        Raises:
            Refusal: The window's allowance is spent (the call is not counted).
        """
        state = self.state(key)
        if state.used >= self.calls:
            raise self.refuse(state)
        start = state.window_end - self.seconds
        self._counts = {k: v for k, v in self._counts.items() if k[1] == start}  # forget ended windows
        self._counts[(key, start)] = state.used + 1
        return LimitState(self.calls, state.used + 1, state.window_end, state.now)


class FailureRate:
    """Refuse a share of the calls with the provider's transient failure, drawn from a seeded generator.

    Args:
        rate: Share of the matching calls refused, from 0 (none) to 1 (every one).
        refuse: Builds the provider's refusal (its 5xx body).
        seed: Seed of the draws: the same seed refuses the same calls of the same sequence.
        applies: Which requests may fail (all by default).
    """

    def __init__(
        self,
        rate: float,
        *,
        refuse: Callable[[], Refusal],
        seed: int = 0,
        applies: Callable[[SandboxRequest], bool] = lambda request: True,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("a failure rate is a share between 0 and 1")
        self.rate = rate
        self.refuse = refuse
        self.applies = applies
        self.failed = 0
        self._draws = random.Random(seed)  # noqa: S311 - reproducible test failures, not security

    def check(self) -> None:
        """Draw for one call.

        Raises:
            Refusal: This call is one of the share that fails.
        """
        if self._draws.random() < self.rate:
            self.failed += 1
            raise self.refuse()
