"""The exception a simulator's handler raises to refuse a request; the simulator renders the provider's body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Refusal"]


class Refusal(Exception):
    """Refuse the request being handled, with the provider's status, message and code.

    :class:`~lms_connectors.testing.routing.RoutedSimulator` catches it and answers with the simulator's
    :meth:`~lms_connectors.testing.routing.RoutedSimulator.error_response`.

    Args:
        status: HTTP status of the answer.
        message: The provider's message.
        code: The provider's code or reason (``"notFound"``, ``3001``, ``"session_full"``).
        headers: Headers to add to the answer (``Retry-After``, ``WWW-Authenticate``...).
        **details: Provider-specific parts of the body (Google's ``domain``, Zoom's ``errors`` list...).
    """

    def __init__(
        self,
        status: int,
        message: str,
        code: str | int | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.details = details
