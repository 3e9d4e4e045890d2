from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import MalformedResponse
from lms_connectors.models import Meeting, Modality, Person, Room, TimeSlot
from lms_connectors_google_calendar.ids import event_id_for_key
from lms_connectors_google_calendar.mapping import (
    event_body,
    event_is_ours,
    event_reschedule_patch,
    learner_attendees,
    merge_attendees,
    owned_fingerprint,
    parse_datetime,
    provider_session,
)

from .conftest import CALENDAR, ROOM, learner, make_session

KEY = "s-1.google_calendar.g1"


def as_google_returns(body: dict, **server_fields: object) -> dict:
    """What Google answers to an insert: the body plus server fields (no network needed for the mapping)."""
    event = {**body, "kind": "calendar#event", "etag": '"1"', "status": "confirmed", **server_fields}
    event["organizer"] = {"email": "desk@example.com", "self": True}
    return event


def test_in_person_body() -> None:
    session = make_session()
    body = event_body(session, key=KEY, event_id=event_id_for_key(KEY))
    CALENDAR.validate_body("calendar.events.insert", body)
    assert body["id"] == event_id_for_key(KEY)
    assert body["start"] == {"dateTime": "2026-03-10T09:00:00-04:00", "timeZone": "America/New_York"}
    assert body["end"] == {"dateTime": "2026-03-10T11:00:00-04:00", "timeZone": "America/New_York"}
    assert body["location"] == "Room 101, HQ, floor 1"
    assert {"email": ROOM.email, "displayName": "Room 101", "resource": True} in body["attendees"]
    assert {"email": "ines@example.com", "displayName": "Ines Instructor"} in body["attendees"]
    assert body["guestsCanInviteOthers"] is False
    assert body["extendedProperties"]["private"]["lmsc_key"] == KEY
    assert "conferenceData" not in body


def test_virtual_session_without_meeting_asks_for_meet() -> None:
    session = make_session(modality=Modality.VIRTUAL, room=None)
    body = event_body(session, key=KEY, event_id=event_id_for_key(KEY))
    CALENDAR.validate_body("calendar.events.insert", body)
    create = body["conferenceData"]["createRequest"]
    assert create["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    assert create["requestId"] == event_body(session, key=KEY, event_id="x" * 5)["conferenceData"]["createRequest"][
        "requestId"
    ]
    assert "location" not in body


def test_meeting_made_elsewhere_is_carried_not_created() -> None:
    zoom = Meeting(provider="zoom", join_url="https://zoom.us/j/123", passcode="42")
    session = make_session(modality=Modality.VIRTUAL, room=None, meeting=zoom)
    body = event_body(session, key=KEY, event_id=event_id_for_key(KEY))
    CALENDAR.validate_body("calendar.events.insert", body)
    assert "conferenceData" not in body
    assert body["location"] == "https://zoom.us/j/123"
    assert "Join: https://zoom.us/j/123 (passcode 42)" in body["description"]
    back = provider_session(as_google_returns(body), "primary")
    assert back.join_url == "https://zoom.us/j/123"


def test_hybrid_with_meeting_keeps_room_as_location_and_link_in_description() -> None:
    zoom = Meeting(provider="zoom", join_url="https://zoom.us/j/9")
    body = event_body(make_session(modality=Modality.HYBRID, meeting=zoom), key=KEY, event_id=event_id_for_key(KEY))
    assert body["location"] == "Room 101, HQ, floor 1"
    assert body["description"].endswith("Join: https://zoom.us/j/9")


def test_round_trip_across_dst() -> None:
    # 2026-03-10: New York is on EDT (since 03-08), Tokyo has no DST: instants must survive untouched.
    session = make_session(capacity=2)
    body = event_body(session, key=KEY, event_id=event_id_for_key(KEY))
    back = provider_session(as_google_returns(body, hangoutLink="https://meet.google.com/abc-defg-hij"), "primary")
    assert back.start == session.slot.start
    assert back.end == session.slot.end
    assert back.timezone == "America/New_York"
    assert back.title == session.title
    assert back.location == "Room 101, HQ, floor 1"
    assert back.capacity == 2
    assert back.join_url == "https://meet.google.com/abc-defg-hij"
    assert back.ref.external_id == event_id_for_key(KEY)
    assert back.ref.version == '"1"'
    assert back.ref.extra == {"calendar_id": "primary", "key": KEY, "owned": owned_fingerprint(body)}
    assert back.attendees == ("ines@example.com",)  # the room is a resource, not a person
    assert not back.cancelled
    assert event_is_ours(body)


