"""The connection-failure rules against real sockets on 127.0.0.1, so that what ``requests`` really raises is what
the transport classifies (the ``responses`` tests construct those exceptions by hand)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from lms_connectors.errors import ResponseLost, TransientError
from lms_connectors.http import CallEvent, HttpTransport, RetryPolicy


def _read_request(conn: socket.socket) -> bytes:
    conn.settimeout(2.0)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        body += conn.recv(65536)
    return head


@contextmanager
def raw_server(behaviour: Callable[[socket.socket], None]) -> Iterator[tuple[str, list[bytes]]]:
    """Serve on a random loopback port; for each connection read one request, record it, then run behaviour."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                head = _read_request(conn)
                if head:
                    seen.append(head)
                    behaviour(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def close_without_answer(conn: socket.socket) -> None:
    conn.shutdown(socket.SHUT_RDWR)


def answer_too_late(conn: socket.socket) -> None:
    time.sleep(0.3)


def transport(base_url: str, events: list[CallEvent], timeout: tuple[float, float] = (1.0, 2.0)) -> HttpTransport:
    return HttpTransport(
        provider="loopback",
        base_url=base_url,
        retry=RetryPolicy(max_attempts=3, jitter=False),
        timeout=timeout,
        sleep=lambda seconds: None,
        hooks=[events.append],
    )


def test_post_dropped_after_commit_is_response_lost_and_sent_once() -> None:
    events: list[CallEvent] = []
    with raw_server(close_without_answer) as (url, seen):
        with pytest.raises(ResponseLost):
            transport(url, events).request("POST", "meetings", json={"topic": "x"})
    assert len(seen) == 1
    assert [e.sent for e in events] == [True]


def test_get_dropped_is_retried_until_attempts_run_out() -> None:
    events: list[CallEvent] = []
    with raw_server(close_without_answer) as (url, seen):
        with pytest.raises(TransientError) as caught:
            transport(url, events).request("GET", "meetings")
    assert not isinstance(caught.value, ResponseLost)
    assert len(seen) == 3


def test_post_read_timeout_is_response_lost() -> None:
    events: list[CallEvent] = []
    with raw_server(answer_too_late) as (url, seen):
        with pytest.raises(ResponseLost):
            transport(url, events, timeout=(1.0, 0.1)).request("POST", "meetings", json={})
    assert len(seen) == 1
    assert events[0].error == "ReadTimeout"


def test_post_to_a_closed_port_is_retried_because_nothing_was_sent() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connection refused
    events: list[CallEvent] = []
    client = transport(f"http://127.0.0.1:{port}", events)
    with pytest.raises(TransientError) as caught:
        client.request("POST", "meetings", json={})
    assert not isinstance(caught.value, ResponseLost)
    assert [e.sent for e in events] == [False, False, False]
    assert client.counter.total == 0
