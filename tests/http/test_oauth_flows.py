"""The OAuth flows of lms_connectors.http.auth send their token requests through an HttpTransport."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl

import pytest
import responses

from lms_connectors.errors import AuthError, MalformedResponse, TransientError
from lms_connectors.http import (
    ClientCredentialsAuth,
    HttpTransport,
    JwtBearerAuth,
    RefreshTokenAuth,
    RetryPolicy,
    oauth_token_classifier,
)
from lms_connectors.http.token_cache import MemoryTokenCache

TOKEN_URL = "https://auth.example.test/oauth/token"


def token_transport(sleeps: list[float] | None = None, attempts: int = 3) -> HttpTransport:
    return HttpTransport(
        provider="example",
        base_url=TOKEN_URL,
        classifier=oauth_token_classifier,
        retry=RetryPolicy(max_attempts=attempts, total_timeout=30),
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
    )


def form_of(call: responses.Call) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body or "")
    return dict(parse_qsl(text))


@responses.activate
def test_client_credentials_post_the_client_in_the_form() -> None:
    responses.post(TOKEN_URL, json={"access_token": "tok-1", "expires_in": 3600})
    auth = ClientCredentialsAuth(token_transport(), client_id="cid", client_secret="s3cret", scope="read write")
    assert auth.token() == "tok-1"
    assert form_of(responses.calls[0]) == {
        "grant_type": "client_credentials", "scope": "read write", "client_id": "cid", "client_secret": "s3cret"
    }
    assert {"tok-1", "s3cret"} <= set(auth.secrets())


@responses.activate
def test_client_credentials_basic_with_the_grant_in_the_query() -> None:
    responses.post(TOKEN_URL, json={"access_token": "tok-1"})
    auth = ClientCredentialsAuth(token_transport(), client_id="cid", client_secret="s3cret", client_auth="basic",
                                 query={"grant_type": "account_credentials", "account_id": "acc"})
    auth.token()
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:s3cret").decode()
    assert "grant_type=account_credentials" in str(request.url) and "account_id=acc" in str(request.url)
    assert not request.body
    assert base64.b64encode(b"cid:s3cret").decode() in auth.secrets()
    auth.rotate_client_secret("n3w")
    auth.refresh()
    assert responses.calls[1].request.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:n3w").decode()


@responses.activate
def test_refresh_token_grant_keeps_a_rotated_refresh_token() -> None:
    responses.post(TOKEN_URL, json={"access_token": "tok-1", "refresh_token": "refresh-2"})
    responses.post(TOKEN_URL, json={"access_token": "tok-2"})
    auth = RefreshTokenAuth(token_transport(), client_id="cid", client_secret="s", refresh_token="refresh-1")
    auth.token()
    auth.refresh()
    assert form_of(responses.calls[0])["refresh_token"] == "refresh-1"
    assert form_of(responses.calls[1])["refresh_token"] == "refresh-2"
    assert {"refresh-1", "refresh-2", "tok-1", "tok-2"} <= set(auth.secrets())


@responses.activate
def test_jwt_bearer_sends_a_new_assertion_each_time() -> None:
    responses.post(TOKEN_URL, json={"access_token": "tok"})
    signed = iter(["jwt-1", "jwt-2"])
    auth = JwtBearerAuth(token_transport(), assertion=lambda: next(signed))
    auth.token()
    auth.refresh()
    forms = [form_of(call) for call in responses.calls]
    assert [f["assertion"] for f in forms] == ["jwt-1", "jwt-2"]
    assert forms[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert "jwt-2" in auth.secrets()


@responses.activate
def test_a_refusal_is_an_auth_error_with_the_endpoint_s_reason_and_is_not_retried() -> None:
    responses.post(TOKEN_URL, status=400,
                   json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    auth = RefreshTokenAuth(token_transport(), client_id="cid", client_secret="client-secret-1", refresh_token="refresh-token-1")
    with pytest.raises(AuthError, match=r"invalid_grant: Token has been expired or revoked\.") as raised:
        auth.token()
    assert raised.value.code == "invalid_grant"
    assert len(responses.calls) == 1


@responses.activate
def test_a_refusal_without_an_oauth_body_still_says_why() -> None:
    responses.post(TOKEN_URL, status=401, body="nope")
    auth = ClientCredentialsAuth(token_transport(), client_id="cid", client_secret="client-secret-1")
    with pytest.raises(AuthError, match="refused the grant") as raised:
        auth.token()
    assert raised.value.status == 401


@responses.activate
def test_5xx_is_retried_with_the_injected_sleep_then_transient() -> None:
    responses.post(TOKEN_URL, status=503, json={"error": "temporarily_unavailable"})
    sleeps: list[float] = []
    auth = ClientCredentialsAuth(token_transport(sleeps, attempts=3), client_id="cid", client_secret="client-secret-1")
    with pytest.raises(TransientError) as raised:
        auth.token()
    assert not isinstance(raised.value, AuthError)
    assert len(responses.calls) == 3
    assert len(sleeps) == 2


@responses.activate
def test_retry_after_of_the_token_endpoint_is_honoured() -> None:
    responses.post(TOKEN_URL, status=429, headers={"Retry-After": "4"})
    responses.post(TOKEN_URL, json={"access_token": "tok"})
    sleeps: list[float] = []
    auth = ClientCredentialsAuth(token_transport(sleeps), client_id="cid", client_secret="client-secret-1")
    assert auth.token() == "tok"
    assert sleeps == [4.0]


@responses.activate
def test_an_answer_without_a_token_is_malformed() -> None:
    responses.post(TOKEN_URL, json={"token_type": "Bearer"})
    auth = ClientCredentialsAuth(token_transport(), client_id="cid", client_secret="client-secret-1")
    with pytest.raises(MalformedResponse) as caught:
        auth.token()
    assert caught.value.field == "access_token" and caught.value.endpoint == "POST /oauth/token"


@responses.activate
def test_a_garbled_token_answer_is_asked_for_again() -> None:
    """The token request may be sent twice (it only mints another token): an HTML page or cut JSON with status
    200 is not a failed grant but a garbled read, asked for again."""
    responses.post(TOKEN_URL, body="<!DOCTYPE html><html><body>Signed out</body></html>", content_type="text/html")
    responses.post(TOKEN_URL, body='{"access_token": "tok-', content_type="application/json")
    responses.post(TOKEN_URL, json={"access_token": "tok-3", "expires_in": "3600", "scope": "read"})
    auth = ClientCredentialsAuth(token_transport(), client_id="cid", client_secret="client-secret-1")
    assert auth.token() == "tok-3"
    assert auth.granted_scopes == ("read",) and len(responses.calls) == 3


@responses.activate
def test_workers_sharing_a_cache_mint_once() -> None:
    responses.post(TOKEN_URL, json={"access_token": "tok-1", "expires_in": 3600})
    cache = MemoryTokenCache()
    first = ClientCredentialsAuth(token_transport(), client_id="cid", client_secret="s", cache=cache)
    second = ClientCredentialsAuth(token_transport(), client_id="cid", client_secret="s", cache=cache)
    assert first.token() == second.token() == "tok-1"
    assert (first.mints, second.mints) == (1, 0)


@responses.activate
def test_the_client_secret_is_redacted_from_errors() -> None:
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_client", "error_description": "bad s3cret-value"})
    auth = ClientCredentialsAuth(token_transport(), client_id="cid", client_secret="s3cret-value")
    with pytest.raises(AuthError) as raised:
        auth.token()
    assert "s3cret-value" not in str(raised.value)
    assert "s3cret-value" not in (raised.value.body_excerpt or "")
