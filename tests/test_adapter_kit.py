"""The adapter kit's runtime: one constructor, transport settings, the idempotent-create rule and its audit."""

from __future__ import annotations

import inspect
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
import requests
from typer.testing import CliRunner

from lms_connectors.adapter import Adapter, AdapterKind, Capability, CreateTrace
from lms_connectors.cli import app
from lms_connectors.errors import ConfigurationError, ResponseLost, TransientError
from lms_connectors.http import TransportSettings
from lms_connectors.http.retry import should_retry
from lms_connectors.models import ProviderRef, ProviderSession, Session, TimeSlot
from lms_connectors.registry import available_adapters, load_adapter_class, load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.sqlite import SQLiteLedger
from lms_connectors.testing.sandbox import SandboxServer

NY = ZoneInfo("America/New_York")


class ExampleConfig(TransportSettings):
    base_url: str = "https://api.example.test/v1"


class LosingAdapter(Adapter):
    """Keeps objects in memory; its create may lose its answer after committing, or before."""

    name: ClassVar[str] = "losing"
    display_name: ClassVar[str] = "Losing"
    kind: ClassVar[AdapterKind] = AdapterKind.LMS
    config_model: ClassVar[type[ExampleConfig]] = ExampleConfig

    def setup(self) -> None:
        self.objects: dict[str, ProviderRef] = {}
        self.calls: list[str] = []
        self.lose: list[str] = []  # per create: "after commit" or "before commit"

    def create_new(self, session: Session, key: str) -> ProviderRef:
        self.calls.append("create")
        how = self.lose.pop(0) if self.lose else None
        if how != "before commit":
            self.objects[key] = ProviderRef(provider=self.name, external_id=f"obj-{len(self.objects) + 1}")
        if how is not None:
            raise ResponseLost("answer lost", provider=self.name)
        return self.objects[key]

    def find_session(self, key: str) -> ProviderRef | None:
        self.calls.append("find")
        return self.objects.get(key)

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        raise NotImplementedError

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        return ref

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        self.objects = {k: v for k, v in self.objects.items() if v != ref}


class NativeKeyAdapter(LosingAdapter):
    name: ClassVar[str] = "native"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.NATIVE_IDEMPOTENCY})


def session(session_id: str = "ilt-1") -> Session:
    start = datetime(2027, 3, 16, 9, 0, tzinfo=NY)
    return Session(id=session_id, title="Forklift Safety",
                   slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="America/New_York"))


def losing() -> LosingAdapter:
    return LosingAdapter.from_config({})


# -- the rule ---------------------------------------------------------------------------------------------------


def test_a_fresh_key_is_created_without_a_look_up() -> None:
    adapter, trace = losing(), CreateTrace()
    adapter.create_traced(session(), key="k", fresh=True, trace=trace)
    assert adapter.calls == ["create"]
    assert trace.as_detail() == {"lookups": [], "lost_answers": [], "attempts": 1, "rule": "base"}


def test_a_key_maybe_sent_is_looked_up_first_and_found() -> None:
    adapter = losing()
    first = adapter.create_session(session(), key="k", fresh=True)
    trace = CreateTrace()
    assert adapter.create_traced(session(), key="k", trace=trace) == first
    assert adapter.calls == ["create", "find"]
    assert trace.as_detail()["lookups"] == [{"reason": "before create", "found": first.external_id}]
    assert trace.attempts == 0


def test_a_lost_answer_is_looked_up_before_anything_else_and_not_resent_when_committed() -> None:
    adapter, trace = losing(), CreateTrace()
    adapter.lose = ["after commit"]
    ref = adapter.create_traced(session(), key="k", fresh=True, trace=trace)
    assert adapter.calls == ["create", "find"]
    assert len(adapter.objects) == 1 and ref == adapter.objects["k"]
    assert trace.lost_answers == ["answer lost"]
    assert trace.as_detail()["lookups"] == [{"reason": "after lost answer", "found": ref.external_id}]
    assert trace.attempts == 1


def test_a_lost_create_that_never_committed_is_sent_again_once() -> None:
    adapter, trace = losing(), CreateTrace()
    adapter.lose = ["before commit"]
    adapter.create_traced(session(), key="k", fresh=True, trace=trace)
    assert adapter.calls == ["create", "find", "create"]
    assert len(adapter.objects) == 1
    assert trace.found == [None] and trace.attempts == 2


def test_two_lost_answers_raise_response_lost_and_the_trace_tells() -> None:
    adapter, trace = losing(), CreateTrace()
    adapter.lose = ["before commit", "after commit"]
    with pytest.raises(ResponseLost):
        adapter.create_traced(session(), key="k", fresh=True, trace=trace)
    assert trace.attempts == 2 and len(trace.lost_answers) == 2


