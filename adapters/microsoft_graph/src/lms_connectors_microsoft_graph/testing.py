"""Contract-kit harness of the Microsoft Graph adapter (used by the package's ``tests/test_contract.py``).

Recording against the sandbox serves :class:`~lms_connectors_microsoft_graph.sandbox.GraphSimulator` on
loopback: Graph under ``/v1.0`` and the identity platform under ``/login``;
:attr:`MicrosoftGraphHarness.canonical_hosts` maps both back to Microsoft's hosts in the cassettes. Replay
builds the adapter on Microsoft's real URLs with placeholder credentials.

Re-recording against a live tenant reads its credentials from the environment, see
:meth:`MicrosoftGraphHarness.live_adapter`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from lms_connectors.errors import ConfigurationError
from lms_connectors.models import Session, TimeSlot
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter
from lms_connectors_microsoft_graph.config import GRAPH_BASE_URL, LOGIN_BASE_URL, MicrosoftGraphConfig
from lms_connectors_microsoft_graph.sandbox import GraphSimulator, SimulatedRoom
from lms_connectors_microsoft_graph.sandbox_login import SimulatedApplication

__all__ = ["MAILBOX_CONCURRENCY_BODY", "MicrosoftGraphHarness"]

PLACEHOLDER_TENANT = "00000000-0000-4000-8000-00000000c0de"
PLACEHOLDER_CLIENT_ID = "11111111-2222-4333-8444-555555555555"
PLACEHOLDER_CLIENT_SECRET = "placeholder-graph-client-secret"  # noqa: S105 - a placeholder, never a real secret
SANDBOX_ORGANIZER = "training-desk@contoso.example"
SANDBOX_ROOMS = (
    SimulatedRoom("harbour-room@contoso.example", "Harbour Training Room", 20, building="Quay House", floor=2,
                  tags=("projector", "whiteboard"), display_device="Surface Hub",
                  room_list="quay-house@contoso.example"),
    SimulatedRoom("dock-room@contoso.example", "Dock Room", 8, building="Quay House", floor=1,
                  tags=("whiteboard",), room_list="quay-house@contoso.example"),
)
SANDBOX_ROOM_LISTS = {"quay-house@contoso.example": "Quay House"}

MAILBOX_CONCURRENCY_BODY = {
    "error": {"code": "ApplicationThrottled", "message": "Application is over its MailboxConcurrency limit."}
}
"""Outlook's answer to a fifth concurrent request to one mailbox (HTTP 429), as reported publicly."""


_Sandbox = SandboxServer[GraphSimulator] | None


