from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import MalformedResponse
from lms_connectors.models import Person, Role
from lms_connectors.shapes import checked
from lms_connectors_zoom import mapping
from lms_connectors_zoom.answers import AddedRegistrant, Meeting, Registrant, ScheduledMeeting
from lms_connectors_zoom.settings import ApprovalType, AutoRecording, ZoomMeetingSettings

from .conftest import make_session

NY = ZoneInfo("America/New_York")


def body_for(session, settings=None, approval=ApprovalType.AUTOMATIC):
    return mapping.create_body(session, "s-1.zoom.g1", settings or ZoomMeetingSettings(), approval)


def test_create_body_fields() -> None:
    instructors = (
        Person(email="ana@example.com", name="Ana Diaz", role=Role.INSTRUCTOR),
        Person(email="bo@example.com", name="Bo Li", role=Role.INSTRUCTOR),
    )
    body = body_for(make_session(instructors=instructors, capacity=12))
    assert body["type"] == 2
    assert body["topic"] == "Safety induction"
    assert body["start_time"] == "2031-03-20T14:00:00Z"  # 10:00 EDT
    assert body["timezone"] == "America/New_York"
    assert body["duration"] == 90
    assert body["agenda"].splitlines()[0] == "[lmsc:s-1.zoom.g1] [lmsc-capacity:12]"
    assert body["agenda"].endswith("Bring a laptop.")
    assert body["settings"]["alternative_hosts"] == "ana@example.com;bo@example.com"
    assert body["settings"]["approval_type"] == 0


@pytest.mark.parametrize(
    ("local", "fold", "expected_utc"),
    [
        # Spring forward (2031-03-09 in New York): the day before is EST (-5), the day after EDT (-4).
        (datetime(2031, 3, 8, 9, 0), 0, "2031-03-08T14:00:00Z"),
        (datetime(2031, 3, 10, 9, 0), 0, "2031-03-10T13:00:00Z"),
        # Fall back (2031-11-02): 01:30 happens twice; a wall time cannot tell them apart, UTC can.
        (datetime(2031, 11, 2, 1, 30), 0, "2031-11-02T05:30:00Z"),
        (datetime(2031, 11, 2, 1, 30), 1, "2031-11-02T06:30:00Z"),
    ],
)
def test_start_time_is_utc_instant_across_dst(local: datetime, fold: int, expected_utc: str) -> None:
    start = local.replace(tzinfo=NY, fold=fold)
    body = body_for(make_session(start=start))
    assert body["start_time"] == expected_utc
    assert body["timezone"] == "America/New_York"
    # Read back through Zoom's answer format, the instant is the same. (Timestamps, because Python never calls an
    # ambiguous wall time equal to a datetime of another zone, PEP 495.)
    assert mapping.parse_start_time(body["start_time"], "America/New_York").timestamp() == start.timestamp()


def test_start_time_is_never_a_local_time_labelled_z() -> None:
    start = datetime(2031, 7, 1, 18, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert mapping.format_start_time(start) == "2031-07-01T09:00:00Z"


def test_parse_wall_time_with_timezone() -> None:
    parsed = mapping.parse_start_time("2031-03-20T10:00:00", "America/New_York")
    assert parsed.astimezone(UTC) == datetime(2031, 3, 20, 14, 0, tzinfo=UTC)
    with pytest.raises(MalformedResponse):
        mapping.parse_start_time("2031-03-20T10:00:00", None)
    with pytest.raises(MalformedResponse):
        mapping.parse_start_time("tomorrow", "UTC")


def test_duration_rounds_up_to_whole_minutes() -> None:
    session = make_session(minutes=45)
    assert mapping.duration_minutes(session) == 45
    odd = session.model_copy(
        update={"slot": session.slot.model_copy(update={"end": session.slot.start + timedelta(minutes=45, seconds=1)})}
    )
    assert mapping.duration_minutes(odd) == 46


def test_long_description_keeps_marker_and_fits_agenda() -> None:
    body = body_for(make_session(description="x" * 5000))
    assert len(body["agenda"]) <= mapping.AGENDA_MAX
    assert mapping.key_in(body["agenda"]) == "s-1.zoom.g1"


def test_typed_settings() -> None:
    settings = ZoomMeetingSettings(waiting_room=True, auto_recording=AutoRecording.CLOUD, join_before_host=True)
    zoom = settings.to_zoom(approval_type=ApprovalType.MANUAL, alternative_hosts=[])
    assert zoom["waiting_room"] is True
    assert zoom["auto_recording"] == "cloud"
    assert zoom["approval_type"] == 1
    assert zoom["alternative_hosts"] == ""
    with pytest.raises(ValueError, match="auto_recording"):
        ZoomMeetingSettings.model_validate({"auto_recording": "tape"})


def test_int64_meeting_id_stays_a_string() -> None:
    ref = mapping.meeting_ref(
        Meeting.model_validate({"id": 98_765_432_109_876, "join_url": "https://zoom.us/j/98765432109876"})
    )
    assert ref.external_id == "98765432109876"
    assert ref.join_url == "https://zoom.us/j/98765432109876"
    with pytest.raises(MalformedResponse) as caught:
        checked(Meeting, {"topic": "no id"}, provider="zoom", endpoint="get meeting")
    assert caught.value.field == "id"


def test_provider_session_from_zoom_answer() -> None:
    meeting = {
        "id": 85012345678,
        "topic": "Safety induction",
        "start_time": "2031-03-20T14:00:00Z",
        "duration": 90,
        "timezone": "America/New_York",
        "agenda": "[lmsc:s-1.zoom.g1] [lmsc-capacity:2]\n\nBring a laptop.",
        "join_url": "https://zoom.us/j/85012345678",
    }
    found = mapping.provider_session(ScheduledMeeting.model_validate(meeting))
    assert found.start == datetime(2031, 3, 20, 10, 0, tzinfo=NY)
    assert found.end - found.start == timedelta(minutes=90)
    assert found.capacity == 2
    assert found.ref.extra["key"] == "s-1.zoom.g1"
    assert found.join_url == "https://zoom.us/j/85012345678"


def test_registrant_without_join_url_under_manual_approval() -> None:
    answer = {"id": 85012345678, "registrant_id": "abc", "email": "learner@example.com"}
    member = mapping.roster_member(AddedRegistrant.model_validate(answer), status="pending")
    assert member.join_url is None
    assert member.external_id == "abc"
    assert member.status == "pending"


def test_registrant_keeps_its_own_join_link() -> None:
    listed = {"id": "r1", "email": "A@Example.com", "status": "approved", "join_url": "https://zoom.us/w/1?tk=x"}
    member = mapping.roster_member(Registrant.model_validate(listed))
    assert member.email == "a@example.com"
    assert member.join_url == "https://zoom.us/w/1?tk=x"
    assert member.status == "approved"
