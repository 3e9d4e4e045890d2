"""The core pieces a REST adapter and its simulator are built from, so that a vendor writes only its provider.

Paths, UTC instants, deletes that reach their goal, JSON listings by page token, OAuth client settings and flow
(adapter side); a bearer-token simulator, page serving and the default error body (simulator side); the contract
harness's defaults (secrets from the config, auth hooks of a bearer simulator, the conflict of a reused key).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from acme_lms_connector.adapter import AcmeLmsAdapter
from acme_lms_connector.simulator import AcmeLmsSimulator
from acme_lms_connector.testing import PLACEHOLDER_CLIENT_SECRET, AcmeLmsHarness
from pydantic import SecretStr

from lms_connectors.adapter import Adapter, AdapterKind
from lms_connectors.errors import (
    AuthError,
    ConfigurationError,
    Conflict,
    MalformedResponse,
    PermissionDenied,
    ValidationError,
)
from lms_connectors.http import HttpTransport, OAuthClientSettings, TransportSettings, api_path, paginate_json_by_token
from lms_connectors.http.answers import AnswerShape, JsonPage
from lms_connectors.models import ProviderRef, ProviderSession, Session
from lms_connectors.testing.bearer import BearerSimulator
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.paging import PageCodec, PageRequestError, PageTokenError
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator, route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, SandboxServer
from lms_connectors.timezones import format_utc

BASE = "https://api.example.test/v1"


def transport() -> HttpTransport:
    return HttpTransport(provider="example", base_url=BASE, sleep=lambda s: None)


# -- adapter side ------------------------------------------------------------------------------------------------


def test_api_path_escapes_every_segment_whole() -> None:
    assert api_path("sessions", "ses/1?x#y", "enrolments", "ann+tag@example.com") == (
        "sessions/ses%2F1%3Fx%23y/enrolments/ann%2Btag%40example.com"
    )
    assert api_path("meetings", 42) == "meetings/42"


def test_format_utc_gives_the_instant_in_utc_to_the_second_and_refuses_a_naive_one() -> None:
    assert format_utc(datetime(2027, 3, 9, 18, 0, 30, 999, tzinfo=ZoneInfo("Asia/Tokyo"))) == "2027-03-09T09:00:30Z"
    with pytest.raises(ValidationError):
        format_utc(datetime(2027, 3, 9, 18, 0))


@responses.activate
def test_delete_if_present_tells_deleted_from_already_gone_and_raises_anything_else() -> None:
    responses.delete(f"{BASE}/sessions/a", status=204)
    responses.delete(f"{BASE}/sessions/b", status=404, json={"error": {"code": "not_found"}})
    responses.delete(f"{BASE}/sessions/c", status=410)
    responses.delete(f"{BASE}/sessions/d", status=403, json={"error": {"code": "forbidden"}})
    api = transport()
    assert api.delete_if_present("sessions/a", params={"notify": "false"}) is True
    assert responses.calls[0].request.url == f"{BASE}/sessions/a?notify=false"
    assert api.delete_if_present("sessions/b") is False
    assert api.delete_if_present("sessions/c") is False
    with pytest.raises(PermissionDenied):
        api.delete_if_present("sessions/d")


@responses.activate
def test_json_listing_by_token_sends_the_filters_on_every_page_and_parses_each_item() -> None:
    first = responses.get(f"{BASE}/sessions", json={"data": [{"id": 1}, {"id": 2}], "next_page_token": "p2"},
                          match=[responses.matchers.query_param_matcher({"q": "x"})])
    second = responses.get(f"{BASE}/sessions", json={"data": [{"id": 3}], "next_page_token": None},
                           match=[responses.matchers.query_param_matcher({"q": "x", "page_token": "p2"})])
    ids = paginate_json_by_token(transport(), "sessions", lambda item: item["id"], params={"q": "x"})
    assert first.call_count == 0  # lazy
    assert list(ids) == [1, 2, 3]
    assert (first.call_count, second.call_count) == (1, 1)


@responses.activate
def test_json_listing_by_token_reads_other_names_and_treats_a_missing_list_as_empty() -> None:
    responses.get(f"{BASE}/events", json={"items": [{"id": "a"}], "nextPageToken": "n"})
    responses.get(f"{BASE}/events", json={"nextPageToken": ""},
                  match=[responses.matchers.query_param_matcher({"pageToken": "n"})])
    pages = paginate_json_by_token(transport(), "events", lambda item: item["id"], items_key="items",
                                   token_param="pageToken", next_token_key="nextPageToken")
    assert list(pages) == ["a"]


@responses.activate
@pytest.mark.parametrize("body", [[1, 2], {"data": {"id": 1}}])
def test_json_listing_by_token_refuses_a_page_of_another_shape(body: Any) -> None:
    responses.get(f"{BASE}/sessions", json=body)
    with pytest.raises(MalformedResponse, match="without a list of 'data'"):
        list(paginate_json_by_token(transport(), "sessions", dict))


class _Item(AnswerShape):
    id: int


@responses.activate
def test_json_listing_by_token_checks_each_page_against_its_shape() -> None:
    responses.get(f"{BASE}/sessions", json={"data": [{"id": 1}], "next_page_token": "p2"})
    responses.get(f"{BASE}/sessions", json={"data": [{"id": 2}]},  # the last page may leave the token out
                  match=[responses.matchers.query_param_matcher({"page_token": "p2"})])
    assert list(paginate_json_by_token(transport(), "sessions", dict, shape=JsonPage[_Item])) == [{"id": 1}, {"id": 2}]
    responses.get(f"{BASE}/sessions", json={"data": [{"id": 1}, {"id": "two"}], "next_page_token": None},
                  match=[responses.matchers.query_param_matcher({"q": "y"})])
    with pytest.raises(MalformedResponse, match=r"data\.1\.id"):
        list(paginate_json_by_token(transport(), "sessions", dict, params={"q": "y"}, shape=JsonPage[_Item]))


class _Client(OAuthClientSettings):
    base_url: str = BASE


def test_oauth_client_settings_resolve_the_token_endpoint_under_the_base_url_unless_given() -> None:
    assert _Client(client_id="c", client_secret=SecretStr("s")).resolved_token_url == f"{BASE}/oauth/token"
    other = _Client(client_id="c", client_secret=SecretStr("hush-hush"), token_url="https://login.example.test/token")
    assert other.resolved_token_url == "https://login.example.test/token"
    assert "hush-hush" not in repr(other)


class _Plain(TransportSettings):
    base_url: str = BASE


class _PlainAdapter(Adapter):
    name: ClassVar[str] = "plain"
    kind: ClassVar[AdapterKind] = AdapterKind.LMS
    config_model: ClassVar[type[_Plain]] = _Plain

    def create_new(self, session: Session, key: str) -> ProviderRef:
        raise NotImplementedError

    def find_session(self, key: str) -> ProviderRef | None:
        return None

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        raise NotImplementedError

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        raise NotImplementedError

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        raise NotImplementedError


def test_client_credentials_auth_needs_oauth_client_settings() -> None:
    with pytest.raises(ConfigurationError, match="OAuthClientSettings"):
        _PlainAdapter(_Plain()).client_credentials_auth()


def test_client_credentials_auth_sends_its_token_request_through_a_kept_token_transport() -> None:
    simulator = AcmeLmsSimulator("app", "s3cret")
    with SandboxServer(simulator) as server:
        adapter = AcmeLmsAdapter.from_config({"base_url": server.url, "client_id": "app", "client_secret": "s3cret"})
        assert adapter.find_session("nothing") is None
        token = adapter.transports()["token"]
        assert token.base_url == f"{server.url}/oauth/token"
        assert token.counter.total == 1 and adapter.transport.counter.total == 1
        assert "s3cret" in adapter.secrets()


# -- simulator side ----------------------------------------------------------------------------------------------


class _Notes(BearerSimulator):
    """A bearer API of one endpoint, with the toolkit's default error body."""

    def __init__(self) -> None:
        super().__init__({"app": "s3cret"}, mint=lambda n: f"tok-{n}")
        self.pages = PageCodec("n_", refuse=lambda message: Refusal(400, message, "bad_page"))

    @route("GET", "/notes")
    def notes(self, request: SandboxRequest) -> SandboxResponse:
        page, following = self.pages.serve(request, list(range(5)), default_size=3, max_size=4)
        return SandboxResponse(200, {"data": page, "next": following})


