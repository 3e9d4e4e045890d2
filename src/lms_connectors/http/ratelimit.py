"""A proactive rate limiter: stay under a provider's documented limits instead of waiting for 429s.

A token bucket (``rate`` tokens per second, at most ``burst`` saved up). The transport calls
:meth:`RateLimiter.acquire` before every attempt. Adapters call :meth:`RateLimiter.pause_until` when a provider's
headers say the budget is spent (Canvas ``X-Rate-Limit-Remaining``, Zoom ``X-RateLimit-Remaining``), so that
every caller sharing the limiter waits, not only the one that saw the header.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token bucket, safe to share between threads.

    Args:
        rate: Tokens added per second (the sustained request rate).
        burst: Bucket size: how many requests may go at once after a quiet period.
        clock: Monotonic clock in seconds (injected by tests).
        sleep: Sleep function (injected by tests).

    Raises:
        ValueError: ``rate`` is not positive or ``burst`` is below 1.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()
        self._paused_until: float | None = None

    def acquire(self) -> float:
        """Take one token, sleeping until one is available (and until any pause is over).

        Returns:
            The seconds this call slept.
        """
        with self._lock:
            now = self._clock()
            self._refill(now)
            # Tokens may go negative: each caller reserves its own future slot, so that threads queue
            # fairly instead of all waking at the same instant.
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            if self._paused_until is not None:
                wait = max(wait, self._paused_until - now)
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def pause_until(self, monotonic_t: float) -> None:
        """Hold every caller until the given instant of the limiter's clock (never shortens a pause).

        Args:
            monotonic_t: Instant on the limiter's clock (``time.monotonic()`` by default).
        """
        with self._lock:
            if self._paused_until is None or monotonic_t > self._paused_until:
                self._paused_until = monotonic_t

    def pause_for(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` from now."""
        self.pause_until(self._clock() + seconds)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._updated = now
