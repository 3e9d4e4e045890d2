"""Checked shapes of what CalDAV servers answer, and the error table: no server needed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from lms_connectors.errors import (
    AuthError,
    Conflict,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from lms_connectors_caldav import dav
from lms_connectors_caldav.errors import classify_caldav_response
from lms_connectors_caldav.ical import StoredEvent, busy_from_freebusy, resource_name

MULTISTATUS = b"""<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
 <d:response><d:href>/dav/u%20ser/</d:href>
  <d:propstat><d:prop><c:calendar-home-set><d:href>https://dav.example.org/dav/calendars/u/</d:href>
   </c:calendar-home-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  <d:propstat><d:prop><d:displayname/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
 </d:response>
</d:multistatus>"""


def parse(body: bytes) -> dav.Multistatus:
    return dav.Multistatus.parse(body, base_url="https://dav.example.org/dav/", what="test", provider="caldav")


def test_multistatus_hrefs_are_decoded_absolute_paths_and_missing_props_are_kept_apart() -> None:
    found = parse(MULTISTATUS).only(what="test", provider="caldav")
    assert found.href == "/dav/u ser/"
    assert found.href_of(dav.CALDAV, "calendar-home-set", base_url="https://dav.example.org/", what="t",
                         provider="caldav") == "/dav/calendars/u/"
    assert found.missing == {dav.qname(dav.DAV, "displayname"): 404}
    with pytest.raises(MalformedResponse, match="current-user-principal"):
        found.href_of(dav.DAV, "current-user-principal", base_url="https://dav.example.org/", what="t",
                      provider="caldav")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"<html><body>Login</body></html>", "expected a DAV:multistatus"),
        (b"<d:multistatus xmlns:d='DAV:'><d:response>", "not well-formed"),
        (b"<d:multistatus xmlns:d='DAV:'><d:response><d:propstat/></d:response></d:multistatus>", "without its href"),
        (b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><d:multistatus xmlns:d='DAV:'>&a;</d:multistatus>", "not well-formed"),
    ],
)
def test_bad_answers_are_malformed_responses(body: bytes, message: str) -> None:
    with pytest.raises(MalformedResponse, match=message):
        parse(body)


def test_an_empty_multistatus_has_no_single_response() -> None:
    with pytest.raises(MalformedResponse):
        parse(b"<d:multistatus xmlns:d='DAV:'/>").only(what="t", provider="caldav")


def test_calendar_data_missing_is_malformed() -> None:
    answer = parse(b"<d:multistatus xmlns:d='DAV:'><d:response><d:href>/c/a.ics</d:href><d:propstat><d:prop>"
                   b"<d:getetag>\"1\"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
                   b"</d:response></d:multistatus>")
    with pytest.raises(MalformedResponse, match="calendar-data"):
        answer.responses[0].text(dav.CALDAV, "calendar-data", what="t", provider="caldav")


def test_time_ranges_are_sent_in_utc() -> None:
    start = datetime(2027, 3, 14, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    body = dav.calendar_query(start, start.replace(hour=23), with_data=False).decode()
    assert 'start="20270314T063000Z"' in body and 'end="20270315T033000Z"' in body
    assert "calendar-data" not in body


def answer(status: int, body: bytes = b"", content_type: str = "text/xml", **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers["Content-Type"] = content_type
    response.headers.update(headers)
    return response


def condition(name: str, namespace: str = "urn:ietf:params:xml:ns:caldav") -> bytes:
    return f'<d:error xmlns:d="DAV:" xmlns:c="{namespace}"><c:{name}/></d:error>'.encode()


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (409, condition("no-uid-conflict"), Conflict, "no-uid-conflict"),
        (403, condition("no-uid-conflict"), Conflict, "no-uid-conflict"),
        (403, condition("valid-calendar-data"), InvalidRequest, "valid-calendar-data"),
        (403, condition("need-privileges", "DAV:"), PermissionDenied, "need-privileges"),
        (403, b"", PermissionDenied, None),
        (412, b"Precondition failed.", Conflict, None),
        (507, b"", QuotaExceeded, None),
        (404, b"", NotFound, None),
        (401, b"", AuthError, None),
        (400, b"Bad Request", InvalidRequest, None),
        (503, b"", TransientError, None),
    ],
)
def test_error_table(status: int, body: bytes, expected: type[Exception], code: str | None) -> None:
    error = classify_caldav_response(answer(status, body))
    assert type(error) is expected
    assert error.provider == "caldav"
    if code is not None:
        assert error.code == code


def test_throttling_and_html_pages() -> None:
    throttled = classify_caldav_response(answer(429, b"", **{"Retry-After": "3"}))
    assert isinstance(throttled, RateLimited) and throttled.retry_after == 3
    login_page = classify_caldav_response(answer(404, b"<html><body>Sign in</body></html>", "text/html"))
    assert isinstance(login_page, MalformedResponse)
    assert classify_caldav_response(answer(207, b"")) is None


def test_resource_names_are_safe_distinct_and_stable() -> None:
    name = resource_name("ilt-101.2027-03-16.caldav.g1")
    assert name == resource_name("ilt-101.2027-03-16.caldav.g1")
    assert name.startswith("ilt-101.2027-03-16.caldav.g1-") and name.endswith(".ics")
    assert resource_name("a:b") != resource_name("a/b")
    assert all(ch.isalnum() or ch in "._-" for ch in resource_name("../../etc/passwd: x"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not icalendar", "not iCalendar"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no VEVENT"),
    ],
)
def test_stored_event_refuses_what_is_not_an_event(data: bytes, message: str) -> None:
    with pytest.raises(MalformedResponse, match=message):
        StoredEvent.parse(data, href="/c/x.ics", etag=None)


@pytest.mark.parametrize(
    ("dtstart", "message"),
    [("DTSTART;VALUE=DATE:20270210", "all-day"), ("DTSTART:20270210T090000", "floating")],
)
def test_a_session_needs_instants(dtstart: str, message: str) -> None:
    data = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n" + dtstart +
            "\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()
    stored = StoredEvent.parse(data, href="/c/x.ics", etag=None)
    with pytest.raises(MalformedResponse, match=message):
        stored.provider_session()


def test_free_busy_periods_skip_free_time() -> None:
    data = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VFREEBUSY\r\nDTSTAMP:20270101T000000Z\r\n"
            b"FREEBUSY;FBTYPE=BUSY:20270210T140000Z/20270210T153000Z,20270211T140000Z/PT1H\r\n"
            b"FREEBUSY;FBTYPE=FREE:20270212T140000Z/20270212T150000Z\r\n"
            b"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20270213T140000Z/20270213T150000Z\r\n"
            b"END:VFREEBUSY\r\nEND:VCALENDAR\r\n")
    busy = busy_from_freebusy(data, what="t")
    assert [(b.start.isoformat(), b.end.isoformat()) for b in busy] == [
        ("2027-02-10T14:00:00+00:00", "2027-02-10T15:30:00+00:00"),
        ("2027-02-11T14:00:00+00:00", "2027-02-11T15:00:00+00:00"),
        ("2027-02-13T14:00:00+00:00", "2027-02-13T15:00:00+00:00"),
    ]
    with pytest.raises(MalformedResponse, match="VFREEBUSY"):
        busy_from_freebusy(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", what="t")
