"""The loopback sandbox, driven with plain ``requests``: routing, each fault kind, ordering, counters, threads."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from lms_connectors.testing.sandbox import (
    Fault,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
    Simulator,
)


class ItemStore(Simulator):
    """A tiny provider: POST /items creates, GET /items lists, GET /items/<id> reads; /echo reflects the request."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, dict[str, object]] = {}
        self.calls = 0

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        self.calls += 1
        if request.path == "/items" and request.method == "POST":
            item_id = f"i{len(self.items) + 1}"
            # Read-modify-write across a yield point: without the server's lock, concurrent creates collide.
            time.sleep(0)
            self.items[item_id] = {"id": item_id, **(request.json() or {})}
            return SandboxResponse(201, self.items[item_id])
        if request.path == "/items" and request.method == "GET":
            return SandboxResponse(200, {"items": list(self.items.values())})
        if request.path.startswith("/items/") and request.method in ("GET", "HEAD"):
            item = self.items.get(request.path.removeprefix("/items/"))
            return SandboxResponse(200, item) if item else SandboxResponse(404, {"error": "not_found"})
        if request.path == "/echo":
            return SandboxResponse(
                200,
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query,
                    "headers": request.headers,
                    "body": request.body.decode(),
                    "form": request.form()
                    if request.headers.get("content-type", "").startswith("application/x-www")
                    else None,
                    "q": request.query_one("q", "absent"),
                },
            )
        if request.path == "/null":
            return SandboxResponse.json_null()
        if request.path == "/empty":
            return SandboxResponse(204)
        if request.path == "/text":
            return SandboxResponse(200, "héllo", headers={"X-Kind": "text"})
        if request.path == "/boom":
            raise RuntimeError("simulator bug")
        return SandboxResponse(404, {"error": "no_route"})


@pytest.fixture
def sim() -> ItemStore:
    return ItemStore()


@pytest.fixture
def server(sim: ItemStore) -> Iterator[SandboxServer]:
    with SandboxServer(sim) as running:
        yield running


@pytest.fixture
def client() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


# -- serving ---------------------------------------------------------------------------------------------


def test_url_is_loopback_with_a_real_port(server: SandboxServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_request_is_parsed_for_the_simulator(server: SandboxServer, client: requests.Session) -> None:
    response = client.post(
        f"{server.url}/echo?q=one&q=two&blank=",
        data={"grant_type": "client_credentials", "scope": ""},
        headers={"X-Custom": "Yes"},
        timeout=5,
    )
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["method"] == "POST"
    assert echoed["query"] == {"q": ["one", "two"], "blank": [""]}
    assert echoed["q"] == "one"
    assert echoed["headers"]["x-custom"] == "Yes"  # names lower-cased, values kept
    assert echoed["form"] == [["grant_type", "client_credentials"], ["scope", ""]]
    assert server.requests[-1].query_one("missing") is None


def test_percent_encoded_path_is_decoded(server: SandboxServer, client: requests.Session) -> None:
    assert client.get(f"{server.url}/ech%6F", timeout=5).json()["path"] == "/echo"


def test_chunked_request_body_is_read(server: SandboxServer, client: requests.Session) -> None:
    response = client.post(f"{server.url}/echo", data=iter([b"ab", b"cd", b"ef"]), timeout=5)
    assert response.json()["body"] == "abcdef"
    assert server.requests[-1].headers["transfer-encoding"] == "chunked"


def test_response_bodies_by_type(server: SandboxServer, client: requests.Session) -> None:
    created = client.post(f"{server.url}/items", json={"name": "a"}, timeout=5)
    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/json"
    assert created.json() == {"id": "i1", "name": "a"}

    null = client.get(f"{server.url}/null", timeout=5)
    assert null.content == b"null"
    assert null.headers["Content-Type"] == "application/json"

    empty = client.get(f"{server.url}/empty", timeout=5)
    assert empty.status_code == 204
    assert empty.content == b""
    assert "Content-Type" not in empty.headers

    text = client.get(f"{server.url}/text", timeout=5)
    assert text.text == "héllo"
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.headers["X-Kind"] == "text"
    assert text.headers["Content-Length"] == str(len("héllo".encode()))
    # Deterministic answers: no Date header that would differ from one recording to the next.
    assert "Date" not in text.headers


def test_head_has_length_but_no_body(server: SandboxServer, client: requests.Session) -> None:
    client.post(f"{server.url}/items", json={"name": "a"}, timeout=5)
    head = client.head(f"{server.url}/items/i1", timeout=5)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) > 0
    assert head.content == b""


