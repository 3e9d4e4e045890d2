"""The kit's token endpoint takes client assertions (RFC 7523) besides secrets, and revokes a client whole."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lms_connectors.testing.simclock import SimClock
from lms_connectors.testing.tokens import CLIENT_ASSERTION_TYPE, AssertionRefused, GrantRefused, TokenEndpoint

TOKEN_URL = "https://login.example.com/tenant/oauth2/token"


def _key_pair() -> tuple[rsa.RSAPrivateKey, str, str]:
    """A private key, its public key (PEM) and a thumbprint standing for its certificate's (hex, upper case)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, public.decode(), hashlib.sha1(public).hexdigest().upper()


def _assertion(key: rsa.RSAPrivateKey, thumbprint: str, *, issuer: str = "app-1", audience: str = TOKEN_URL) -> str:
    x5t = base64.urlsafe_b64encode(bytes.fromhex(thumbprint)).decode().rstrip("=")
    now = int(time.time())
    claims = {"iss": issuer, "sub": issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + 600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"x5t": x5t})


@pytest.fixture
def registered() -> tuple[TokenEndpoint, rsa.RSAPrivateKey, str]:
    endpoint = TokenEndpoint(SimClock(), clients={"app-1": "first-secret"})
    key, public_pem, thumbprint = _key_pair()
    endpoint.add_client("app-1", secrets={"second-secret"}, certificates={thumbprint: public_pem})
    return endpoint, key, thumbprint


def test_a_client_may_hold_several_secrets(registered: tuple[TokenEndpoint, rsa.RSAPrivateKey, str]) -> None:
    endpoint, _, _ = registered
    assert endpoint.check_client("app-1", "first-secret") == "app-1"
    assert endpoint.check_client("app-1", "second-secret") == "app-1"
    with pytest.raises(GrantRefused) as refused:
        endpoint.check_client("app-1", "third-secret")
    assert (refused.value.status, refused.value.error) == (401, "invalid_client")


def test_an_assertion_signed_by_a_registered_certificate_authenticates_the_client(
    registered: tuple[TokenEndpoint, rsa.RSAPrivateKey, str],
) -> None:
    endpoint, key, thumbprint = registered
    form = {"client_id": "app-1", "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": _assertion(key, thumbprint)}
    assert endpoint.authenticate_client(form, audience=TOKEN_URL) == "app-1"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda key, thumb: "not-a-jwt", "malformed"),
        (lambda key, thumb: _assertion(_key_pair()[0], _key_pair()[2]), "unknown_certificate"),
        (lambda key, thumb: _assertion(_key_pair()[0], thumb), "invalid"),  # another key, same thumbprint
        (lambda key, thumb: _assertion(key, thumb, audience="https://elsewhere.example/token"), "invalid"),
        (lambda key, thumb: _assertion(key, thumb, issuer="app-2"), "wrong_issuer"),
    ],
    ids=["not-a-jwt", "unknown-certificate", "wrong-signature", "wrong-audience", "wrong-issuer"],
)
def test_a_bad_assertion_is_refused_with_its_reason(
    registered: tuple[TokenEndpoint, rsa.RSAPrivateKey, str], make: Callable[[rsa.RSAPrivateKey, str], str],
    reason: str,
) -> None:
    endpoint, key, thumbprint = registered
    assertion = make(key, thumbprint)
    with pytest.raises(AssertionRefused) as refused:
        endpoint.check_assertion("app-1", assertion, audience=TOKEN_URL)
    assert (refused.value.status, refused.value.error, refused.value.reason) == (401, "invalid_client", reason)


def test_a_request_without_client_credentials_is_refused(
    registered: tuple[TokenEndpoint, rsa.RSAPrivateKey, str],
) -> None:
    endpoint, _, _ = registered
    with pytest.raises(GrantRefused, match="neither client_secret nor client_assertion"):
        endpoint.authenticate_client({"client_id": "app-1"}, audience=TOKEN_URL)


def test_revoking_a_client_stops_its_secrets_certificates_and_tokens(
    registered: tuple[TokenEndpoint, rsa.RSAPrivateKey, str],
) -> None:
    endpoint, key, thumbprint = registered
    other = endpoint.issue("app-0", principal="app-0")
    token = endpoint.client_credentials("app-1", "first-secret")
    endpoint.revoke_client("app-1")
    assert endpoint.lookup(token.value) is None
    assert endpoint.lookup(other.value) is not None, "another client's tokens live on"
    with pytest.raises(GrantRefused):
        endpoint.check_client("app-1", "second-secret")
    with pytest.raises(AssertionRefused, match="not registered"):
        endpoint.check_assertion("app-1", _assertion(key, thumbprint), audience=TOKEN_URL)


def test_the_discovery_document_names_the_endpoints_and_the_client_authentication_methods() -> None:
    document = TokenEndpoint.discovery("https://login.example.com/t/v2.0",
                                       token_endpoint=TOKEN_URL, authorization_endpoint=TOKEN_URL + "/authorize")
    assert document["issuer"] == "https://login.example.com/t/v2.0"
    assert document["token_endpoint"] == TOKEN_URL
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]


def test_tokens_expire_on_the_simulator_clock() -> None:
    clock = SimClock(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
    endpoint = TokenEndpoint(clock, clients={"app-1": "s"}, lifetime=60)
    token = endpoint.client_credentials("app-1", "s")
    clock.advance(61)
    assert endpoint.lookup(token.value) is None and endpoint.is_expired(token.value)