def test_cancelled_event_reads_back_cancelled() -> None:
    body = event_body(make_session(), key=KEY, event_id=event_id_for_key(KEY))
    assert provider_session(as_google_returns(body, status="cancelled"), "primary").cancelled


def test_reschedule_patch_moves_times_and_leaves_roster() -> None:
    session = make_session()
    moved = session.rescheduled(
        TimeSlot(
            start=datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("America/New_York")),
            end=datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("America/New_York")),
            timezone="America/New_York",
        )
    )
    patch = event_reschedule_patch(moved, key=KEY)
    CALENDAR.validate_body("calendar.events.patch", patch)
    assert patch["start"]["dateTime"] == "2026-11-02T09:00:00-05:00"  # EST after the fall change
    assert "attendees" not in patch
    assert "conferenceData" not in patch


def test_learners_exclude_instructors_rooms_and_organizer() -> None:
    body = event_body(make_session(), key=KEY, event_id=event_id_for_key(KEY))
    event = as_google_returns(body)
    event["attendees"] = [
        *body["attendees"],
        {"email": "desk@example.com", "organizer": True, "self": True},
        {"email": "learner1@example.org", "responseStatus": "accepted"},
    ]
    assert [a["email"] for a in learner_attendees(event)] == ["learner1@example.org"]


def test_merge_attendees_adds_and_removes_only_the_given_people() -> None:
    current = [
        {"email": ROOM.email, "resource": True, "responseStatus": "accepted"},
        {"email": "learner1@example.org", "responseStatus": "accepted"},
    ]
    merged, changed = merge_attendees(current, add=[learner(1), learner(2)])
    assert changed
    assert merged[:2] == current  # untouched, response kept
    assert merged[2] == {"email": "learner2@example.org", "displayName": "Learner 2"}
    same, changed_again = merge_attendees(merged, add=[learner(2)])
    assert not changed_again and same == merged
    removed, changed = merge_attendees(merged, remove=["LEARNER1@example.org"])
    assert changed and [a["email"] for a in removed] == [ROOM.email, "learner2@example.org"]


def test_owned_fingerprint_ignores_roster_and_answers_but_not_times_or_text() -> None:
    body = event_body(make_session(), key=KEY, event_id=event_id_for_key(KEY))
    event = as_google_returns(body)
    same = {**event, "etag": '"2"', "attendees": [*body["attendees"], {"email": "x@example.org", "responseStatus": "accepted"}]}
    assert owned_fingerprint(same) == owned_fingerprint(event)
    # The same instant written with another offset is the same time.
    utc = {**event, "start": {"dateTime": "2026-03-10T13:00:00Z", "timeZone": "America/New_York"}}
    assert owned_fingerprint(utc) == owned_fingerprint(event)
    moved = {**event, "start": {"dateTime": "2026-03-10T10:00:00-04:00", "timeZone": "America/New_York"}}
    retitled = {**event, "summary": "Another title"}
    assert owned_fingerprint(moved) != owned_fingerprint(event)
    assert owned_fingerprint(retitled) != owned_fingerprint(event)


def test_parse_datetime_uses_time_zone_when_no_offset() -> None:
    value = parse_datetime({"dateTime": "2026-03-10T09:00:00", "timeZone": "Asia/Tokyo"}, "start")
    assert value.utcoffset() is not None and value.utcoffset().total_seconds() == 9 * 3600


def test_all_day_event_is_refused() -> None:
    with pytest.raises(MalformedResponse):
        parse_datetime({"date": "2026-03-10"}, "start")


def test_instructors_list_too_long_is_refused() -> None:
    many = tuple(Person(email=f"instructor{n:04d}@example-training.org", name="I", role="instructor") for n in range(40))
    from lms_connectors.errors import ValidationError

    with pytest.raises(ValidationError):
        event_body(make_session(instructors=many, room=Room(id="r", name="R")), key=KEY, event_id="abcde")


def test_an_unknown_time_zone_in_an_answer_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="no IANA zone"):
        parse_datetime({"dateTime": "2027-03-16T09:00:00", "timeZone": "Mars/Olympus_Mons"}, "start")
