"""The Zoom adapter's contract harness: the Zoom simulator, and the adapter wired to it or to a live account.

Used by the contract kit (the package's ``tests/test_contract.py``), by ``lms-connectors demo``, and by anyone who wants
to exercise the adapter without a Zoom account::

    harness = ZoomHarness()
    with SandboxServer(harness.make_simulator()) as server:
        adapter = harness.build_adapter(server.url, sleep=time.sleep)

Live re-recording reads ``ZOOM_ACCOUNT_ID``, ``ZOOM_CLIENT_ID``, ``ZOOM_CLIENT_SECRET`` and optionally
``ZOOM_USER_ID`` (default ``me``) from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from lms_connectors.errors import ConfigurationError
from lms_connectors.http.token_cache import CachedToken
from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors.testing.simclock import SimClock
from lms_connectors_zoom.adapter import ZoomAdapter
from lms_connectors_zoom.config import API_BASE_URL, TOKEN_URL, ZoomConfig
from lms_connectors_zoom.sandbox import ZoomSimulator

__all__ = ["ZoomHarness"]

# The simulator's fictional app; harmless placeholders, also used on replay (cassettes hold no credentials).
_ACCOUNT_ID = "sim-account"
_CLIENT_ID = "sim-client-id"
_CLIENT_SECRET = "sim-client-secret"  # noqa: S105 - the simulator's fixed, fictional secret
_REFUSED_TOKEN = "lmsc-refused-token"  # noqa: S105 - a token no Zoom account ever issued
_HOST_EMAIL = "host@example.com"
_LIVE_ENV = ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET")
# The simulator's clock while recording: the contract sessions (2027) stay "upcoming" whenever cassettes are
# re-recorded, and the recorded answers do not change from one recording to the next.
_RECORDING_NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
_Sandbox = SandboxServer[ZoomSimulator] | None


class ZoomHarness(ContractHarness[ZoomAdapter, ZoomSimulator]):
    """Contract harness of the Zoom adapter."""

    canonical_hosts: ClassVar[dict[str, str]] = {"/oauth/token": TOKEN_URL}
    keeps: ClassVar[frozenset[str]] = frozenset({"timezone", "capacity"})
    missing_external_id: ClassVar[str] = "85000000001"  # a well-formed int64 meeting id that names no meeting
    unsupported: ClassVar[dict[str, str]] = {
        "typed_errors.conflict": "Zoom answers no conflict: a repeated registration returns the existing one, "
        "and meetings carry no version that could mismatch",
    }

    def __init__(self) -> None:
        self._host_email = _HOST_EMAIL

    def make_simulator(self) -> ZoomSimulator:
        """A fresh Zoom simulator whose app matches the placeholder credentials, on a fixed clock."""
        return ZoomSimulator(
            account_id=_ACCOUNT_ID,
            client_id=_CLIENT_ID,
            client_secret=_CLIENT_SECRET,
            host_email=_HOST_EMAIL,
            clock=SimClock(_RECORDING_NOW),
        )

    def adapter_settings(self, base_url: str) -> dict[str, Any]:
        """Zoom's API and its token endpoint (on the sandbox: the same server), with the simulator's app."""
        return {
            "account_id": _ACCOUNT_ID,
            "client_id": _CLIENT_ID,
            "client_secret": _CLIENT_SECRET,
            "base_url": self.provider_url(API_BASE_URL, base_url),
            "token_url": self.provider_url(TOKEN_URL, base_url),
        }

    def live_adapter(self, *, sleep: Callable[[float], None]) -> ZoomAdapter:
        """The adapter against a live Zoom account, from ``ZOOM_*`` environment variables.

        Raises:
            ConfigurationError: A required variable is unset.
        """
        missing = [name for name in _LIVE_ENV if not os.environ.get(name)]
        if missing:
            raise ConfigurationError(f"set {', '.join(missing)} to record against a live Zoom account")
        user_id = os.environ.get("ZOOM_USER_ID", "me")
        self._host_email = user_id if "@" in user_id else os.environ.get("ZOOM_HOST_EMAIL", _HOST_EMAIL)
        config = ZoomConfig(
            account_id=os.environ["ZOOM_ACCOUNT_ID"],
            client_id=os.environ["ZOOM_CLIENT_ID"],
            client_secret=os.environ["ZOOM_CLIENT_SECRET"],
            user_id=user_id,
        )
        return ZoomAdapter(config, sleep=sleep)

    def throttle_fault(self) -> Fault:
        """Zoom's per-second throttling answer: 429, ``{"code": 429, ...}``, ``Retry-After`` in seconds."""
        return Fault.error(
            429,
            {
                "code": 429,
                "message": "You have reached the maximum per-second rate limit for this API. Try again later.",
            },
            headers={"Retry-After": "1", "X-RateLimit-Type": "QPS", "X-RateLimit-Category": "Medium"},
        )

    def expire_auth(self, adapter: ZoomAdapter, sandbox: _Sandbox) -> None:
        """Make the next call carry a token Zoom refuses (401 code 124), so that the adapter refreshes once.

        The refused token is placed in the adapter's token cache, exactly as if another worker had stored a token
        that has since expired; the adapter picks it up, is refused, and mints a new one.
        """
        auth = adapter.auth
        assert auth.cache is not None  # the adapter always has one (its memory by default)
        with auth.cache.lock():
            auth.cache.store(auth.cache_key, CachedToken(_REFUSED_TOKEN, expires_at=4_102_444_800.0))
        auth.invalidate()

    def break_auth(self, adapter: ZoomAdapter, sandbox: _Sandbox) -> None:
        """Refuse the current token and make the app's credentials invalid, so that refreshing fails too."""
        self.expire_auth(adapter, sandbox)
        adapter.auth.rotate_client_secret("lmsc-wrong-secret")

    def provoke_invalid_request(self, adapter: ZoomAdapter, sandbox: _Sandbox) -> None:
        """Register the meeting's own host, which Zoom refuses (code 3027); the meeting is deleted after."""
        start = datetime(2027, 2, 11, 14, 0, tzinfo=UTC)
        session = Session(
            id="contract-typed-errors-host",
            title="Contract typed errors host",
            slot=TimeSlot(start=start, end=start.replace(hour=15), timezone="UTC"),
            modality=Modality.VIRTUAL,
        )
        ref = adapter.create_session(session, key=f"{session.id}.{adapter.name}.g1")
        try:
            adapter.enrol(ref, session, [Person(email=self._host_email, name="Meeting Host")])
        finally:
            adapter.cancel_session(ref, notify=False)

    def session_extras(self) -> dict[str, Any]:
        """Zoom needs nothing beyond the standard session fields."""
        return {}
