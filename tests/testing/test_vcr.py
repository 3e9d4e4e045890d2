"""Cassettes recorded from the loopback sandbox: canonical hosts, secrets scrubbed, ordered replay."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import requests
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException

from lms_connectors.errors import ConfigurationError
from lms_connectors.testing.record_mode import RECORD_ENV, resolve_record_target, vcr_record_mode
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, SandboxServer, Simulator
from lms_connectors.testing.vcr import CassetteScrubber, make_vcr, scan_for_secrets

CANONICAL = "https://api.example.test/v2"
AUTH_HOST = "https://auth.example.test/oauth/token"
CLIENT_SECRET = "s3cr3t-client-value"
ACCESS_TOKEN = "at-0123456789abcdef"
REFRESH_TOKEN = "rt-fedcba9876543210"


class TokenAndItems(Simulator):
    """Hands out tokens and lists items page by page with absolute next links (as Graph and Canvas do)."""

    def __init__(self) -> None:
        super().__init__()
        self.created = 0
        self.base = ""

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if request.path == "/oauth/token":
            return SandboxResponse(
                200,
                {
                    "access_token": ACCESS_TOKEN,
                    "refresh_token": REFRESH_TOKEN,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                },
            )
        if request.path == "/items" and request.method == "POST":
            self.created += 1
            return SandboxResponse(201, {"id": f"item-{self.created}", "owner": {"password": "pw-of-owner"}})
        if request.path == "/items":
            page = int(request.query_one("page", "1") or 1)
            nxt = f"{self.base}/items?page={page + 1}" if page < 2 else None
            return SandboxResponse(
                200, {"items": [f"p{page}"], "next": nxt}, headers={"Link": f'<{nxt}>; rel="next"'} if nxt else {}
            )
        if request.path == "/gzipped":
            payload = gzip.compress(json.dumps({"id_token": "idt-secret-value-123"}).encode())
            return SandboxResponse(
                200, payload, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
            )
        return SandboxResponse(404, {"error": "no route"})


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    simulator = TokenAndItems()
    with SandboxServer(simulator) as server:
        simulator.base = server.url
        yield server


def _vcr(tmp_path: Path, mode: str) -> object:
    return make_vcr(
        "example",
        tmp_path,
        record_mode=mode,  # type: ignore[arg-type]
        canonical_base_url=CANONICAL,
        canonical_hosts={"/oauth/token": AUTH_HOST},
        secret_values=[CLIENT_SECRET],
    )


def _conversation(base: str, token_url: str) -> list[object]:
    """What a client does: get a token, list two pages following links, create twice (same request)."""
    seen: list[object] = []
    with requests.Session() as http:
        token = http.post(
            token_url,
            data={"grant_type": "client_credentials", "client_id": "acme-app", "client_secret": CLIENT_SECRET},
            timeout=5,
        ).json()
        seen.append(token["token_type"])
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        url: str | None = f"{base}/items?access_token={token['access_token']}"
        while url:
            page = http.get(url, headers=headers, timeout=5).json()
            seen.append(page["items"])
            url = page["next"]
        for _ in range(2):
            seen.append(
                http.post(f"{base}/items", json={"title": "x", "user": {"password": "pw"}}, timeout=5).json()["id"]
            )
    return seen


def _record(tmp_path: Path, sandbox: SandboxServer) -> tuple[list[object], Path]:
    with _vcr(tmp_path, "sandbox").use_cassette("conversation"):  # type: ignore[attr-defined]
        seen = _conversation(sandbox.url, f"{sandbox.url}/oauth/token")
    return seen, tmp_path / "example" / "conversation.yaml"


def test_recorded_cassette_is_canonical_and_clean(tmp_path: Path, sandbox: SandboxServer) -> None:
    seen, cassette = _record(tmp_path, sandbox)
    assert seen == ["Bearer", ["p1"], ["p2"], "item-1", "item-2"]
    text = cassette.read_text()
    assert "127.0.0.1" not in text
    assert str(sandbox.port) not in text
    interactions = yaml.safe_load(text)["interactions"]
    uris = [i["request"]["uri"] for i in interactions]
    assert uris[0] == AUTH_HOST  # the token endpoint maps to its own host
    assert uris[1].startswith(f"{CANONICAL}/items?access_token=")
    assert uris[2] == f"{CANONICAL}/items?page=2"  # the next link inside the body was canonicalised too
    assert all(u.startswith(CANONICAL) for u in uris[1:])
    # Secrets gone, harmless identifiers kept.
    for secret in (CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, "pw-of-owner"):
        assert secret not in text
    token_request = interactions[0]["request"]
    assert "client_id=acme-app" in token_request["body"]
    assert token_request["headers"]["Content-Length"] == [str(len(token_request["body"]))]
    assert interactions[1]["request"]["headers"]["authorization"] == ["[REDACTED]"]
    token_body = json.loads(interactions[0]["response"]["body"]["string"])
    assert token_body == {
        "access_token": "[REDACTED]",
        "refresh_token": "[REDACTED]",
        "token_type": "Bearer",
        "expires_in": 3600,
    }
    link = interactions[1]["response"]["headers"]["Link"][0]
    assert link == f'<{CANONICAL}/items?page=2>; rel="next"'
    assert scan_for_secrets(cassette, [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN]) == []


def test_content_length_follows_the_scrubbed_body(tmp_path: Path, sandbox: SandboxServer) -> None:
    _, cassette = _record(tmp_path, sandbox)
    for interaction in yaml.safe_load(cassette.read_text())["interactions"]:
        response = interaction["response"]
        body = response["body"]["string"]
        assert response["headers"]["Content-Length"] == [str(len(body.encode()))]


def test_replay_against_the_canonical_url_needs_no_server(tmp_path: Path, sandbox: SandboxServer) -> None:
    recorded, _ = _record(tmp_path, sandbox)
    sandbox.stop()
    with _vcr(tmp_path, "none").use_cassette("conversation"):  # type: ignore[attr-defined]
        replayed = _conversation(CANONICAL, AUTH_HOST)
    # Identical POSTs replay in order (item-1 then item-2): allow_playback_repeats is off.
    assert replayed == recorded


def test_replay_ignores_bodies_and_secret_values(tmp_path: Path, sandbox: SandboxServer) -> None:
    _record(tmp_path, sandbox)
    with _vcr(tmp_path, "none").use_cassette("conversation"), requests.Session() as http:  # type: ignore[attr-defined]
        assert http.post(AUTH_HOST, data={"client_secret": "another"}, timeout=5).json()["token_type"] == "Bearer"
        page = http.get(f"{CANONICAL}/items?access_token=a-different-token", timeout=5).json()
        assert page["items"] == ["p1"]


def test_replay_refuses_a_request_the_cassette_lacks(tmp_path: Path, sandbox: SandboxServer) -> None:
    _record(tmp_path, sandbox)
    with _vcr(tmp_path, "none").use_cassette("conversation"), requests.Session() as http:  # type: ignore[attr-defined]
        with pytest.raises(CannotOverwriteExistingCassetteException):
            http.get(f"{CANONICAL}/items/unknown", timeout=5)


def test_each_interaction_plays_once(tmp_path: Path, sandbox: SandboxServer) -> None:
    _record(tmp_path, sandbox)
    with _vcr(tmp_path, "none").use_cassette("conversation"), requests.Session() as http:  # type: ignore[attr-defined]
        http.post(AUTH_HOST, timeout=5)
        with pytest.raises(CannotOverwriteExistingCassetteException):
            http.post(AUTH_HOST, timeout=5)


def test_compressed_responses_are_stored_decoded_and_scrubbed(tmp_path: Path, sandbox: SandboxServer) -> None:
    with _vcr(tmp_path, "sandbox").use_cassette("gz"), requests.Session() as http:  # type: ignore[attr-defined]
        assert http.get(f"{sandbox.url}/gzipped", timeout=5).json() == {"id_token": "idt-secret-value-123"}
    cassette = tmp_path / "example" / "gz.yaml"
    stored = yaml.safe_load(cassette.read_text())["interactions"][0]["response"]
    assert json.loads(stored["body"]["string"]) == {"id_token": "[REDACTED]"}
    assert "Content-Encoding" not in stored["headers"]
    assert scan_for_secrets(cassette, ["idt-secret-value-123"]) == []


def test_make_vcr_takes_names_and_urls_from_a_harness(tmp_path: Path) -> None:
    class Harness:
        adapter_name = "acme"
        canonical_base_url = CANONICAL
        canonical_hosts: ClassVar[dict[str, str]] = {"/oauth/token": AUTH_HOST}

    recorder = make_vcr(Harness(), tmp_path, record_mode="none")
    assert recorder.cassette_library_dir == str(tmp_path / "acme")
    assert recorder.record_mode == "none"
    assert make_vcr("acme", tmp_path, record_mode="live", canonical_base_url=CANONICAL).record_mode == "all"
    with pytest.raises(ValueError, match="canonical_base_url"):
        make_vcr("acme", tmp_path)


# -- the scrubber on its own ---------------------------------------------------------------------------------


def test_canonical_url_mapping() -> None:
    scrubber = CassetteScrubber(CANONICAL + "/", {"/oauth/token": AUTH_HOST, "/oauth": "https://other.test"})
    assert scrubber.canonical_url("http://127.0.0.1:5000/events?a=1") == f"{CANONICAL}/events?a=1"
    assert scrubber.canonical_url("http://localhost:1/oauth/token?x=1") == f"{AUTH_HOST}?x=1"
    assert scrubber.canonical_url("http://127.0.0.1:9/oauth/authorize") == "https://other.test/authorize"
    assert scrubber.canonical_url("http://127.0.0.1:9/oauth/tokenish") == "https://other.test/tokenish"
    assert scrubber.canonical_url("https://elsewhere.test/x") == "https://elsewhere.test/x"
    assert scrubber.canonical_url('{"u": "http://127.0.0.1:7/a"}') == f'{{"u": "{CANONICAL}/a"}}'


def test_loopback_urls_are_rewritten_when_json_escapes_their_slashes() -> None:
    # PHP's json_encode writes "http:\/\/127.0.0.1:8080\/..." (Moodle's image and event URLs, recorded live).
    scrubber = CassetteScrubber("https://moodle.example.edu")
    body = b'{"url":"http:\\/\\/127.0.0.1:8080\\/theme\\/image.php\\/boost","bare":"http:\\/\\/localhost\\/x"}'
    scrubbed = scrubber.scrub_body(body, "application/json")
    assert isinstance(scrubbed, bytes)
    assert b"127.0.0.1" not in scrubbed and b"localhost" not in scrubbed
    assert json.loads(scrubbed) == {"url": "https://moodle.example.edu/theme/image.php/boost",
                                    "bare": "https://moodle.example.edu/x"}
    assert scrubber.canonical_url("see http://127.0.0.1/a?b=1") == "see https://moodle.example.edu/a?b=1"


def test_answers_lose_their_host_header() -> None:
    # PHP's built-in web server answers with "Host: 127.0.0.1:8080"; the cassette must not keep it.
    scrubber = CassetteScrubber("https://moodle.example.edu")
    response = {"headers": {"Host": ["127.0.0.1:8080"], "Content-Type": ["application/json"]},
                "body": {"string": b"{}"}}
    assert scrubber.before_record_response(response)["headers"] == {"Content-Type": ["application/json"]}


def test_scrub_body_handles_nested_json_forms_and_php_arrays() -> None:
    scrubber = CassetteScrubber(CANONICAL, secret_values=["literal-secret"])
    nested = scrubber.scrub_body(b'[{"user": {"password": "p", "name": "n"}}]', "application/json")
    assert json.loads(nested or b"") == [{"user": {"password": "[REDACTED]", "name": "n"}}]
    form = scrubber.scrub_body("wstoken=abc&users%5B0%5D%5Bpassword%5D=pw&users%5B0%5D%5Bemail%5D=a@b.c", "")
    assert form == "wstoken=[REDACTED]&users%5B0%5D%5Bpassword%5D=[REDACTED]&users%5B0%5D%5Bemail%5D=a@b.c"
    assert scrubber.scrub_body("note: literal-secret", "text/plain") == "note: [REDACTED]"
    assert scrubber.scrub_body(b"\xff\xfe", "application/octet-stream") == b"\xff\xfe"


def test_scrubber_judges_keys_by_meaning_not_by_spelling() -> None:
    """A JSON field named ``key`` is structure (Google Meet's conferenceSolution.key); ``?key=`` is an API key."""
    scrubber = CassetteScrubber(CANONICAL)
    event = {
        "conferenceData": {
            "createRequest": {"requestId": "r1", "conferenceSolutionKey": {"type": "hangoutsMeet"}},
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
        },
        "extendedProperties": {"private": {"lmsc_key": "k1"}},
        "client_secret": "cs-1",
        "refresh_token": "rt-1",
        "password": "meeting-passcode",
    }
    scrubbed = json.loads(scrubber.scrub_body(json.dumps(event).encode(), "application/json") or b"")
    assert scrubbed["conferenceData"] == event["conferenceData"]
    assert scrubbed["extendedProperties"] == event["extendedProperties"]
    assert [scrubbed[k] for k in ("client_secret", "refresh_token", "password")] == ["[REDACTED]"] * 3
    assert scrubber.scrub_text(f"{CANONICAL}/events?key=AIzaSyExample&q=x") == f"{CANONICAL}/events?key=[REDACTED]&q=x"
    # Moodle's user search names its criterion with a bracketed "key": a field, not a credential.
    form = "criteria%5B0%5D%5Bkey%5D=email&criteria%5B0%5D%5Bvalue%5D=a%40b.c&wstoken=abc"
    assert scrubber.scrub_body(form, "") == "criteria%5B0%5D%5Bkey%5D=email&criteria%5B0%5D%5Bvalue%5D=a%40b.c&wstoken=[REDACTED]"


def test_scan_flags_an_api_key_in_a_url_but_not_a_json_field_named_key(tmp_path: Path) -> None:
    leaky = _cassette(tmp_path, {"uri": f"{CANONICAL}/x?key=AIzaSyExample"}, {})
    assert any("query 'key'" in finding for finding in scan_for_secrets(leaky))
    clean = _cassette(tmp_path, {}, {"body": {"string": '{"conferenceSolution": {"key": {"type": "hangoutsMeet"}}}'}})
    assert scan_for_secrets(clean) == []


# -- scan_for_secrets finds leaks -------------------------------------------------------------------------------


def _cassette(tmp_path: Path, request: dict[str, object], response: dict[str, object]) -> Path:
    path = tmp_path / "leaky.yaml"
    base_request = {"method": "GET", "uri": f"{CANONICAL}/x", "body": None, "headers": {}}
    base_response = {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": ""}}
    document = {"interactions": [{"request": base_request | request, "response": base_response | response}]}
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("request_part", "response_part", "expected"),
    [
        ({"uri": f"{CANONICAL}/x?access_token=live-token"}, {}, "request uri query 'access_token'"),
        ({"headers": {"Authorization": ["Bearer abcdefghijkl"]}}, {}, "request header 'Authorization'"),
        ({"body": "grant_type=refresh_token&refresh_token=rt-1"}, {}, "request body form 'refresh_token'"),
        ({"body": "users%5B0%5D%5Bpassword%5D=pw"}, {}, "request body form 'users[0][password]'"),
        ({}, {"body": {"string": '{"data": [{"access_token": "t"}]}'}}, "response body JSON $.data[0].access_token"),
        ({}, {"headers": {"Set-Cookie": ["sid=1"]}}, "response header 'Set-Cookie'"),
        ({}, {"body": {"string": "Authorization: Bearer abcdefghijklmnop"}}, "a bearer credential"),
    ],
)
def test_scan_finds_each_kind_of_leak(
    tmp_path: Path, request_part: dict[str, object], response_part: dict[str, object], expected: str
) -> None:
    findings = scan_for_secrets(_cassette(tmp_path, request_part, response_part))
    assert any(expected in finding for finding in findings), findings


def test_scan_finds_known_values_plain_or_encoded_and_never_prints_them(tmp_path: Path) -> None:
    path = _cassette(tmp_path, {"uri": f"{CANONICAL}/x?q=a%2Fsecret%20value"}, {})
    findings = scan_for_secrets(path, ["a/secret value"])
    assert findings == ["leaky.yaml: contains a known secret value (14 characters)"]


def test_scan_accepts_placeholders_and_challenges(tmp_path: Path) -> None:
    path = _cassette(
        tmp_path,
        {"headers": {"Authorization": ["[REDACTED]"]}, "body": "client_id=app&client_secret=%5BREDACTED%5D"},
        {
            "headers": {"WWW-Authenticate": ['Bearer realm="acme", error="invalid_token"']},
            "body": {"string": '{"token_type": "Bearer", "password_required": false, "key": ""}'},
        },
    )
    assert scan_for_secrets(path) == []


# -- record modes -----------------------------------------------------------------------------------------------


def test_record_target_from_env_and_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RECORD_ENV, raising=False)
    assert resolve_record_target() == "none"
    monkeypatch.setenv(RECORD_ENV, " Sandbox ")
    assert resolve_record_target() == "sandbox"
    assert resolve_record_target("live") == "live"  # the explicit value wins
    monkeypatch.setenv(RECORD_ENV, "always")
    with pytest.raises(ConfigurationError, match="not a record mode"):
        resolve_record_target()
    assert vcr_record_mode("none") == "none"
    assert vcr_record_mode("sandbox") == vcr_record_mode("live") == "all"