def _token(session: requests.Session, url: str, secret: str = "s3cret") -> requests.Response:
    return session.post(f"{url}/oauth/token", data={"grant_type": "client_credentials", "client_id": "app",
                                                     "client_secret": secret})


def test_bearer_simulator_serves_tokens_checks_them_and_gives_the_admins_controls() -> None:
    simulator = _Notes()
    with SandboxServer(simulator) as server, requests.Session() as http:
        refused = http.get(f"{server.url}/notes")
        assert refused.status_code == 401
        assert refused.json() == {"error": {"code": "invalid_token",
                                            "message": "the access token is invalid or has expired"}}
        token = _token(http, server.url).json()["access_token"]
        assert token == "tok-1"
        headers = {"Authorization": f"Bearer {token}"}
        assert http.get(f"{server.url}/notes", headers=headers).json() == {"data": [0, 1, 2], "next": "n_eyJvIjogM30"}
        simulator.revoke_tokens()
        assert http.get(f"{server.url}/notes", headers=headers).status_code == 401
        fresh = {"Authorization": f"Bearer {_token(http, server.url).json()['access_token']}"}
        assert http.get(f"{server.url}/notes", headers=fresh).status_code == 200
        simulator.expire_tokens()
        assert http.get(f"{server.url}/notes", headers=fresh).status_code == 401
        simulator.rotate_client_secret("new")
        assert _token(http, server.url).json()["error"] == "invalid_client"
        assert _token(http, server.url, "new").status_code == 200


def _query(**values: str) -> SandboxRequest:
    return SandboxRequest("GET", "/notes", {name: [value] for name, value in values.items()}, {})


