"""The simulator against canvasapi's recorded answers (``data/canvasapi-fixtures.json``, MIT): where they overlap.

canvasapi's fixtures are a client's mocks of Canvas. For each one the same request is sent to the simulator (as
canvasapi sends it: a form) and its answer must hold every key of the fixture with a value of the same JSON type,
and the values the request set. Where the mocks and Canvas's own source disagree, the simulator follows the
source, and each such place is named here (``DIVERGES``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_canvas.sandbox import THROTTLED_BODY, CanvasSimulator

FIXTURES = json.loads((Path(__file__).parent / "data" / "canvasapi-fixtures.json").read_text(encoding="utf-8"))
TOKEN = "7~fixture-token"
DIVERGES = {
    "user": "canvasapi's reservation mock has the participant's id; Canvas's CalendarEvent model has a user object",
    "state": "canvasapi's enrolment mocks say 'state'; Canvas's Enrollment model says 'enrollment_state'",
    "course_id": "canvasapi's edit mock of an event has a course_id; Canvas's CalendarEvent model has none",
    "new_course_id": "cross-listing is not simulated",
}


@pytest.fixture
def api(server: SandboxServer[CanvasSimulator], simulator: CanvasSimulator) -> requests.Session:
    simulator.access_tokens[TOKEN] = simulator.service_user.id
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    return session


def _overlaps(fixture: Any, answer: Any, *, same: tuple[str, ...] = ()) -> None:
    if isinstance(fixture, list):
        assert isinstance(answer, list) and answer, "a listing answers a list"
        for item in answer:
            _overlaps(fixture[0], item)
        return
    assert isinstance(answer, dict)
    for key, value in fixture.items():
        if key in DIVERGES:
            continue
        assert key in answer, f"{key!r} missing from {sorted(answer)}"
        if value is not None and answer[key] is not None:
            assert type(answer[key]) is type(value), f"{key}: {answer[key]!r} is not a {type(value).__name__}"
        if key in same:
            assert answer[key] == value


def test_calendar_event_answers_overlap_canvasapis(server: SandboxServer[CanvasSimulator], api: requests.Session) -> None:
    fixtures = FIXTURES["calendar_event"]
    made = api.post(f"{server.url}/api/v1/calendar_events",
                    data={"calendar_event[context_code]": "course_101", "calendar_event[title]": "Test Event"})
    assert made.status_code == 201  # Canvas's controller answers :created; canvasapi's mock says 200
    _overlaps(fixtures["create_calendar_event"]["data"], made.json(), same=("title",))
    assert made.json()["context_code"] == "course_101"
    event = made.json()["id"]
    got = api.get(f"{server.url}/api/v1/calendar_events/{event}")
    _overlaps(fixtures["get_calendar_event"]["data"], got.json())
    edited = api.put(f"{server.url}/api/v1/calendar_events/{event}",
                     data={"calendar_event[title]": "New Name", "calendar_event[description]": "Edit this assignment"})
    _overlaps(fixtures["edit_calendar_event"]["data"], edited.json(), same=("title", "description"))
    listed = api.get(f"{server.url}/api/v1/calendar_events", params={"context_codes[]": "course_101",
                                                                      "all_events": "true"})
    _overlaps(fixtures["list_calendar_events"]["data"], listed.json())
    deleted = api.delete(f"{server.url}/api/v1/calendar_events/{event}")
    assert deleted.status_code == fixtures["delete_calendar_event"]["status_code"]
    _overlaps(fixtures["delete_calendar_event"]["data"], deleted.json())


def test_appointment_group_and_reservation_answers_overlap_canvasapis(
    server: SandboxServer[CanvasSimulator], api: requests.Session
) -> None:
    fixtures = FIXTURES["appointment_group"]
    base = f"{server.url}/api/v1"
    section = api.post(f"{base}/courses/101/sections", data={"course_section[name]": "Section 1"}).json()
    made = api.post(f"{base}/appointment_groups", data={
        "appointment_group[context_codes][]": "course_101", "appointment_group[title]": "Test Group",
        "appointment_group[sub_context_codes][]": f"course_section_{section['id']}",
        "appointment_group[publish]": "true", "appointment_group[participants_per_appointment]": "1",
        "appointment_group[new_appointments][0][]": ["2027-02-11T14:00:00Z", "2027-02-11T15:00:00Z"],
    })
    assert made.status_code == 201  # documented: 201 on success
    _overlaps(fixtures["create_appointment_group"]["data"], made.json(), same=("title",))
    assert made.json()["context_codes"] == ["course_101"]
    group = made.json()["id"]
    _overlaps(fixtures["get_appointment_group"]["data"], api.get(f"{base}/appointment_groups/{group}").json())
    _overlaps(fixtures["list_appointment_groups"]["data"], api.get(f"{base}/appointment_groups").json())
    slot = api.get(f"{base}/appointment_groups/{group}", params={"include[]": "appointments"}).json()["appointments"][0]
    enrolled = api.post(f"{base}/sections/{section['id']}/enrollments", data={
        "enrollment[user_id]": "sis_login_id:amara.okafor@example.org", "enrollment[enrollment_state]": "active"})
    _overlaps(FIXTURES["section"]["enroll_user"]["data"], enrolled.json())
    reserved = api.post(f"{base}/calendar_events/{slot['id']}/reservations/{enrolled.json()['user_id']}")
    _overlaps(FIXTURES["calendar_event"]["reserve_time_slot_participant_id"]["data"], reserved.json())
    full = api.post(f"{base}/calendar_events/{slot['id']}/reservations/self")
    assert full.status_code == 400 and full.json()[0]["attribute"] == "reservation"
    deleted = api.delete(f"{base}/appointment_groups/{group}")
    _overlaps(fixtures["delete_appointment_group"]["data"], deleted.json())


def test_section_and_enrolment_answers_overlap_canvasapis(
    server: SandboxServer[CanvasSimulator], api: requests.Session
) -> None:
    base = f"{server.url}/api/v1"
    made = api.post(f"{base}/courses/101/sections", data={"course_section[name]": "New Section"})
    _overlaps(FIXTURES["course"]["create_section"]["data"], made.json(), same=("name",))
    section = made.json()["id"]
    _overlaps(FIXTURES["section"]["get_by_id"]["data"], api.get(f"{base}/sections/{section}").json())
    _overlaps(FIXTURES["course"]["get_sections"]["data"], api.get(f"{base}/courses/101/sections").json())
    for login in ("amara.okafor@example.org", "kenji.sato@example.org", "lena.fischer@example.org"):
        api.post(f"{base}/sections/{section}/enrollments", data={"enrollment[user_id]": f"sis_login_id:{login}",
                                                                 "enrollment[type]": "StudentEnrollment"})
    page = api.get(f"{base}/sections/{section}/enrollments", params={"per_page": "2"})
    assert 'rel="next"' in page.headers["Link"] and "per_page=2" in page.headers["Link"]
    assert 'rel="last"' not in page.headers["Link"]  # bookmarked listings have none
    _overlaps(FIXTURES["course"]["list_enrollments"]["data"], page.json())
    following = api.get(page.links["next"]["url"])
    assert len(page.json()) + len(following.json()) == 3 and "next" not in following.links
    ended = api.delete(f"{base}/courses/101/enrollments/{page.json()[0]['id']}", params={"task": "deactivate"})
    _overlaps(FIXTURES["enrollment"]["deactivate"]["data"], ended.json(), same=("type",))
    assert ended.json()["enrollment_state"] == FIXTURES["enrollment"]["deactivate"]["data"]["state"]


def test_error_answers_match_canvasapis_where_canvas_agrees(
    server: SandboxServer[CanvasSimulator], api: requests.Session, simulator: CanvasSimulator
) -> None:
    base = f"{server.url}/api/v1"
    expired = requests.get(f"{base}/users/self", headers={"Authorization": "Bearer 7~deleted"})
    fixture = FIXTURES["errors"]["401_invalid_access_token"]
    assert expired.status_code == fixture["status_code"]
    assert expired.headers["WWW-Authenticate"] == fixture["headers"]["WWW-Authenticate"]
    acting = api.get(f"{base}/courses/101", params={"as_user_id": "sis_login_id:kenji.sato@example.org"})
    assert acting.status_code == FIXTURES["errors"]["401_unauthorized"]["status_code"]
    assert "WWW-Authenticate" not in acting.headers
    assert api.get(f"{base}/calendar_events/987654").status_code == FIXTURES["errors"]["404"]["status_code"]
    simulator.fill_bucket(simulator.high_water + 1)
    throttled = api.get(f"{base}/users/self")
    fixture = FIXTURES["errors"]["403_rate_limit"]
    assert throttled.status_code == fixture["status_code"] and throttled.text == fixture["data"] == THROTTLED_BODY
    # canvasapi's mock sends a cost and a budget left; Canvas's middleware sends neither cost nor budget but 0.0.
    assert "X-Request-Cost" not in throttled.headers
    assert throttled.headers["X-Rate-Limit-Remaining"] == "0.0"
