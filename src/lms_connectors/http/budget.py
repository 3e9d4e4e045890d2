"""The adaptive limiter: back off on a provider's remaining-budget headers, before its throttling answers come.

Some providers answer no ``Retry-After`` but report, on every answer, how much of a leaky bucket is left (Canvas's
``X-Rate-Limit-Remaining``, with the cost of the request just made in ``X-Request-Cost``). A
:class:`LeakyBucketObserver` reads those headers as a response observer of the adapter's transport and, when the
budget left falls under a low-water mark, pauses the limiter the adapter's transports share for as long as the
bucket takes to drain back to it; a throttling answer pauses it for the time the bucket needs to take one more
request. Every caller sharing the limiter waits, not only the one that saw the header.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from lms_connectors.http.ratelimit import RateLimiter

if TYPE_CHECKING:
    import requests

__all__ = ["LeakyBucketObserver"]


def _header_float(response: requests.Response, name: str) -> float | None:
    raw = response.headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None  # a header we cannot read tells us nothing; never fail a call on it


class LeakyBucketObserver:
    """Pause a shared limiter while a provider's leaky bucket is nearly full.

    Args:
        limiter: The limiter the adapter's API transports share.
        leak_per_second: How much of the bucket drains each second (Canvas: 10 units by default).
        low_water: Budget left under which callers wait for the bucket to drain back to it (Canvas charges each
            request an up-front cost of 50 units, refunded when it ends: below that, a request may be refused).
        is_throttled: Whether an answer is the provider's throttling refusal.
        remaining_header: The header with the budget left.
        cost_header: The header with the cost of the request just answered.

    Attributes:
        remaining: The budget left as last reported (``None`` before any report).
        last_cost: The cost of the last request that reported one.
        pauses: Every pause asked for, in seconds (for tests and ``doctor``).
    """

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        leak_per_second: float,
        low_water: float,
        is_throttled: Callable[[requests.Response], bool],
        remaining_header: str = "X-Rate-Limit-Remaining",
        cost_header: str = "X-Request-Cost",
    ) -> None:
        if leak_per_second <= 0 or low_water < 0:
            raise ValueError("leak_per_second must be positive and low_water not negative")
        self.limiter = limiter
        self.leak_per_second = leak_per_second
        self.low_water = low_water
        self.is_throttled = is_throttled
        self.remaining_header = remaining_header
        self.cost_header = cost_header
        self.remaining: float | None = None
        self.last_cost: float | None = None
        self.pauses: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, response: requests.Response) -> None:
        """Read one answer's headers; pause the limiter when the budget is short or the call was throttled."""
        remaining = _header_float(response, self.remaining_header)
        cost = _header_float(response, self.cost_header)
        throttled = self.is_throttled(response)
        with self._lock:
            if remaining is not None:
                self.remaining = remaining
            if cost is not None:
                self.last_cost = cost
            if throttled:
                # The refused request was not charged; the bucket must drain by one up-front cost at least.
                short = self.low_water - min(remaining or 0.0, self.low_water) or self.low_water
            elif remaining is not None and remaining < self.low_water:
                short = self.low_water - remaining
            else:
                return
            seconds = max(short, 1.0) / self.leak_per_second
            self.pauses.append(seconds)
        self.limiter.pause_for(seconds)
