"""Google's token flows: bearer tokens through the SDK transport, refusals in the SDK's tree, secrets redacted."""

from __future__ import annotations

import threading

import requests

from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter

from .conftest import CLIENT_SECRET, REFRESH_TOKEN, config_for


def test_secrets_list_the_credentials_and_every_token_handed_out(server, simulator) -> None:
    with GoogleCalendarAdapter(config_for(server.url)) as adapter:
        adapter.find_session("k.g1")
        simulator.expire_access_tokens()
        adapter.find_session("k.g1")
        secrets = adapter.auth.secrets()
    issued = list(simulator.oauth.tokens)
    assert len(issued) == 2
    assert set(issued) | {CLIENT_SECRET, REFRESH_TOKEN} <= set(secrets)


def test_secrets_can_be_read_during_a_refresh(server) -> None:
    # Redaction asks for the secrets while the token request is on the wire (same thread, lock held).
    session = requests.Session()
    adapter = GoogleCalendarAdapter(config_for(server.url), session=session)
    seen: list[list[str]] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(adapter.auth.secrets()))
    worker = threading.Thread(target=adapter.find_session, args=("k.g1",), daemon=True)
    worker.start()
    worker.join(timeout=10)
    adapter.close()
    assert not worker.is_alive(), "secrets() blocked behind the refresh"
    assert seen and REFRESH_TOKEN in seen[0]


def test_stale_token_is_replaced_after_a_401(server) -> None:
    with GoogleCalendarAdapter(config_for(server.url)) as adapter:
        adapter.find_session("k.g1")
        adapter.auth.invalidate("ya29.not-a-token-the-api-knows")
        assert adapter.find_session("k.g1") is None
        assert adapter.auth.token().startswith("ya29.sandbox-")
    assert [r.path for r in server.requests].count("/token") == 2