def test_keep_alive_serves_several_requests_on_one_connection(server: SandboxServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for _ in range(3):
            connection.request("GET", "/items")
            answer = connection.getresponse()
            assert answer.status == 200
            assert answer.read() == b'{"items":[]}'
            assert answer.getheader("Connection") != "close"
    finally:
        connection.close()
    assert len(server.requests) == 3


def test_simulator_exception_is_a_500_and_kept(server: SandboxServer, client: requests.Session) -> None:
    response = client.get(f"{server.url}/boom", timeout=5)
    assert response.status_code == 500
    assert response.json()["error"] == "simulator_error"
    assert "simulator bug" in response.json()["detail"]
    assert len(server.errors) == 1
    assert "RuntimeError: simulator bug" in server.errors[0]


def test_request_log_keeps_every_request_in_order(server: SandboxServer, client: requests.Session) -> None:
    server.faults.add(Fault.throttle())
    client.get(f"{server.url}/items", timeout=5)  # throttled, still logged
    client.post(f"{server.url}/items", json={"n": 1}, timeout=5)
    client.get(f"{server.url}/items/i1", timeout=5)
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", "/items"),
        ("POST", "/items"),
        ("GET", "/items/i1"),
    ]
    assert server.requests[1].json() == {"n": 1}
    assert [r.path for r in server.requests_to("get", r"^/items/")] == ["/items/i1"]


# -- fault kinds -----------------------------------------------------------------------------------------


def test_throttle_answers_429_with_retry_after_without_calling_the_simulator(
    server: SandboxServer, sim: ItemStore, client: requests.Session
) -> None:
    server.faults.add(Fault.throttle(retry_after="7", body={"error": "slow down"}))
    throttled = client.post(f"{server.url}/items", json={"name": "a"}, timeout=5)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json() == {"error": "slow down"}
    assert sim.calls == 0
    assert sim.items == {}

    retried = client.post(f"{server.url}/items", json={"name": "a"}, timeout=5)
    assert retried.status_code == 201
    assert len(sim.items) == 1


def test_throttle_without_retry_after_and_with_another_status(server: SandboxServer, client: requests.Session) -> None:
    server.faults.add(Fault.throttle(status=403, retry_after=None, body="rate limit exceeded"))
    response = client.get(f"{server.url}/items", timeout=5)
    assert response.status_code == 403
    assert "Retry-After" not in response.headers
    assert response.text == "rate limit exceeded"


def test_error_fault_answers_its_status_body_and_headers(
    server: SandboxServer, sim: ItemStore, client: requests.Session
) -> None:
    server.faults.add(Fault.error(503, {"error": "maintenance"}, headers={"X-Request-Id": "r-1"}))
    response = client.get(f"{server.url}/items", timeout=5)
    assert response.status_code == 503
    assert response.json() == {"error": "maintenance"}
    assert response.headers["X-Request-Id"] == "r-1"
    assert sim.calls == 0


def test_latency_delays_then_handles(server: SandboxServer, sim: ItemStore, client: requests.Session) -> None:
    server.faults.add(Fault.latency(0.3))
    started = time.monotonic()
    response = client.post(f"{server.url}/items", json={"name": "slow"}, timeout=5)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 201
    assert sim.items["i1"]["name"] == "slow"


def test_latency_beyond_the_client_timeout_is_a_read_timeout(server: SandboxServer, client: requests.Session) -> None:
    server.faults.add(Fault.latency(0.5))
    with pytest.raises(requests.ReadTimeout):
        client.get(f"{server.url}/items", timeout=(1, 0.1))


def test_drop_before_commit_loses_the_request(server: SandboxServer, sim: ItemStore, client: requests.Session) -> None:
    server.faults.add(Fault.drop_before_commit(method="POST"))
    with pytest.raises(requests.ConnectionError):
        client.post(f"{server.url}/items", json={"name": "a"}, timeout=5)
    assert sim.items == {}
    assert sim.calls == 0
    # The next request opens a new connection and goes through.
    assert client.post(f"{server.url}/items", json={"name": "a"}, timeout=5).status_code == 201


def test_drop_after_commit_commits_then_loses_the_answer(
    server: SandboxServer, sim: ItemStore, client: requests.Session
) -> None:
    server.faults.add(Fault.drop_after_commit())
    with pytest.raises(requests.ConnectionError):
        client.post(f"{server.url}/items", json={"name": "a"}, timeout=5)
    # The provider acted although the client heard nothing: a blind retry would duplicate.
    assert sim.items == {"i1": {"id": "i1", "name": "a"}}
    listed = client.get(f"{server.url}/items", timeout=5).json()["items"]
    assert listed == [{"id": "i1", "name": "a"}]


def test_drop_after_commit_sends_no_byte(server: SandboxServer) -> None:
    server.faults.add(Fault.drop_after_commit(method="POST"))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("POST", "/items", body=b"{}", headers={"Content-Type": "application/json"})
        with pytest.raises(http.client.RemoteDisconnected):
            connection.getresponse()  # raised only when the connection ends before a status line
    finally:
        connection.close()


# -- matching, ordering, counters ------------------------------------------------------------------------


def test_faults_match_by_method_and_path_regex(server: SandboxServer, sim: ItemStore, client: requests.Session) -> None:
    server.faults.add(Fault.error(500, method="GET", path=r"^/items/\w+$"))
    assert client.get(f"{server.url}/items", timeout=5).status_code == 200  # path does not match
    assert client.post(f"{server.url}/items", json={}, timeout=5).status_code == 201  # method does not match
    assert client.get(f"{server.url}/items/i1", timeout=5).status_code == 500
    assert client.get(f"{server.url}/items/i1", timeout=5).status_code == 200


