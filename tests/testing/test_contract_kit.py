"""The contract kit's own machinery: the client-side lost answer, the run's set-up, skips, the pytest plug-in."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from lms_connectors.adapter import Adapter
from lms_connectors.errors import ConfigurationError, ResponseLost
from lms_connectors.http import HttpTransport, failed_before_sending
from lms_connectors.testing.client_faults import drop_next_response
from lms_connectors.testing.contract import (
    DEFAULT_CASSETTE_DIR,
    AdapterContract,
    ContractHarness,
    SleepRecorder,
    open_contract_run,
    resolve_cassette_root,
)
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, SandboxServer, Simulator


class Counter(Simulator):
    """POST /things creates one thing; GET /things counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.things = 0

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if request.method == "POST":
            self.things += 1
            return SandboxResponse(201, {"id": self.things})
        return SandboxResponse(200, {"count": self.things})


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Counter()) as running:
        yield running


def _things(server: SandboxServer) -> int:
    simulator = server.simulator
    assert isinstance(simulator, Counter)
    return simulator.things


# -- drop_next_response ---------------------------------------------------------------------------------------


def test_a_dropped_answer_was_committed_and_looks_sent(server: SandboxServer) -> None:
    with requests.Session() as http, drop_next_response(http, method="POST") as lost:
        with pytest.raises(requests.ConnectionError) as raised:
            http.post(f"{server.url}/things", timeout=5)
        assert len(lost) == 1
        assert lost[0].url == f"{server.url}/things"
        # The provider acted, and the error says "sent, then lost", never "could not connect".
        assert _things(server) == 1
        assert not failed_before_sending(raised.value)
        assert http.get(f"{server.url}/things", timeout=5).json() == {"count": 1}  # GETs pass
        assert http.post(f"{server.url}/things", timeout=5).status_code == 201  # times=1: spent
    assert _things(server) == 2


def test_drop_matches_method_and_path_and_restores_send(server: SandboxServer) -> None:
    with requests.Session() as http:
        original = http.send
        with drop_next_response(http, method="post", path=r"^/other$", times=2) as lost:
            assert http.post(f"{server.url}/things", timeout=5).status_code == 201
            assert lost == []
        assert http.send == original
        assert "send" not in vars(http)


def test_transport_turns_a_lost_post_into_response_lost(server: SandboxServer) -> None:
    transport = HttpTransport(provider="counter", base_url=server.url, sleep=lambda _s: None)
    try:
        with drop_next_response(transport.session), pytest.raises(ResponseLost):
            transport.request("POST", "things")
        assert _things(server) == 1  # not resent: the transport cannot know the first one landed
        # A request that carries an idempotency guarantee is resent instead.
        with drop_next_response(transport.session) as lost:
            transport.request("POST", "things", idempotent=True)
        assert len(lost) == 1
        assert _things(server) == 3
    finally:
        transport.close()


# -- run set-up -----------------------------------------------------------------------------------------------


def test_sleep_recorder_records_without_sleeping() -> None:
    sleep = SleepRecorder()
    started = time.monotonic()
    sleep(30)
    sleep(0.5)
    assert time.monotonic() - started < 1
    assert sleep.waits == [30, 0.5]


