"""The strict reading of Graph's OpenAPI description the other tests validate request bodies with."""

from __future__ import annotations

import jsonschema
import pytest

from lms_connectors_microsoft_graph.mapping import event_body

from .conftest import in_room, openapi_schema, virtual

KEY = "ilt-101.2027-03-16.microsoft_graph.g1"


def test_the_adapters_create_bodies_are_valid_events() -> None:
    for session in (in_room(), virtual()):
        openapi_schema.validate_request("POST", "/users/desk@contoso.example/events", event_body(session, key=KEY))


def test_an_invented_or_misspelt_property_fails() -> None:
    body = event_body(in_room(), key=KEY)
    body["subjet"] = "typo"
    with pytest.raises(jsonschema.ValidationError, match="subjet"):
        openapi_schema.validate_request("POST", "/users/desk@contoso.example/events", body)


def test_action_parameters_are_validated_in_the_services_camel_case() -> None:
    path = "/users/desk@contoso.example/events/AAkALg/cancel"
    openapi_schema.validate_request("POST", path, {"comment": "Cancelled."})
    # The description's own spelling (from the CSDL) is PascalCase; the service takes both, the SDK sends camelCase.
    with pytest.raises(jsonschema.ValidationError):
        openapi_schema.validate_request("POST", path, {"Comment": "Cancelled."})
    schedule = {"schedules": ["room@contoso.example"], "availabilityViewInterval": 15,
                "startTime": {"dateTime": "2027-03-16T00:00:00", "timeZone": "UTC"},
                "endTime": {"dateTime": "2027-03-17T00:00:00", "timeZone": "UTC"}}
    openapi_schema.validate_request("POST", "/users/desk@contoso.example/calendar/getSchedule", schedule)


def test_a_path_outside_the_description_fails() -> None:
    with pytest.raises(AssertionError, match="not in Graph's OpenAPI"):
        openapi_schema.validate_request("POST", "/users/desk@contoso.example/sendMail", {})
