"""What the contract kit needs to know about one adapter, and the matrix's cases: importable without pytest.

Each adapter package ships a :class:`ContractHarness`; the contract kit (:mod:`lms_connectors.testing.contract`)
runs the matrix with it, and ``lms-connectors demo``/``doctor``/``matrix`` use it at run time (which is why
this module does not import pytest or vcrpy).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Generic, get_args, get_origin
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from typing_extensions import TypeVar

from lms_connectors.adapter import Adapter, Capability
from lms_connectors.errors import ConfigurationError
from lms_connectors.models import Session, TimeSlot
from lms_connectors.testing.bearer import BearerSimulator
from lms_connectors.testing.routing import RoutedSimulator
from lms_connectors.testing.sandbox import Fault, SandboxServer, SimulatorT

__all__ = ["CASES", "AdapterT", "ContractHarness", "SimulatorT", "default_base_url"]

AdapterT = TypeVar("AdapterT", bound=Adapter, default=Adapter)
"""The adapter a :class:`ContractHarness` builds."""

CASES: tuple[str, ...] = (
    "create",
    "idempotent_create",
    "reschedule",
    "cancel",
    "enrol_across_zones",
    "capacity_overflow",
    "rate_limited",
    "expired_auth",
    "pagination",
    "typed_errors",
)
"""The acceptance matrix, one test per case."""


class ContractHarness(abc.ABC, Generic[AdapterT, SimulatorT]):
    """What the contract kit needs to know about one adapter; each adapter package ships one.

    Class attributes say where the provider lives and what it keeps; methods build the simulator and the
    adapter, and provoke the provider-specific situations (expired token, conflict) the matrix checks. The
    harness is generic in the adapter and the simulator it builds, so its hooks receive them typed::

        class AcmeLmsHarness(ContractHarness[AcmeLmsAdapter, AcmeLmsSimulator]):
            def provoke_conflict(self, adapter: AcmeLmsAdapter, sandbox: SandboxServer[AcmeLmsSimulator] | None):
                ...

    What the type parameters already say is not written again: :attr:`adapter_class` is the first one,
    :attr:`adapter_name` the adapter's registry name and :attr:`canonical_base_url` the default ``base_url`` of
    its configuration model (a self-hosted provider, whose configuration has no default, sets it).

    Hooks that change provider state (``expire_auth``, ``break_auth``, ``provoke_*``) get the running sandbox
    while a case records against it, and ``None`` on replay and live runs (the cassette, or the provider
    itself, then holds the answer). A harness whose simulator is a
    :class:`~lms_connectors.testing.bearer.BearerSimulator` inherits ``expire_auth`` and ``break_auth``, and
    every harness inherits :meth:`secret_values` for the secrets its :meth:`adapter_settings` hold.
    """

    adapter_class: type[AdapterT]
    """The adapter class under contract (default: the first type parameter); its capabilities are checked against
    its methods."""
    adapter_name: ClassVar[str]
    """The adapter's registry name; also the cassette folder's name (default: ``adapter_class.name``)."""
    canonical_base_url: ClassVar[str]
    """The provider's real base URL; cassettes store it, replay builds the adapter with it (default: the default
    ``base_url`` of the adapter's configuration model)."""
    canonical_hosts: ClassVar[dict[str, str]] = {}
    """Loopback path prefix -> canonical URL, for endpoints on another host (an OAuth token endpoint)."""
    unsupported: ClassVar[dict[str, str]] = {}
    """Case (or ``"<case>.<part>"``) -> why this provider cannot support it; such a case is skipped with it."""
    keeps: ClassVar[frozenset[str]] = frozenset()
    """Read-back fields the provider keeps beyond title and instants: ``timezone``, ``location``, ``capacity``."""
    create_method: ClassVar[str] = "POST"
    """HTTP method of the request that creates the provider object (its answer is lost in idempotent_create)."""
    missing_external_id: ClassVar[str] = "contract-missing-0"
    """A well-formed external id that names no object (typed_errors: NotFound)."""
    page_size: ClassVar[int] = 2
    """Page size asked for in the pagination case (five sessions are listed)."""
    _derived: ClassVar[frozenset[str]] = frozenset()
    """The attributes above this class took from its type parameters (a subclass derives them again)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Derive what the class does not set from its type parameters.

        :attr:`adapter_class`, :attr:`adapter_name` and :attr:`canonical_base_url` are derived where neither the
        class nor a base that set them by hand does.
        """
        super().__init_subclass__(**kwargs)
        derived: set[str] = set()

        def unset(attribute: str) -> bool:
            return attribute not in vars(cls) and (not hasattr(cls, attribute) or attribute in cls._derived)

        adapter = _type_argument(cls, 0)
        if unset("adapter_class") and adapter is not None and adapter is not Adapter and issubclass(adapter, Adapter):
            cls.adapter_class = adapter  # type: ignore[assignment] # the first type parameter is AdapterT itself
            derived.add("adapter_class")
        adapter_class = getattr(cls, "adapter_class", None)
        if adapter_class is not None:
            name = getattr(adapter_class, "name", None)
            if unset("adapter_name") and isinstance(name, str):
                cls.adapter_name = name
                derived.add("adapter_name")
            base_url = default_base_url(adapter_class)
            if unset("canonical_base_url") and base_url is not None:
                cls.canonical_base_url = base_url
                derived.add("canonical_base_url")
        cls._derived = frozenset(derived)

    @abc.abstractmethod
    def make_simulator(self) -> SimulatorT:
        """Return a fresh simulator of the provider (empty state, known dummy credentials)."""

    def contract_simulator(self) -> SimulatorT:
        """The simulator a contract case records against (default: :meth:`make_simulator`).

        Override it to turn on provider behaviours the matrix should meet that would get in the way elsewhere
        (the demo, benchmarks): short pages, the account's own objects beside the contract's.
        """
        return self.make_simulator()

    def adapter_settings(self, base_url: str) -> dict[str, Any]:
        """The adapter's configuration against ``base_url``, with placeholder credentials.

        Override it to add the provider's fields (credentials, an organizer, a course); reach endpoints on other
        hosts through :meth:`provider_url`, so that the same settings serve replay and recording.

        Args:
            base_url: The sandbox's URL while recording, :attr:`canonical_base_url` on replay.

        Returns:
            A mapping for the adapter's ``from_config`` (default: ``{"base_url": base_url}``).
        """
        return {"base_url": self.provider_url(self.canonical_base_url, base_url)}

    def build_adapter(self, base_url: str, *, sleep: Callable[[float], None]) -> AdapterT:
        """Build the adapter against ``base_url``: ``adapter_class.from_config(adapter_settings(base_url))``.

        Args:
            base_url: The sandbox's URL while recording, :attr:`canonical_base_url` on replay.
            sleep: Given to the adapter (its transports wait through it), so that the kit sees every wait.
        """
        return self.adapter_class.from_config(self.adapter_settings(base_url), sleep=sleep)

    def provider_url(self, canonical: str, base_url: str) -> str:
        """Where the adapter reaches the provider's ``canonical`` URL when it is built against ``base_url``.

        On replay (``base_url`` is :attr:`canonical_base_url`) that is ``canonical`` itself. While recording,
        the sandbox serves every host of the provider on one loopback origin: ``canonical`` is found under the
        path prefix :attr:`canonical_hosts` maps to it, and :attr:`canonical_base_url` at the origin itself.

        Raises:
            ConfigurationError: ``canonical`` is neither the base URL nor listed in :attr:`canonical_hosts`.
        """
        origin = base_url.rstrip("/")
        if origin == self.canonical_base_url.rstrip("/"):
            return canonical
        for prefix, url in self.canonical_hosts.items():
            if url.rstrip("/") == canonical.rstrip("/"):
                return origin + prefix
        if canonical.rstrip("/") == self.canonical_base_url.rstrip("/"):
            return origin
        raise ConfigurationError(f"{canonical} is not one of {type(self).__name__}'s canonical URLs")

    def live_adapter(self, *, sleep: Callable[[float], None]) -> AdapterT:
        """Build the adapter for a live tenant from environment variables (re-recording against the real API).

        Raises:
            ConfigurationError: Always, unless overridden: this harness has no live configuration.
        """
        raise ConfigurationError(f"the {self.adapter_name} harness cannot record against a live tenant")

    def clean_live(self, adapter: AdapterT) -> None:
        """Remove from a live tenant what contract cases made there (default: nothing to remove).

        The kit calls it before and after each live case, outside the cassette, with an adapter of its own, so a
        live run leaves nothing behind and tolerates what an interrupted earlier run left. Touch only objects
        the contract cases make (their keys start with ``contract-``).
        """

    def session_extras(self) -> dict[str, Any]:
        """Fields the provider needs on a :class:`Session` (a Moodle ``course_id``, a modality)."""
        return {}

    def secret_values(self) -> list[str]:
        """Credentials in use (placeholders included); recorded cassettes are proven free of them.

        The default is every value :meth:`adapter_settings` gives to a ``SecretStr`` field of the adapter's
        config; override it (calling this) to add secrets that are not config fields (a refresh token a test
        swaps in, a credential's encoded form).
        """
        settings = self.adapter_settings(self.canonical_base_url)
        values: list[str] = []
        for name, field in self.adapter_class.config_model.model_fields.items():
            value = settings.get(name)
            if value is not None and (field.annotation is SecretStr or SecretStr in get_args(field.annotation)):
                values.append(value.get_secret_value() if isinstance(value, SecretStr) else str(value))
        return values

    def request_signature(self, body: bytes | None) -> str | None:
        """What of a request body a replayed request must match in the cassette.

        Cassettes are replayed by method, host, path and query, and by this signature, so that an adapter
        whose requests changed (another title, an instant an hour off, another Moodle function) cannot pass on
        an old recording. The default is the JSON body in canonical form (``None`` for an empty or non-JSON
        body, which then matches anything). Override it for a provider whose bodies are forms (Moodle names the
        function in ``wsfunction``) or carry values that change from run to run.

        Args:
            body: The raw request body (``None`` when there is none), after the cassette's secret filters.

        Returns:
            The signature to compare, or ``None`` to compare nothing.
        """
        if not body:
            return None
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return None
        return json.dumps(document, sort_keys=True, separators=(",", ":"))

    def throttle_fault(self) -> Fault:
        """The provider's throttling answer, served twice by the ``rate_limited`` case.

        The default, for a harness declared with a :class:`~lms_connectors.testing.routing.RoutedSimulator`, is
        that simulator's own answer (:meth:`~lms_connectors.testing.routing.RoutedSimulator.throttling_answer`:
        its ``throttled`` refusal in its error body), so the answer is written once; otherwise a 429 with
        ``Retry-After: 1``. Override it for a provider with several throttling answers whose simulator's
        ``throttled`` is not the one the case should meet.
        """
        simulator_class = self.simulator_class()
        if simulator_class is not None and issubclass(simulator_class, RoutedSimulator):
            simulator = self.make_simulator()
            if isinstance(simulator, RoutedSimulator):
                answer = simulator.throttling_answer()
                return Fault.error(answer.status, answer.body, headers=answer.headers)
        return Fault.throttle(429, retry_after="1")

    def expire_auth(self, adapter: AdapterT, sandbox: SandboxServer[SimulatorT] | None) -> None:
        """Make the provider refuse the adapter's current access token, so that its next call gets a 401.

        The default, for a harness declared with a :class:`~lms_connectors.testing.bearer.BearerSimulator`, revokes
        its tokens.

        Args:
            adapter: The adapter under contract.
            sandbox: The running sandbox while recording against it (act on ``sandbox.simulator``); ``None``
                on replay (the cassette holds the 401) and live runs.
        """
        self._require_bearer_simulator("expire_auth")
        simulator = sandbox.simulator if sandbox is not None else None  # None: the cassette holds the answer
        if isinstance(simulator, BearerSimulator):
            simulator.revoke_tokens()

    def break_auth(self, adapter: AdapterT, sandbox: SandboxServer[SimulatorT] | None) -> None:
        """Make the adapter's credentials permanently invalid, so that refreshing does not help.

        The default, for a harness declared with a :class:`~lms_connectors.testing.bearer.BearerSimulator`, rotates
        its client secrets (its tokens go with them).

        Args:
            adapter: The adapter under contract.
            sandbox: The running sandbox while recording against it, else ``None``.
        """
        self._require_bearer_simulator("break_auth")
        simulator = sandbox.simulator if sandbox is not None else None  # None: the cassette holds the answer
        if isinstance(simulator, BearerSimulator):
            simulator.rotate_client_secret()

    def simulator_class(self) -> type | None:
        """The simulator class this harness is declared with (``ContractHarness[..., SimulatorT]``), if a class."""
        return _type_argument(type(self), 1)

    def _require_bearer_simulator(self, hook: str) -> None:
        simulator = self.simulator_class()
        if simulator is None or not issubclass(simulator, BearerSimulator):
            raise NotImplementedError(
                f"{type(self).__name__} does not implement {hook} (its simulator is not a BearerSimulator)"
            )

    def provoke_invalid_request(self, adapter: AdapterT, sandbox: SandboxServer[SimulatorT] | None) -> None:
        """Make one call the provider refuses as invalid (the kit expects ``InvalidRequest``).

        Args:
            adapter: The adapter under contract.
            sandbox: The running sandbox while recording against it, else ``None``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement provoke_invalid_request")

    def provoke_conflict(self, adapter: AdapterT, sandbox: SandboxServer[SimulatorT] | None) -> None:
        """Make one call the provider refuses as a conflict (the kit expects ``Conflict``).

        The default serves an adapter that declares :attr:`~lms_connectors.adapter.Capability.NATIVE_IDEMPOTENCY`:
        it reuses one idempotency key for a different session, which a provider that dedupes creates by key must
        refuse (answering the first session would lose the second one silently).

        Args:
            adapter: The adapter under contract.
            sandbox: The running sandbox while recording against it, else ``None``.
        """
        if Capability.NATIVE_IDEMPOTENCY not in self.adapter_class.capabilities:
            raise NotImplementedError(f"{type(self).__name__} does not implement provoke_conflict")
        start = datetime(2027, 5, 3, 9, 0, tzinfo=ZoneInfo("Europe/London"))
        slot = TimeSlot(start=start, end=start.replace(hour=10), timezone="Europe/London")
        session = Session(id="contract-conflict", title="Contract conflict", slot=slot, **self.session_extras())
        key = f"contract-conflict.{self.adapter_name}.g1"
        adapter.create_session(session, key=key)
        adapter.create_session(session.model_copy(update={"title": "Contract conflict, another session"}), key=key)


def _type_argument(harness_class: type, index: int) -> type | None:
    """Type parameter ``index`` of ``ContractHarness[AdapterT, SimulatorT]`` as the class or a base names it."""
    for klass in harness_class.__mro__:
        for base in vars(klass).get("__orig_bases__", ()):
            if get_origin(base) is ContractHarness and len(get_args(base)) == 2:
                argument = get_args(base)[index]
                return argument if isinstance(argument, type) else None
    return None


def default_base_url(adapter_class: type[Adapter]) -> str | None:
    """The default ``base_url`` of the adapter's configuration model (its provider's API), if it has one.

    A provider with one public API (Zoom, Google, Graph) has it; a self-hosted one (Moodle, CalDAV) has none.
    """
    model = getattr(adapter_class, "config_model", None)
    field = model.model_fields.get("base_url") if model is not None else None
    default = field.default if field is not None else None
    return default if isinstance(default, str) and default else None
