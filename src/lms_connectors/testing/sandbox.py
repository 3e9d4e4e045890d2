"""A provider simulator served on loopback, with fault injection.

Adapters are tested against a real HTTP server on ``127.0.0.1`` rather than against mocks: the adapter's
own transport (timeouts, retries, auth refresh, connection handling) runs exactly as in production. A
:class:`Simulator` holds a fictional provider's state and answers :class:`SandboxRequest` objects; a
:class:`SandboxServer` serves it on a random loopback port; its :class:`FaultInjector` makes the next matching
requests fail the ways real providers fail::

    with SandboxServer(MySimulator()) as server:
        server.faults.add(Fault.throttle(retry_after="2", times=2))     # two 429s with Retry-After: 2
        server.faults.add(Fault.drop_after_commit(method="POST"))       # commit, then lose the answer
        adapter = build_adapter(base_url=server.url)
        ...
        assert [r.method for r in server.requests] == [...]

Fault kinds:

``status``
    Answer ``status`` / ``body`` / ``headers`` without calling the simulator (throttling, 5xx). The request
    was *not* processed.
``latency``
    Wait ``seconds``, then handle the request normally (exercises read timeouts).
``drop_before_commit``
    Close the connection without calling the simulator: the request was lost on its way.
``drop_after_commit``
    Call the simulator (its state changes), then close the connection without writing a single byte: the
    provider acted, but the client never hears of it. This is the fault that makes naive clients create
    duplicates when they retry a POST.

Faults are matched in the order they were added, by method and by a regular expression searched in the
path; each fires ``times`` times and is then spent. The server speaks HTTP/1.1 with ``Content-Length``
(keep-alive connections are reused by clients), and stops cleanly: open connections are shut down and
every handler thread is joined, so no thread or socket outlives the ``with`` block.
"""

from __future__ import annotations

import abc
import contextlib
import json
import logging
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Literal, Self
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from typing_extensions import TypeVar

__all__ = [
    "BackgroundServing",
    "ConcurrencyLimit",
    "LoopbackRequestHandler",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxServer",
    "Simulator",
    "SimulatorT",
]

logger = logging.getLogger("lms_connectors.testing.sandbox")

FaultKind = Literal["status", "latency", "drop_after_commit", "drop_before_commit"]
_FAULT_KINDS: frozenset[str] = frozenset({"status", "latency", "drop_after_commit", "drop_before_commit"})

ResponseBody = bytes | str | dict[str, Any] | list[Any] | None


