"""The simulator toolkit: routes, refusals, token endpoint, page tokens, clock and call limits."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from lms_connectors.errors import AuthError, QuotaExceeded, RateLimited
from lms_connectors.http import HttpTransport, RetryPolicy
from lms_connectors.http.auth import StaticTokenAuth
from lms_connectors.http.classify import ErrorRule, RuleClassifier
from lms_connectors.testing.limits import LimitState
from lms_connectors.testing.paging import PageCodec, PageTokenError
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator, route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, SandboxServer
from lms_connectors.testing.simclock import SimClock
from lms_connectors.testing.tokens import GrantRefused, TokenEndpoint

START = datetime(2027, 3, 1, 23, 59, 0, tzinfo=UTC)


def request(method: str, path: str, *, token: str | None = None, form: dict[str, str] | None = None) -> SandboxRequest:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = "&".join(f"{k}={v}" for k, v in (form or {}).items()).encode()
    return SandboxRequest(method, path, {}, headers, body)


class ShopSimulator(RoutedSimulator):
    """A tiny provider: items by id, one token endpoint, errors as ``{"fault": {...}}``."""

    path_prefixes = ("/v9",)

    def __init__(self, clock: SimClock | None = None) -> None:
        super().__init__(clock)
        self.tokens = TokenEndpoint(self.clock, clients={"app": "s3cret"}, refresh_tokens={"rt-1": "app"}, lifetime=60)
        self.items = {7: "seven"}

    def error_response(self, refusal: Refusal) -> SandboxResponse:
        return SandboxResponse(refusal.status, {"fault": {"code": refusal.code, "text": refusal.message, **refusal.details}})

    def authenticate(self, request: SandboxRequest) -> None:
        if self.tokens.bearer(request) is None:
            raise Refusal(401, "bad token", "auth", headers={"WWW-Authenticate": "Bearer"})

    def quota_exhausted(self, state: LimitState) -> Refusal:
        return Refusal(403, "daily quota used up", "quota", resets=state.resets_at.isoformat())

    @route("POST", "/token", auth=False)
    def token(self, request: SandboxRequest) -> SandboxResponse:
        return self.tokens.serve(request, principal="ann@example.com")

    @route("GET", "/items/{item:int}")
    def get_item(self, request: SandboxRequest, item: int) -> SandboxResponse:
        if item not in self.items:
            raise Refusal(404, f"no item {item}", "missing", hint="list the items first")
        return SandboxResponse(200, {"id": item, "name": self.items[item]})

    @route("GET", "/items/{item:int}/tags/{tag}")
    def get_tag(self, request: SandboxRequest, item: int, tag: str) -> SandboxResponse:
        return SandboxResponse(200, {"item": item, "tag": tag, "types": [type(item).__name__, type(tag).__name__]})


@pytest.fixture
def shop() -> ShopSimulator:
    return ShopSimulator(SimClock(START))


def bearer(shop: ShopSimulator) -> str:
    return shop.tokens.client_credentials("app", "s3cret").value


# -- routing and refusals --------------------------------------------------------------------------------------


def test_routes_are_declared_once_with_typed_parameters(shop: ShopSimulator) -> None:
    assert [(r.method, r.pattern, r.auth) for r in ShopSimulator.routes] == [
        ("POST", "/token", False), ("GET", "/items/{item:int}", True), ("GET", "/items/{item:int}/tags/{tag}", True)
    ]
    answer = shop.handle(request("GET", "/v9/items/7/tags/red", token=bearer(shop)))
    assert answer.body == {"item": 7, "tag": "red", "types": ["int", "str"]}


def test_refusal_becomes_the_providers_error_body_with_its_headers(shop: ShopSimulator) -> None:
    missing = shop.handle(request("GET", "/items/8", token=bearer(shop)))
    assert (missing.status, missing.body) == (404, {"fault": {"code": "missing", "text": "no item 8", "hint": "list the items first"}})
    unauthenticated = shop.handle(request("GET", "/items/7"))
    assert unauthenticated.status == 401 and unauthenticated.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/items/seven", "/items/7/extra", "/v8/items/7"])
def test_paths_no_route_takes_are_refused(shop: ShopSimulator, path: str) -> None:
    answer = shop.handle(request("GET", path, token=bearer(shop)))
    assert answer.status == 404 and isinstance(answer.body, dict) and answer.body["fault"]["code"] == "not_found"


def test_wrong_method_is_refused_before_authentication(shop: ShopSimulator) -> None:
    assert shop.handle(request("DELETE", "/items/7")).status == 404


# -- token endpoint --------------------------------------------------------------------------------------------


def test_client_credentials_and_refresh_grants(shop: ShopSimulator) -> None:
    answer = shop.handle(request("POST", "/token", form={"grant_type": "client_credentials", "client_id": "app", "client_secret": "s3cret"}))
    assert answer.status == 200 and isinstance(answer.body, dict)
    assert answer.body == {"access_token": answer.body["access_token"], "token_type": "Bearer", "expires_in": 60, "scope": ""}
    issued = shop.tokens.lookup(answer.body["access_token"])
    assert issued is not None and issued.delegated is False and issued.principal == "app"
    refreshed = shop.handle(request("POST", "/token", form={"grant_type": "refresh_token", "client_id": "app", "client_secret": "s3cret", "refresh_token": "rt-1"}))
    assert isinstance(refreshed.body, dict)
    user = shop.tokens.lookup(refreshed.body["access_token"])
    assert user is not None and user.principal == "ann@example.com" and user.delegated


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "app", "client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "refresh_token", "client_id": "app", "client_secret": "s3cret", "refresh_token": "rt-2"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_refused_grants_answer_oauth_errors(shop: ShopSimulator, form: dict[str, str], status: int, error: str) -> None:
    answer = shop.handle(request("POST", "/token", form=form))
    assert answer.status == status and isinstance(answer.body, dict) and answer.body["error"] == error
    assert answer.body["error_description"]


def test_token_lifecycle_expire_revoke_rotate(shop: ShopSimulator) -> None:
    token = bearer(shop)
    assert shop.handle(request("GET", "/items/7", token=token)).status == 200
    shop.clock.advance(61)  # past the 60 s lifetime
    assert shop.handle(request("GET", "/items/7", token=token)).status == 401
    assert shop.tokens.is_expired(token)
    fresh = bearer(shop)
    shop.tokens.expire()
    assert shop.tokens.lookup(fresh) is None
    shop.tokens.revoke("rt-1")
    with pytest.raises(GrantRefused, match="invalid_grant"):
        shop.tokens.refresh("app", "s3cret", "rt-1", principal="ann@example.com")
    live = bearer(shop)
    shop.tokens.rotate_secret("app", "n3w")
    assert shop.tokens.lookup(live) is None
    with pytest.raises(GrantRefused, match="invalid_client"):
        shop.tokens.client_credentials("app", "s3cret")
    assert shop.tokens.client_credentials("app", "n3w").value
    shop.tokens.revoke()
    assert shop.tokens.tokens == {}


def test_single_token_revokes_the_clients_earlier_tokens() -> None:
    endpoint = TokenEndpoint(SimClock(START), clients={"app": "s"}, single_token=True, mint=lambda n: f"t{n}")
    first = endpoint.client_credentials("app", "s")
    second = endpoint.client_credentials("app", "s")
    assert endpoint.lookup(first.value) is None and endpoint.lookup(second.value) is second
    assert (first.value, second.value, endpoint.issued) == ("t1", "t2", 2)


# -- page tokens -----------------------------------------------------------------------------------------------


def test_page_codec_round_trip_and_scope() -> None:
    codec = PageCodec("pt_")
    items = list(range(5))
    first, token = codec.page(items, codec.decode(None), 2, scope="list-a")
    assert first == [0, 1] and token is not None and token.startswith("pt_")
    second, token = codec.page(items, codec.decode(token, scope="list-a"), 2, scope="list-a")
    assert second == [2, 3]
    last, end = codec.page(items, codec.decode(token, scope="list-a"), 2, scope="list-a")
    assert (last, end) == ([4], None)
    with pytest.raises(PageTokenError, match="another listing"):
        codec.decode(codec.encode(2, "list-a"), scope="list-b")


def test_json_page_serves_the_common_page_the_core_reads() -> None:
    codec = PageCodec("pt_", refuse=lambda message: Refusal(422, message, "bad_page"))
    items = [{"id": n} for n in range(5)]
    first = codec.json_page(SandboxRequest("GET", "/things", {"page_size": ["2"]}, {}, b""), items,
                            default_size=3, max_size=4, scope="things")
    assert first.status == 200 and isinstance(first.body, dict)
    assert first.body["data"] == [{"id": 0}, {"id": 1}]
    token = first.body["next_page_token"]
    last = codec.json_page(SandboxRequest("GET", "/things", {"page_token": [token]}, {}, b""), items,
                           default_size=3, max_size=4, scope="things")
    assert last.body == {"data": [{"id": 2}, {"id": 3}, {"id": 4}], "next_page_token": None}
    with pytest.raises(Refusal, match="between 1 and 4"):
        codec.json_page(SandboxRequest("GET", "/things", {"page_size": ["9"]}, {}, b""), items,
                        default_size=3, max_size=4)


@pytest.mark.parametrize("token", ["nope", "pt_!!!", "pt_" + base64.urlsafe_b64encode(b'{"o": -1}').decode(), "pt_" + base64.urlsafe_b64encode(b"[1]").decode()])
def test_page_codec_refuses_tokens_it_did_not_issue(token: str) -> None:
    with pytest.raises(PageTokenError):
        PageCodec("pt_").decode(token)


# -- clock -----------------------------------------------------------------------------------------------------


def test_clock_frozen_advanced_or_wall() -> None:
    clock = SimClock(START)
    clock.advance(timedelta(minutes=2))
    assert clock.now() == START + timedelta(minutes=2)
    clock.freeze(START)
    assert clock.time() == START.timestamp()
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        SimClock(datetime(2027, 1, 1))
    wall = SimClock()
    before = datetime.now(UTC)
    wall.advance(3600)
    assert wall.now() >= before + timedelta(hours=1)


# -- throttling and quota modes --------------------------------------------------------------------------------


def test_throttle_answers_the_providers_429_after_n_calls_per_window(shop: ShopSimulator) -> None:
    token = bearer(shop)
    shop.throttle(calls=2, seconds=10, path=r"^/items")
    statuses = [shop.handle(request("GET", "/items/7", token=token)).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = shop.handle(request("GET", "/items/7", token=token))
    assert refused.body == {"fault": {"code": "rate_limited", "text": "Too many requests"}}
    assert refused.headers["Retry-After"] == "10"  # START is on a 10 s boundary
    shop.clock.advance(10)
    assert shop.handle(request("GET", "/items/7", token=token)).status == 200
    # The token endpoint is not counted.
    assert shop.handle(request("POST", "/token", form={"grant_type": "password"})).status == 400


def test_the_throttling_answer_is_what_a_throttle_limit_answers(shop: ShopSimulator) -> None:
    token = bearer(shop)
    shop.throttle(calls=1, seconds=1)
    shop.handle(request("GET", "/items/7", token=token))
    served = shop.handle(request("GET", "/items/7", token=token))
    answer = shop.throttling_answer()
    assert (answer.status, answer.body, answer.headers) == (served.status, served.body, served.headers)
    assert answer.headers == {"Retry-After": "1"}


def test_quota_window_is_a_utc_day_and_carries_the_providers_body(shop: ShopSimulator) -> None:
    token = bearer(shop)
    limit = shop.quota(calls=1, method="GET")
    assert shop.handle(request("GET", "/items/7", token=token)).status == 200
    refused = shop.handle(request("GET", "/items/7", token=token))
    assert refused.status == 403
    assert refused.body == {"fault": {"code": "quota", "text": "daily quota used up", "resets": "2027-03-02T00:00:00+00:00"}}
    assert limit.state().remaining == 0
    shop.clock.advance(60)  # 00:00 UTC: a new day
    assert shop.handle(request("GET", "/items/7", token=shop.tokens.client_credentials("app", "s3cret").value)).status == 200


def test_a_limit_can_answer_another_of_the_providers_refusals(shop: ShopSimulator) -> None:
    token = bearer(shop)
    shop.throttle(calls=0, seconds=60, refuse=lambda state: Refusal(403, "user rate limit", "userRate"))
    refused = shop.handle(request("GET", "/items/7", token=token))
    assert (refused.status, refused.body) == (403, {"fault": {"code": "userRate", "text": "user rate limit"}})


def test_failure_rate_fails_a_seeded_share_of_the_matching_calls(shop: ShopSimulator) -> None:
    token = bearer(shop)
    failing = shop.failures(0.3, seed=11, path=r"^/items/7$")
    statuses = [shop.handle(request("GET", "/items/7", token=token)).status for _ in range(200)]
    assert 40 <= statuses.count(503) <= 80 and statuses.count(503) == failing.failed
    assert set(statuses) == {200, 503}
    again = ShopSimulator(SimClock(START))
    again.failures(0.3, seed=11, path=r"^/items/7$")
    repeated = [again.handle(request("GET", "/items/7", token=again.tokens.client_credentials("app", "s3cret").value)).status
                for _ in range(200)]
    assert repeated == statuses  # the same seed fails the same calls
    assert shop.handle(request("GET", "/items/7/tags/x", token=token)).status == 200  # another path never fails
    assert shop.handle(request("GET", "/items/7", token="wrong")).status == 401  # refused before any draw
    shop.failure_rates.clear()
    always = shop.failures(1.0, refuse=lambda: Refusal(500, "Backend Error", "backendError"))
    assert shop.handle(request("GET", "/items/7", token=token)).body == {"fault": {"code": "backendError", "text": "Backend Error"}}
    assert always.failed == 1
    with pytest.raises(ValueError, match="share"):
        shop.failures(1.5)


def test_limits_count_per_key() -> None:
    clock = SimClock(START)
    limit = shop_limit = ShopSimulator(clock).quota(calls=1)
    assert limit is shop_limit
    limit.take("host-a")
    limit.take("host-b")
    with pytest.raises(Refusal):
        limit.take("host-a")


# -- served: the SDK transport reads the simulator's own refusals -------------------------------------------------


def test_served_limits_are_classified_by_the_transport() -> None:
    shop = ShopSimulator(SimClock(START))
    token = shop.tokens.client_credentials("app", "s3cret").value
    shop.throttle(calls=1, seconds=3600)
    classifier = RuleClassifier([ErrorRule(QuotaExceeded, "the shop's daily quota", status={403}, codes={"quota"})],
                                read_body=read_fault)
    sleeps: list[float] = []
    with SandboxServer(shop) as server:
        transport = HttpTransport(provider="shop", base_url=server.url, auth=StaticTokenAuth(token), classifier=classifier,
                                  retry=RetryPolicy(max_attempts=2, jitter=False, total_timeout=600, max_retry_after=600), sleep=sleeps.append)
        assert transport.request_json("GET", "items/7")["name"] == "seven"
        with pytest.raises(RateLimited) as throttled:
            transport.request_json("GET", "items/7")
        assert throttled.value.retry_after == 60.0  # the hour-long window started at 23:00 and ends at midnight
        assert len(sleeps) == 1  # waited once, then the second attempt was refused again
        shop.limits.clear()
        shop.quota(calls=0)
        with pytest.raises(QuotaExceeded) as quota:
            transport.request_json("GET", "items/7")
        assert quota.value.code == "quota"
        shop.limits.clear()
        shop.tokens.expire()
        with pytest.raises(AuthError):
            transport.request_json("GET", "items/7")
        assert requests.get(f"{server.url}/v9/items/7", headers={"Authorization": "Bearer x"}, timeout=5).status_code == 401


def read_fault(payload: Any) -> Any:
    from lms_connectors.http.classify import ErrorBody

    fault = payload.get("fault") if isinstance(payload, dict) else None
    return ErrorBody((fault["code"],), str(fault["text"])) if isinstance(fault, dict) else None
