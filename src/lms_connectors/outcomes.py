"""What a failed provider write says about the provider's state: refused, or maybe done.

A write that failed is not necessarily a write that did nothing. A lost answer, an answer that is not the
provider's JSON (a truncated body, an HTML page with a 2xx status), a 5xx that came after the provider committed:
in each case the provider may hold the change. The scheduler records such outcomes in the ledger as *uncertain*
and reads the provider back before its next decision on that object; only a clear refusal is a plain failure.
"""

from __future__ import annotations

from lms_connectors.errors import (
    ConnectorError,
    MalformedResponse,
    RateLimited,
    ResponseLost,
    TransientError,
)

__all__ = ["maybe_committed"]


def maybe_committed(error: ConnectorError) -> bool:
    """Whether the provider may have carried out the write that ended with ``error``.

    Args:
        error: What the write raised.

    Returns:
        ``True`` for a lost answer, an answer that could not be understood (an adapter that meets an answer
        it did not foresee says so with :class:`~lms_connectors.errors.MalformedResponse` too) or a 5xx;
        ``False`` for an answer that refused the write (throttling, bad request, conflict, missing object,
        credentials, permissions, quota, another status the provider uses for a refusal).
    """
    if isinstance(error, ResponseLost | MalformedResponse):
        return True
    if isinstance(error, RateLimited):
        return False  # throttled: refused before anything was processed
    return isinstance(error, TransientError)
