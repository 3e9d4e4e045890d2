"""A fault-injecting HTTP proxy on 127.0.0.1, between adapters and the servers they talk to.

The sandbox's own faults (:mod:`lms_connectors.testing.sandbox`) act inside one simulator; this proxy acts on the
wire, in front of any server, the way networks, gateways and overloaded providers fail. An adapter is pointed at
``proxy.url`` instead of the server's URL; the proxy forwards each request and, when a fault is chosen for it,
breaks the exchange in one of these ways (:data:`FAULT_KINDS`):

==========================  =====================================================================================
``commit_then_drop``        forward, let the server act, then close the connection without a byte of answer
``drop_before``             close the connection without forwarding: the server never sees the request
``error_after_commit``      forward, then answer ``500`` instead of the server's answer
``unavailable``             answer ``503`` without forwarding
``throttle_seconds``        answer ``429`` with ``Retry-After: <seconds>`` without forwarding
``throttle_date``           answer ``429`` with ``Retry-After: <HTTP date>`` without forwarding
``slow_after_commit``       forward, then hold the answer past the client's read timeout before sending it
``truncated_json``          forward, then send the server's answer cut in the middle (its status kept)
``html_200``                forward, then answer ``200`` with an HTML page instead of the server's answer
``html_502``                forward, then answer ``502`` with a gateway's HTML page
``reset``                   reset the connection (TCP RST) without forwarding
==========================  =====================================================================================

Faults are chosen either by scripted rules (:meth:`FaultProxy.script`, matched in order like the sandbox's) or
at random with :meth:`FaultProxy.randomly` (a seeded generator, a rate, the kinds to draw from). Every fault
that fired is counted by kind in :attr:`FaultProxy.injected`; :attr:`FaultProxy.retry_after_given` keeps the
waits the proxy asked for, so that a test can check the transport honoured them.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import requests

from lms_connectors.testing.sandbox import BackgroundServing, LoopbackHTTPServer, LoopbackRequestHandler

__all__ = ["FAULT_KINDS", "FaultProxy", "ProxyRule"]

FAULT_KINDS: tuple[str, ...] = (
    "commit_then_drop",
    "drop_before",
    "error_after_commit",
    "unavailable",
    "throttle_seconds",
    "throttle_date",
    "slow_after_commit",
    "truncated_json",
    "html_200",
    "html_502",
    "reset",
)
"""Every way the proxy can break an exchange."""

_BEFORE_FORWARDING = frozenset({"drop_before", "unavailable", "throttle_seconds", "throttle_date", "reset"})
_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length", "content-encoding", "host",
})
_LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>"
_GATEWAY_PAGE = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


@dataclass
class ProxyRule:
    """A scripted fault: ``kind`` on the next ``times`` requests that match ``method``, ``path`` and ``body``.

    Attributes:
        kind: One of :data:`FAULT_KINDS`.
        times: How many matching requests it fires on.
        method: Only this HTTP method (any when ``None``).
        path: Regular expression searched in the request path (any when ``None``).
        body: Regular expression searched in the request body (any when ``None``).
        skip: How many matching requests to let through before it fires (the second PATCH, not the first).
    """

    kind: str
    times: int = 1
    method: str | None = None
    path: str | None = None
    body: str | None = None
    skip: int = 0
    fired: int = field(default=0, init=False)
    passed: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {list(FAULT_KINDS)}")

    def matches(self, method: str, path: str, body: bytes) -> bool:
        """Whether this rule applies to the request (and has not fired ``times`` times yet)."""
        if self.fired >= self.times:
            return False
        if self.method is not None and method != self.method.upper():
            return False
        if self.path is not None and re.search(self.path, path) is None:
            return False
        if self.body is not None and re.search(self.body.encode(), body) is None:
            return False
        if self.passed < self.skip:
            self.passed += 1
            return False
        return True


class FaultProxy(BackgroundServing):
    """Forward every request to ``upstream``, breaking some of the exchanges; serve on 127.0.0.1.

    Args:
        upstream: Base URL of the server behind the proxy (``http://127.0.0.1:<port>``).
        slow_seconds: How long a ``slow_after_commit`` answer is held (longer than the client's read timeout).
        retry_after_seconds: The wait a throttling answer asks for.

    Attributes:
        injected: Faults fired so far, by kind.
        forwarded: Requests forwarded to the server so far.
        retry_after_given: Every wait a throttling answer asked for, in seconds.
    """

    def __init__(self, upstream: str, *, slow_seconds: float = 1.0, retry_after_seconds: int = 1) -> None:
        self.upstream = upstream.rstrip("/")
        self.slow_seconds = slow_seconds
        self.retry_after_seconds = retry_after_seconds
        self.injected: Counter[str] = Counter()
        self.forwarded = 0
        self.retry_after_given: list[float] = []
        self._rules: list[ProxyRule] = []
        self._rate = 0.0
        self._kinds: tuple[str, ...] = ()
        self._random = random.Random(0)  # noqa: S311 - reproducible test faults, not secrets
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._session = requests.Session()
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- choosing faults -------------------------------------------------------------------------------

    def script(self, kind: str, *, times: int = 1, method: str | None = None, path: str | None = None,
               body: str | None = None, skip: int = 0) -> ProxyRule:
        """Add a scripted fault (tried before any random one, in the order added) and return it."""
        rule = ProxyRule(kind, times=times, method=method, path=path, body=body, skip=skip)
        with self._lock:
            self._rules.append(rule)
        return rule

    def randomly(self, rate: float, *, seed: int, kinds: Sequence[str] = FAULT_KINDS) -> None:
        """Break each request with probability ``rate``, drawing the kind from ``kinds`` (seeded)."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        with self._lock:
            self._rate = rate
            self._kinds = tuple(kinds)
            self._random = random.Random(seed)  # noqa: S311 - reproducible test faults

    def calm(self) -> None:
        """Stop injecting: forget scripted rules and random faults (counts are kept)."""
        with self._lock:
            self._rules.clear()
            self._rate = 0.0

    def _choose(self, method: str, path: str, body: bytes) -> str | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, body):
                    rule.fired += 1
                    self.injected[rule.kind] += 1
                    return rule.kind
            if self._rate and self._random.random() < self._rate:
                kind = self._random.choice(self._kinds)
                self.injected[kind] += 1
                return kind
        return None

    # -- serving ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the proxy, ``http://127.0.0.1:<port>``."""
        if self._httpd is None:
            raise RuntimeError("the proxy is not running; call start() or use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> FaultProxy:
        """Start serving in a background thread; returns ``self``."""
        self._serve(_ProxyServer(self), "fault-proxy")
        return self

    def _after_stop(self) -> None:
        self._session.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> requests.Response:
        with self._lock:
            self.forwarded += 1
        outgoing = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        return self._session.request(method, self.upstream + target, headers=outgoing, data=body or None,
                                     allow_redirects=False, timeout=30)

    def _retry_after(self, kind: str) -> str:
        seconds = self.retry_after_seconds
        with self._lock:
            self.retry_after_given.append(float(seconds))
        if kind == "throttle_seconds":
            return str(seconds)
        # An HTTP date has a one-second resolution: ask for one second more so the wait is never shorter.
        return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds + 1), usegmt=True)


