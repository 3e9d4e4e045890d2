"""Limits shared through a real Redis by several limiter instances, each with its own connection (as separate
worker processes have): one allowance for all of them, not one each."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
import requests
from acme_lms_connector.simulator import AcmeLmsSimulator

from lms_connectors.errors import QuotaExceeded
from lms_connectors.http.token_cache import CachedToken
from lms_connectors.shared_limits import (
    PROVIDER_RULES,
    LimitRule,
    RedisConcurrencyLimiter,
    RedisDailyQuota,
    RedisRateLimiter,
    RedisTokenCache,
    SharedLimitsSession,
)
from lms_connectors.testing.sandbox import Fault, SandboxServer


@pytest.fixture
def clients(redis_url: str) -> Iterator[list[redis.Redis]]:
    """Three independent connections to one emptied Redis database."""
    connections = [redis.Redis.from_url(redis_url) for _ in range(3)]
    connections[0].flushdb()
    yield connections
    for connection in connections:
        connection.close()


def test_three_limiters_on_one_key_share_one_bucket(clients: list[redis.Redis]) -> None:
    booked: list[float] = []
    # A slow rate (one token every 0.5 s) so that the real time between two calls, even on a loaded machine,
    # is small beside the spacing being checked; the sleeps are recorded, not slept.
    limiters = [RedisRateLimiter(c, "bucket", rate=2, burst=4, sleep=booked.append) for c in clients]
    waits = [limiters[n % 3].acquire() for n in range(16)]
    # The first 4 go at once (the burst); each later one is booked 1/2 s after the previous, whichever
    # instance asks: together they never exceed 2 per second.
    assert waits[:4] == [0.0] * 4
    assert all(w > 0.0 for w in waits[4:])
    gaps = [b - a for a, b in itertools.pairwise(waits[4:])]
    assert all(0.4 < gap < 0.501 for gap in gaps), gaps
    assert booked == waits[4:]
    # A limiter on another key has its own bucket.
    assert RedisRateLimiter(clients[0], "other", rate=20, burst=4, sleep=booked.append).acquire() == 0.0


def test_a_pause_one_worker_sets_holds_the_others(clients: list[redis.Redis]) -> None:
    slept: list[float] = []
    first, second = (RedisRateLimiter(c, "paused", rate=100, burst=10, sleep=slept.append) for c in clients[:2])
    first.pause_for(3.0)
    wait = second.acquire()
    assert 2.5 < wait <= 3.0
    first.pause_for(1.0)  # never shortens a pause
    assert second.acquire() > 2.0


def test_concurrency_slots_are_shared_and_a_dead_holders_lease_expires(clients: list[redis.Redis]) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def hold(index: int) -> None:
        nonlocal inside, most
        limiter = RedisConcurrencyLimiter(clients[index % 3], "mailbox", 3)
        for _ in range(4):
            with limiter.slot():
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.01)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert most == 3

    # A worker killed while holding a slot never releases it; its lease runs out instead.
    dead = RedisConcurrencyLimiter(clients[0], "lonely", 1, lease_seconds=0.3)
    never_released = dead.slot()
    never_released.__enter__()
    waiting = RedisConcurrencyLimiter(clients[1], "lonely", 1, timeout=0.1)
    with pytest.raises(TimeoutError), waiting.slot():
        pass
    patient = RedisConcurrencyLimiter(clients[1], "lonely", 1, timeout=5)
    with patient.slot():
        assert patient.held() == 1
    del never_released


def test_a_daily_quota_refuses_the_call_past_it_until_midnight_utc(clients: list[redis.Redis]) -> None:
    now = datetime(2027, 3, 1, 22, 30, tzinfo=UTC)
    quotas = [RedisDailyQuota(c, "zoom:host-a", 3, now=lambda: now) for c in clients]
    assert [quotas[n].take() for n in range(3)] == [1, 2, 3]
    with pytest.raises(QuotaExceeded) as refused:
        quotas[0].take()
    assert refused.value.resets_at == datetime(2027, 3, 2, tzinfo=UTC)
    assert RedisDailyQuota(clients[0], "zoom:host-b", 3, now=lambda: now).take() == 1
    now = datetime(2027, 3, 2, 0, 0, 1, tzinfo=UTC)
    assert quotas[1].take() == 1


def test_the_token_cache_is_shared_and_expires_with_its_token(clients: list[redis.Redis]) -> None:
    writer, reader = RedisTokenCache(clients[0]), RedisTokenCache(clients[1])
    assert reader.load("zoom:acct:client") is None
    with writer.lock():
        writer.store("zoom:acct:client", CachedToken("tok-1", time.time() + 3600))
    assert reader.load("zoom:acct:client") == CachedToken("tok-1", pytest.approx(time.time() + 3600, abs=5))
    writer.store("short", CachedToken("tok-2", time.time() + 1))
    assert clients[2].ttl("lmsc:token:short") == 1
    # One minter at a time: a second holder waits for the first.
    order: list[str] = []
    with writer.lock():
        thread = threading.Thread(target=lambda: (reader.lock().__enter__(), order.append("second")))
        thread.start()
        time.sleep(0.2)
        order.append("first")
    thread.join(timeout=10)
    assert order == ["first", "second"]


# the session adapters send through


@pytest.fixture
def acme() -> Iterator[SandboxServer]:
    with SandboxServer(AcmeLmsSimulator(client_id="c", client_secret="s")) as server:
        yield server


def test_sessions_of_two_workers_draw_on_one_rate(clients: list[redis.Redis], acme: SandboxServer) -> None:
    booked: list[float] = []
    rules = [LimitRule("api", "rate", 10, burst=2, path=r"^/sessions")]
    workers = [SharedLimitsSession(c, "tenant-a/acme_lms", rules, sleep=booked.append) for c in clients[:2]]
    started = time.monotonic()
    for n in range(6):
        workers[n % 2].get(f"{acme.url}/sessions", timeout=5)
    elapsed = time.monotonic() - started
    # After the burst of 2, four more at 10 per second: the last is booked 0.4 s after the first (less the
    # time the calls themselves took, since the sleeps here are only recorded).
    assert len(booked) == 4 and booked == sorted(booked)
    assert 0.4 - elapsed - 0.01 <= booked[-1] <= 0.4
    # Another tenant's allowance is its own.
    other = SharedLimitsSession(clients[2], "tenant-b/acme_lms", rules, sleep=booked.append)
    other.get(f"{acme.url}/sessions", timeout=5)
    assert len(booked) == 4


def test_a_429_with_retry_after_pauses_every_worker(clients: list[redis.Redis], acme: SandboxServer) -> None:
    acme.faults.add(Fault.throttle(429, retry_after="2", times=1))
    slept: list[float] = []
    rules = [LimitRule("api", "rate", 100, burst=10)]
    first, second = (SharedLimitsSession(c, "t/acme_lms", rules, sleep=slept.append) for c in clients[:2])
    assert first.get(f"{acme.url}/sessions", timeout=5).status_code == 429
    second.get(f"{acme.url}/sessions", timeout=5)
    assert len(slept) == 1 and 1.5 < slept[0] <= 2.0


def test_a_spent_daily_quota_refuses_before_sending(clients: list[redis.Redis], acme: SandboxServer) -> None:
    rules = [LimitRule("creates", "daily", 2, method="POST", path=r"^/sessions$")]
    session = SharedLimitsSession(clients[0], "t/acme_lms", rules)
    for _ in range(2):
        session.post(f"{acme.url}/sessions", json={}, timeout=5)
    with pytest.raises(QuotaExceeded):
        session.post(f"{acme.url}/sessions", json={}, timeout=5)
    session.get(f"{acme.url}/sessions", timeout=5)  # other calls are not counted
    assert [r.method for r in acme.requests] == ["POST", "POST", "GET"]


def test_provider_rules_scope_by_mailbox_host_and_calendar() -> None:
    (graph,) = PROVIDER_RULES["microsoft_graph"]
    assert graph.scope("PATCH", "/v1.0/users/Room.A%40contoso.com/events/1") == "room.a@contoso.com"
    assert graph.scope("POST", "/v1.0/$batch") is None
    (zoom,) = PROVIDER_RULES["zoom"]
    assert zoom.scope("POST", "/v2/users/me/meetings") == "me"
    assert zoom.scope("GET", "/v2/users/me/meetings") is None
    (google,) = PROVIDER_RULES["google_calendar"]
    assert google.scope("GET", "/calendar/v3/calendars/primary/events") == "primary"


def test_the_session_is_a_requests_session() -> None:
    assert issubclass(SharedLimitsSession, requests.Session)


def test_a_worker_runtime_gives_every_adapter_its_tenants_shared_limits(clients: list[redis.Redis], acme: SandboxServer) -> None:
    from lms_connectors.secrets import EnvSecrets
    from lms_connectors.store.memory import MemoryLedger
    from lms_connectors.workers.runtime import TenantRuntime

    rules = [LimitRule("creates", "daily", 1, method="POST", path=r"^/sessions$")]
    config = {"acme_lms": {"client_id": "c", "client_secret": "s", "base_url": acme.url}}
    runtime = TenantRuntime(MemoryLedger(), {"t1": config, "t2": config}, EnvSecrets({}), limits_client=clients[0], limit_rules={"acme_lms": rules})
    (first,) = runtime.adapters_for("t1")
    assert isinstance(first.runtime.session, SharedLimitsSession) and first.runtime.session.rules == tuple(rules)
    first.runtime.session.post(f"{acme.url}/sessions", json={}, timeout=5)
    with pytest.raises(QuotaExceeded):
        first.runtime.session.post(f"{acme.url}/sessions", json={}, timeout=5)
    (other,) = runtime.adapters_for("t2")  # another tenant, another allowance
    assert isinstance(other.runtime.session, SharedLimitsSession)
    other.runtime.session.post(f"{acme.url}/sessions", json={}, timeout=5)


ZOOM_WORKER = """
import sys
from lms_connectors_zoom.adapter import ZoomAdapter
from lms_connectors_zoom.config import ZoomConfig

base, cache_url = sys.argv[1], sys.argv[2]
adapter = ZoomAdapter(ZoomConfig(account_id="sim-account", client_id="sim-client-id", client_secret="sim-client-secret",
                                 base_url=base, token_url=base + "/oauth/token", token_cache_url=cache_url))
for _ in range(3):
    adapter.find_session("nothing")
print(adapter.auth.mints)
"""


def test_zoom_workers_in_separate_processes_share_one_token_through_redis(clients: list[redis.Redis], redis_url: str) -> None:
    import subprocess
    import sys

    from lms_connectors_zoom.sandbox import ZoomSimulator

    simulator = ZoomSimulator()
    with SandboxServer(simulator) as server:
        workers = [
            subprocess.Popen([sys.executable, "-c", ZOOM_WORKER, server.url, redis_url], stdout=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        mints = [int(worker.communicate(timeout=60)[0].strip()) for worker in workers]
        token_calls = sum(1 for r in server.requests if r.path == "/oauth/token")
    assert all(worker.returncode == 0 for worker in workers)
    # Four processes, twelve API calls, one token minted for all of them.
    assert sum(mints) == 1
    assert token_calls == 1
