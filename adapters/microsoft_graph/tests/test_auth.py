"""msal's client-credentials flow, its HTTP requests sent through the SDK transport, against the simulator."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from lms_connectors.errors import AuthError, TransientError
from lms_connectors.http.transport import CallEvent
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter
from lms_connectors_microsoft_graph.sandbox import GraphSimulator

from .conftest import CLIENT_ID, CLIENT_SECRET, Waits, build_config

TOKEN_PATH = r"/oauth2/v2\.0/token$"


def test_a_token_endpoint_500_is_retried_by_the_transport_with_the_injected_sleep(
    server: SandboxServer, simulator: GraphSimulator, waits: Waits
) -> None:
    events: list[CallEvent] = []
    adapter = MicrosoftGraphAdapter(build_config(server), sleep=waits, hooks=[events.append])
    server.faults.add(Fault.error(500, {"error": "server_error"}, path=TOKEN_PATH))
    assert adapter.find_session("k") is None
    token_attempts = [e for e in events if e.operation == "login.token"]
    assert [e.status for e in token_attempts] == [500, 200]
    assert len(waits) == 1 and waits[0] <= 0.5, "one backoff, bounded, through the injected sleep"
    assert simulator.login.token_requests == 1


def test_a_token_endpoint_retry_after_is_honoured(server: SandboxServer, waits: Waits) -> None:
    adapter = MicrosoftGraphAdapter(build_config(server), sleep=waits)
    server.faults.add(Fault.throttle(429, retry_after="3", path=TOKEN_PATH))
    adapter.find_session("k")
    assert waits == [3.0]


def test_a_token_endpoint_that_keeps_failing_is_transient_not_an_auth_error(server: SandboxServer,
                                                                           waits: Waits) -> None:
    adapter = MicrosoftGraphAdapter(build_config(server, max_attempts=2), sleep=waits)
    server.faults.add(Fault.error(503, {"error": "temporarily_unavailable"}, path=TOKEN_PATH, times=5))
    with pytest.raises(TransientError):
        adapter.find_session("k")


def test_a_wrong_secret_is_an_auth_error_with_the_platforms_reason_and_no_secret(server: SandboxServer,
                                                                                waits: Waits) -> None:
    adapter = MicrosoftGraphAdapter(build_config(server, client_secret="wrong-secret-value"), sleep=waits)
    with pytest.raises(AuthError) as raised:
        adapter.find_session("k")
    assert raised.value.code == "invalid_client"
    assert "AADSTS7000215" in str(raised.value)
    assert "wrong-secret-value" not in str(raised.value)
    assert "wrong-secret-value" in adapter.login_transport.secrets()


def test_an_unknown_tenant_is_an_auth_error(server: SandboxServer, waits: Waits) -> None:
    adapter = MicrosoftGraphAdapter(build_config(server, tenant_id="nowhere.example"), sleep=waits)
    with pytest.raises(AuthError, match="unknown to the identity platform"):
        adapter.find_session("k")


def test_building_the_adapter_sends_nothing(server: SandboxServer, waits: Waits) -> None:
    MicrosoftGraphAdapter(build_config(server), sleep=waits)
    assert server.requests == []


def _certificate() -> tuple[str, str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lms-connectors test")])
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    thumbprint = hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private_pem, public_pem, thumbprint


def test_certificate_credentials_sign_an_assertion_the_platform_verifies(
    server: SandboxServer, simulator: GraphSimulator, waits: Waits
) -> None:
    private_pem, public_pem, thumbprint = _certificate()
    simulator.login.tokens.add_client(CLIENT_ID, certificates={thumbprint: public_pem})
    config = build_config(server, client_secret=None, certificate_private_key=private_pem,
                          certificate_thumbprint=thumbprint)
    adapter = MicrosoftGraphAdapter(config, sleep=waits)
    assert adapter.find_session("k") is None
    token_request = next(server.requests_to("POST", TOKEN_PATH))
    assert b"client_assertion=" in token_request.body and b"client_secret" not in token_request.body
    other_private, _, _ = _certificate()
    impostor = MicrosoftGraphAdapter(
        build_config(server, client_secret=None, certificate_private_key=other_private,
                     certificate_thumbprint=thumbprint), sleep=waits)
    with pytest.raises(AuthError, match="AADSTS700027"):
        impostor.find_session("k")


def test_processes_of_one_app_share_the_token_through_the_cache_file(
    server: SandboxServer, simulator: GraphSimulator, waits: Waits, tmp_path: Path
) -> None:
    cache = tmp_path / "graph-token-cache.json"
    first = MicrosoftGraphAdapter(build_config(server, token_cache_path=str(cache)), sleep=waits)
    first.find_session("k")
    second = MicrosoftGraphAdapter(build_config(server, token_cache_path=str(cache)), sleep=waits)
    second.find_session("k")
    assert simulator.login.token_requests == 1
    assert cache.exists() and CLIENT_SECRET not in cache.read_text()


def test_config_needs_exactly_one_credential(server: SandboxServer) -> None:
    from lms_connectors.errors import ConfigurationError

    base: dict[str, object] = {"tenant_id": "t", "client_id": "c", "organizer": "o@x.example"}
    with pytest.raises(ConfigurationError, match="client_secret"):
        MicrosoftGraphAdapter.from_config(base)
    with pytest.raises(ConfigurationError, match="not both"):
        MicrosoftGraphAdapter.from_config({**base, "client_secret": "s", "certificate_private_key": "k",
                                           "certificate_thumbprint": "A" * 40})
    with pytest.raises(ConfigurationError, match="both"):
        MicrosoftGraphAdapter.from_config({**base, "certificate_private_key": "k"})


Factory = Callable[..., MicrosoftGraphAdapter]
