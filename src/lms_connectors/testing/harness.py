"""What the contract kit needs to know about one adapter, and the matrix's cases: importable without pytest.

Each adapter package ships a :class:`ContractHarness`; the contract kit (:mod:`lms_connectors.testing.contract`)
runs the matrix with it, and ``lms-connectors demo``/``doctor``/``matrix`` use it at run time (which is why
this module does not import pytest or vcrpy).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable
from typing import Any, ClassVar, Generic

from typing_extensions import TypeVar

from lms_connectors.adapter import Adapter
from lms_connectors.errors import ConfigurationError
from lms_connectors.testing.sandbox import Fault, SandboxServer, SimulatorT

__all__ = ["CASES", "AdapterT", "ContractHarness", "SimulatorT"]

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
            adapter_class = AcmeLmsAdapter

            def expire_auth(self, adapter: AcmeLmsAdapter, sandbox: SandboxServer[AcmeLmsSimulator] | None) -> None:
                if sandbox is not None:
                    sandbox.simulator.revoke_tokens()

    Hooks that change provider state (``expire_auth``, ``break_auth``, ``provoke_*``) get the running sandbox
    while a case records against it, and ``None`` on replay and live runs (the cassette, or the provider
    itself, then holds the answer).
    """

    adapter_class: type[AdapterT]
    """The adapter class under contract; its declared capabilities are checked against its methods."""
    adapter_name: ClassVar[str]
    """The adapter's registry name; also the cassette folder's name."""
    canonical_base_url: ClassVar[str]
    """The provider's real base URL; cassettes store it, replay builds the adapter with it."""
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
        """Credentials in use (placeholders included); recorded cassettes are proven free of them."""
        return []

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
        """The provider's throttling answer (default: 429 with ``Retry-After: 1``)."""
        return Fault.throttle(429, retry_after="1")

    def expire_auth(self, adapter: AdapterT, sandbox: SandboxServer[SimulatorT] | None) -> None:
        """Make the provider refuse the adapter's current access token, so that its next call gets a 401.

        Args:
            adapter: The adapter under contract.
            sandbox: The running sandbox while recording against it (act on ``sandbox.simulator``); ``None``
                on replay (the cassette holds the 401) and live runs.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement expire_auth")

    def break_auth(self, adapter: AdapterT, sandbox: SandboxServer[SimulatorT] | None) -> None:
        """Make the adapter's credentials permanently invalid, so that refreshing does not help.

        Args:
            adapter: The adapter under contract.
            sandbox: The running sandbox while recording against it, else ``None``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement break_auth")

    def provoke_invalid_request(self, adapter: AdapterT, sandbox: SandboxServer[SimulatorT] | None) -> None:
        """Make one call the provider refuses as invalid (the kit expects ``InvalidRequest``).

        Args:
            adapter: The adapter under contract.
            sandbox: The running sandbox while recording against it, else ``None``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement provoke_invalid_request")

    def provoke_conflict(self, adapter: AdapterT, sandbox: SandboxServer[SimulatorT] | None) -> None:
        """Make one call the provider refuses as a conflict (the kit expects ``Conflict``).

        Args:
            adapter: The adapter under contract.
            sandbox: The running sandbox while recording against it, else ``None``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement provoke_conflict")
