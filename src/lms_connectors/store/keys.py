"""Idempotency keys of provider-side creates: their format and when a new generation is minted.

Both ledger implementations call :func:`key_to_mint` so that they cannot disagree on the rule.
"""

from __future__ import annotations

from lms_connectors.models import utc_now
from lms_connectors.store.base import KeyRecord, KeyState

__all__ = ["idempotency_key", "key_to_mint"]


def idempotency_key(session_id: str, provider: str, generation: int) -> str:
    """The key of one create: ``"<session_id>.<provider>.g<generation>"``.

    Args:
        session_id: The session's id.
        provider: The adapter name.
        generation: 1 for the first create, one more after each retirement.

    Returns:
        The key string, stable for that triple.
    """
    return f"{session_id}.{provider}.g{generation}"


def key_to_mint(session_id: str, provider: str, latest: KeyRecord | None) -> KeyRecord | None:
    """Decide whether :meth:`LedgerStore.current_key` must mint a new key.

    Args:
        session_id: The session's id.
        provider: The adapter name.
        latest: The key with the highest generation so far, if any.

    Returns:
        The new ``NEW`` record to store (generation 1, or one more than a retired one), or ``None``
        when ``latest`` is still live (new, pending or done) and must be reused: reusing it is what lets a
        retried create be recognised by the provider.
    """
    if latest is not None and latest.state is not KeyState.RETIRED:
        return None
    generation = 1 if latest is None else latest.generation + 1
    return KeyRecord(
        session_id=session_id,
        provider=provider,
        generation=generation,
        key=idempotency_key(session_id, provider, generation),
        state=KeyState.NEW,
        updated_at=utc_now(),
    )
