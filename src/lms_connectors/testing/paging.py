"""The page-token codec of the provider simulators: opaque to clients, checked when it comes back."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["PageCodec", "PageTokenError"]

Item = TypeVar("Item")


class PageTokenError(ValueError):
    """A page token the simulator did not issue, or issued for another listing."""


class PageCodec:
    """Encode a listing's next offset as an opaque token (URL-safe base64 of JSON, unpadded).

    A ``scope`` (the listing's identity: its filters, its parent object) is folded into the token, so a token of
    one listing sent to another is refused, as providers do.

    Args:
        prefix: Put before every token (a provider's recognisable form, ``"pt_"``).
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def encode(self, offset: int, scope: str = "") -> str:
        """The token that resumes a listing at ``offset``."""
        state: dict[str, int | str] = {"o": offset}
        if scope:
            state["s"] = scope
        return self.prefix + base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")

    def decode(self, token: str | None, scope: str = "") -> int:
        """The offset a token resumes at (0 for no token).

        Raises:
            PageTokenError: The token is not one this codec issued for ``scope``.
        """
        if not token:
            return 0
        if not token.startswith(self.prefix):
            raise PageTokenError(f"unknown page token {token!r}")
        body = token[len(self.prefix) :]
        try:
            state = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            offset = state["o"]
            issued_for = state.get("s", "")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PageTokenError(f"unknown page token {token!r}") from None
        if not isinstance(offset, int) or offset < 0 or issued_for != scope:
            raise PageTokenError(f"page token {token!r} belongs to another listing")
        return offset

    def page(self, items: Sequence[Item], offset: int, size: int, scope: str = "") -> tuple[list[Item], str | None]:
        """The slice at ``offset`` and the token of the next page (None on the last page)."""
        following = offset + size
        return list(items[offset:following]), self.encode(following, scope) if following < len(items) else None
