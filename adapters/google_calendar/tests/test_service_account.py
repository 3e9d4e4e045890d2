"""Service account with domain-wide delegation: signed JWT grant, Meet allowed only when acting as a user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lms_connectors.errors import AuthError, ConfigurationError, InvalidRequest
from lms_connectors.http.auth import JwtBearerAuth
from lms_connectors.models import Modality
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter
from lms_connectors_google_calendar.auth import ServiceAccountAssertion
from lms_connectors_google_calendar.config import GoogleCalendarConfig
from lms_connectors_google_calendar.sandbox import GoogleCalendarSimulator

from .conftest import ORGANIZER, make_session

ACCOUNT = "scheduler@lmsc-test.iam.gserviceaccount.com"


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


PRIVATE, PUBLIC = key_pair()
INFO = {
    "type": "service_account",
    "project_id": "lmsc-test",
    "private_key_id": "key-1",
    "private_key": PRIVATE,
    "client_email": ACCOUNT,
    "client_id": "1234567890",
    "token_uri": "https://oauth2.googleapis.com/token",
}


@pytest.fixture
def sa_server() -> Iterator[SandboxServer]:
    simulator = GoogleCalendarSimulator(organizer=ORGANIZER, service_accounts={ACCOUNT: {"key-1": PUBLIC}})
    with SandboxServer(simulator) as server:
        yield server


def config(url: str, **overrides: object) -> GoogleCalendarConfig:
    values = {"base_url": f"{url}/calendar/v3", "token_uri": f"{url}/token", "service_account_info": INFO,
              "subject": ORGANIZER, **overrides}
    return GoogleCalendarConfig.model_validate(values)


def test_delegated_service_account_creates_meet(sa_server) -> None:
    with GoogleCalendarAdapter(config(sa_server.url)) as adapter:
        ref = adapter.create_session(make_session(modality=Modality.VIRTUAL, room=None), key="s.google_calendar.g1")
    assert ref.join_url and ref.join_url.startswith("https://meet.google.com/")
    grant = next(sa_server.requests_to("POST", "^/token$")).form()
    assert dict(grant)["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"


def test_service_account_acting_as_itself_cannot_create_meet(sa_server) -> None:
    with GoogleCalendarAdapter(config(sa_server.url)) as adapter:
        assert isinstance(adapter.auth, JwtBearerAuth)
        assert isinstance(adapter.auth.assertion, ServiceAccountAssertion)
        adapter.auth.assertion.subject = None  # the account acts as itself: no "sub" claim
        with pytest.raises(InvalidRequest, match="Invalid conference type value"):
            adapter.create_session(make_session(modality=Modality.VIRTUAL, room=None), key="s.google_calendar.g1")


def test_unknown_key_is_refused(sa_server) -> None:
    _, other_public = key_pair()
    sa_server.simulator.oauth.service_accounts[ACCOUNT] = {"key-1": other_public}
    with GoogleCalendarAdapter(config(sa_server.url)) as adapter, pytest.raises(AuthError, match="invalid_grant"):
        adapter.find_session("s.google_calendar.g1")


def test_service_account_needs_a_subject() -> None:
    with pytest.raises(ValueError, match="subject"):
        GoogleCalendarConfig.model_validate({"service_account_info": INFO})
    with pytest.raises(ConfigurationError):
        GoogleCalendarAdapter.from_config({"service_account_info": INFO, "client_id": "x"})


def test_doctor_says_a_service_account_acting_as_itself_cannot_make_meet_links(sa_server) -> None:
    with GoogleCalendarAdapter(config(sa_server.url)) as adapter:
        meet = {c.name: c for c in adapter.diagnose()}["Meet links"]
        assert meet.ok and meet.detail == f"the service account acts as {ORGANIZER} (delegation)"
        assert isinstance(adapter.auth, JwtBearerAuth)
        assert isinstance(adapter.auth.assertion, ServiceAccountAssertion)
        adapter.auth.assertion.subject = None
        meet = {c.name: c for c in adapter.diagnose()}["Meet links"]
    assert not meet.ok
    assert meet.detail == "a service account acting as itself cannot make Meet conferences: set subject"
