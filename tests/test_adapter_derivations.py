"""What an adapter or a harness writes once and the core derives: the configuration model, the harness's names, the
throttling fault."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field

from lms_connectors.adapter import Adapter, AdapterKind
from lms_connectors.errors import ConfigurationError
from lms_connectors.http import TransportSettings
from lms_connectors.models import ProviderRef, ProviderSession
from lms_connectors.registry import available_adapters, load_adapter_class, load_harness
from lms_connectors.testing.harness import ContractHarness, default_base_url
from lms_connectors.testing.limits import LimitState
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator
from lms_connectors.testing.sandbox import SandboxResponse, Simulator


class HostedConfig(TransportSettings):
    """A provider with one public API: its base URL has a default."""

    base_url: str = "https://api.hosted.test/v2"
    page_size: int = 25


class SelfHostedConfig(TransportSettings):
    """A provider each customer runs: no default base URL."""

    base_url: str = Field(min_length=1)


class _Required:
    """The required operations, so that the test adapters can be built."""

    def find_session(self, key: str) -> ProviderRef | None:
        return None

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        raise NotImplementedError

    def reschedule_session(self, ref: ProviderRef, session: Any) -> ProviderRef:
        return ref

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        return None


class HostedAdapter(_Required, Adapter[HostedConfig]):
    name = "hosted"
    kind = AdapterKind.LMS

    def page_size(self) -> int:
        return self.config.page_size  # typed HostedConfig through the type parameter: no cast, no assert


class SelfHostedAdapter(_Required, Adapter[SelfHostedConfig]):
    name = "self_hosted"
    kind = AdapterKind.LMS


class NoSimulator(Simulator):
    def handle(self, request: Any) -> Any:
        raise AssertionError("not served in these tests")


def test_the_type_parameter_is_the_configuration_model() -> None:
    assert HostedAdapter.config_model is HostedConfig
    adapter = HostedAdapter.from_config({"page_size": 7})
    assert isinstance(adapter.config, HostedConfig)
    assert adapter.page_size() == 7


def test_the_constructor_still_refuses_another_configuration() -> None:
    with pytest.raises(ConfigurationError, match="takes a HostedConfig, got SelfHostedConfig"):
        HostedAdapter(SelfHostedConfig(base_url="https://lms.example.edu"))  # type: ignore[arg-type]


def test_a_config_model_set_by_hand_must_agree_with_the_type_parameter() -> None:
    class Agrees(_Required, Adapter[HostedConfig]):
        name = "agrees"
        kind = AdapterKind.LMS
        config_model = HostedConfig

    assert Agrees.config_model is HostedConfig
    with pytest.raises(TypeError, match=r"Adapter\[HostedConfig\] but sets config_model"):

        class Disagrees(_Required, Adapter[HostedConfig]):
            config_model = SelfHostedConfig


def test_a_subclass_inherits_the_configuration_model() -> None:
    class Child(HostedAdapter):
        name = "child"

    assert Child.config_model is HostedConfig


def test_an_adapter_naming_no_configuration_model_says_how_to_name_one() -> None:
    class Nameless(_Required, Adapter):
        name = "nameless"
        kind = AdapterKind.LMS

    with pytest.raises(TypeError, match=r"declare it as Adapter\[TheConfig\]"):
        Nameless(TransportSettings(base_url="https://x.test"))


def test_a_harness_takes_the_adapter_its_name_and_base_url_from_its_type_parameters() -> None:
    class Harness(ContractHarness[HostedAdapter, NoSimulator]):
        def make_simulator(self) -> NoSimulator:
            return NoSimulator()

    assert Harness.adapter_class is HostedAdapter
    assert Harness.adapter_name == "hosted"
    assert Harness.canonical_base_url == "https://api.hosted.test/v2"
    assert Harness().adapter_settings("https://api.hosted.test/v2") == {"base_url": "https://api.hosted.test/v2"}


def test_a_self_hosted_provider_names_its_canonical_url_and_what_is_set_by_hand_wins() -> None:
    class Harness(ContractHarness[SelfHostedAdapter, NoSimulator]):
        adapter_name = "renamed"
        canonical_base_url = "https://lms.example.edu"

        def make_simulator(self) -> NoSimulator:
            return NoSimulator()

    assert default_base_url(SelfHostedAdapter) is None
    assert (Harness.adapter_class, Harness.adapter_name) == (SelfHostedAdapter, "renamed")
    assert Harness.canonical_base_url == "https://lms.example.edu"


def test_a_harness_subclass_for_another_adapter_derives_again_but_keeps_what_was_set_by_hand() -> None:
    class Hosted(ContractHarness[HostedAdapter, NoSimulator]):
        missing_external_id = "h-0"

        def make_simulator(self) -> NoSimulator:
            return NoSimulator()

    class SelfHosted(Hosted):
        adapter_class = SelfHostedAdapter  # type: ignore[assignment]
        canonical_base_url = "https://lms.example.edu"

    class Renamed(Hosted):
        adapter_name = "kept"

    class RenamedChild(Renamed):
        pass

    assert (SelfHosted.adapter_name, SelfHosted.canonical_base_url) == ("self_hosted", "https://lms.example.edu")
    assert RenamedChild.adapter_name == "kept"


class PlainSimulator(RoutedSimulator):
    """A provider whose errors are ``{"problem": ...}`` and whose throttling answer is a 503 with a minute's wait."""

    def error_response(self, refusal: Refusal) -> SandboxResponse:
        return SandboxResponse(refusal.status, {"problem": refusal.code})

    def throttled(self, state: LimitState) -> Refusal:
        return Refusal(503, "slow down", "slow_down", headers={"Retry-After": "60"})


def test_the_throttle_fault_is_the_simulators_own_answer() -> None:
    class Harness(ContractHarness[HostedAdapter, PlainSimulator]):
        def make_simulator(self) -> PlainSimulator:
            return PlainSimulator()

    fault = Harness().throttle_fault()
    assert (fault.status, fault.body, fault.headers) == (503, {"problem": "slow_down"}, {"Retry-After": "60"})


def test_the_throttle_fault_of_a_simulator_without_routes_is_a_429() -> None:
    class Harness(ContractHarness[HostedAdapter, NoSimulator]):
        def make_simulator(self) -> NoSimulator:
            raise AssertionError("not built for the default fault")

    fault = Harness().throttle_fault()
    assert (fault.status, fault.body, fault.headers) == (429, None, {"Retry-After": "1"})


@pytest.mark.parametrize("name", [info.name for info in available_adapters()])
def test_every_installed_harness_names_its_adapter_and_a_canonical_url(name: str) -> None:
    harness = load_harness(name)
    assert harness.adapter_class is load_adapter_class(name)
    assert harness.adapter_name == name
    assert harness.canonical_base_url.startswith("https://")
    assert harness.adapter_class.config_model is not TransportSettings
