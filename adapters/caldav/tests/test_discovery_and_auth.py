"""Discovery paths and credentials on the wire, with ``responses`` standing in for servers Radicale is not."""

from __future__ import annotations

import base64

import pytest
import responses

from lms_connectors.errors import ConfigurationError, MalformedResponse
from lms_connectors_caldav.adapter import CalDavAdapter
from lms_connectors_caldav.config import CalDavConfig


def multistatus(href: str, prop: str) -> str:
    return (f'<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>{href}'
            f"</d:href><d:propstat><d:prop>{prop}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
            "</d:response></d:multistatus>")


CALENDAR_PROPS = ('<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>'
                  '<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>')


def build(**values: object) -> CalDavAdapter:
    settings = {"base_url": "https://cloud.example.org", "username": "u", "password": "app-pass", **values}
    return CalDavAdapter(CalDavConfig.model_validate(settings), sleep=lambda _s: None)


@responses.activate
def test_a_redirect_that_drops_the_propfind_body_is_asked_again_where_it_landed() -> None:
    responses.add("PROPFIND", "https://cloud.example.org/.well-known/caldav", status=301,
                  headers={"Location": "/remote.php/dav/"})
    # requests re-sends a 301'd PROPFIND without its body: the server answers allprop, without the principal.
    responses.add("PROPFIND", "https://cloud.example.org/remote.php/dav/", status=207,
                  body=multistatus("/remote.php/dav/", "<d:resourcetype><d:collection/></d:resourcetype>"))
    responses.add("PROPFIND", "https://cloud.example.org/remote.php/dav/", status=207,
                  body=multistatus("/remote.php/dav/",
                                   "<d:current-user-principal><d:href>/remote.php/dav/principals/users/u/</d:href>"
                                   "</d:current-user-principal>"))
    responses.add("PROPFIND", "https://cloud.example.org/remote.php/dav/principals/users/u/", status=207,
                  body=multistatus("/remote.php/dav/principals/users/u/",
                                   "<c:calendar-home-set><d:href>/remote.php/dav/calendars/u/</d:href>"
                                   "</c:calendar-home-set>"))
    responses.add("PROPFIND", "https://cloud.example.org/remote.php/dav/calendars/u/training/", status=207,
                  body=multistatus("/remote.php/dav/calendars/u/training/", CALENDAR_PROPS))
    assert build().ex_calendar() == "/remote.php/dav/calendars/u/training/"
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"u:app-pass").decode()
    assert sent.headers["Depth"] == "0"


@responses.activate
def test_bearer_token_and_a_context_path_without_well_known() -> None:
    responses.add("PROPFIND", "https://cloud.example.org/dav/", status=207,
                  body=multistatus("/dav/", "<d:current-user-principal><d:href>/dav/p/</d:href>"
                                   "</d:current-user-principal>"))
    responses.add("PROPFIND", "https://cloud.example.org/dav/p/", status=207,
                  body=multistatus("/dav/p/", "<d:displayname>no home here</d:displayname>"))
    adapter = CalDavAdapter(CalDavConfig.model_validate(
        {"base_url": "https://cloud.example.org/dav/", "bearer_token": "tok-123"}), sleep=lambda _s: None)
    with pytest.raises(MalformedResponse, match="calendar-home-set"):
        adapter.ex_calendar()
    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok-123"
    assert "tok-123" in adapter.transport.secrets()


@responses.activate
def test_a_collection_that_takes_no_events_is_refused() -> None:
    responses.add("PROPFIND", "https://cloud.example.org/cal/tasks/", status=207,
                  body=multistatus("/cal/tasks/", '<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>'
                                   '<c:supported-calendar-component-set><c:comp name="VTODO"/>'
                                   '</c:supported-calendar-component-set>'))
    with pytest.raises(ConfigurationError, match="VTODO"):
        build(calendar_url="/cal/tasks").ex_calendar()


@pytest.mark.parametrize(
    "values",
    [
        {"password": None},
        {"bearer_token": "t", "username": "u", "password": "p"},
        {"username": None, "password": None},
        {"base_url": "ftp://x"},
        {"calendar": "a/b"},
        {"free_busy_calendars": {"not-an-email": "/c/"}},
    ],
)
def test_bad_configurations_are_configuration_errors(values: dict[str, object]) -> None:
    config = {"base_url": "https://dav.example.org", "username": "u", "password": "p", **values}
    config = {k: v for k, v in config.items() if v is not None}
    with pytest.raises(ConfigurationError):
        CalDavAdapter.from_config(config)


# -- answers of another shape: the operation, the element, a redacted excerpt ------------------------------------


@responses.activate
@pytest.mark.parametrize(
    ("content_type", "body", "field"),
    [
        ("text/html", "<!DOCTYPE html><html><body>Sign in to continue</body></html>", None),
        ("application/xml", '<d:multistatus xmlns:d="DAV:"><d:response><d:href>/dav/', None),
        ("application/xml", '<d:error xmlns:d="DAV:"><d:password>app-pass</d:password></d:error>', "multistatus"),
        ("application/xml", '<d:multistatus xmlns:d="DAV:"><d:response><d:propstat/></d:response></d:multistatus>',
         "response.href"),
        ("application/xml", multistatus("/dav/", "<d:current-user-principal/>"),
         "response.propstat.prop.current-user-principal.href"),
    ],
)
def test_a_discovery_answer_of_another_shape_names_the_operation_and_the_element(
    content_type: str, body: str, field: str | None
) -> None:
    responses.add("PROPFIND", "https://cloud.example.org/.well-known/caldav", status=207 if "xml" in content_type
                  else 200, body=body, content_type=content_type)
    with pytest.raises(MalformedResponse) as caught:
        build().ex_calendar()
    error = caught.value
    assert error.provider == "caldav"
    assert (error.endpoint or "").startswith("discover principal")
    assert error.field == field
    assert error.body_excerpt
    assert "app-pass" not in error.body_excerpt and "app-pass" not in str(error)
