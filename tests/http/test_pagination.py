from __future__ import annotations

from collections.abc import Sequence

import pytest
import requests
import responses

from lms_connectors.errors import ProviderError
from lms_connectors.http import HttpTransport, paginate_by_link_header, paginate_by_offset, paginate_by_token
from lms_connectors.http.pagination import paginate_by_next_url

BASE = "https://canvas.example.test/api/v1"


def test_token_pagination_is_lazy_and_complete() -> None:
    pages = {None: ([1, 2], "t2"), "t2": ([3, 4], "t3"), "t3": ([5], None)}
    asked: list[str | None] = []

    def fetch(token: str | None) -> tuple[Sequence[int], str | None]:
        asked.append(token)
        return pages[token]

    iterator = paginate_by_token(fetch)
    assert asked == []  # nothing fetched before the first item is asked for
    assert next(iterator) == 1
    assert asked == [None]
    assert list(iterator) == [2, 3, 4, 5]
    assert asked == [None, "t2", "t3"]


def test_token_pagination_ends_on_empty_token_and_empty_page() -> None:
    assert list(paginate_by_token(lambda token: ([], ""))) == []


def test_token_loop_is_detected() -> None:
    pages = {None: (["a"], "x"), "x": (["b"], "y"), "y": (["c"], "x")}
    iterator = paginate_by_token(lambda token: pages[token])
    with pytest.raises(ProviderError, match="same page token"):
        list(iterator)


def test_next_url_pagination_and_loop() -> None:
    pages = {"u1": ([1], "u2"), "u2": ([2], None)}
    assert list(paginate_by_next_url(lambda url: pages[url], "u1")) == [1, 2]
    looping = {"u1": ([1], "u2"), "u2": ([2], "u1")}
    with pytest.raises(ProviderError):
        list(paginate_by_next_url(lambda url: looping[url], "u1"))


def test_offset_pagination() -> None:
    data = list(range(23))
    offsets: list[int] = []

    def fetch(offset: int) -> Sequence[int]:
        offsets.append(offset)
        return data[offset : offset + 10]

    assert list(paginate_by_offset(fetch, page_size=10)) == data
    assert offsets == [0, 10, 20]


def test_offset_pagination_exact_multiple_asks_one_empty_page() -> None:
    data = list(range(20))
    assert list(paginate_by_offset(lambda offset: data[offset : offset + 10], page_size=10)) == data


def test_offset_ignored_by_provider_is_a_loop() -> None:
    with pytest.raises(ProviderError, match="repeats"):
        list(paginate_by_offset(lambda offset: [1, 2, 3], page_size=3))


def test_offset_page_larger_than_asked_is_refused() -> None:
    with pytest.raises(ProviderError, match="asked for 2"):
        list(paginate_by_offset(lambda offset: [1, 2, 3], page_size=2))


def test_offset_page_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        list(paginate_by_offset(lambda offset: [], page_size=0))


def _link(url: str, rel: str) -> str:
    return f'<{url}>; rel="{rel}"'


@responses.activate
def test_link_header_follows_next_with_opaque_bookmarks() -> None:
    first = f"{BASE}/sections/1/enrollments?per_page=2"
    second = f"{BASE}/sections/1/enrollments?page=bookmark:WyJzdHVkZW50IiwyXQ&per_page=2"
    third = f"{BASE}/sections/1/enrollments?page=bookmark:WyJzdHVkZW50Iiw0XQ%3D%3D&per_page=2"
    responses.get(
        first,
        json=[{"id": 1}, {"id": 2}],
        headers={"Link": ", ".join([_link(first, "current"), _link(second, "next"), _link(first, "first")])},
    )
    responses.get(
        second,
        json=[{"id": 3}, {"id": 4}],
        headers={"Link": ", ".join([_link(second, "current"), _link(third, "next")])},  # no rel="last"
    )
    responses.get(third, json=[{"id": 5}], headers={"Link": _link(third, "current")})
    transport = HttpTransport(provider="canvas", base_url=BASE, sleep=lambda s: None)

    def items(response: requests.Response) -> Sequence[int]:
        return [row["id"] for row in response.json()]

    ids = paginate_by_link_header(lambda url: transport.request("GET", url), "sections/1/enrollments?per_page=2", items)
    assert list(ids) == [1, 2, 3, 4, 5]
    assert [call.request.url for call in responses.calls] == [first, second, third]  # followed verbatim


@responses.activate
def test_link_header_loop_is_detected() -> None:
    page = f"{BASE}/courses?page=2"
    responses.get(f"{BASE}/courses", json=[1], headers={"Link": _link(page, "next")})
    transport = HttpTransport(provider="canvas", base_url=BASE, sleep=lambda s: None)
    iterator = paginate_by_link_header(lambda url: transport.request("GET", url), f"{BASE}/courses?page=2", list)
    with pytest.raises(ProviderError, match="next link"):
        list(iterator)
