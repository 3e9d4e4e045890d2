"""The simulator answers like Google: raw HTTP against it, no adapter in between."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_google_calendar.sandbox import GoogleCalendarSimulator

from .conftest import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, make_simulator

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
