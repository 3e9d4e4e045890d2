"""The Zoom simulator answers with Zoom's statuses, codes and headers (raw HTTP, no adapter)."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from lms_connectors.errors import QuotaExceeded, RateLimited
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors.testing.simclock import SimClock
from lms_connectors_zoom.classify import ZoomClassifier
from lms_connectors_zoom.sandbox import ZoomSimulator

NOW = datetime(2027, 1, 4, 23, 0, tzinfo=UTC)
BASIC = "Basic " + base64.b64encode(b"sim-client-id:sim-client-secret").decode()


@pytest.fixture
def sim() -> ZoomSimulator:
    return ZoomSimulator(clock=SimClock(NOW), daily_meeting_limit=2)


@pytest.fixture
def url(sim: ZoomSimulator):
    with SandboxServer(sim) as server:
        yield server.url


def token(url: str) -> dict[str, str]:
    answer = requests.post(f"{url}/oauth/token", params={"grant_type": "account_credentials",
                                                         "account_id": "sim-account"},
                           headers={"Authorization": BASIC}, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["expires_in"] == 3600
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


MEETING = {"topic": "T", "type": 2, "start_time": "2027-02-10T14:00:00Z", "duration": 60,
           "timezone": "America/New_York", "settings": {"approval_type": 1}}


def test_token_endpoint_refusals(url: str) -> None:
    wrong = requests.post(f"{url}/oauth/token", params={"grant_type": "account_credentials",
                                                        "account_id": "sim-account"},
                          headers={"Authorization": "Basic eDp5"}, timeout=5)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    no_grant = requests.post(f"{url}/oauth/token", params={"account_id": "sim-account"},
                             headers={"Authorization": BASIC}, timeout=5)
    assert no_grant.json()["error"] == "unsupported_grant_type"


def test_expired_and_unknown_tokens_are_401_code_124(url: str, sim: ZoomSimulator) -> None:
    headers = token(url)
    assert requests.get(f"{url}/v2/users/me/meetings", headers=headers, timeout=5).status_code == 200
    sim.expire_tokens()
    expired = requests.get(f"{url}/users/me/meetings", headers=headers, timeout=5)
    assert (expired.status_code, expired.json()) == (401, {"code": 124, "message": "Access token is expired."})
    unknown = requests.get(f"{url}/users/me/meetings", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert unknown.json()["code"] == 124


def test_a_new_token_revokes_the_previous_one(url: str) -> None:
    first = token(url)
    token(url)
    assert requests.get(f"{url}/users/me/meetings", headers=first, timeout=5).status_code == 401


def test_meeting_lifecycle_and_errors(url: str) -> None:
    headers = token(url)
    created = requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5)
    assert created.status_code == 201
    meeting = created.json()
    assert meeting["id"] > 2**32 and meeting["start_time"] == "2027-02-10T14:00:00Z"
    assert "registration_url" in meeting
    wall = requests.post(f"{url}/users/me/meetings", headers=headers, timeout=5,
                         json={**MEETING, "start_time": "2027-02-10T09:00:00"})
    assert wall.json()["start_time"] == "2027-02-10T14:00:00Z"  # wall time read in the given timezone
    patched = requests.patch(f"{url}/meetings/{meeting['id']}", json={"duration": 30}, headers=headers, timeout=5)
    assert patched.status_code == 429  # the third create/update of the day with a limit of 2
    assert requests.delete(f"{url}/meetings/{meeting['id']}", headers=headers, timeout=5).status_code == 204
    gone = requests.get(f"{url}/meetings/{meeting['id']}", headers=headers, timeout=5)
    assert (gone.status_code, gone.json()["code"]) == (404, 3001)
    user = requests.get(f"{url}/users/nobody@example.com/meetings", headers=headers, timeout=5)
    assert (user.status_code, user.json()["code"]) == (404, 1001)
    bad = requests.post(f"{url}/users/me/meetings", json={**MEETING, "duration": "long"}, headers=headers, timeout=5)
    assert (bad.status_code, bad.json()["code"]) == (400, 300)


def test_daily_limit_answer_as_documented(url: str, sim: ZoomSimulator) -> None:
    sim.daily_limit_headers = "documented"
    headers = token(url)
    for _ in range(2):
        ok = requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5)
        assert ok.headers["X-RateLimit-Type"] == "Daily-limit"
    assert ok.headers["X-RateLimit-Remaining"] == "0"
    refused = requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5)
    assert refused.status_code == 429
    assert "daily rate limit (2)" in refused.json()["message"]
    assert refused.headers["Retry-After"] == "2027-01-05T00:00:00Z"


def test_daily_limit_answer_as_reported_has_no_type_and_no_retry_after(url: str, sim: ZoomSimulator) -> None:
    """Zoom's forum (thread 18928) shows the daily-limit 429 without X-RateLimit-Type and Retry-After (the default)."""
    assert sim.daily_limit_headers == "reported"
    headers = token(url)
    for _ in range(2):
        assert requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5).status_code == 201
    refused = requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5)
    assert refused.status_code == 429
    assert refused.json() == {
        "code": 429,
        "message": "You have exceeded the daily rate limit (2) of Meeting Create/Update API requests permitted for "
        "this particular user. You may resume these requests at GMT 00:00:00.",
    }
    assert "Retry-After" not in refused.headers and "X-RateLimit-Type" not in refused.headers
    error = ZoomClassifier(now=lambda: NOW)(refused)
    assert isinstance(error, QuotaExceeded) and error.resets_at == datetime(2027, 1, 5, tzinfo=UTC)