def test_page_serving_checks_the_size_and_the_token() -> None:
    codec = PageCodec("p_")
    items = list(range(5))
    assert codec.serve(_query(), items, default_size=2, max_size=3) == ([0, 1], codec.encode(2))
    assert codec.serve(_query(page_size="3", page_token=codec.encode(3)), items, default_size=2, max_size=3) == (
        [3, 4], None
    )
    assert codec.serve(_query(limit="1", cursor=codec.encode(4)), items, default_size=2, max_size=3,
                       size_param="limit", token_param="cursor") == ([4], None)
    with pytest.raises(PageRequestError, match="page_size must be between 1 and 3"):
        codec.serve(_query(page_size="4"), items, default_size=2, max_size=3)
    with pytest.raises(PageRequestError, match="page_size must be an integer"):
        codec.serve(_query(page_size="many"), items, default_size=2, max_size=3)
    with pytest.raises(PageTokenError):
        codec.serve(_query(page_token="p_forged"), items, default_size=2, max_size=3)


def test_page_serving_raises_the_providers_refusal_when_the_codec_has_one() -> None:
    simulator = _Notes()
    token = simulator.tokens.client_credentials("app", "s3cret").value
    request = SandboxRequest("GET", "/notes", {"page_size": ["9"]}, {"authorization": f"Bearer {token}"})
    answer = simulator.handle(request)
    assert (answer.status, answer.body) == (400, {"error": {"code": "bad_page", "message": "page_size must be between 1 and 4"}})


def test_the_default_error_body_carries_the_refusals_details() -> None:
    class Bare(RoutedSimulator):
        @route("GET", "/x")
        def x(self, request: SandboxRequest) -> SandboxResponse:
            raise Refusal(409, "taken", "conflict", target="x", headers={"Retry-After": "3"})

    answer = Bare().handle(SandboxRequest("GET", "/x", {}, {}))
    assert (answer.status, answer.body) == (409, {"error": {"code": "conflict", "message": "taken", "target": "x"}})
    assert answer.headers["Retry-After"] == "3"


# -- harness defaults --------------------------------------------------------------------------------------------


def test_the_harness_finds_the_secrets_in_the_adapters_settings() -> None:
    assert AcmeLmsHarness().secret_values() == [PLACEHOLDER_CLIENT_SECRET]


class _PlainHarness(ContractHarness[_PlainAdapter, RoutedSimulator]):
    adapter_class = _PlainAdapter
    adapter_name: ClassVar[str] = "plain"
    canonical_base_url: ClassVar[str] = BASE

    def make_simulator(self) -> RoutedSimulator:
        return RoutedSimulator()


def test_auth_hooks_default_to_the_bearer_simulators_controls_and_do_nothing_on_replay() -> None:
    harness = AcmeLmsHarness()
    simulator = harness.make_simulator()
    with SandboxServer(simulator) as server:
        adapter = harness.build_adapter(server.url, sleep=lambda s: None)
        adapter.find_session("nothing")
        harness.expire_auth(adapter, server)
        assert simulator.tokens.tokens == {}
        adapter.find_session("nothing")  # a 401, then a fresh token
        harness.break_auth(adapter, server)
        with pytest.raises(AuthError):
            adapter.find_session("nothing")
    harness.expire_auth(adapter, None)  # replay: the cassette holds the answer
    harness.break_auth(adapter, None)


def test_harness_hooks_without_a_default_say_so() -> None:
    harness = _PlainHarness()
    adapter = _PlainAdapter(_Plain())
    assert harness.secret_values() == []
    assert harness.simulator_class() is RoutedSimulator and AcmeLmsHarness().simulator_class() is AcmeLmsSimulator
    with SandboxServer(harness.make_simulator()) as server:
        with pytest.raises(NotImplementedError, match="expire_auth"):
            harness.expire_auth(adapter, server)
        with pytest.raises(NotImplementedError, match="break_auth"):
            harness.break_auth(adapter, server)
    with pytest.raises(NotImplementedError, match="expire_auth"):
        harness.expire_auth(adapter, None)  # on replay too: the case could never have been recorded
    with pytest.raises(NotImplementedError, match="provoke_conflict"):
        harness.provoke_conflict(adapter, None)  # no native idempotency: no default


def test_the_default_conflict_reuses_a_key_for_another_session_on_a_natively_idempotent_adapter() -> None:
    harness = AcmeLmsHarness()
    simulator = harness.make_simulator()
    with SandboxServer(simulator) as server:
        adapter = harness.build_adapter(server.url, sleep=lambda s: None)
        with pytest.raises(Conflict) as raised:
            harness.provoke_conflict(adapter, server)
    assert raised.value.code == "idempotency_key_reused"
    assert [s.fields["title"] for s in simulator.sessions.values()] == ["Contract conflict"]
    assert datetime.fromisoformat(next(iter(simulator.sessions.values())).fields["starts_at"]) == datetime(
        2027, 5, 3, 8, 0, tzinfo=UTC
    )