def test_native_idempotency_skips_the_look_up_before_create_but_not_after_a_lost_answer() -> None:
    adapter = NativeKeyAdapter.from_config({})
    adapter.create_session(session(), key="k")
    assert adapter.calls == ["create"]
    adapter.lose = ["after commit"]
    adapter.create_session(session(), key="k2")
    assert adapter.calls == ["create", "create", "find"]


def test_response_lost_is_not_transient_and_is_never_retried() -> None:
    lost = ResponseLost("lost")
    assert not isinstance(lost, TransientError)
    assert not should_retry(lost, idempotent=True)
    assert not should_retry(lost, idempotent=False)


# -- audit ------------------------------------------------------------------------------------------------------


def test_the_scheduler_audits_look_ups_lost_answers_and_attempts_and_the_cli_prints_them(tmp_path: Path) -> None:
    adapter = losing()
    adapter.lose = ["after commit"]
    ledger_path = tmp_path / "ledger.sqlite"
    ledger = SQLiteLedger(ledger_path)
    Scheduler([adapter], ledger).schedule(session("ilt-audit"))
    created = [e for e in ledger.iter_audit("ilt-audit") if e.action == "created"]
    ledger.close()
    assert len(created) == 1
    detail = created[0].detail
    assert detail["attempts"] == 1
    assert detail["lost_answers"] == ["answer lost"]
    assert detail["lookups"] == [
        {"reason": "before create", "found": None},  # this ledger may not be the only writer: look first
        {"reason": "after lost answer", "found": "obj-1"},
    ]

    result = CliRunner().invoke(app, ["audit", "ilt-audit", "--ledger", str(ledger_path)])
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "after lost answer" in result.output and "answer lost" in result.output
    unknown = CliRunner().invoke(app, ["audit", "nope", "--ledger", str(ledger_path)])
    assert unknown.exit_code == 1 and "no history" in unknown.output
    missing = CliRunner().invoke(app, ["audit", "x", "--ledger", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 1


# -- one constructor, one from_config, transport settings -------------------------------------------------------


INSTALLED = sorted(info.name for info in available_adapters())


@pytest.mark.parametrize("name", INSTALLED)
def test_every_installed_adapter_has_the_base_constructor_and_from_config(name: str) -> None:
    cls = load_adapter_class(name)
    assert "__init__" not in vars(cls), f"{cls.__name__} must not redefine the constructor (use setup())"
    assert "from_config" not in vars(cls), f"{cls.__name__} must not redefine from_config"
    assert issubclass(cls.config_model, TransportSettings)
    parameters = inspect.signature(cls).parameters
    assert list(parameters) == ["config", "session", "sleep", "clock", "hooks"]


def test_runtime_options_reach_every_transport() -> None:
    session_ = requests.Session()
    sleeps: list[float] = []
    events: list[Any] = []
    adapter = LosingAdapter.from_config(
        {"timeout": (2, 9), "max_attempts": 2, "total_timeout": 5, "requests_per_second": 3, "burst": 4},
        session=session_, sleep=sleeps.append, clock=lambda: 0.0, hooks=[events.append],
    )
    api = adapter.api_transport()
    token = adapter.token_transport("https://auth.example.test/token")
    assert adapter.transports() == {"api": api, "token": token}
    assert adapter.transport is api
    for transport in (api, token):
        assert transport.session is session_
        assert transport.timeout == (2, 9)
        assert transport.retry_policy.max_attempts == 2 and transport.retry_policy.total_timeout == 5
        assert transport.hooks == [events.append]
    assert api.rate_limiter is not None and api.rate_limiter.rate == 3 and api.rate_limiter.burst == 4
    assert token.rate_limiter is None, "token requests do not spend the API's rate"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"base_url": "ftp://files.example.test"}, "base_url"),
        ({"base_url": "not a url"}, "base_url"),
        ({"timeout": (0, 30)}, "timeout"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"requests_per_second": 0}, "requests_per_second"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_transport_settings_are_a_configuration_error_naming_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        LosingAdapter.from_config(values)


def test_the_constructor_refuses_a_mapping() -> None:
    with pytest.raises(ConfigurationError, match="from_config"):
        LosingAdapter(json.loads("{}"))  # type: ignore[arg-type]


# -- doctor -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", INSTALLED)
def test_doctor_passes_for_every_installed_adapter_against_its_simulator(name: str) -> None:
    harness = load_harness(name)
    with SandboxServer(harness.make_simulator()) as server:
        adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
        try:
            checks = adapter.diagnose()
        finally:
            adapter.close()
    assert len(checks) >= 2, "at least the credentials and one check of what the adapter needs"
    assert all(check.ok for check in checks), [check for check in checks if not check.ok]


def test_the_default_doctor_of_an_adapter_without_credentials_to_obtain() -> None:
    checks = losing().diagnose()
    assert [(c.name, c.ok) for c in checks] == [("credentials", True)]
