"""The simulator answers like Google: raw HTTP against it, no adapter in between."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_google_calendar.sandbox import GoogleCalendarSimulator

from .conftest import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, make_simulator
from .discovery_schema import CALENDAR, Discovery

START = {"dateTime": "2026-03-10T09:00:00-04:00", "timeZone": "America/New_York"}
END = {"dateTime": "2026-03-10T10:00:00-04:00", "timeZone": "America/New_York"}


class Client:
    def __init__(self, server: SandboxServer) -> None:
        self.url = server.url
        self.http = requests.Session()
        token = self.http.post(
            f"{self.url}/token",
            data={"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                  "refresh_token": REFRESH_TOKEN},
            timeout=5,
        ).json()
        self.http.headers["Authorization"] = f"Bearer {token['access_token']}"

    def call(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return self.http.request(method, f"{self.url}/calendar/v3{path}", timeout=5, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def raw() -> Iterator[tuple[Client, GoogleCalendarSimulator]]:
    simulator = make_simulator()
    with SandboxServer(simulator) as server:
        client = Client(server)
        yield client, simulator
        client.http.close()


def error_of(response: requests.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    assert set(error) == {"code", "message", "errors", "status"}
    assert error["code"] == response.status_code
    return response.status_code, error["errors"][0]["reason"], error["message"]


def insert(client: Client, **body: object) -> requests.Response:
    return client.call("POST", "/calendars/primary/events", json={"start": START, "end": END, **body})


def test_client_id_rules(raw) -> None:
    client, _ = raw
    assert error_of(insert(client, id="abc")) == (400, "invalid", "Invalid resource id value.")
    assert error_of(insert(client, id="ABCDEFG")) == (400, "invalid", "Invalid resource id value.")
    assert insert(client, id="abcdefg").status_code == 200
    assert error_of(insert(client, id="abcdefg")) == (409, "duplicate", "The requested identifier already exists.")


def test_deleted_event_keeps_its_id(raw) -> None:
    client, _ = raw
    insert(client, id="deleted1")
    assert client.call("DELETE", "/calendars/primary/events/deleted1").status_code == 204
    got = client.call("GET", "/calendars/primary/events/deleted1")
    assert got.status_code == 200 and got.json()["status"] == "cancelled"
    assert error_of(client.call("DELETE", "/calendars/primary/events/deleted1"))[:2] == (410, "deleted")
    assert error_of(insert(client, id="deleted1"))[0] == 409
    listed = client.call("GET", "/calendars/primary/events").json()["items"]
    assert listed == []
    shown = client.call("GET", "/calendars/primary/events", params={"showDeleted": "true"}).json()["items"]
    assert [e["id"] for e in shown] == ["deleted1"]


def test_missing_event_is_404_in_google_shape(raw) -> None:
    client, _ = raw
    assert error_of(client.call("GET", "/calendars/primary/events/nothere1")) == (404, "notFound", "Not Found")


def test_time_validation(raw) -> None:
    client, _ = raw
    no_end = client.call("POST", "/calendars/primary/events", json={"start": START})
    assert error_of(no_end) == (400, "required", "Missing end time.")
    backwards = client.call("POST", "/calendars/primary/events", json={"start": END, "end": START})
    assert error_of(backwards) == (400, "timeRangeEmpty", "The specified time range is empty.")
    naive = client.call("POST", "/calendars/primary/events",
                        json={"start": {"dateTime": "2026-03-10T09:00:00"}, "end": END})
    assert error_of(naive)[2] == "Missing time zone definition for start time."


def test_meet_only_with_conference_data_version_1(raw) -> None:
    client, _ = raw
    conference = {"createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    ignored = insert(client, id="noconf1", conferenceData=conference).json()
    assert "hangoutLink" not in ignored and "conferenceData" not in ignored
    made = client.call("POST", "/calendars/primary/events", params={"conferenceDataVersion": "1"},
                       json={"id": "conf1", "start": START, "end": END, "conferenceData": conference}).json()
    assert made["hangoutLink"].startswith("https://meet.google.com/")
    code = made["hangoutLink"].rsplit("/", 1)[1]
    assert [len(part) for part in code.split("-")] == [3, 4, 3]
    assert made["conferenceData"]["entryPoints"][0] == {
        "entryPointType": "video", "uri": made["hangoutLink"], "label": f"meet.google.com/{code}"}
    wrong = {"createRequest": {"requestId": "req-2", "conferenceSolutionKey": {"type": "eventNamedHangout"}}}
    refused = client.call("POST", "/calendars/primary/events", params={"conferenceDataVersion": "1"},
                          json={"start": START, "end": END, "conferenceData": wrong})
    assert error_of(refused) == (400, "invalid", "Invalid conference type value.")


def test_patch_if_match_and_etags(raw) -> None:
    client, _ = raw
    created = insert(client, id="patch1").json()
    stale = created["etag"]
    moved = client.call("PATCH", "/calendars/primary/events/patch1", headers={"If-Match": stale},
                        json={"start": {"dateTime": "2026-03-11T09:00:00-04:00"},
                              "end": {"dateTime": "2026-03-11T10:00:00-04:00"}}).json()
    assert moved["etag"] != stale and moved["sequence"] == 1
    assert moved["start"] == {"dateTime": "2026-03-11T09:00:00-04:00", "timeZone": "America/New_York"}  # merged
    again = client.call("PATCH", "/calendars/primary/events/patch1", headers={"If-Match": stale}, json={"summary": "x"})
    assert error_of(again) == (412, "conditionNotMet", "Precondition Failed")
    assert again.json()["error"]["errors"][0] | {} == {
        "domain": "global", "reason": "conditionNotMet", "message": "Precondition Failed",
        "locationType": "header", "location": "If-Match"}


# -- what the issue of simulator fidelity asked for, each against Google's documents ----------------------------

DISCOVERY = Discovery(CALENDAR)


def test_delete_honours_if_match(raw) -> None:
    """"If you want to update or delete a resource only if it has not changed ... If-Match" (version-resources)."""
    client, simulator = raw
    created = insert(client, id="delmatch1").json()
    client.call("PATCH", "/calendars/primary/events/delmatch1", json={"summary": "changed by someone"})
    stale = client.call("DELETE", "/calendars/primary/events/delmatch1", headers={"If-Match": created["etag"]})
    assert error_of(stale) == (412, "conditionNotMet", "Precondition Failed")
    assert simulator.events()[0]["status"] == "confirmed", "a refused delete deletes nothing"
    current = client.call("GET", "/calendars/primary/events/delmatch1").json()["etag"]
    assert client.call("DELETE", "/calendars/primary/events/delmatch1", headers={"If-Match": current}).status_code == 204
    # Deleted already: 410 whatever the etag, so a delete retried after a lost answer reads as done.
    again = client.call("DELETE", "/calendars/primary/events/delmatch1", headers={"If-Match": current})
    assert error_of(again)[:2] == (410, "deleted")
    insert(client, id="delmatch2")
    assert client.call("DELETE", "/calendars/primary/events/delmatch2", headers={"If-Match": "*"}).status_code == 204


def test_cancelled_event_keeps_its_details_and_is_restored_by_status_confirmed(raw) -> None:
    """Event.status: "On the organizer's calendar, cancelled events continue to expose event details ... so that
    they can be restored (undeleted)" (discovery document)."""
    client, _ = raw
    insert(client, id="restore1", summary="Forklift safety", location="Room 3",
           attendees=[{"email": "ana@example.org"}])
    client.call("DELETE", "/calendars/primary/events/restore1")
    cancelled = client.call("GET", "/calendars/primary/events/restore1").json()
    assert (cancelled["status"], cancelled["summary"], cancelled["location"]) == ("cancelled", "Forklift safety", "Room 3")
    DISCOVERY.validate_response("calendar.events.get", cancelled)
    edited = client.call("PATCH", "/calendars/primary/events/restore1", json={"description": "kept for the record"})
    assert edited.status_code == 200, "a write to a cancelled event is no longer refused"
    assert edited.json()["status"] == "cancelled", "it stays cancelled unless the patch restores it"
    restored = client.call("PATCH", "/calendars/primary/events/restore1", headers={"If-Match": edited.json()["etag"]},
                           json={"status": "confirmed"})
    assert restored.status_code == 200
    body = restored.json()
    assert (body["status"], body["summary"], body["description"]) == ("confirmed", "Forklift safety", "kept for the record")
    assert [a["email"] for a in body["attendees"]] == ["ana@example.org"]
    DISCOVERY.validate_response("calendar.events.patch", body)
    listed = client.call("GET", "/calendars/primary/events").json()["items"]
    assert [e["id"] for e in listed] == ["restore1"]


