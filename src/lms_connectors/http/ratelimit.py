"""A proactive rate limiter: stay under a provider's documented limits instead of waiting for 429s.

A token bucket (``rate`` tokens per second, at most ``burst`` saved up). The transport calls
:meth:`RateLimiter.acquire` before every attempt. Adapters call :meth:`RateLimiter.pause_until` when a provider's
headers say the budget is spent (Canvas ``X-Rate-Limit-Remaining``, Zoom ``X-RateLimit-Remaining``), so that
every caller sharing the limiter waits, not only the one that saw the header.

The limiter listens, too: the transport calls :meth:`RateLimiter.throttled` on every throttling answer (a 429,
Google's ``rateLimitExceeded``), which cuts the rate by a factor, drops the saved-up burst and honours a
``Retry-After`` for every caller; the rate then climbs back linearly to the configured one (additive increase,
multiplicative decrease, as TCP's congestion control). A provider whose real allowance is below the configured
rate (a shared project quota, another client on the same account) is thus met at about its allowance, with one
refusal now and then rather than one in ten.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token bucket, safe to share between threads.

    Args:
        rate: Tokens added per second (the sustained request rate, and the most the limiter ever allows).
        burst: Bucket size: how many requests may go at once after a quiet period.
        clock: Monotonic clock in seconds (injected by tests).
        sleep: Sleep function (injected by tests).
        adaptive: Slow down on throttling answers (:meth:`throttled`); off, the rate stays fixed.
        decrease: Factor the rate is multiplied by on a throttling answer (0 < decrease < 1).
        recovery_seconds: Seconds of calls without a throttling answer for one cut to be made good again.

    Attributes:
        rate: The rate now (below ``ceiling`` after a throttling answer, until it has recovered).
        ceiling: The configured rate.

    Raises:
        ValueError: ``rate`` is not positive, ``burst`` is below 1, ``decrease`` is not between 0 and 1, or
            ``recovery_seconds`` is not positive.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        adaptive: bool = True,
        decrease: float = 0.9,
        recovery_seconds: float = 30.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if not 0 < decrease < 1:
            raise ValueError("decrease must be between 0 and 1")
        if recovery_seconds <= 0:
            raise ValueError("recovery_seconds must be positive")
        self.rate = rate
        self.ceiling = rate
        self.burst = burst
        self.adaptive = adaptive
        self.decrease = decrease
        # Additive increase: one cut (ceiling * (1 - decrease)) is made good in recovery_seconds.
        self._increase = rate * (1 - decrease) / recovery_seconds
        self._floor = rate / 100  # a run of refusals never stops the calls altogether
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()
        self._paused_until: float | None = None
        self._accepted_since_cut = True
        self._refused_caller: int | None = None
        self._refused_until = 0.0
        self.throttles = 0

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
            if self._refused_caller == threading.get_ident():
                # The caller whose call was refused has just waited by its retry policy (the Retry-After, or a
                # backoff): it does not wait for its slot or that Retry-After a second time. A longer pause (an
                # observer saw the provider's budget spent) still holds it.
                self._refused_caller = None
                covered = max(now, self._refused_until)
                wait = 0.0 if self._paused_until is None else max(0.0, self._paused_until - covered)
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

    def throttled(self, retry_after: float | None = None) -> None:
        """A provider refused a call for its rate: slow down, and wait ``retry_after`` seconds when given.

        The saved-up burst is dropped (the provider just said the budget is spent) and, when adaptive, the rate
        is cut by ``decrease``, once per run of refusals: a refusal with no accepted call since the last cut
        (a retry into the same spent window, calls already in flight) is the same signal, not a new one.
        ``Retry-After`` holds every other caller; the refused one waits by its own retry policy.

        Args:
            retry_after: The provider's ``Retry-After`` in seconds, if it gave one.
        """
        with self._lock:
            now = self._clock()
            self._refill(now)
            self.throttles += 1
            self._refused_caller = threading.get_ident()
            self._refused_until = now + (retry_after if retry_after is not None and retry_after > 0 else 0.0)
            self._tokens = min(self._tokens, 0.0)
            if self.adaptive and self._accepted_since_cut:
                self.rate = max(self._floor, self.rate * self.decrease)
                self._accepted_since_cut = False
        if retry_after is not None and retry_after > 0:
            self.pause_until(now + retry_after)

    def accepted(self) -> None:
        """A call was answered without throttling: the next throttling answer is a new signal."""
        self._accepted_since_cut = True

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        if self.rate < self.ceiling:
            self.rate = min(self.ceiling, self.rate + elapsed * self._increase)
        # While the rate is below its ceiling the provider has refused recently: calls are paced one at a time,
        # since a saved-up burst (tokens gathered while a retry waited) would spend the window again at once.
        size = float(self.burst) if self.rate >= self.ceiling else 1.0
        self._tokens = min(size, self._tokens + elapsed * self.rate)
        self._updated = now
