"""The contract kit fails adapters with the classic bugs (so a green contract means something).

Each case below runs one contract case against the sandbox with a deliberately broken variant of the Acme
adapter, and expects it to fail; the unmodified adapter passes the same case the same way (the control).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from acme_lms_connector import mapping
from acme_lms_connector.adapter import AcmeLmsAdapter
from acme_lms_connector.simulator import AcmeLmsSimulator
from acme_lms_connector.testing import PLACEHOLDER_CLIENT_ID, PLACEHOLDER_CLIENT_SECRET, AcmeLmsHarness

from lms_connectors.errors import ConnectorError, NotFound, ProviderError
from lms_connectors.http import RetryPolicy
from lms_connectors.models import ProviderRef, ProviderSession, Session
from lms_connectors.testing.contract import AdapterContract, ContractRun, open_contract_run
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse


class RandomKeyAdapter(AcmeLmsAdapter):
    """Mints its own idempotency key per call instead of using the caller's: a retry duplicates."""

    def create_session(self, session: Session, *, key: str, fresh: bool = False) -> ProviderRef:
        return super().create_session(session, key=f"{key}-{uuid.uuid4().hex[:8]}")


class LocalTimeAsUtcAdapter(AcmeLmsAdapter):
    """Sends the session's wall time labelled as UTC (a bug several SDKs shipped)."""

    def create_session(self, session: Session, *, key: str, fresh: bool = False) -> ProviderRef:
        payload = mapping.session_payload(session)
        for name, value in (("starts_at", session.slot.local_start()), ("ends_at", session.slot.local_end())):
            payload[name] = value.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = self.transport.request_json(
            "POST", "sessions", json=payload, headers={"Idempotency-Key": key}, idempotent=True
        )
        return mapping.provider_ref(answer)


class FirstPageOnlyAdapter(AcmeLmsAdapter):
    """Forgets to follow the next page token."""

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        listed = super().list_sessions(start, end, page_size=page_size)
        return iter([s for s, _ in zip(listed, range(page_size or self.config.page_size), strict=False)])


class StatusBlindAdapter(AcmeLmsAdapter):
    """Classifies every failure as a generic provider error (no types, no retries)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        def classify(response: requests.Response) -> ConnectorError | None:
            return None if response.ok else ProviderError(f"HTTP {response.status_code}", status=response.status_code)

        self.transport.classifier = classify


class NoRetryAdapter(AcmeLmsAdapter):
    """Gives up at the first throttling answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport.retry_policy = RetryPolicy(max_attempts=1)


class StrictCancelAdapter(AcmeLmsAdapter):
    """Cancelling twice raises (cancel must be idempotent)."""

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        self.transport.request("DELETE", f"sessions/{ref.external_id}")


class RecreateOnRescheduleAdapter(AcmeLmsAdapter):
    """Declares RESCHEDULE_IN_PLACE but cancels and re-creates."""

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        super().cancel_session(ref)
        return super().create_session(session, key=f"{session.id}.moved")


class StickyRosterAdapter(AcmeLmsAdapter):
    """Unenrol does nothing: a freed seat is never freed at the provider."""

    def unenrol(self, ref: ProviderRef, session: Session, people: Any, *, registrations: Any = None) -> None:
        return None


def _harness(adapter_class: type[AcmeLmsAdapter]) -> AcmeLmsHarness:
    harness = AcmeLmsHarness()
    harness.adapter_class = adapter_class  # the kit builds whatever class the harness names
    return harness


class _Parts:
    """Parts of a case run plainly: a failing part fails the case."""

    def test(self, msg: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


class _Request:
    def getfixturevalue(self, name: str) -> _Parts:
        return _Parts()


def _run_case(harness: AcmeLmsHarness, case: str, cassettes: Path) -> None:
    class Contract(AdapterContract):
        @contextlib.contextmanager
        def contract_run(self, request: Any, case: str) -> Iterator[ContractRun]:
            with open_contract_run(self.harness, case, target="sandbox", cassette_root=cassettes) as run:
                yield run

    Contract.harness = harness
    getattr(Contract(), f"test_{case}")(_Request())


BUGS = [
    (RandomKeyAdapter, "idempotent_create"),
    (LocalTimeAsUtcAdapter, "create"),
    (LocalTimeAsUtcAdapter, "enrol_across_zones"),
    (FirstPageOnlyAdapter, "pagination"),
    (StatusBlindAdapter, "typed_errors"),
    (StatusBlindAdapter, "expired_auth"),
    (NoRetryAdapter, "rate_limited"),
    (StrictCancelAdapter, "cancel"),
    (RecreateOnRescheduleAdapter, "reschedule"),
    (StickyRosterAdapter, "capacity_overflow"),
]


@pytest.mark.parametrize(("adapter_class", "case"), BUGS, ids=[f"{c.__name__}-{case}" for c, case in BUGS])
def test_the_kit_fails_a_broken_adapter(adapter_class: type[AcmeLmsAdapter], case: str, tmp_path: Path) -> None:
    with pytest.raises((AssertionError, ConnectorError, pytest.fail.Exception)):
        _run_case(_harness(adapter_class), case, tmp_path)


@pytest.mark.parametrize("case", sorted({case for _, case in BUGS}))
def test_the_unmodified_adapter_passes_the_same_way(case: str, tmp_path: Path) -> None:
    _run_case(_harness(AcmeLmsAdapter), case, tmp_path)
    assert (tmp_path / "acme_lms" / f"{case}.yaml").is_file()


def test_cancel_bug_is_the_second_cancel(tmp_path: Path) -> None:
    # Not any failure: precisely the provider's 410 on the repeated cancel, surfacing as NotFound.
    with pytest.raises(NotFound):
        _run_case(_harness(StrictCancelAdapter), "cancel", tmp_path)


def test_a_token_echoed_where_no_key_names_it_never_reaches_the_cassette(tmp_path: Path) -> None:
    # A careless provider echoes the caller's token in a field with an innocent name. The kit knows the tokens
    # the adapter's transport was issued, and scrubs them wherever they appear.
    class EchoingSimulator(AcmeLmsSimulator):
        def handle(self, request: SandboxRequest) -> SandboxResponse:
            response = super().handle(request)
            if request.method == "GET" and isinstance(response.body, dict) and "id" in response.body:
                response.body["last_caller"] = request.headers.get("authorization", "").removeprefix("Bearer ")
            return response

    class EchoingHarness(AcmeLmsHarness):
        def make_simulator(self) -> AcmeLmsSimulator:
            return EchoingSimulator(client_id=PLACEHOLDER_CLIENT_ID, client_secret=PLACEHOLDER_CLIENT_SECRET)

    _run_case(EchoingHarness(), "create", tmp_path)
    text = (tmp_path / "acme_lms" / "create.yaml").read_text()
    assert '"last_caller":"[REDACTED]"' in text
    assert "acme_at_" not in text
