"""The Acme LMS contract harness: how the lms-connectors contract kit builds, records and breaks this adapter.

Its contract test is one line (see ``tests/test_contract.py``; the cassettes sit beside it in
``tests/cassettes/acme_lms/``)::

    class TestAcmeLmsContract(AdapterContract):
        harness = AcmeLmsHarness()

Recording against the sandbox serves :class:`~acme_lms_connector.simulator.AcmeLmsSimulator` on loopback, token
endpoint included. The kit's defaults do the rest: the type parameters name the adapter, whose registry name is
the cassette folder's and whose configured default ``base_url`` (:data:`~acme_lms_connector.config.API_BASE_URL`)
every URL maps back onto in the cassettes; the simulator is a ``BearerSimulator``, so ``expire_auth`` revokes its
tokens and ``break_auth`` rotates the client secret; ``secret_values`` is the ``client_secret`` of
:meth:`adapter_settings`; the adapter declares native idempotency, so ``provoke_conflict`` reuses a key for another
session (``409 idempotency_key_reused``); ``throttle_fault`` is the simulator's own throttling answer (``429
rate_limited`` with ``Retry-After``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from acme_lms_connector.adapter import AcmeLmsAdapter
from acme_lms_connector.simulator import AcmeLmsSimulator
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import SandboxServer

__all__ = ["AcmeLmsHarness"]

# The simulator's integration; placeholders, also used on replay (cassettes never hold them).
PLACEHOLDER_CLIENT_ID = "acme-contract-client"
PLACEHOLDER_CLIENT_SECRET = "acme-placeholder-secret"
_Sandbox = SandboxServer[AcmeLmsSimulator] | None


class AcmeLmsHarness(ContractHarness[AcmeLmsAdapter, AcmeLmsSimulator]):
    """Contract harness of the Acme LMS adapter."""

    keeps: ClassVar[frozenset[str]] = frozenset({"timezone", "location", "capacity"})
    missing_external_id: ClassVar[str] = "ses_9999"

    def make_simulator(self) -> AcmeLmsSimulator:
        """A fresh Acme tenant that knows the placeholder integration."""
        return AcmeLmsSimulator(client_id=PLACEHOLDER_CLIENT_ID, client_secret=PLACEHOLDER_CLIENT_SECRET)

    def adapter_settings(self, base_url: str) -> dict[str, Any]:
        """The adapter on ``base_url`` (the sandbox serves the token endpoint too, at the same place as Acme)."""
        return {"base_url": base_url, "client_id": PLACEHOLDER_CLIENT_ID, "client_secret": PLACEHOLDER_CLIENT_SECRET}

    def provoke_invalid_request(self, adapter: AcmeLmsAdapter, sandbox: _Sandbox) -> None:
        """Ask for a page larger than Acme allows (page_size 1 to 100): ``422 validation_failed``."""
        list(adapter.list_sessions(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC), page_size=500))
