"""Request bodies checked against Zoom's own API description (Swagger 2.0, see data/SOURCE.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lms_connectors.models import Person, Role
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_zoom import mapping
from lms_connectors_zoom.sandbox import ZoomSimulator
from lms_connectors_zoom.settings import ApprovalType, AutoRecording, ZoomMeetingSettings

from .conftest import AdapterFactory, learner, make_session

DATA = Path(__file__).parent / "data"
SPEC = json.loads((DATA / "zoom-api-v2-2018.swagger.json").read_text(encoding="utf-8"))
BATCH_SCHEMA = json.loads((DATA / "zoom-batch-registrants.schema.json").read_text(encoding="utf-8"))


def body_schema(path: str, method: str) -> dict[str, Any]:
    """The operation's body schema, with the document's definitions so that #/definitions refs resolve."""
    operation = SPEC["paths"][path][method]
    (parameter,) = [p for p in operation["parameters"] if p.get("in") == "body"]
    return {**parameter["schema"], "definitions": SPEC["definitions"]}


def validate(path: str, method: str, body: Any) -> None:
    if path == "/meetings/{meetingId}/batch_registrants":
        validate_batch(body)
        return
    schema = body_schema(path, method)
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(body)


def validate_batch(body: Any) -> None:
    """The batch envelope against its schema, and each registrant against the 2018 registrant definition."""
    jsonschema.Draft4Validator.check_schema(BATCH_SCHEMA)
    jsonschema.Draft4Validator(BATCH_SCHEMA).validate(body)
    for registrant in body["registrants"]:
        validate("/meetings/{meetingId}/registrants", "post", registrant)


SETTINGS = ZoomMeetingSettings(waiting_room=True, auto_recording=AutoRecording.CLOUD)
INSTRUCTORS = (Person(email="ana@example.com", name="Ana Diaz", role=Role.INSTRUCTOR),)


def test_create_meeting_body_matches_spec() -> None:
    body = mapping.create_body(make_session(capacity=3, instructors=INSTRUCTORS), "k1", SETTINGS, ApprovalType.MANUAL)
    validate("/users/{userId}/meetings", "post", body)


def test_update_meeting_body_matches_spec() -> None:
    body = mapping.update_body(make_session(), "k1", SETTINGS, ApprovalType.AUTOMATIC)
    validate("/meetings/{meetingId}", "patch", body)


@pytest.mark.parametrize("auto_approve", [None, True, False])
def test_batch_registrants_body_matches_spec(auto_approve: bool | None) -> None:
    people = [learner(n) for n in range(1, 31)]
    validate_batch(mapping.batch_registrants_body(people, auto_approve=auto_approve))


def test_the_validator_catches_a_wrong_body() -> None:
    # The check is real: a wrong type and a missing required field are refused.
    bad_meeting = {**mapping.create_body(make_session(), "k1", SETTINGS, ApprovalType.MANUAL), "duration": "90"}
    with pytest.raises(jsonschema.ValidationError):
        validate("/users/{userId}/meetings", "post", bad_meeting)
    with pytest.raises(jsonschema.ValidationError):
        validate("/meetings/{meetingId}/registrants", "post", {"email": "a@example.com", "first_name": "A"})
    with pytest.raises(jsonschema.ValidationError):
        validate("/meetings/{meetingId}/registrants/status", "put", {"action": "promote", "registrants": []})
    with pytest.raises(jsonschema.ValidationError):  # 31 registrants: one more than a batch takes
        validate_batch(mapping.batch_registrants_body([learner(n) for n in range(31)]))
    with pytest.raises(jsonschema.ValidationError):  # a field a batch item does not take
        validate_batch({"registrants": [{"email": "a@example.com", "first_name": "A", "city": "Oslo"}]})


def test_bodies_sent_on_the_wire_match_spec(
    make_adapter: AdapterFactory, server: SandboxServer, simulator: ZoomSimulator
) -> None:
    """Every body the adapter actually sent in a create / reschedule / enrol / unenrol round matches the spec."""
    simulator.max_registrants = 100
    adapter = make_adapter()
    session = make_session(capacity=2, instructors=INSTRUCTORS)
    ref = adapter.create_session(session, key="wire.zoom.g1")
    adapter.reschedule_session(ref, session.rescheduled(session.slot))
    people = [learner(n) for n in range(1, 4)]
    adapter.enrol(ref, session, people)
    adapter.unenrol(ref, session, people[:1])
    adapter.enrol(ref, session, people[2:])  # promotion: the pending third learner is approved
    checks = {
        ("POST", "/meetings"): ("/users/{userId}/meetings", "post"),
        ("PATCH", None): ("/meetings/{meetingId}", "patch"),
        ("POST", "/batch_registrants"): ("/meetings/{meetingId}/batch_registrants", "post"),
        ("PUT", "/registrants/status"): ("/meetings/{meetingId}/registrants/status", "put"),
    }
    seen: set[tuple[str, str]] = set()
    for request in server.requests:
        for (method, suffix), operation in checks.items():
            if request.method == method and (suffix is None or request.path.endswith(suffix)):
                body = request.json()
                validate(*operation, body)
                if operation[1] == "put":
                    assert len(body["registrants"]) <= 30  # the spec's "maximum: 30" is not a JSON Schema array rule
                seen.add(operation)
    assert seen == set(checks.values())
