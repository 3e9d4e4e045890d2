"""Faults injected on the client side of an adapter's HTTP session.

The sandbox injects faults in the server, which only exists while recording. A fault that must also happen
on replay (where a cassette answers instead of a server) is injected here, between the adapter's transport
and the wire: the real request is sent and its real answer received (so a cassette records and replays it
like any other), and only then is the answer thrown away, exactly as when a connection drops after the
provider committed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ProtocolError

__all__ = ["drop_next_response"]


@contextmanager
def drop_next_response(
    session: requests.Session, *, method: str = "POST", path: str | None = None, times: int = 1
) -> Iterator[list[requests.PreparedRequest]]:
    """Lose the answers of the next ``times`` matching requests sent through ``session``.

    Each matching request really goes out and its answer really comes back; then the answer is discarded
    and ``requests.ConnectionError`` is raised as ``requests`` does when the server closes the connection
    without answering (``RemoteDisconnected``). The provider has acted; the client cannot know it.

    Args:
        session: The adapter's ``requests.Session`` (``HttpTransport.session``).
        method: Only requests with this method.
        path: Regular expression searched in the request's URL path (any path when ``None``).
        times: How many answers to lose.

    Yields:
        The requests whose answers were lost, in order (fills up as they happen).
    """
    verb = method.upper()
    pattern = re.compile(path) if path is not None else None
    dropped: list[requests.PreparedRequest] = []
    original_send = session.send

    def send(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = original_send(request, **kwargs)
        url_path = urlsplit(request.url or "").path
        if len(dropped) < times and request.method == verb and (pattern is None or pattern.search(url_path)):
            response.close()
            dropped.append(request)
            lost = RemoteDisconnected("Remote end closed connection without response")
            raise requests.ConnectionError(ProtocolError("Connection aborted.", lost), request=request)
        return response

    had_own_send = "send" in vars(session)
    session.send = send  # type: ignore[method-assign]
    try:
        yield dropped
    finally:
        if had_own_send:
            session.send = original_send  # type: ignore[method-assign]
        else:
            del session.send