def test_pages_may_be_short_or_empty_and_still_carry_a_token(raw) -> None:
    """maxResults: "may be less than this value, or none at all, even if there are more events matching the
    query. Incomplete pages can be detected by a non-empty nextPageToken" (discovery document)."""
    client, simulator = raw
    simulator.page_scan = 2
    ours = {"private": {"lmsc_managed": "1"}}
    for day, marked in [(10, True), (11, False), (12, False), (13, False), (14, True), (15, True), (16, False)]:
        body = {"start": {"dateTime": f"2026-03-{day}T09:00:00Z"}, "end": {"dateTime": f"2026-03-{day}T10:00:00Z"},
                "summary": f"day {day}"}
        insert(client, **(body | ({"extendedProperties": ours} if marked else {})))
    params = {"maxResults": "5", "singleEvents": "true", "orderBy": "startTime",
              "privateExtendedProperty": "lmsc_managed=1"}
    pages, token = [], None
    while True:
        page = client.call("GET", "/calendars/primary/events",
                           params={**params, **({"pageToken": token} if token else {})}).json()
        DISCOVERY.validate_response("calendar.events.list", page)
        pages.append([e["summary"] for e in page["items"]])
        token = page.get("nextPageToken")
        if not token:
            assert "nextSyncToken" in page
            break
    assert pages == [["day 10"], [], ["day 14", "day 15"], []]  # short, empty, full enough, empty last
    simulator.page_scan = None
    full = client.call("GET", "/calendars/primary/events", params=params).json()
    assert [e["summary"] for e in full["items"]] == ["day 10", "day 14", "day 15"] and "nextPageToken" not in full


