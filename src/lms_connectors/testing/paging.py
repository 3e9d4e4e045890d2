"""The page-token codec of the provider simulators: opaque to clients, checked when it comes back.

:meth:`PageCodec.json_page` serves the common REST page the core reads by default
(:class:`~lms_connectors.http.answers.JsonPage`, :func:`~lms_connectors.http.pagination.paginate_json_by_token`):
``{"data": [...], "next_page_token": ...}``, so a simulator of such an API writes no page shape of its own.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse

__all__ = ["PageCodec", "PageRequestError", "PageTokenError"]

Item = TypeVar("Item")


class PageRequestError(ValueError):
    """A listing request a provider refuses: a page size out of its range, a page token it did not issue."""


class PageTokenError(PageRequestError):
    """A page token the simulator did not issue, or issued for another listing."""


class PageCodec:
    """Encode a listing's next offset as an opaque token (URL-safe base64 of JSON, unpadded).

    A ``scope`` (the listing's identity: its filters, its parent object) is folded into the token, so a token of
    one listing sent to another is refused, as providers do.

    Args:
        prefix: Put before every token (a provider's recognisable form, ``"pt_"``).
        refuse: Makes the provider's refusal (a :class:`~lms_connectors.testing.refusal.Refusal`) of a listing
            request :meth:`serve` does not accept; without it, :meth:`serve` raises :class:`PageRequestError`.
    """

    def __init__(self, prefix: str = "", *, refuse: Callable[[str], Exception] | None = None) -> None:
        self.prefix = prefix
        self.refuse = refuse

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

    def serve(
        self,
        request: SandboxRequest,
        items: Sequence[Item],
        *,
        default_size: int,
        max_size: int,
        scope: str = "",
        size_param: str = "page_size",
        token_param: str = "page_token",  # noqa: S107 - a parameter's name, not a secret
    ) -> tuple[list[Item], str | None]:
        """One page of a listing as a request asks for it: its page size (checked) and page token (decoded).

        Args:
            request: The listing request; its query holds ``size_param`` and ``token_param``.
            items: The whole listing, in order.
            default_size: Page size when the request gives none.
            max_size: The largest page the provider serves.
            scope: The listing's identity (see :meth:`encode`).
            size_param: The query parameter of the page size.
            token_param: The query parameter of the page token.

        Returns:
            The page and the next page's token (None on the last page).

        Raises:
            PageRequestError: The size is not an integer from 1 to ``max_size``, or the token is not one this
                codec issued for ``scope``; or, when the codec has ``refuse``, the refusal it makes of that message.
        """
        size, token = request.query_one(size_param), request.query_one(token_param)
        try:
            try:
                wanted = default_size if size is None else int(size)
            except ValueError:
                raise PageRequestError(f"{size_param} must be an integer, got {size!r}") from None
            if not 1 <= wanted <= max_size:
                raise PageRequestError(f"{size_param} must be between 1 and {max_size}")
            return self.page(items, self.decode(token, scope), wanted, scope)
        except PageRequestError as error:
            if self.refuse is None:
                raise
            raise self.refuse(str(error)) from error

    def json_page(
        self, request: SandboxRequest, items: Sequence[Item], *, default_size: int, max_size: int, scope: str = ""
    ) -> SandboxResponse:
        """One page as the common REST answer: ``200 {"data": [...], "next_page_token": ... or null}``.

        The page size and token come from the request's ``page_size`` and ``page_token`` (:meth:`serve`, which
        also says what is refused): the names :func:`~lms_connectors.http.pagination.paginate_json_by_token` sends
        and reads by default.
        """
        page, next_token = self.serve(request, items, default_size=default_size, max_size=max_size, scope=scope)
        return SandboxResponse(200, {"data": page, "next_page_token": next_token})