class _Drop(Exception):
    """Close the connection without answering."""


class _ProxyHandler(LoopbackRequestHandler):
    server: _ProxyServer
    timeout = 30.0

    def _dispatch(self) -> None:
        proxy = self.server.proxy
        body = self.read_body()
        path = self.path.split("?", 1)[0]
        kind = proxy._choose(self.command, path, body)
        try:
            if kind in _BEFORE_FORWARDING:
                self._before_forwarding(proxy, kind)
                return
            upstream = proxy._forward(self.command, self.path, dict(self.headers.items()), body)
            status, headers, payload = upstream.status_code, dict(upstream.headers), upstream.content
            if kind == "commit_then_drop":
                raise _Drop
            if kind == "error_after_commit":
                status, headers, payload = 500, {"Content-Type": "application/json"}, b'{"error":"internal"}'
            elif kind == "slow_after_commit":
                if proxy._stopping.wait(proxy.slow_seconds):
                    raise _Drop
            elif kind == "truncated_json":
                if not payload:  # a 204: the same success status with a body cut short
                    status, payload = 200, b'{"'
                payload = payload[: max(1, len(payload) // 2)]
            elif kind == "html_200":
                status, headers, payload = 200, {"Content-Type": "text/html; charset=utf-8"}, _LOGIN_PAGE
            elif kind == "html_502":
                status, headers, payload = 502, {"Content-Type": "text/html; charset=utf-8"}, _GATEWAY_PAGE
            self._answer(status, headers, payload)
        except _Drop:
            self._close()
        except (requests.RequestException, OSError):
            self._close()

    def _before_forwarding(self, proxy: FaultProxy, kind: str | None) -> None:
        if kind == "drop_before":
            raise _Drop
        if kind == "reset":
            # SO_LINGER with a zero timeout makes close() send a TCP RST: the client sees "connection reset".
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.close()
            return
        if kind == "unavailable":
            self._answer(503, {"Content-Type": "application/json"}, b'{"error":"unavailable"}')
            return
        self._answer(429, {"Content-Type": "application/json", "Retry-After": proxy._retry_after(str(kind))},
                     b'{"error":"too many requests"}')

    def _answer(self, status: int, headers: dict[str, Any], payload: bytes) -> None:
        self.answer(status, headers, payload, skip=_HOP_BY_HOP)

    def _close(self) -> None:
        self.drop_connection()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the proxy's counters say what happened."""


for _method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
    setattr(_ProxyHandler, f"do_{_method}", _ProxyHandler._dispatch)


class _ProxyServer(LoopbackHTTPServer):
    def __init__(self, proxy: FaultProxy) -> None:
        super().__init__(proxy, _ProxyHandler)
        self.proxy = proxy