def test_faults_fire_in_the_order_they_were_added(server: SandboxServer, client: requests.Session) -> None:
    first = server.faults.add(Fault.error(502))
    second = server.faults.add(Fault.error(504))
    statuses = [client.get(f"{server.url}/items", timeout=5).status_code for _ in range(3)]
    assert statuses == [502, 504, 200]
    assert [fault for fault, _ in server.faults.fired] == [first, second]


def test_a_fault_fires_times_times_then_is_spent(
    server: SandboxServer, sim: ItemStore, client: requests.Session
) -> None:
    throttle = server.faults.add(Fault.throttle(times=2, method="POST"))
    assert throttle.remaining == 2
    statuses = [client.post(f"{server.url}/items", json={}, timeout=5).status_code for _ in range(3)]
    assert statuses == [429, 429, 201]
    assert throttle.fired == 2
    assert throttle.remaining == 0
    assert server.faults.pending == []
    assert len(sim.items) == 1


def test_a_non_matching_request_does_not_use_up_a_fault(server: SandboxServer, client: requests.Session) -> None:
    drop = server.faults.add(Fault.drop_after_commit(method="POST", path="^/items$"))
    client.get(f"{server.url}/items", timeout=5)
    client.post(f"{server.url}/echo", timeout=5)
    assert drop.fired == 0
    assert server.faults.pending == [drop]


def test_clear_forgets_faults(server: SandboxServer, client: requests.Session) -> None:
    server.faults.add(Fault.error(500, times=5))
    client.get(f"{server.url}/items", timeout=5)
    server.faults.clear()
    assert server.faults.pending == []
    assert server.faults.fired == []
    assert client.get(f"{server.url}/items", timeout=5).status_code == 200


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least once"):
        Fault.error(500, times=0)
    assert Fault.latency(1.0, method="get").method == "GET"


# -- concurrency -----------------------------------------------------------------------------------------


def test_concurrent_creates_are_serialised_by_the_simulator_lock(server: SandboxServer, sim: ItemStore) -> None:
    def create_many(worker: int) -> list[str]:
        with requests.Session() as session:
            return [
                session.post(f"{server.url}/items", json={"w": worker, "n": n}, timeout=5).json()["id"]
                for n in range(10)
            ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [item_id for batch in pool.map(create_many, range(8)) for item_id in batch]
    assert len(ids) == 80
    assert len(set(ids)) == 80
    assert len(sim.items) == 80
    assert len(server.requests) == 80


def test_a_slow_request_does_not_block_others(server: SandboxServer) -> None:
    server.faults.add(Fault.latency(0.6, path="^/items$", method="GET"))
    slow_done = threading.Event()

    def slow() -> None:
        with requests.Session() as session:
            session.get(f"{server.url}/items", timeout=5)
        slow_done.set()

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        time.sleep(0.05)
        with requests.Session() as session:
            assert session.post(f"{server.url}/items", json={}, timeout=5).status_code == 201
        assert not slow_done.is_set()
    finally:
        thread.join()
    assert slow_done.is_set()


def test_each_fault_fires_exactly_times_under_concurrency(server: SandboxServer, sim: ItemStore) -> None:
    server.faults.add(Fault.throttle(times=5, method="POST"))

    def create(_: int) -> int:
        with requests.Session() as session:
            return session.post(f"{server.url}/items", json={}, timeout=5).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(create, range(30)))
    assert statuses.count(429) == 5
    assert statuses.count(201) == 25
    assert len(sim.items) == 25


# -- lifecycle -------------------------------------------------------------------------------------------


def test_stop_leaves_no_thread_even_with_an_idle_keep_alive_connection(sim: ItemStore) -> None:
    before = {t.ident for t in threading.enumerate()}
    server = SandboxServer(sim).start()
    session = requests.Session()
    try:
        assert session.get(f"{server.url}/items", timeout=5).status_code == 200
        started = time.monotonic()
        server.stop()  # the client still holds its pooled connection open
        assert time.monotonic() - started < 2
    finally:
        session.close()
    assert {t.ident for t in threading.enumerate()} <= before


def test_stop_interrupts_a_latency_fault(sim: ItemStore) -> None:
    server = SandboxServer(sim).start()
    server.faults.add(Fault.latency(30))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with requests.Session() as session:
                session.get(f"{server.url}/items", timeout=10)
        except requests.ConnectionError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while not server.requests:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    thread.join()
    assert time.monotonic() - started < 2
    assert len(errors) == 1  # the request was dropped, not answered


def test_stop_is_idempotent_and_url_needs_a_running_server(sim: ItemStore) -> None:
    server = SandboxServer(sim)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    server.start()
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


def test_a_stopped_server_refuses_connections(sim: ItemStore) -> None:
    with SandboxServer(sim) as server:
        url = server.url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/items", timeout=2)