def test_repeated_registration_of_one_email_answers_3000_after_three(url: str, sim: ZoomSimulator) -> None:
    headers = token(url)
    mid = requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5).json()["id"]
    ana = {"email": "Ana@example.com", "first_name": "Ana", "auto_approve": True}
    answers = [requests.post(f"{url}/meetings/{mid}/registrants", json=ana, headers=headers, timeout=5)
               for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 400]
    assert len({a.json()["registrant_id"] for a in answers[:3]}) == 1, "repeats answer the same registration"
    assert answers[3].json() == {
        "code": 3000,
        "message": "You have reached the limit for the number of attendees you can add. Contact Zoom Support for "
        "more information.",
    }
    # A batch holding that email is refused whole, before anyone in it is added.
    batch = requests.post(f"{url}/meetings/{mid}/batch_registrants", headers=headers, timeout=5,
                          json={"registrants": [{"email": "new@example.com", "first_name": "N"},
                                                {"email": "ana@example.com", "first_name": "Ana"}]})
    assert (batch.status_code, batch.json()["code"]) == (400, 3000)
    assert [r["email"] for r in sim.registrants(mid)] == ["ana@example.com"]


def test_list_meetings_takes_the_current_types(url: str, sim: ZoomSimulator) -> None:
    sim.daily_meeting_limit = 10
    headers = token(url)
    past = requests.post(f"{url}/users/me/meetings", headers=headers, timeout=5,
                         json={**MEETING, "start_time": "2027-01-02T14:00:00Z"}).json()["id"]
    future = requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5).json()["id"]

    def listed(kind: str) -> list[int]:
        answer = requests.get(f"{url}/users/me/meetings", params={"type": kind}, headers=headers, timeout=5)
        assert answer.status_code == 200, answer.text
        return [m["id"] for m in answer.json()["meetings"]]

    assert listed("scheduled") == [past, future]
    assert listed("upcoming") == listed("upcoming_meetings") == [future]
    assert listed("previous_meetings") == [past]
    assert listed("live") == []
    wrong = requests.get(f"{url}/users/me/meetings", params={"type": "someday"}, headers=headers, timeout=5)
    assert (wrong.status_code, wrong.json()["code"]) == (400, 300)


