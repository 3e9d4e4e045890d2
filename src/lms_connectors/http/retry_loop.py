"""The tenacity loop that carries out a :class:`~lms_connectors.http.retry.RetryPolicy`.

Imported by :func:`lms_connectors.http.retry.build_retrying` when a call first needs a retry, so that a program
whose calls succeed never imports tenacity.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from lms_connectors.errors import RateLimited
from lms_connectors.http.retry import RetryPolicy, should_retry

__all__ = ["build_retrying"]


class _Budget:
    """The total time bound of one call, on the transport's clock."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float], started: float | None = None) -> None:
        self._clock = clock
        self._deadline = (clock() if started is None else started) + policy.total_timeout

    def remaining(self) -> float:
        return self._deadline - self._clock()


class _WaitRetryAfterOrBackoff(wait_base):
    """Wait what ``Retry-After`` asked for, else an exponential backoff with full jitter, capped."""

    def __init__(self, policy: RetryPolicy, budget: _Budget) -> None:
        self._policy = policy
        self._budget = budget

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            # The stop condition already refused a Retry-After that does not fit the bounds.
            return error.retry_after
        ceiling = min(self._policy.backoff_max, self._policy.backoff_base * 2 ** (retry_state.attempt_number - 1))
        # Jitter is for spreading clients, not for security.
        backoff = random.uniform(0, ceiling) if self._policy.jitter else ceiling  # noqa: S311
        # Never sleep past the total bound: the next attempt would not be allowed to start anyway.
        return max(0.0, min(backoff, self._budget.remaining()))


class _StopWhenOutOfTime(stop_base):
    """Stop when the time bound is reached, or when a ``Retry-After`` is too long to wait out."""

    def __init__(self, policy: RetryPolicy, budget: _Budget) -> None:
        self._policy = policy
        self._budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        remaining = self._budget.remaining()
        if remaining <= 0:
            return True
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after > self._policy.max_retry_after or error.retry_after > remaining
        return False


def build_retrying(
    policy: RetryPolicy,
    *,
    idempotent: bool,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    before_sleep: Callable[[RetryCallState], None] | None = None,
    started: float | None = None,
) -> Retrying:
    """The controller :func:`lms_connectors.http.retry.build_retrying` returns; its arguments are documented there."""
    budget = _Budget(policy, clock, started)
    return Retrying(
        retry=retry_if_exception(lambda error: should_retry(error, idempotent=idempotent)),
        wait=_WaitRetryAfterOrBackoff(policy, budget),
        stop=stop_after_attempt(policy.max_attempts) | _StopWhenOutOfTime(policy, budget),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
