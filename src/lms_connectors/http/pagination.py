"""Typed lazy iterators over paginated listings.

Each helper fetches a page only when the caller has consumed the previous one, and raises
:class:`~lms_connectors.errors.ProviderError` when a provider sends the caller round in circles (a page token
or next link seen before, a page identical to the previous one) instead of looping forever.

Flavours: page token (Google ``pageToken``, Zoom ``next_page_token``; :func:`paginate_json_by_token` reads the
common JSON shape of such pages), next link (Graph ``@odata.nextLink``),
offset (Moodle ``limitfrom``), and ``Link`` header (Canvas, whose ``page`` values may be opaque bookmarks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from lms_connectors.errors import MalformedResponse, ProviderError

if TYPE_CHECKING:
    import requests
    from pydantic import BaseModel

    from lms_connectors.http.transport import HttpTransport

__all__ = [
    "LoopGuard",
    "paginate_by_link_header",
    "paginate_by_next_url",
    "paginate_by_offset",
    "paginate_by_token",
    "paginate_json_by_token",
]

T = TypeVar("T")


class LoopGuard:
    """Remembers the continuation markers of a listing and refuses one seen before.

    Args:
        what: What the markers are, for the error message ("page token", "next link").
    """

    def __init__(self, what: str) -> None:
        self._what = what
        self._seen: set[str] = set()

    def check(self, marker: str) -> None:
        """Record ``marker``.

        Raises:
            ProviderError: ``marker`` was seen before in this listing.
        """
        if marker in self._seen:
            raise ProviderError(
                f"pagination loop: the provider sent the same {self._what} again after {len(self._seen)} pages"
            )
        self._seen.add(marker)


def paginate_by_token(fetch_page: Callable[[str | None], tuple[Sequence[T], str | None]]) -> Iterator[T]:
    """Iterate over a listing paginated by an opaque page token.

    Args:
        fetch_page: Fetches the page for a token (None for the first page) and returns its items and the next
            page's token (None or empty on the last page).

    Yields:
        The items, page after page.

    Raises:
        ProviderError: A token was repeated.
        MalformedResponse: A token is not a string.
    """
    guard = LoopGuard("page token")
    token: str | None = None
    while True:
        items, token = fetch_page(token)
        yield from items
        if not token:
            return
        if not isinstance(token, str):  # the provider's JSON said so, whatever fetch_page's type claims
            raise MalformedResponse(
                f"the next page token is a {type(token).__name__}, not a string: {str(token)[:80]}",
                code="unexpected_shape",
            )
        guard.check(token)


def paginate_json_by_token(
    transport: HttpTransport,
    url: str,
    parse: Callable[[Any], T],
    *,
    params: Mapping[str, Any] | None = None,
    items_key: str = "data",
    token_param: str = "page_token",  # noqa: S107 - a parameter's name, not a secret
    next_token_key: str = "next_page_token",  # noqa: S107 - a field's name, not a secret
    operation: str | None = None,
    shape: type[BaseModel] | None = None,
) -> Iterator[T]:
    """Iterate over a JSON listing whose pages carry their items and the next page's token.

    The common REST shape (``GET url?page_token=...`` answering ``{"data": [...], "next_page_token": "..."}``)
    written once: each page is a ``GET`` through ``transport`` (its retries, time bound and error table), its
    items are read from ``items_key`` and turned into SDK objects by ``parse``, and the listing ends on a page
    without a next token (absent, null or empty), with :func:`paginate_by_token`'s loop guard.

    Args:
        transport: The API transport.
        url: The listing's path (relative to the transport's base URL) or URL.
        parse: Turns one item of the provider's JSON into what the iterator yields.
        params: Query parameters of every page (filters, page size).
        items_key: Where a page holds its items (a missing key is an empty page).
        token_param: The query parameter that asks for a page by token.
        next_token_key: Where a page holds the next page's token.
        operation: Label for counting.
        shape: The checked shape of a page (an :class:`~lms_connectors.http.answers.AnswerShape` with the items
            and the next token), so that a page of another shape is a ``MalformedResponse`` naming the field.

    Yields:
        ``parse`` of every item, page after page.

    Raises:
        MalformedResponse: A page is not an object, or its items are not a list.
        ProviderError: A token was repeated.
    """
    fixed = dict(params or {})

    def fetch_page(token: str | None) -> tuple[list[T], str | None]:
        page = transport.request_json(
            "GET", url, params={**fixed, token_param: token} if token else fixed, operation=operation, shape=shape
        )
        items = page.get(items_key, []) if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise MalformedResponse(
                f"a page of {url} without a list of {items_key!r}", provider=transport.provider, code="unexpected_shape"
            )
        return [parse(item) for item in items], page.get(next_token_key)

    return paginate_by_token(fetch_page)


def paginate_by_next_url(fetch_page: Callable[[str], tuple[Sequence[T], str | None]], first_url: str) -> Iterator[T]:
    """Iterate over a listing whose pages name the URL of the next one in their body (Graph ``@odata.nextLink``).

    Args:
        fetch_page: Fetches a page by URL and returns its items and the next page's URL (None at the end).
        first_url: URL of the first page.

    Yields:
        The items, page after page.

    Raises:
        ProviderError: A URL was repeated.
    """
    guard = LoopGuard("next link")
    url: str | None = first_url
    while url:
        guard.check(url)
        items, url = fetch_page(url)
        yield from items


def paginate_by_offset(fetch: Callable[[int], Sequence[T]], page_size: int, *, start: int = 0) -> Iterator[T]:
    """Iterate over a listing paginated by offset, until a page shorter than ``page_size`` comes back.

    Args:
        fetch: Fetches ``page_size`` items starting at an offset.
        page_size: Items asked for per page; a shorter page ends the listing.
        start: Offset of the first page.

    Yields:
        The items, page after page.

    Raises:
        ProviderError: The provider ignored the offset (a full page equal to the previous one) or sent more
            items than asked for.
        ValueError: ``page_size`` is not positive.
    """
    if page_size < 1:
        raise ValueError("page_size must be positive")
    offset = start
    previous: Sequence[T] | None = None
    while True:
        items = fetch(offset)
        if len(items) > page_size:
            raise ProviderError(f"pagination: asked for {page_size} items, the provider sent {len(items)}")
        if previous is not None and items and list(items) == list(previous):
            raise ProviderError(f"pagination loop: the page at offset {offset} repeats the previous page")
        yield from items
        if len(items) < page_size:
            return
        previous = items
        offset += len(items)


def paginate_by_link_header(
    fetch: Callable[[str], requests.Response],
    first_url: str,
    parse_items: Callable[[requests.Response], Sequence[T]],
) -> Iterator[T]:
    """Iterate over a listing paginated with ``Link: <...>; rel="next"`` headers (RFC 8288).

    The next URL is followed exactly as given: its query values may be opaque bookmarks
    (Canvas ``page=bookmark:...``) and there may be no ``rel="last"``.

    Args:
        fetch: Fetches a URL (relative or absolute, e.g. ``lambda url: transport.request("GET", url)``).
        first_url: URL of the first page.
        parse_items: Extracts the items from a page's answer.

    Yields:
        The items, page after page.

    Raises:
        ProviderError: A next link was repeated.
    """
    guard = LoopGuard("next link")
    url: str | None = first_url
    while url:
        guard.check(url)
        response = fetch(url)
        yield from parse_items(response)
        url = response.links.get("next", {}).get("url") or None
