"""Canvas's REST calls as the adapter makes them: ``as_user_id`` on every call, objects checked, listings paged.

Listings follow the ``Link`` header's ``rel="next"`` exactly as given: its ``page`` values may be opaque bookmarks
(``page=bookmark:...``) and there may be no ``rel="last"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from lms_connectors.errors import MalformedResponse
from lms_connectors.http.classify import json_body
from lms_connectors.http.pagination import paginate_by_link_header
from lms_connectors.http.transport import HttpTransport

if TYPE_CHECKING:
    import requests

__all__ = ["CanvasClient", "Params"]

Params = dict[str, Any]


class CanvasClient:
    """One Canvas instance's API through the adapter's transport.

    Args:
        transport: The API transport (base URL ``https://<instance>/api/v1``).
        as_user_id: Sent as ``as_user_id`` on every call when set (act for that user).
        page_size: ``per_page`` of listings.
    """

    def __init__(self, transport: HttpTransport, *, as_user_id: str | None, page_size: int) -> None:
        self.transport = transport
        self.as_user_id = as_user_id
        self.page_size = page_size

    def _params(self, params: Mapping[str, Any] | None) -> Params:
        merged: Params = dict(params or {})
        if self.as_user_id is not None:
            merged["as_user_id"] = self.as_user_id
        return merged

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        operation: str,
    ) -> dict[str, Any]:
        """Send one call; its answer must be a JSON object.

        Raises:
            MalformedResponse: Canvas answered something else.
        """
        answer = self.transport.request_json(
            method, path, params=self._params(params), json=json, idempotent=idempotent, operation=operation
        )
        if not isinstance(answer, dict):
            raise MalformedResponse(f"{operation}: Canvas answered {type(answer).__name__}, not an object",
                                    provider=self.transport.provider)
        return answer

    def missing_permissions(self, course_id: int, needed: Mapping[str, str]) -> list[str]:
        """``name (why)`` of each of ``needed`` (name → what it is for) the token's user lacks in the course.

        :calls: ``GET /courses/:id/permissions?permissions[]=...`` (Canvas answers ``{name: true|false}``).
        """
        granted = self.call("GET", f"/courses/{course_id}/permissions", operation="get permissions",
                            params={"permissions[]": list(needed)})
        return [f"{name} ({why})" for name, why in needed.items() if granted.get(name) is not True]

    def listing(
        self, path: str, *, params: Mapping[str, Any] | None = None, operation: str
    ) -> Iterator[dict[str, Any]]:
        """Every object of a listing, page after page (``per_page`` set, ``Link`` followed)."""
        first = dict(self._params(params))
        first["per_page"] = self.page_size

        def fetch(url: str) -> requests.Response:
            # The first page carries our parameters; a next link carries them itself (with its bookmark).
            return self.transport.request("GET", url, params=first if url == path else None, operation=operation)

        def items(response: requests.Response) -> list[dict[str, Any]]:
            page = json_body(response, self.transport.secrets())
            if not isinstance(page, list):
                raise MalformedResponse(f"{operation}: a Canvas listing page is not a list",
                                        provider=self.transport.provider)
            return [item for item in page if isinstance(item, dict)]

        return paginate_by_link_header(fetch, path, items)
