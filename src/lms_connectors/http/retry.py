"""The retry policy of the transport: what is retried, how long to wait, when to give up.

This is the only place where retries are decided. :func:`should_retry` is the one decision; the wait honours
``Retry-After`` and otherwise backs off exponentially with full jitter; the stop condition bounds both the number
of attempts and the total time, measured with the transport's (injectable) clock. The tenacity loop that
carries them out lives in :mod:`lms_connectors.http.retry_loop`, imported only when a call first needs a retry:
most programs' calls succeed at once and never load tenacity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lms_connectors.errors import ConnectorError, RateLimited, TransientError

if TYPE_CHECKING:  # tenacity is imported when a call first needs a retry (lms_connectors.http.retry_loop)
    from tenacity import RetryCallState, Retrying

__all__ = ["RetryPolicy", "build_retrying", "failed_before_sending", "should_retry"]


@dataclass(frozen=True)
class RetryPolicy:
    """How persistently the transport retries.

    Attributes:
        max_attempts: Attempts per call, the first included.
        total_timeout: Seconds from the first attempt after which no new attempt starts; a wait that would end
            beyond it is not taken.
        backoff_base: First backoff in seconds; doubled on each further attempt.
        backoff_max: Upper bound of one backoff.
        max_retry_after: Longest ``Retry-After`` the transport waits out; a longer one (a daily quota, say) is
            raised at once as :class:`~lms_connectors.errors.RateLimited` for the caller to schedule.
        jitter: Full jitter (a uniform draw in ``[0, backoff]``), so that clients throttled together do not
            come back together.
    """

    max_attempts: int = 5
    total_timeout: float = 60.0
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    max_retry_after: float = 120.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.total_timeout, self.backoff_base, self.backoff_max, self.max_retry_after) < 0:
            raise ValueError("times in a RetryPolicy cannot be negative")


def failed_before_sending(error: BaseException) -> bool:
    """Tell whether a connection error certainly happened before any byte of the request was sent.

    True for a connect timeout and for a refused or unresolvable connection; False for a read timeout or a
    connection dropped while waiting for the answer (the provider may have acted on the request).
    """
    import requests  # an exception of requests' means it is loaded already: these imports only bind the names
    from urllib3.exceptions import NewConnectionError

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(error, requests.exceptions.ConnectionError):
        return False
    # requests wraps urllib3's MaxRetryError, whose ``reason`` is the underlying failure; walk the chain.
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectionRefusedError):
            return True
        if isinstance(current, BaseException):
            pending.extend(current.args)
            pending.extend(item for item in (current.__cause__, current.__context__) if item is not None)
        reason = getattr(current, "reason", None)
        if reason is not None:
            pending.append(reason)
    return False


def should_retry(error: BaseException, *, idempotent: bool) -> bool:
    """Decide whether a failed attempt is tried again. The one retry decision of the transport.

    * Throttling (:class:`~lms_connectors.errors.RateLimited`) is always retried: the provider refused the
      request before acting on it.
    * Other transient errors (5xx) are retried only when the request is idempotent: a 503 usually means the
      request was not processed, but nothing guarantees it, and a resent create would duplicate.
    * Connection errors and timeouts are retried when the request is idempotent, or when the connection failed
      before the request was sent.
    * Nothing else is retried (4xx, :class:`~lms_connectors.errors.ResponseLost`, programming errors).

    Args:
        error: What the attempt raised.
        idempotent: Whether sending the request twice has the effect of sending it once.

    Returns:
        True to try again.
    """
    if isinstance(error, RateLimited):
        return True
    if isinstance(error, ConnectorError):
        # ResponseLost is not a TransientError: a create whose answer was lost is looked up, never resent.
        return isinstance(error, TransientError) and idempotent
    import requests  # loaded already when a request was sent: binds the name only

    if isinstance(error, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return idempotent or failed_before_sending(error)
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
    """Build the tenacity controller for one call (the time bound starts now, or at ``started``).

    The last error is re-raised as is when the controller gives up.

    Args:
        policy: Attempts, backoff and bounds.
        idempotent: Passed to :func:`should_retry`.
        sleep: How to wait (injected by tests and by the contract kit).
        clock: Monotonic clock for the total time bound.
        before_sleep: Called before each wait (the transport logs there).
        started: When the call's first attempt began on ``clock``, if before now.

    Returns:
        A ``tenacity.Retrying``; call it with the attempt function.
    """
    from lms_connectors.http.retry_loop import build_retrying as build

    return build(
        policy, idempotent=idempotent, sleep=sleep, clock=clock, before_sleep=before_sleep, started=started
    )