@pytest.mark.parametrize(
    ("configure", "status", "reason", "message", "domain"),
    [
        (lambda sim: sim.throttle(0, 60), 403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"),
        (lambda sim: sim.throttle(0, 60, refuse=sim.user_rate_limit_exceeded), 403, "userRateLimitExceeded",
         "User Rate Limit Exceeded", "usageLimits"),
        (lambda sim: sim.throttle(0, 60, refuse=sim.too_many_requests), 429, "rateLimitExceeded",
         "Rate Limit Exceeded", "usageLimits"),
        (lambda sim: sim.quota(0), 403, "quotaExceeded", "Calendar usage limits exceeded.", "usageLimits"),
        (lambda sim: sim.failures(1.0), 500, "backendError", "Backend Error", "global"),
    ],
    ids=["403-rateLimitExceeded", "403-userRateLimitExceeded", "429", "403-quotaExceeded", "500-backendError"],
)
def test_usage_limits_and_backend_errors_answered_by_the_simulator_itself(
    raw, configure, status: int, reason: str, message: str, domain: str
) -> None:
    """The bodies of Google's "Handle API errors" guide, without Retry-After (Google gives none)."""
    client, simulator = raw
    configure(simulator)
    refused = client.call("GET", "/calendars/primary/events")
    assert error_of(refused) == (status, reason, message)
    assert refused.json()["error"]["errors"][0]["domain"] == domain
    assert "Retry-After" not in refused.headers


def test_backend_errors_at_a_configured_rate(raw) -> None:
    client, simulator = raw
    simulator.failures(0.25, seed=3)
    statuses = [client.call("GET", "/calendars/primary/events").status_code for _ in range(80)]
    assert set(statuses) == {200, 500} and 10 <= statuses.count(500) <= 30


def test_meet_create_request_can_fail(raw) -> None:
    """ConferenceRequestStatus.statusCode "failure": "the conference create request failed, there are no entry
    points" (discovery document)."""
    client, simulator = raw
    simulator.fail_meet_requests(1)
    conference = {"createRequest": {"requestId": "req-f", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    failed = client.call("POST", "/calendars/primary/events", params={"conferenceDataVersion": "1"},
                         json={"id": "meetfail1", "start": START, "end": END, "conferenceData": conference}).json()
    DISCOVERY.validate_response("calendar.events.insert", failed)
    assert failed["conferenceData"]["createRequest"]["status"] == {"statusCode": "failure"}
    assert "entryPoints" not in failed["conferenceData"] and "hangoutLink" not in failed
    made = client.call("POST", "/calendars/primary/events", params={"conferenceDataVersion": "1"},
                       json={"id": "meetok1", "start": START, "end": END,
                             "conferenceData": {"createRequest": {**conference["createRequest"], "requestId": "req-g"}}}).json()
    assert made["conferenceData"]["createRequest"]["status"] == {"statusCode": "success"}  # only the next one failed
    assert made["conferenceData"]["conferenceSolution"]["key"] == {"type": "hangoutsMeet"}


def test_list_pages_and_window(raw) -> None:
    client, _ = raw
    for day in range(10, 15):
        insert(client, start={"dateTime": f"2026-03-{day}T09:00:00Z"}, end={"dateTime": f"2026-03-{day}T10:00:00Z"})
    params = {"maxResults": "2", "singleEvents": "true", "orderBy": "startTime",
              "timeMin": "2026-03-11T09:30:00Z", "timeMax": "2026-03-14T09:00:00Z"}
    first = client.call("GET", "/calendars/primary/events", params=params).json()
    second = client.call("GET", "/calendars/primary/events", params={**params, "pageToken": first["nextPageToken"]}).json()
    starts = [e["start"]["dateTime"] for e in first["items"] + second["items"]]
    assert starts == ["2026-03-11T09:00:00Z", "2026-03-12T09:00:00Z", "2026-03-13T09:00:00Z"]  # overlap window
    assert "nextPageToken" not in second and "nextSyncToken" in second
    bad_order = client.call("GET", "/calendars/primary/events", params={"orderBy": "startTime"})
    assert error_of(bad_order)[0] == 400


def test_auth_errors(raw) -> None:
    client, simulator = raw
    simulator.expire_access_tokens()
    refused = client.call("GET", "/calendars/primary/events")
    assert error_of(refused)[:2] == (401, "authError")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    anonymous = requests.get(f"{client.url}/calendar/v3/calendars/primary/events", timeout=5)
    assert error_of(anonymous)[:2] == (401, "required")
    simulator.revoke_refresh_token(REFRESH_TOKEN)
    grant = requests.post(f"{client.url}/token", timeout=5, data={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN})
    assert grant.status_code == 400 and grant.json()["error"] == "invalid_grant"
    unknown_client = requests.post(f"{client.url}/token", timeout=5, data={
        "grant_type": "refresh_token", "client_id": "x", "client_secret": "y", "refresh_token": "z"})
    assert unknown_client.status_code == 401 and unknown_client.json()["error"] == "invalid_client"
