"""Several workers of one Zoom app share one access token instead of invalidating each other's."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lms_connectors.errors import AuthError
from lms_connectors.http import ClientCredentialsAuth, HttpTransport, oauth_token_classifier
from lms_connectors.http.token_cache import CachedToken, FileTokenCache, MemoryTokenCache
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_zoom.sandbox import ZoomSimulator

from .conftest import AdapterFactory


def test_second_adapter_reuses_the_shared_token(make_adapter: AdapterFactory, simulator: ZoomSimulator,
                                                tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "zoom-tokens.json")
    first, second = make_adapter(token_cache=cache), make_adapter(token_cache=cache)
    assert first.find_session("nothing") is None
    assert second.find_session("nothing") is None
    assert simulator.tokens_minted == 1
    assert (first.auth.mints, second.auth.mints) == (1, 0)
    assert (tmp_path / "zoom-tokens.json").stat().st_mode & 0o077 == 0  # tokens readable by the owner only


def test_a_401_with_a_token_already_replaced_reuses_the_newer_one(
    make_adapter: AdapterFactory, simulator: ZoomSimulator, tmp_path: Path
) -> None:
    cache = FileTokenCache(tmp_path / "zoom-tokens.json")
    first, second = make_adapter(token_cache=cache), make_adapter(token_cache=cache)
    first.find_session("nothing")
    second.find_session("nothing")
    simulator.expire_tokens()
    first.find_session("nothing")  # 401 -> the cached token is the refused one -> mint
    assert simulator.tokens_minted == 2
    second.find_session("nothing")  # 401 with the old token -> the cache already holds a newer one -> reuse
    assert simulator.tokens_minted == 2
    assert (first.auth.mints, second.auth.mints) == (2, 0)


def test_without_sharing_workers_invalidate_each_other(make_adapter: AdapterFactory, simulator: ZoomSimulator) -> None:
    """The failure the shared cache prevents: each private mint revokes the other worker's token."""
    first, second = make_adapter(), make_adapter()
    for _ in range(3):
        first.find_session("nothing")
        second.find_session("nothing")
    # Every call after the first found its token revoked by the other worker's mint.
    assert simulator.tokens_minted == 6
    shared = MemoryTokenCache()
    third, fourth = make_adapter(token_cache=shared), make_adapter(token_cache=shared)
    for _ in range(3):
        third.find_session("nothing")
        fourth.find_session("nothing")
    assert simulator.tokens_minted == 7


def test_second_refusal_is_an_auth_error(make_adapter: AdapterFactory, simulator: ZoomSimulator) -> None:
    adapter = make_adapter()
    adapter.find_session("nothing")
    simulator.rotate_client_secret()  # tokens revoked and the app's secret no longer valid
    with pytest.raises(AuthError):
        adapter.find_session("nothing")


def test_token_close_to_expiry_is_not_reused(server: SandboxServer, simulator: ZoomSimulator) -> None:
    now = [1_000_000.0]
    cache = MemoryTokenCache()

    def worker_token() -> str:
        """A new worker's first token, through the same cache."""
        transport = HttpTransport(provider="zoom", base_url=f"{server.url}/oauth/token",
                                  classifier=oauth_token_classifier)
        auth = ClientCredentialsAuth(transport, client_id="sim-client-id", client_secret="sim-client-secret",
                                     client_auth="basic",
                                     query={"grant_type": "account_credentials", "account_id": "sim-account"},
                                     cache=cache, cache_key="zoom:sim", clock=lambda: now[0])
        return auth.token()

    token = worker_token()
    assert cache.load("zoom:sim") == CachedToken(token, now[0] + 3600)
    now[0] += 3000  # 600 s left: a new worker reuses it
    assert worker_token() == token
    now[0] += 560  # 40 s left: below the 60 s margin, mint a new one
    newer = worker_token()
    assert newer != token
    assert cache.load("zoom:sim") == CachedToken(newer, now[0] + 3600)
    assert simulator.tokens_minted == 2


def test_file_cache_round_trip_and_damaged_file(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "sub" / "tokens.json")
    with cache.lock():
        assert cache.load("k") is None
        cache.store("k", CachedToken("t1", 123.0))
        cache.store("other", CachedToken("t2", 456.0))
    assert cache.load("k") == CachedToken("t1", 123.0)
    assert FileTokenCache(tmp_path / "sub" / "tokens.json").load("other") == CachedToken("t2", 456.0)
    (tmp_path / "sub" / "tokens.json").write_text("{not json")
    assert cache.load("k") is None


WORKER = textwrap.dedent(
    """
    import sys
    from lms_connectors_zoom.adapter import ZoomAdapter
    from lms_connectors_zoom.config import ZoomConfig

    base, cache_file = sys.argv[1], sys.argv[2]
    adapter = ZoomAdapter(ZoomConfig(account_id="sim-account", client_id="sim-client-id",
                                     client_secret="sim-client-secret", base_url=base,
                                     token_url=base + "/oauth/token", token_cache_file=cache_file))
    for _ in range(3):
        adapter.find_session("nothing")
    print(adapter.auth.mints)
    """
)


def test_processes_share_one_token_through_the_file(server: SandboxServer, simulator: ZoomSimulator,
                                                    tmp_path: Path) -> None:
    cache_file = str(tmp_path / "zoom-tokens.json")
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, server.url, cache_file], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    mints = [int(worker.communicate(timeout=30)[0].strip()) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    # Four processes started together, twelve API calls, one token: the lock let one mint and the others reuse it.
    assert sum(mints) == 1
    assert simulator.tokens_minted == 1
    assert sum(1 for r in server.requests if r.path == "/oauth/token") == 1
