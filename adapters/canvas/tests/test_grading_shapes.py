"""The simulator's assignments and submissions against Canvas's documented shapes and canvasapi's mocks.

``data/canvas-grading-shapes.json`` holds canvasapi's assignment and submission mocks (MIT) and the example values
Canvas's API documentation gives for its ``Assignment`` and ``Submission`` models and for pass/fail grades (quoted
with their source, see ``data/SOURCE.md``). Each answer of the simulator must hold every documented key with a
value of the same JSON type, take its enumerated values from the documented lists, and score pass/fail grades as
the documentation says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_canvas.sandbox import CanvasSimulator

SHAPES = json.loads((Path(__file__).parent / "data" / "canvas-grading-shapes.json").read_text(encoding="utf-8"))
DOCS = SHAPES["canvas_api_docs"]
MOCKS = SHAPES["canvasapi"]
TOKEN = "7~grading-shapes"
DIVERGES = {
    "assignments_id": "canvasapi's submission mocks say 'assignments_id'; Canvas's Submission model says "
                      "'assignment_id'",
}


@pytest.fixture
def api(server: SandboxServer[CanvasSimulator], simulator: CanvasSimulator) -> requests.Session:
    simulator.access_tokens[TOKEN] = simulator.service_user.id
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    # The learner is a student of course 101 through a section, as the adapter enrols learners.
    made = session.post(f"{server.url}/api/v1/courses/101/sections", data={"course_section[name]": "S"}).json()
    session.post(f"{server.url}/api/v1/sections/{made['id']}/enrollments", data={
        "enrollment[user_id]": "sis_login_id:kenji.sato@example.org", "enrollment[type]": "StudentEnrollment",
        "enrollment[enrollment_state]": "active"}).raise_for_status()
    return session


def _same_types(documented: dict[str, Any], answer: dict[str, Any]) -> None:
    for key, value in documented.items():
        if key in DIVERGES:
            continue
        assert key in answer, f"{key!r} missing from {sorted(answer)}"
        if value is not None and answer[key] is not None:
            expected = float if isinstance(value, float) else type(value)
            assert isinstance(answer[key], expected), f"{key}: {answer[key]!r} is not a {expected.__name__}"


def _made(server: SandboxServer[CanvasSimulator], api: requests.Session, **fields: str) -> requests.Response:
    form = {"assignment[name]": "Forklift Safety", "assignment[grading_type]": "pass_fail",
            "assignment[submission_types][]": "on_paper", "assignment[points_possible]": "4",
            "assignment[due_at]": "2027-03-16T10:30:00-04:00", "assignment[published]": "true"}
    form.update({f"assignment[{k}]": v for k, v in fields.items()})
    return api.post(f"{server.url}/api/v1/courses/101/assignments", data=form)


def test_an_assignment_has_the_documented_fields_and_values(
    server: SandboxServer[CanvasSimulator], api: requests.Session
) -> None:
    made = _made(server, api)
    assert made.status_code == 201
    answer = made.json()
    _same_types(DOCS["Assignment"], answer)
    _same_types(MOCKS["course"]["create_assignment"]["data"], answer)
    assert answer["grading_type"] in DOCS["grading_type_values"]
    assert set(answer["submission_types"]) <= set(DOCS["submission_types_values"])
    assert (answer["name"], answer["points_possible"], answer["due_at"], answer["published"]) == (
        "Forklift Safety", 4.0, "2027-03-16T14:30:00Z", True)
    read = api.get(f"{server.url}/api/v1/courses/101/assignments/{answer['id']}").json()
    _same_types(MOCKS["course"]["get_assignment_by_id"]["data"], read)
    assert read == answer
    listed = api.get(f"{server.url}/api/v1/courses/101/assignments", params={"search_term": "forklift"}).json()
    for item in listed:
        _same_types(MOCKS["course"]["get_all_assignments"]["data"][0], item)
    assert [a["id"] for a in listed] == [answer["id"]]
    assert api.get(f"{server.url}/api/v1/courses/101/assignments", params={"search_term": "welding"}).json() == []


def test_a_submission_graded_pass_fail_has_the_documented_fields_and_scores(
    server: SandboxServer[CanvasSimulator], api: requests.Session
) -> None:
    assignment = _made(server, api).json()
    url = f"{server.url}/api/v1/courses/101/assignments/{assignment['id']}/submissions/sis_login_id:kenji.sato@example.org"
    # "pass" or "complete" give 100% of points_possible, "fail" or "incomplete" give 0 (the documented rule).
    for posted, grade, score in (("complete", "complete", 4.0), ("incomplete", "incomplete", 0.0),
                                 ("pass", "complete", 4.0), ("fail", "incomplete", 0.0)):
        answer = api.put(url, data={"submission[posted_grade]": posted}).json()
        _same_types(DOCS["Submission"], answer)
        _same_types(MOCKS["course"]["update_submission"]["data"], answer)
        assert answer["workflow_state"] in DOCS["submission_workflow_state_values"]
        assert (answer["grade"], answer["score"], answer["assignment_id"]) == (grade, score, assignment["id"])
        assert [s["grade"] for s in answer["all_submissions"]] == [grade]
    listed = api.get(f"{server.url}/api/v1/courses/101/assignments/{assignment['id']}/submissions",
                     params={"include[]": "user"}).json()
    for item in listed:
        _same_types(MOCKS["submission"]["list_submissions"]["data"][0], item)
        _same_types(MOCKS["submission"]["get_by_id_course"]["data"], item)
    assert [(s["user"]["login_id"], s["grade"]) for s in listed] == [("kenji.sato@example.org", "incomplete")]


def test_refusals(server: SandboxServer[CanvasSimulator], simulator: CanvasSimulator, api: requests.Session) -> None:
    blank = _made(server, api, name="")
    assert (blank.status_code, blank.json()) == (400, {"errors": {"name": [
        {"attribute": "name", "type": "blank", "message": "blank"}]}})
    assert _made(server, api, grading_type="stars").status_code == 400
    assert api.get(f"{server.url}/api/v1/courses/101/assignments/99999").status_code == 404
    assert api.get(f"{server.url}/api/v1/courses/999/assignments").status_code == 404
    simulator.granted.discard("manage_assignments_add")
    refused = _made(server, api)
    assert (refused.status_code, refused.json()["status"]) == (401, "unauthorized")
    assert "WWW-Authenticate" not in refused.headers  # a known user lacking permission, not a bad token
    unknown = requests.get(f"{server.url}/api/v1/courses/101/assignments", headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401
    assert unknown.headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
