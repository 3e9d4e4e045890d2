from __future__ import annotations

import base64
import threading
import time
from typing import TYPE_CHECKING

import pytest
import requests

from lms_connectors.errors import AuthError
from lms_connectors.http import BasicAuth, BearerTokenAuth, StaticTokenAuth

if TYPE_CHECKING:
    from tests.http.conftest import FakeClock


class CountingSource:
    def __init__(self, expires_in: float | None = 3600.0, delay: float = 0.0) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, float | None]:
        if self.delay:
            time.sleep(self.delay)  # widen the race window in the thread test
        with self._lock:
            self.calls += 1
            return f"token-{self.calls}", self.expires_in


def header(auth: BearerTokenAuth | StaticTokenAuth) -> str:
    prepared = requests.Request("GET", "https://example.test/").prepare()
    auth.apply(prepared)
    return prepared.headers["Authorization"]


def test_token_is_fetched_lazily_and_cached(clock: FakeClock) -> None:
    source = CountingSource(expires_in=3600)
    auth = BearerTokenAuth(source, clock=clock, early_refresh_seconds=60)
    assert source.calls == 0
    assert header(auth) == "Bearer token-1"
    clock.advance(3539)
    assert header(auth) == "Bearer token-1"
    assert source.calls == 1


def test_token_is_renewed_shortly_before_expiry(clock: FakeClock) -> None:
    source = CountingSource(expires_in=3600)
    auth = BearerTokenAuth(source, clock=clock, early_refresh_seconds=60)
    header(auth)
    clock.advance(3540)  # 60 s before the announced expiry
    assert header(auth) == "Bearer token-2"


def test_token_without_expiry_is_kept_until_invalidated(clock: FakeClock) -> None:
    source = CountingSource(expires_in=None)
    auth = BearerTokenAuth(source, clock=clock)
    header(auth)
    clock.advance(10**7)
    assert header(auth) == "Bearer token-1"
    auth.invalidate()
    assert header(auth) == "Bearer token-2"


def test_refresh_forces_a_new_token_and_old_ones_stay_secret(clock: FakeClock) -> None:
    source = CountingSource()
    auth = BearerTokenAuth(source, clock=clock)
    assert auth.can_refresh
    header(auth)
    auth.refresh()
    assert source.calls == 2
    assert header(auth) == "Bearer token-2"
    assert auth.secrets() == ["token-1", "token-2"]


def test_empty_token_is_an_auth_error(clock: FakeClock) -> None:
    auth = BearerTokenAuth(lambda: ("", 3600.0), clock=clock)
    with pytest.raises(AuthError):
        header(auth)


def test_threads_share_one_fetch() -> None:
    source = CountingSource(delay=0.05)
    auth = BearerTokenAuth(source)
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait()
        seen.append(auth.token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert source.calls == 1
    assert seen == ["token-1"] * 8


def test_static_token() -> None:
    auth = StaticTokenAuth("pat-123")
    assert header(auth) == "Bearer pat-123"
    assert not auth.can_refresh
    assert auth.secrets() == ["pat-123"]
    with pytest.raises(AuthError):
        auth.refresh()


def test_short_lived_token_is_not_refetched_on_every_request(clock: FakeClock) -> None:
    source = CountingSource(expires_in=30)  # shorter than the 60 s margin
    auth = BearerTokenAuth(source, clock=clock, early_refresh_seconds=60)
    header(auth)
    clock.advance(10)
    assert header(auth) == "Bearer token-1"
    clock.advance(5)  # half-way through its life
    assert header(auth) == "Bearer token-2"


def test_secrets_can_be_read_while_the_token_is_being_fetched() -> None:
    # The cassette scrubber reads auth.secrets() while the token request is on the wire; with a plain lock
    # held during fetch_token() that deadlocked.
    from lms_connectors.http.auth import BearerTokenAuth

    seen: list[list[str]] = []

    def fetch() -> tuple[str, float | None]:
        seen.append(auth.secrets())
        return "tok-1", 3600.0

    auth = BearerTokenAuth(fetch)
    auth.refresh()
    assert seen == [[]]
    assert "tok-1" in auth.secrets()


def test_basic_auth_header_and_secrets() -> None:
    auth = BasicAuth("trainer", "pässword")
    request = requests.Request("GET", "https://dav.example.org/").prepare()
    auth.apply(request)
    value = request.headers["Authorization"]
    assert value.startswith("Basic ")
    assert base64.b64decode(value.removeprefix("Basic ")).decode("utf-8") == "trainer:pässword"
    assert not auth.can_refresh
    assert "pässword" in auth.secrets()
    assert value.removeprefix("Basic ") in auth.secrets(), "the encoded form reveals the password: redact it too"
    with pytest.raises(AuthError):
        auth.refresh()