def test_registrant_flow(url: str, sim: ZoomSimulator) -> None:
    headers = token(url)
    mid = requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5).json()["id"]
    pending = requests.post(f"{url}/meetings/{mid}/registrants", headers=headers, timeout=5,
                            json={"email": "a@example.com", "first_name": "A", "last_name": "B"})
    assert pending.status_code == 201 and "join_url" not in pending.json()
    approved = requests.post(f"{url}/meetings/{mid}/registrants", headers=headers, timeout=5,
                             json={"email": "b@example.com", "first_name": "B", "last_name": "C", "auto_approve": True})
    assert approved.json()["join_url"]
    too_many = requests.put(f"{url}/meetings/{mid}/registrants/status", headers=headers, timeout=5,
                            json={"action": "approve", "registrants": [{"id": str(n)} for n in range(31)]})
    assert (too_many.status_code, too_many.json()["code"]) == (400, 300)
    host = requests.post(f"{url}/meetings/{mid}/registrants", headers=headers, timeout=5,
                         json={"email": "host@example.com", "first_name": "H", "last_name": "H"})
    assert host.json()["code"] == 3027
    listed = requests.get(f"{url}/meetings/{mid}/registrants", params={"status": "pending"}, headers=headers,
                          timeout=5).json()
    assert [r["email"] for r in listed["registrants"]] == ["a@example.com"]


def test_batch_registration(url: str, sim: ZoomSimulator) -> None:
    headers = token(url)
    mid = requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5).json()["id"]
    batch = f"{url}/meetings/{mid}/batch_registrants"
    people = [{"email": f"p{n}@example.com", "first_name": f"P{n}"} for n in range(3)]
    seated = requests.post(batch, headers=headers, timeout=5, json={"auto_approve": True, "registrants": people[:2]})
    assert seated.status_code == 201
    answered = seated.json()["registrants"]
    assert [r["email"] for r in answered] == ["p0@example.com", "p1@example.com"]
    assert all(r["registrant_id"] and r["join_url"] for r in answered)
    waiting = requests.post(batch, headers=headers, timeout=5, json={"auto_approve": False, "registrants": people})
    # p0 and p1 are answered with their registrations; p2 waits for approval and so has no join link yet
    assert [r["registrant_id"] for r in waiting.json()["registrants"][:2]] == [r["registrant_id"] for r in answered]
    assert "join_url" not in waiting.json()["registrants"][2]
    assert len(sim.registrants(mid)) == 3
    too_many = requests.post(batch, headers=headers, timeout=5,
                             json={"registrants": [{"email": f"x{n}@example.com", "first_name": "X"} for n in range(31)]})
    assert (too_many.status_code, too_many.json()["code"]) == (400, 300)
    with_host = requests.post(batch, headers=headers, timeout=5,
                              json={"registrants": [{"email": "new@example.com", "first_name": "N"},
                                                    {"email": "host@example.com", "first_name": "H"}]})
    assert with_host.json()["code"] == 3027
    assert len(sim.registrants(mid)) == 3  # checked before anyone is added
    recurring = requests.post(f"{url}/users/me/meetings", json={**MEETING, "type": 3}, headers=headers,
                              timeout=5).json()["id"]
    refused = requests.post(f"{url}/meetings/{recurring}/batch_registrants", headers=headers, timeout=5,
                            json={"registrants": people[:1]})
    assert refused.status_code == 400


def test_concurrent_creates_get_distinct_ids(url: str, sim: ZoomSimulator) -> None:
    sim.daily_meeting_limit = 100
    headers = token(url)

    def create(_: int) -> int:
        return int(requests.post(f"{url}/users/me/meetings", json=MEETING, headers=headers, timeout=5).json()["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(24)))
    assert len(set(ids)) == 24 == sim.meeting_count()


def test_configured_qps_limit_answers_zoom_429_until_the_second_ends(url: str, sim: ZoomSimulator) -> None:
    headers = token(url)
    sim.throttle(calls=2, seconds=1, method="GET")
    answers = [requests.get(f"{url}/v2/users/me/meetings", headers=headers, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert refused.json()["code"] == 429 and "per-second rate limit" in refused.json()["message"]
    assert refused.headers["X-RateLimit-Type"] == "QPS"
    assert "Retry-After" not in refused.headers  # Zoom documents none for per-second limits
    error = ZoomClassifier(now=lambda: NOW)(refused)
    assert isinstance(error, RateLimited) and error.retry_after is None
    sim.clock.advance(1)
    assert requests.get(f"{url}/v2/users/me/meetings", headers=headers, timeout=5).status_code == 200
