"""The Acme LMS contract harness: how the lms-connectors contract kit builds, records and breaks this adapter.

Its contract test is one line (see ``tests/test_contract.py``)::

    class TestAcmeLmsContract(AdapterContract):
        harness = AcmeLmsHarness()

Recording against the sandbox serves :class:`~acme_lms_connector.simulator.AcmeLmsSimulator` on loopback, token
endpoint included, so every URL maps back onto :data:`~acme_lms_connector.config.API_BASE_URL` in the cassettes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from acme_lms_connector.adapter import AcmeLmsAdapter
from acme_lms_connector.config import API_BASE_URL, AcmeLmsConfig
from acme_lms_connector.simulator import AcmeLmsSimulator
from lms_connectors.adapter import Adapter
from lms_connectors.models import Session, TimeSlot
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import Fault

__all__ = ["AcmeLmsHarness"]

# The simulator's integration; placeholders, also used on replay (cassettes never hold them).
PLACEHOLDER_CLIENT_ID = "acme-contract-client"
PLACEHOLDER_CLIENT_SECRET = "acme-placeholder-secret"


def _acme(adapter: Adapter) -> AcmeLmsAdapter:
    if not isinstance(adapter, AcmeLmsAdapter):
        raise TypeError(f"expected an AcmeLmsAdapter, got {type(adapter).__name__}")
    return adapter


class AcmeLmsHarness(ContractHarness):
    """Contract harness of the Acme LMS adapter."""

    adapter_name: ClassVar[str] = "acme_lms"
    canonical_base_url: ClassVar[str] = API_BASE_URL
    keeps: ClassVar[frozenset[str]] = frozenset({"timezone", "location", "capacity"})
    missing_external_id: ClassVar[str] = "ses_9999"

    def make_simulator(self) -> AcmeLmsSimulator:
        """A fresh Acme tenant that knows the placeholder integration."""
        return AcmeLmsSimulator(client_id=PLACEHOLDER_CLIENT_ID, client_secret=PLACEHOLDER_CLIENT_SECRET)

    def build_adapter(self, base_url: str, *, sleep: Callable[[float], None]) -> AcmeLmsAdapter:
        """The adapter on ``base_url`` (the sandbox serves the token endpoint too, at the same place as Acme)."""
        config = AcmeLmsConfig(
            client_id=PLACEHOLDER_CLIENT_ID,
            client_secret=PLACEHOLDER_CLIENT_SECRET,  # pydantic makes it a SecretStr
            base_url=base_url,
        )
        return AcmeLmsAdapter(config, sleep=sleep)

    def secret_values(self) -> list[str]:
        """The placeholder secret must not reach a cassette either."""
        return [PLACEHOLDER_CLIENT_SECRET]

    def throttle_fault(self) -> Fault:
        """Acme's throttling answer: 429 ``rate_limited`` with ``Retry-After`` in seconds."""
        return Fault.throttle(
            429, retry_after="2", body={"error": {"code": "rate_limited", "message": "Too many requests"}}
        )

    def expire_auth(self, adapter: Adapter) -> None:
        """The tenant expires the adapter's token (on replay the cassette already holds the 401)."""
        _acme(adapter)
        if self.sandbox is not None:
            simulator = self.sandbox.simulator
            assert isinstance(simulator, AcmeLmsSimulator)
            simulator.revoke_tokens()

    def break_auth(self, adapter: Adapter) -> None:
        """The tenant's admin rotates the integration's secret: the token goes, and no new one is issued."""
        _acme(adapter)
        if self.sandbox is not None:
            simulator = self.sandbox.simulator
            assert isinstance(simulator, AcmeLmsSimulator)
            simulator.rotate_client_secret()

    def provoke_invalid_request(self, adapter: Adapter) -> None:
        """Ask for a page larger than Acme allows (page_size 1 to 100): ``422 validation_failed``."""
        zone = ZoneInfo("UTC")
        list(
            _acme(adapter).list_sessions(
                datetime(2027, 1, 1, tzinfo=zone), datetime(2027, 2, 1, tzinfo=zone), page_size=500
            )
        )

    def provoke_conflict(self, adapter: Adapter) -> None:
        """Reuse an idempotency key for a different session: ``409 idempotency_key_reused``."""
        acme = _acme(adapter)
        start = datetime(2027, 5, 3, 9, 0, tzinfo=ZoneInfo("Europe/London"))
        slot = TimeSlot(start=start, end=start.replace(hour=10), timezone="Europe/London")
        session = Session(id="contract-conflict", title="Contract conflict", slot=slot)
        key = "contract-conflict.acme_lms.g1"
        acme.create_session(session, key=key)
        acme.create_session(session.model_copy(update={"title": "Contract conflict, another session"}), key=key)