def test_cassette_root_resolution(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    # Default: beside the contract test, the same layout for an in-tree adapter and a vendor's.
    assert resolve_cassette_root(tests) == tests / DEFAULT_CASSETTE_DIR == tests / "cassettes"
    assert resolve_cassette_root(tests, "recorded") == tests / "recorded"
    assert resolve_cassette_root(tests, Path("/abs/cassettes")) == Path("/abs/cassettes")
    # --lmsc-cassettes wins, relative to the pytest root.
    assert resolve_cassette_root(tests, "recorded", option="cas", rootdir=tmp_path) == tmp_path / "cas"
    assert resolve_cassette_root(tests, option="/abs/cas", rootdir=tmp_path) == Path("/abs/cas")


class NoAdapterHarness(ContractHarness[Adapter, Counter]):
    adapter_class = Adapter
    adapter_name = "nothing"
    canonical_base_url = "https://api.nothing.example"
    unsupported = {"pagination": "Nothing lists nothing"}  # noqa: RUF012 - the harness API is class attributes

    def make_simulator(self) -> Counter:
        return Counter()

    def build_adapter(self, base_url: str, *, sleep: Callable[[float], None]) -> Adapter:
        raise AssertionError("not reached in these tests")


def test_replay_without_a_cassette_fails_and_says_how_to_record(tmp_path: Path) -> None:
    with (
        pytest.raises(pytest.fail.Exception, match="LMS_CONNECTORS_RECORD=sandbox"),
        open_contract_run(NoAdapterHarness(), "create", target="none", cassette_root=tmp_path),
    ):
        pass


def test_an_unsupported_case_is_skipped_with_the_harness_reason(request: pytest.FixtureRequest) -> None:
    class TestNothing(AdapterContract):
        harness = NoAdapterHarness()

    with pytest.raises(pytest.skip.Exception, match="nothing does not support pagination: Nothing lists nothing"):
        TestNothing().test_pagination(request)


def test_hooks_default_to_not_implemented() -> None:
    harness = NoAdapterHarness()
    adapter = object()
    for hook in (harness.expire_auth, harness.break_auth, harness.provoke_conflict, harness.provoke_invalid_request):
        with pytest.raises(NotImplementedError, match="NoAdapterHarness does not implement"):
            hook(adapter, None)  # type: ignore[arg-type]
    assert harness.throttle_fault().status == 429
    assert harness.throttle_fault().headers == {"Retry-After": "1"}


# -- the pytest plug-in ----------------------------------------------------------------------------------------

PLUGIN_USER = textwrap.dedent(
    """
    import requests
    from lms_connectors.testing.sandbox import SandboxResponse, Simulator

    class Hello(Simulator):
        def handle(self, request):
            return SandboxResponse(200, {"hello": request.path})

    def test_fixtures(lmsc_record_mode, sandbox_server):
        server = sandbox_server(Hello())
        assert requests.get(server.url + "/x", timeout=5).json() == {"hello": "/x"}
        print("MODE", lmsc_record_mode)
    """
)


def _pytest(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(PLUGIN_USER)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", *args, "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_plugin_options_fixtures_and_env(tmp_path: Path) -> None:
    import os

    base_env = {k: v for k, v in os.environ.items() if k != "LMS_CONNECTORS_RECORD"}
    default = _pytest(tmp_path, env=base_env)
    assert default.returncode == 0, default.stdout + default.stderr
    assert "MODE none" in default.stdout
    assert "lms-connectors contract record mode: none" in default.stdout

    from_env = _pytest(tmp_path, env={**base_env, "LMS_CONNECTORS_RECORD": "sandbox"})
    assert "MODE sandbox" in from_env.stdout

    option_wins = _pytest(tmp_path, "--lmsc-record=live", env={**base_env, "LMS_CONNECTORS_RECORD": "sandbox"})
    assert "MODE live" in option_wins.stdout

    bad_option = _pytest(tmp_path, "--lmsc-record=always", env=base_env)
    assert bad_option.returncode == 4  # usage error
    bad_env = _pytest(tmp_path, env={**base_env, "LMS_CONNECTORS_RECORD": "always"})
    assert bad_env.returncode != 0
    assert "not a record mode" in bad_env.stdout + bad_env.stderr


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, lms_connectors.testing.pytest_plugin; "
        "print(sorted(m for m in ('vcr', 'requests', 'lms_connectors.http', 'lms_connectors.testing.sandbox') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_harnesses_load_without_pytest_or_vcrpy() -> None:
    """`lms-connectors demo`, `doctor` and `matrix` load harnesses at run time, where pytest may be absent."""
    code = (
        "import sys\n"
        "from lms_connectors.registry import available_adapters, load_harness\n"
        "import lms_connectors.support_matrix\n"
        "for info in available_adapters(): load_harness(info.name)\n"
        "print(sorted(m for m in ('pytest', '_pytest', 'vcr') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# -- the harness's default adapter -------------------------------------------------------------------------------


class TwoHostHarness(ContractHarness[Adapter, Counter]):
    adapter_class = Adapter
    adapter_name = "twohost"
    canonical_base_url = "https://api.twohost.example/v2"
    canonical_hosts = {"/oauth/token": "https://login.twohost.example/oauth/token"}  # noqa: RUF012

    def make_simulator(self) -> Counter:
        return Counter()


def test_provider_urls_are_canonical_on_replay_and_on_the_sandbox_origin_while_recording() -> None:
    harness = TwoHostHarness()
    token = "https://login.twohost.example/oauth/token"
    assert harness.provider_url(token, "https://api.twohost.example/v2") == token
    assert harness.provider_url(harness.canonical_base_url, "https://api.twohost.example/v2/") == harness.canonical_base_url
    assert harness.provider_url(token, "http://127.0.0.1:4000") == "http://127.0.0.1:4000/oauth/token"
    assert harness.provider_url(harness.canonical_base_url, "http://127.0.0.1:4000/") == "http://127.0.0.1:4000"
    assert harness.adapter_settings("http://127.0.0.1:4000") == {"base_url": "http://127.0.0.1:4000"}
    with pytest.raises(ConfigurationError, match="not one of TwoHostHarness's canonical URLs"):
        harness.provider_url("https://elsewhere.example", "http://127.0.0.1:4000")


def test_the_default_build_adapter_is_the_adapter_class_from_its_settings() -> None:
    from acme_lms_connector.adapter import AcmeLmsAdapter
    from acme_lms_connector.testing import AcmeLmsHarness

    waits: list[float] = []
    adapter = AcmeLmsHarness().build_adapter("http://127.0.0.1:4000", sleep=waits.append)
    try:
        assert type(adapter) is AcmeLmsAdapter
        assert adapter.config.base_url == "http://127.0.0.1:4000"
        assert adapter.runtime.sleep == waits.append
    finally:
        adapter.close()