@dataclass
class SandboxRequest:
    """One HTTP request as the simulator sees it.

    Attributes:
        method: Upper-case HTTP method.
        path: The URL path, percent-decoded (``/api/v1/sessions/s-1``).
        query: Query parameters, each with every value it was given (blank values kept).
        headers: Request headers with lower-case names.
        body: The raw request body (empty when there was none).
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        """Parse the body as JSON (``None`` for an empty body).

        Raises:
            ValueError: The body is not valid JSON.
        """
        if not self.body:
            return None
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        """Parse an ``application/x-www-form-urlencoded`` body, keeping order, repeats and blank values."""
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)

    def query_one(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``, or ``default``."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class SandboxResponse:
    """What the simulator answers.

    ``body`` is serialised by type: ``dict`` and ``list`` as JSON (``application/json``), ``str`` as UTF-8
    text (``text/plain`` unless a ``Content-Type`` header says otherwise), ``bytes`` as they are, and ``None``
    as an empty body. Use :meth:`json_null` for a body that is the JSON literal ``null``.

    Attributes:
        status: HTTP status code.
        body: The body, serialised as described above.
        headers: Extra response headers (``Content-Length`` is always computed).
    """

    status: int = 200
    body: ResponseBody = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json_null(cls, status: int = 200) -> SandboxResponse:
        """A response whose body is the JSON literal ``null`` (some providers answer that)."""
        return cls(status=status, body=b"null", headers={"Content-Type": "application/json"})

    def encode(self) -> tuple[bytes, dict[str, str]]:
        """Serialise the body and return it with the headers to send."""
        headers = dict(self.headers)
        has_type = any(name.lower() == "content-type" for name in headers)
        if isinstance(self.body, dict | list):
            payload = json.dumps(self.body, separators=(",", ":"), sort_keys=True).encode("utf-8")
            default_type = "application/json"
        elif isinstance(self.body, str):
            payload = self.body.encode("utf-8")
            default_type = "text/plain; charset=utf-8"
        elif isinstance(self.body, bytes):
            payload = self.body
            default_type = "application/octet-stream"
        else:
            payload = b""
            default_type = ""
        if payload and not has_type:
            headers["Content-Type"] = default_type
        return payload, headers


class ConcurrencyLimit:
    """At most ``limit`` requests in flight at once per key (a mailbox, a user); one more is refused at once.

    Providers count the requests they are working on, whatever their rate: Outlook works on 4 requests per app
    and mailbox at a time and refuses a fifth with 429. A simulator adds one to its
    :attr:`Simulator.concurrency_limits`; the sandbox server counts each request in and out around its handling.

    Args:
        limit: Requests in flight at once per key.
        key: The key a request counts against (None: the request is not counted).
        refuse: The provider's answer to a request over the limit.

    Attributes:
        peak: The most requests that were in flight at once, per key.
        refused: Requests refused, per key.
    """

    def __init__(
        self,
        limit: int,
        *,
        key: Callable[[SandboxRequest], str | None],
        refuse: Callable[[SandboxRequest], SandboxResponse],
    ) -> None:
        if limit < 1:
            raise ValueError("a concurrency limit lets at least one request through")
        self.limit = limit
        self.key = key
        self.refuse = refuse
        self.peak: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, request: SandboxRequest) -> SandboxResponse | None:
        """Count ``request`` in; the refusal when its key already has ``limit`` requests in flight."""
        key = self.key(request)
        if key is None:
            return None
        with self._lock:
            current = self._in_flight.get(key, 0)
            if current >= self.limit:
                self.refused[key] = self.refused.get(key, 0) + 1
                over = True
            else:
                self._in_flight[key] = current + 1
                self.peak[key] = max(self.peak.get(key, 0), current + 1)
                over = False
        return self.refuse(request) if over else None

    def leave(self, request: SandboxRequest) -> None:
        """Count an admitted ``request`` out."""
        key = self.key(request)
        if key is None:
            return
        with self._lock:
            self._in_flight[key] = max(0, self._in_flight.get(key, 0) - 1)


class Simulator(abc.ABC):
    """A fictional provider: state plus a request handler.

    The server calls :meth:`handle` while holding :attr:`lock`, so a simulator's state is never changed by two
    requests at once; code outside the server (a test inspecting state) takes the same lock.

    Before that, each request is *in flight* (:meth:`in_flight`): it counts against the simulator's
    :attr:`concurrency_limits` and stays there for :attr:`latency` seconds, outside the lock, as a request a
    provider is working on does. A request over a limit is answered with the limit's refusal at once.

    Attributes:
        lock: Guards the simulator's state.
        concurrency_limits: Limits of requests in flight at once (Outlook's 4 per mailbox).
        latency: Seconds each request spends in flight before it is handled (0: none), so that concurrent
            clients overlap as they do against a real provider.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.concurrency_limits: list[ConcurrencyLimit] = []
        self.latency = 0.0

    @contextlib.contextmanager
    def in_flight(self, request: SandboxRequest) -> Iterator[SandboxResponse | None]:
        """Count ``request`` as in flight for the block; yields the refusal of a request over a limit, else None."""
        entered: list[ConcurrencyLimit] = []
        try:
            for limit in self.concurrency_limits:
                refusal = limit.enter(request)
                if refusal is not None:
                    yield refusal
                    return
                entered.append(limit)
            if self.latency > 0:
                time.sleep(self.latency)
            yield None
        finally:
            for limit in entered:
                limit.leave(request)

    @abc.abstractmethod
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request (an unexpected exception becomes a 500 and is kept in ``server.errors``)."""


@dataclass
class Fault:
    """One fault, fired on the next ``times`` requests that match ``method``, ``path`` and ``body_pattern``.

    Attributes:
        kind: ``"status"``, ``"latency"``, ``"drop_after_commit"`` or ``"drop_before_commit"``.
        times: How many matching requests it fires on.
        method: Only requests with this method (any method when ``None``).
        path: Regular expression searched in the request path (any path when ``None``).
        body_pattern: Regular expression searched in the raw request body (any body when ``None``): for APIs
            that send every call to one URL, such as Moodle's ``wsfunction=...`` form field.
        status: Status of a ``"status"`` fault's answer.
        body: Body of a ``"status"`` fault's answer (serialised like :class:`SandboxResponse`).
        headers: Headers of a ``"status"`` fault's answer.
        seconds: Delay of a ``"latency"`` fault.
        fired: How many times it has fired so far.
    """

    kind: FaultKind
    times: int = 1
    method: str | None = None
    path: str | None = None
    body_pattern: str | None = None
    status: int = 503
    body: ResponseBody = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(_FAULT_KINDS)}")
        if self.times < 1:
            raise ValueError("a fault fires at least once (times >= 1)")
        if self.method is not None:
            self.method = self.method.upper()
        self._path_re = re.compile(self.path) if self.path is not None else None
        self._body_re = re.compile(self.body_pattern.encode("utf-8")) if self.body_pattern is not None else None

    @property
    def remaining(self) -> int:
        """How many more times it will fire."""
        return self.times - self.fired

    def matches(self, request: SandboxRequest) -> bool:
        """Whether this fault applies to ``request`` (ignoring how often it already fired)."""
        if self.method is not None and request.method != self.method:
            return False
        if self._body_re is not None and self._body_re.search(request.body) is None:
            return False
        return self._path_re is None or self._path_re.search(request.path) is not None

    def response(self) -> SandboxResponse:
        """The answer of a ``"status"`` fault."""
        return SandboxResponse(status=self.status, body=self.body, headers=dict(self.headers))

    @classmethod
    def throttle(
        cls,
        status: int = 429,
        retry_after: str | None = "1",
        body: ResponseBody = None,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        body_pattern: str | None = None,
    ) -> Fault:
        """Throttle: answer ``status`` with a ``Retry-After`` header (omitted when ``retry_after`` is None)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls("status", times=times, method=method, path=path, body_pattern=body_pattern, status=status,
                   body=body, headers=headers)

    @classmethod
    def error(
        cls,
        status: int,
        body: ResponseBody = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        body_pattern: str | None = None,
    ) -> Fault:
        """Answer ``status`` (a 5xx, or a provider's error shape) without processing the request."""
        return cls("status", times=times, method=method, path=path, body_pattern=body_pattern, status=status,
                   body=body, headers=headers or {})

    @classmethod
    def latency(cls, seconds: float, *, times: int = 1, method: str | None = None, path: str | None = None) -> Fault:
        """Wait ``seconds`` before handling the request normally."""
        return cls("latency", times=times, method=method, path=path, seconds=seconds)

    @classmethod
    def drop_after_commit(
        cls, method: str | None = "POST", path: str | None = None, times: int = 1, body_pattern: str | None = None
    ) -> Fault:
        """Process the request, then close the connection without answering (the answer is lost)."""
        return cls("drop_after_commit", times=times, method=method, path=path, body_pattern=body_pattern)

    @classmethod
    def drop_before_commit(cls, method: str | None = None, path: str | None = None, times: int = 1) -> Fault:
        """Close the connection without processing the request (the request is lost)."""
        return cls("drop_before_commit", times=times, method=method, path=path)


class FaultInjector:
    """The server's ordered list of faults; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: list[tuple[Fault, SandboxRequest]] = []
        """Every fault that fired, with the request it fired on, in order."""

    def add(self, fault: Fault) -> Fault:
        """Append ``fault`` (faults are tried in the order they were added) and return it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget every fault, spent or not, and the record of fired ones."""
        with self._lock:
            self._faults.clear()
            self.fired.clear()

    @property
    def pending(self) -> list[Fault]:
        """Faults that will still fire, in order."""
        with self._lock:
            return [f for f in self._faults if f.remaining > 0]

    def take(self, request: SandboxRequest) -> Fault | None:
        """Return the first live fault matching ``request`` and count it as fired, or ``None``."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(request):
                    fault.fired += 1
                    self.fired.append((fault, request))
                    return fault
        return None


class _DropConnection(Exception):
    """Raised inside the handler to close the connection without answering."""


class LoopbackRequestHandler(BaseHTTPRequestHandler):
    """What every loopback server of the kit does with HTTP/1.1: read a body, answer whole, or drop the line.

    The sandbox's handler and the fault proxy's subclass it, so that both read ``Content-Length`` and chunked
    bodies, and answer with an exact ``Content-Length``, the same way.
    """

    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle on, the second waits for the client's delayed
    # ACK (40 ms on Linux), which would make every sandbox call 40 ms slower than any real provider.
    disable_nagle_algorithm = True

    def read_body(self) -> bytes:
        """The request's body, sent with ``Content-Length`` or chunked (empty when there is none)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def answer(self, status: int, headers: Mapping[str, Any], payload: bytes, *, skip: frozenset[str]) -> None:
        """Send a whole answer: ``headers`` but those named in ``skip`` (lower case), the exact length, the body."""
        self.send_response_only(status)
        for name, value in headers.items():
            if name.lower() not in skip and name.lower() != "content-length":
                self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()

    def drop_connection(self) -> None:
        """End the connection without one byte of an answer: the client sees its request unanswered."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _Handler(LoopbackRequestHandler):
    """Turns HTTP requests into :class:`SandboxRequest` objects for the owning :class:`SandboxServer`."""
    server: LoopbackHTTPServer
    # Deterministic answers: no Server/Date headers (cassettes recorded from the sandbox stay stable).
    server_version = "lms-connectors-sandbox"
    sys_version = ""
    # A connection silent this long (mid-request or idle between keep-alive requests) is closed.
    timeout = 30.0

    def _dispatch(self) -> None:
        owner = self.server.owner
        try:
            request = self._read_request()
        except ValueError as exc:
            self._write(SandboxResponse(400, {"error": "bad_request", "detail": str(exc)}))
            return
        owner._log_request(request)
        fault = owner.faults.take(request)
        try:
            if fault is None or fault.kind == "latency":
                if fault is not None and owner._stopping.wait(fault.seconds):
                    raise _DropConnection  # the server is stopping: don't hold its shutdown up
                response = owner._call_simulator(request)
            elif fault.kind == "status":
                response = fault.response()
            elif fault.kind == "drop_before_commit":
                raise _DropConnection
            else:  # drop_after_commit
                owner._call_simulator(request)
                raise _DropConnection
        except _DropConnection:
            self._drop()
            return
        self._write(response)

    def _read_request(self) -> SandboxRequest:
        parts = urlsplit(self.path)
        return SandboxRequest(
            method=self.command.upper(),
            path=unquote(parts.path),
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.read_body(),
        )

    def _write(self, response: SandboxResponse) -> None:
        payload, headers = response.encode()
        self.log_request(response.status)
        self.answer(response.status, headers, payload, skip=frozenset())

    def _drop(self) -> None:
        self.drop_connection()

    def log_message(self, format: str, *args: Any) -> None:
        """Log through :mod:`logging` instead of writing to stderr."""
        logger.debug("%s %s", self.address_string(), format % args)


# BaseHTTPRequestHandler looks up ``do_<METHOD>``; every method goes to the same dispatcher. WebDAV's methods
# (RFC 4918, CalDAV's RFC 4791 MKCALENDAR, RFC 3253 REPORT) are served too.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DAV_METHODS = ("PROPFIND", "PROPPATCH", "REPORT", "MKCOL", "MKCALENDAR", "COPY", "MOVE")
for _method in _METHODS + _DAV_METHODS:
    setattr(_Handler, f"do_{_method}", _Handler._dispatch)


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threaded server on 127.0.0.1 (random port) that knows its open connections.

    Stopping it never waits on an idle client. It serves a :class:`SandboxServer` by default; ``handler``
    serves another ``owner`` (the fault proxy).
    """

    daemon_threads = False  # server_close() joins every handler thread
    block_on_close = True

    def __init__(self, owner: Any, handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), handler or _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def serve_in_background(self, name: str) -> threading.Thread:
        """Serve from a new thread (named ``name``), which is returned for :meth:`stop_serving`."""
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
        thread.start()
        return thread

    def stop_serving(self, thread: threading.Thread) -> None:
        """Stop serving, close every connection and join ``thread`` and every handler thread."""
        self.shutdown()
        thread.join()
        self.close_connections()
        self.server_close()  # joins the handler threads

    def close_connections(self) -> None:
        """Shut every open connection down; handler threads waiting for a next request then end."""
        with self._connections_lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer is normal in fault tests; keep it out of stderr.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


SimulatorT = TypeVar("SimulatorT", bound=Simulator, default=Simulator)
"""The simulator a :class:`SandboxServer` serves (``SandboxServer[MySimulator].simulator`` is typed)."""


class BackgroundServing:
    """The life of a loopback server run in a background thread: started, then stopped once and joined.

    :class:`SandboxServer` and the fault proxy share it. A subclass sets ``_stopping``, ``_httpd`` and
    ``_thread`` in its constructor, starts with :meth:`_serve`, and closes what else it holds in
    :meth:`_after_stop`.
    """

    _stopping: threading.Event
    _httpd: LoopbackHTTPServer | None
    _thread: threading.Thread | None

    def _serve(self, httpd: LoopbackHTTPServer, name: str) -> None:
        self._stopping.clear()
        self._httpd = httpd
        self._thread = httpd.serve_in_background(name)

    def stop(self) -> None:
        """Stop serving, close every connection and join every thread (idempotent)."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.stop_serving(thread)
        self._httpd = None
        self._thread = None
        self._after_stop()

    def _after_stop(self) -> None:
        """Close what the server holds besides its sockets (nothing by default)."""


class SandboxServer(BackgroundServing, Generic[SimulatorT]):
    """Serve a :class:`Simulator` on ``127.0.0.1`` (random port) in background threads.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. It is generic in the simulator, so
    ``SandboxServer(MySimulator()).simulator`` is a ``MySimulator`` for the type checker.

    Args:
        simulator: The provider simulator to serve.

    Attributes:
        simulator: The simulator being served.
        faults: Faults for the next requests.
        requests: Every request received, in order (faulted ones included).
        errors: Tracebacks of exceptions the simulator raised (each was answered with a 500).
    """

    def __init__(self, simulator: SimulatorT) -> None:
        self.simulator = simulator
        self.faults = FaultInjector()
        self.requests: list[SandboxRequest] = []
        self.errors: list[str] = []
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, ``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        """The port the server listens on.

        Raises:
            RuntimeError: The server is not running.
        """
        if self._httpd is None:
            raise RuntimeError("the sandbox server is not running; call start() or use it as a context manager")
        return int(self._httpd.server_address[1])

    def start(self) -> Self:
        """Start serving; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("the sandbox server is already running")
        httpd = LoopbackHTTPServer(self)
        self._serve(httpd, f"sandbox-{httpd.server_address[1]}")
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def requests_to(self, method: str, path_pattern: str = "") -> Iterator[SandboxRequest]:
        """The logged requests with this method whose path matches the regular expression."""
        compiled = re.compile(path_pattern)
        with self._log_lock:
            logged = list(self.requests)
        return (r for r in logged if r.method == method.upper() and compiled.search(r.path))

    def _log_request(self, request: SandboxRequest) -> None:
        with self._log_lock:
            self.requests.append(request)

    def _call_simulator(self, request: SandboxRequest) -> SandboxResponse:
        try:
            with self.simulator.in_flight(request) as refusal:
                if refusal is not None:
                    return refusal
                with self.simulator.lock:
                    return self.simulator.handle(request)
        except Exception:
            detail = traceback.format_exc()
            with self._log_lock:
                self.errors.append(detail)
            logger.error(
                "simulator %s failed on %s %s:\n%s", type(self.simulator).__name__, request.method, request.path, detail
            )
            return SandboxResponse(500, {"error": "simulator_error", "detail": detail.strip().splitlines()[-1]})