class MicrosoftGraphHarness(ContractHarness[MicrosoftGraphAdapter, GraphSimulator]):
    """How the contract kit builds, records and breaks the Microsoft Graph adapter."""

    canonical_hosts: ClassVar[dict[str, str]] = {"/v1.0": GRAPH_BASE_URL, "/login": LOGIN_BASE_URL}
    keeps: ClassVar[frozenset[str]] = frozenset({"timezone", "location", "capacity"})
    missing_external_id: ClassVar[str] = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0Acontractmissing0"

    def make_simulator(self) -> GraphSimulator:
        """A fresh Graph simulator that knows the placeholder application and two rooms."""
        return GraphSimulator(
            tenant_id=PLACEHOLDER_TENANT,
            applications=[SimulatedApplication(PLACEHOLDER_CLIENT_ID, secrets={PLACEHOLDER_CLIENT_SECRET})],
            organizer=SANDBOX_ORGANIZER,
            rooms=SANDBOX_ROOMS,
            room_lists=SANDBOX_ROOM_LISTS,
        )

    def adapter_settings(self, base_url: str) -> dict[str, Any]:
        """Graph and the identity platform (on the sandbox: one loopback origin), with placeholder credentials."""
        return {
            "base_url": self.provider_url(GRAPH_BASE_URL, base_url),
            "login_base_url": self.provider_url(LOGIN_BASE_URL, base_url),
            "tenant_id": PLACEHOLDER_TENANT,
            "client_id": PLACEHOLDER_CLIENT_ID,
            "client_secret": PLACEHOLDER_CLIENT_SECRET,
            "organizer": SANDBOX_ORGANIZER,
        }

    def live_adapter(self, *, sleep: Callable[[float], None]) -> MicrosoftGraphAdapter:
        """The adapter on a live tenant, from environment variables.

        ``LMSC_GRAPH_TENANT_ID``, ``LMSC_GRAPH_CLIENT_ID``, ``LMSC_GRAPH_CLIENT_SECRET`` and
        ``LMSC_GRAPH_ORGANIZER`` (a mailbox the app may write to).

        Raises:
            ConfigurationError: A variable is missing.
        """
        names = ("TENANT_ID", "CLIENT_ID", "CLIENT_SECRET", "ORGANIZER")
        missing = [f"LMSC_GRAPH_{name}" for name in names if not os.environ.get(f"LMSC_GRAPH_{name}")]
        if missing:
            raise ConfigurationError(f"live recording needs {', '.join(missing)}", provider=self.adapter_name)
        values: dict[str, Any] = {name.lower(): os.environ[f"LMSC_GRAPH_{name}"] for name in names}
        return MicrosoftGraphAdapter(MicrosoftGraphConfig.model_validate(values), sleep=sleep)

    def secret_values(self) -> list[str]:
        """The placeholder secret; recorded cassettes are proven free of it."""
        return [PLACEHOLDER_CLIENT_SECRET]

    def throttle_fault(self) -> Fault:
        """Outlook's mailbox-concurrency refusal: 429 ``ApplicationThrottled`` with a fractional ``Retry-After``."""
        return Fault.throttle(429, retry_after="1.5", body=dict(MAILBOX_CONCURRENCY_BODY))

    def expire_auth(self, adapter: MicrosoftGraphAdapter, sandbox: _Sandbox) -> None:
        """Expire every token the sandbox issued: the next call gets 401 and msal fetches a new one.

        On replay the cassette holds the 401; against a live tenant a token cannot be expired on demand, so the
        part records nothing special there.
        """
        if sandbox is not None:
            sandbox.simulator.expire_tokens()

    def break_auth(self, adapter: MicrosoftGraphAdapter, sandbox: _Sandbox) -> None:
        """Revoke the application's secret and expire its tokens: 401, then ``invalid_client`` on refresh."""
        if sandbox is not None:
            sandbox.simulator.revoke_application(PLACEHOLDER_CLIENT_ID)

    def provoke_invalid_request(self, adapter: MicrosoftGraphAdapter, sandbox: _Sandbox) -> None:
        """Ask for a calendar view without its time window: Graph answers 400 ``ErrorInvalidParameter``."""
        adapter.call("GET", f"users/{adapter.config.organizer}/calendarView")

    def provoke_conflict(self, adapter: MicrosoftGraphAdapter, sandbox: _Sandbox) -> None:
        """Reschedule with a stale etag after someone else moved the event: a 412 the adapter turns into Conflict."""
        session = Session(id="contract-typed-errors-conflict", title="Contract typed errors conflict",
                          slot=_slot(4))
        ref = adapter.create_session(session, key=f"{session.id}.{self.adapter_name}.g1", fresh=True)
        # Someone moves the event in Outlook: a PATCH with the event's current etag, as Outlook's own client does.
        current = adapter.call("GET", f"users/{adapter.config.organizer}/events/{ref.external_id}")
        adapter.call(
            "PATCH",
            f"users/{adapter.config.organizer}/events/{ref.external_id}",
            json={"subject": "Moved in Outlook"},
            headers={"If-Match": current["@odata.etag"]},
        )
        adapter.reschedule_session(ref, session.rescheduled(_slot(5)))


def _slot(day: int) -> TimeSlot:
    start = datetime(2027, 5, day, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    return TimeSlot(start=start, end=start + timedelta(hours=1), timezone="America/New_York")
