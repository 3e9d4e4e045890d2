"""The Canvas adapter's contract harness: the Canvas simulator, and the adapter wired to it or to a live instance.

Used by the contract kit (the package's ``tests/test_contract.py``), by ``lms-connectors demo`` and by anyone who
wants to exercise the adapter without a Canvas instance::

    harness = CanvasHarness()
    with SandboxServer(harness.make_simulator()) as server:
        adapter = harness.build_adapter(server.url, sleep=time.sleep)

The sandbox's adapter uses OAuth 2 (a developer key and a refresh token), so that the contract's expired-token
case runs the refresh. Live re-recording reads ``CANVAS_BASE_URL`` (``https://<instance>/api/v1``),
``CANVAS_ACCESS_TOKEN`` and ``CANVAS_COURSE_ID`` from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from lms_connectors.errors import ConfigurationError
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors.testing.simclock import SimClock
from lms_connectors_canvas.adapter import CanvasAdapter
from lms_connectors_canvas.config import API_BASE_URL, TOKEN_URL
from lms_connectors_canvas.sandbox import CanvasSimulator

__all__ = ["SANDBOX_COURSE_ID", "SANDBOX_PEOPLE", "CanvasHarness"]

SANDBOX_COURSE_ID = 101
"""The sandbox's course."""
SANDBOX_PEOPLE: dict[str, str] = {
    "amara.okafor@example.org": "Amara Okafor",
    "lena.fischer@example.org": "Lena Fischer",
    "kenji.sato@example.org": "Kenji Sato",
    "aiko.tanaka@example.org": "Aiko Tanaka",
    "yuki.tanaka@example.org": "Yuki Tanaka",
    "marcus.lee@example.org": "Marcus Lee",
    "priya.nair@example.org": "Priya Nair",
}
"""The sandbox's named users (login id = email): the learners of the contract kit, the demo and the examples.

Canvas enrols only users that exist (accounts come from SIS or single sign-on, not from this SDK); the sandbox
also stands for an instance whose SIS provisioned every ``@example.org`` login."""

# The simulator's developer key and the service user's refresh token: placeholders, also used on replay.
_CLIENT_ID = "170000000000001"
_CLIENT_SECRET = "sim-developer-key-secret"  # noqa: S105 - the simulator's fixed, fictional secret
_REFRESH_TOKEN = "sim-refresh-token"  # noqa: S105
_RECORDING_NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
_Sandbox = SandboxServer[CanvasSimulator] | None


class CanvasHarness(ContractHarness[CanvasAdapter, CanvasSimulator]):
    """Contract harness of the Canvas adapter."""

    canonical_hosts: ClassVar[dict[str, str]] = {"/login/oauth2/token": TOKEN_URL}
    keeps: ClassVar[frozenset[str]] = frozenset({"location"})
    missing_external_id: ClassVar[str] = "999999"

    def make_simulator(self) -> CanvasSimulator:
        """A fresh instance: the developer key, the service user, course 101 and the sandbox's people."""
        return CanvasSimulator(
            client_id=_CLIENT_ID, client_secret=_CLIENT_SECRET, refresh_token=_REFRESH_TOKEN,
            learners=SANDBOX_PEOPLE, course_id=SANDBOX_COURSE_ID, provisioned_domain="example.org",
            clock=SimClock(_RECORDING_NOW),
        )

    def adapter_settings(self, base_url: str) -> dict[str, Any]:
        """The instance's API and token endpoint (one server on the sandbox), the developer key, the course."""
        return {
            "base_url": self.provider_url(API_BASE_URL, base_url),
            "token_url": self.provider_url(TOKEN_URL, base_url),
            "client_id": _CLIENT_ID,
            "client_secret": _CLIENT_SECRET,
            "refresh_token": _REFRESH_TOKEN,
            "course_id": SANDBOX_COURSE_ID,
        }

    def live_adapter(self, *, sleep: Callable[[float], None]) -> CanvasAdapter:
        """The adapter against a live instance, from ``CANVAS_*`` environment variables.

        Raises:
            ConfigurationError: A variable is unset.
        """
        try:
            settings = {"base_url": os.environ["CANVAS_BASE_URL"], "access_token": os.environ["CANVAS_ACCESS_TOKEN"],
                        "course_id": int(os.environ["CANVAS_COURSE_ID"])}
        except (KeyError, ValueError) as exc:
            raise ConfigurationError("set CANVAS_BASE_URL, CANVAS_ACCESS_TOKEN and CANVAS_COURSE_ID") from exc
        return CanvasAdapter.from_config(settings, sleep=sleep)

    def session_extras(self) -> dict[str, Any]:
        """Sessions belong to the sandbox's course."""
        return {"course_id": str(SANDBOX_COURSE_ID)}

    def secret_values(self) -> list[str]:
        """The placeholder secret and refresh token (and a live token, when recording live)."""
        live = os.environ.get("CANVAS_ACCESS_TOKEN")
        return [_CLIENT_SECRET, _REFRESH_TOKEN, *([live] if live else [])]

    def expire_auth(self, adapter: CanvasAdapter, sandbox: _Sandbox) -> None:
        """The access token expires (its hour is up): the next call is a 401 with ``WWW-Authenticate``."""
        if sandbox is not None:
            sandbox.simulator.expire_tokens()

    def break_auth(self, adapter: CanvasAdapter, sandbox: _Sandbox) -> None:
        """The user's tokens are deleted: the access token is refused, and so is the refresh token."""
        if sandbox is not None:
            sandbox.simulator.revoke_refresh_token()

    def provoke_invalid_request(self, adapter: CanvasAdapter, sandbox: _Sandbox) -> None:
        """An appointment group without its required ``title``: 400 with the model's errors hash."""
        adapter.client.call("POST", "/appointment_groups", operation="create appointment group", json={
            "appointment_group": {"context_codes": [f"course_{SANDBOX_COURSE_ID}"],
                                  "new_appointments": {"0": ["2027-02-11T14:00:00Z", "2027-02-11T15:00:00Z"]}},
        })

    def provoke_conflict(self, adapter: CanvasAdapter, sandbox: _Sandbox) -> None:
        """A second section with the same ``sis_section_id``: Canvas refuses it (400, ``taken``)."""
        body = {"course_section": {"name": "Contract conflict", "sis_section_id": "lmsc-contract-conflict"}}
        for _ in range(2):
            adapter.client.call("POST", f"/courses/{SANDBOX_COURSE_ID}/sections", json=body,
                                operation="create section")
