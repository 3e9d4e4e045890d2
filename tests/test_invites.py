from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Timezone

from lms_connectors.errors import ValidationError
from lms_connectors.invites import PRODID, build_invite, invite_uid, write_invites
from lms_connectors.models import Meeting, Modality, Person, Role, Room, Session, SessionStatus, TimeSlot

NY = ZoneInfo("America/New_York")
STAMP = datetime(2027, 2, 1, 12, 0, 30, 123456, tzinfo=UTC)

IAN = Person(email="ian@example.org", name="Ian Instructor", role=Role.INSTRUCTOR, timezone="America/New_York")
YUKI = Person(email="Yuki@Example.jp", name="Yuki Tanaka", timezone="Asia/Tokyo")
LEA = Person(email="lea@example.fr", name="Léa Dubois, PhD", timezone="Europe/Paris")
NOZONE = Person(email="sam@example.org", name="Sam")


def slot(day: int, hour: int = 10, zone: str = "America/New_York", hours: int = 2) -> TimeSlot:
    tz = ZoneInfo(zone)
    return TimeSlot(
        start=datetime(2027, 3, day, hour, 0, tzinfo=tz),
        end=datetime(2027, 3, day, hour + hours, 0, tzinfo=tz),
        timezone=zone,
    )


def virtual_session(**changes: Any) -> Session:
    base = Session(
        id="forklift-2027-03",
        title="Forklift safety",
        slot=slot(16),
        modality=Modality.HYBRID,
        room=Room(id="r4b", name="Room 4B", location="Building A"),
        meeting=Meeting(provider="zoom", join_url="https://zoom.example/j/851?pwd=x", passcode="931"),
        instructors=(IAN,),
        description="Bring safety boots.",
    )
    return base.model_copy(update=changes)


def parse(data: bytes) -> tuple[Calendar, Any]:
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def used_tzids(calendar: Calendar) -> set[str]:
    tzids = set()
    for component in calendar.walk("VEVENT"):
        for value in component.values():
            params = getattr(value, "params", {})
            if "TZID" in params:
                tzids.add(params["TZID"])
    return tzids


def attendees(event: Any) -> list[Any]:
    """ATTENDEE values as a list (icalendar returns a lone one unwrapped)."""
    value = event.get("ATTENDEE", [])
    return list(value) if isinstance(value, list) else [value]


def wall_time(event: Any, name: str) -> datetime:
    """The property's wall time as written, without the zone icalendar attached."""
    value: datetime = event[name].dt
    return value.replace(tzinfo=None)


def instant_from_vtimezone(calendar: Calendar, event: Any, name: str) -> datetime:
    """Read DTSTART/DTEND with the offsets the file's own VTIMEZONE declares (not the host's tz data)."""
    tzid = event[name].params["TZID"]
    (component,) = [tz for tz in calendar.walk("VTIMEZONE") if tz["TZID"] == tzid]
    assert isinstance(component, Timezone)
    declared = component.to_tz(lookup_tzid=False)
    return wall_time(event, name).replace(tzinfo=declared).astimezone(UTC)


# --- the envelope -----------------------------------------------------------------------------------------


def test_request_round_trips_instants_and_fields() -> None:
    session = virtual_session()
    calendar, event = parse(build_invite(session, organizer=IAN, attendees=[YUKI, LEA], stamp=STAMP))

    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"] == PRODID
    assert event["UID"] == "forklift-2027-03@lms-connectors"
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event["SUMMARY"] == "Forklift safety"
    assert event["DTSTART"].dt == session.slot.start
    assert event["DTEND"].dt == session.slot.end
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event["DTSTAMP"].dt == datetime(2027, 2, 1, 12, 0, 30, tzinfo=UTC)
    assert event["LOCATION"] == "Room 4B, Building A"
    assert str(event["URL"]) == "https://zoom.example/j/851?pwd=x"
    conference = event["CONFERENCE"]
    assert str(conference) == "https://zoom.example/j/851?pwd=x"
    assert conference.params["VALUE"] == "URI"
    assert "VIDEO" in conference.params["FEATURE"]
    assert "Bring safety boots." in event["DESCRIPTION"]
    assert "Passcode: 931" in event["DESCRIPTION"]


def test_one_attendee_per_person_with_rsvp() -> None:
    data = build_invite(virtual_session(), organizer=IAN, attendees=[YUKI, LEA, YUKI], stamp=STAMP)
    _, event = parse(data)
    listed = attendees(event)
    assert [str(a) for a in listed] == ["mailto:yuki@example.jp", "mailto:lea@example.fr"]
    assert [a.params["CN"] for a in listed] == ["Yuki Tanaka", "Léa Dubois, PhD"]
    for attendee in listed:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
    assert str(event["ORGANIZER"]) == "mailto:ian@example.org"
    assert event["ORGANIZER"].params["CN"] == "Ian Instructor"
    assert b"\r\n" in data


def test_organizer_defaults_to_first_instructor_else_none() -> None:
    _, event = parse(build_invite(virtual_session(), organizer=None, attendees=[YUKI], stamp=STAMP))
    assert str(event["ORGANIZER"]) == "mailto:ian@example.org"
    _, event = parse(build_invite(virtual_session(instructors=()), organizer=None, attendees=[YUKI], stamp=STAMP))
    assert "ORGANIZER" not in event


def test_in_person_session_has_no_link() -> None:
    session = virtual_session(modality=Modality.IN_PERSON, meeting=None)
    _, event = parse(build_invite(session, organizer=IAN, attendees=[YUKI], stamp=STAMP))
    assert event["LOCATION"] == "Room 4B, Building A"
    assert "URL" not in event
    assert "CONFERENCE" not in event


def test_virtual_session_location_is_the_link() -> None:
    session = virtual_session(modality=Modality.VIRTUAL, room=None)
    _, event = parse(build_invite(session, organizer=IAN, attendees=[YUKI], stamp=STAMP))
    assert event["LOCATION"] == "https://zoom.example/j/851?pwd=x"
    assert "Where:" not in event["DESCRIPTION"]


def test_a_personal_join_link_replaces_the_meetings_everywhere() -> None:
    session = virtual_session(modality=Modality.VIRTUAL, room=None)
    own = "https://zoom.example/w/851?tk=yuki-only"
    _, event = parse(build_invite(session, organizer=IAN, attendees=[YUKI], join_url=own, stamp=STAMP))
    assert event["LOCATION"] == own and str(event["URL"]) == own and str(event["CONFERENCE"]) == own
    assert f"Join online: {own}" in event["DESCRIPTION"]
    assert "pwd=x" not in event["DESCRIPTION"]


def test_write_invites_gives_each_reader_her_own_link(tmp_path: Path) -> None:
    own = {YUKI.email: "https://zoom.example/w/851?tk=yuki-only"}
    yuki, lea = write_invites(virtual_session(), [YUKI, LEA], tmp_path, join_urls=own, stamp=STAMP)
    assert str(parse(yuki.read_bytes())[1]["URL"]) == own[YUKI.email]
    assert str(parse(lea.read_bytes())[1]["URL"]) == "https://zoom.example/j/851?pwd=x"


def test_custom_uid_domain() -> None:
    session = virtual_session()
    _, event = parse(build_invite(session, organizer=IAN, attendees=[], uid_domain="academy.example", stamp=STAMP))
    assert event["UID"] == invite_uid(session, "academy.example") == "forklift-2027-03@academy.example"


def test_stamp_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    _, event = parse(build_invite(virtual_session(), organizer=IAN, attendees=[YUKI]))
    assert before <= event["DTSTAMP"].dt <= datetime.now(UTC)
    assert event["DTSTAMP"].dt.utcoffset().total_seconds() == 0


# --- reschedule and cancel --------------------------------------------------------------------------------


def test_reschedule_keeps_uid_and_bumps_sequence() -> None:
    first = virtual_session()
    moved = first.rescheduled(slot(18, hour=14))
    _, before = parse(build_invite(first, organizer=IAN, attendees=[YUKI], stamp=STAMP))
    _, after = parse(build_invite(moved, organizer=IAN, attendees=[YUKI], stamp=STAMP))
    assert after["UID"] == before["UID"]
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after["DTSTART"].dt == datetime(2027, 3, 18, 18, 0, tzinfo=UTC)
    _, again = parse(build_invite(moved.rescheduled(slot(19)), organizer=IAN, attendees=[YUKI], stamp=STAMP))
    assert (again["UID"], again["SEQUENCE"]) == (before["UID"], 2)


def test_cancel() -> None:
    session = virtual_session(sequence=3, status=SessionStatus.CANCELLED)
    calendar, event = parse(build_invite(session, organizer=IAN, attendees=[YUKI], method="CANCEL", stamp=STAMP))
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 4  # RFC 5546 2.1.4: newer than the REQUEST (sequence 3) it cancels
    assert event["UID"] == invite_uid(session)
    assert [str(a) for a in attendees(event)] == ["mailto:yuki@example.jp"]


def test_request_for_a_cancelled_session_is_refused() -> None:
    session = virtual_session(status=SessionStatus.CANCELLED)
    with pytest.raises(ValidationError, match="CANCEL"):
        build_invite(session, organizer=IAN, attendees=[YUKI])


@pytest.mark.parametrize("method", ["PUBLISH", "request"])
def test_unknown_method_is_refused(method: Any) -> None:
    with pytest.raises(ValidationError):
        build_invite(virtual_session(), organizer=IAN, attendees=[YUKI], method=method)


def test_naive_stamp_is_refused() -> None:
    with pytest.raises(ValidationError):
        build_invite(virtual_session(), organizer=IAN, attendees=[YUKI], stamp=datetime(2027, 1, 1))


# --- zones ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "tokyo_wall"),
    [
        # 16 March: New York is on EDT (UTC-4), Tokyo on JST (UTC+9): 10:00 -> 23:00 the same day.
        (16, datetime(2027, 3, 16, 23, 0)),
        # 9 March: New York still on EST (UTC-5): 10:00 -> 00:00 the next day.
        (9, datetime(2027, 3, 10, 0, 0)),
    ],
)
def test_tokyo_learner_sees_her_wall_time_for_a_new_york_session(day: int, tokyo_wall: datetime) -> None:
    session = virtual_session(slot=slot(day))
    data = build_invite(session, organizer=IAN, attendees=[YUKI], for_person=YUKI, stamp=STAMP)
    calendar, event = parse(data)

    assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert wall_time(event, "DTSTART") == tokyo_wall
    assert event["DTSTART"].dt == session.slot.start
    assert event["DTEND"].dt == session.slot.end
    # The instants hold with the file's own VTIMEZONE too, i.e. in any client.
    assert instant_from_vtimezone(calendar, event, "DTSTART") == session.slot.start
    assert instant_from_vtimezone(calendar, event, "DTEND") == session.slot.end
    assert f"DTSTART;TZID=Asia/Tokyo:{tokyo_wall:%Y%m%dT%H%M%S}".encode() in data
    description = event["DESCRIPTION"]
    assert f"When (Asia/Tokyo): {tokyo_wall.strftime('%a')} {tokyo_wall.day} Mar 2027, " in description
    assert f"{tokyo_wall:%H:%M} JST (UTC+09:00)" in description
    offset = "EDT (UTC-04:00)" if day == 16 else "EST (UTC-05:00)"
    assert "Session time (America/New_York): " in description
    assert f"10:00 {offset}" in description


def test_new_york_copy_vtimezone_encodes_the_switch() -> None:
    for day in (9, 16):
        session = virtual_session(slot=slot(day))
        calendar, event = parse(build_invite(session, organizer=IAN, attendees=[YUKI], stamp=STAMP))
        assert wall_time(event, "DTSTART") == datetime(2027, 3, day, 10, 0)
        assert instant_from_vtimezone(calendar, event, "DTSTART") == session.slot.start


@pytest.mark.parametrize("reader", [None, YUKI, LEA, NOZONE])
def test_a_vtimezone_for_every_tzid(reader: Person | None) -> None:
    calendar, event = parse(
        build_invite(virtual_session(), organizer=IAN, attendees=[YUKI, LEA], for_person=reader, stamp=STAMP)
    )
    defined = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    expected_zone = reader.timezone if reader is not None and reader.timezone else "America/New_York"
    assert used_tzids(calendar) == {expected_zone}
    assert defined == {expected_zone}
    assert event["DTSTART"].dt == virtual_session().slot.start


def test_reader_without_zone_gets_the_session_zone() -> None:
    calendar, event = parse(build_invite(virtual_session(), organizer=IAN, attendees=[NOZONE], for_person=NOZONE))
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert "Session time" not in event["DESCRIPTION"]


def test_utc_session_needs_no_vtimezone() -> None:
    session = virtual_session(slot=slot(16, zone="Etc/UTC"))
    calendar, event = parse(build_invite(session, organizer=IAN, attendees=[YUKI], stamp=STAMP))
    assert calendar.walk("VTIMEZONE") == []
    assert used_tzids(calendar) == set()
    assert event["DTSTART"].dt == datetime(2027, 3, 16, 10, 0, tzinfo=UTC)


def test_session_across_a_fold_keeps_its_duration() -> None:
    # 00:30 EDT to 02:30 EST on the fall-back night lasts three hours, not two.
    start = datetime(2027, 11, 7, 4, 30, tzinfo=UTC)
    session = virtual_session(
        slot=TimeSlot(start=start, end=datetime(2027, 11, 7, 7, 30, tzinfo=UTC), timezone="America/New_York")
    )
    calendar, event = parse(build_invite(session, organizer=IAN, attendees=[LEA], stamp=STAMP))
    begin = instant_from_vtimezone(calendar, event, "DTSTART")
    finish = instant_from_vtimezone(calendar, event, "DTEND")
    assert (begin, finish - begin) == (start, session.slot.duration)


# --- files ------------------------------------------------------------------------------------------------


def test_write_invites_one_file_per_person_in_their_zone(tmp_path: Path) -> None:
    folder = tmp_path / "out" / "invites"
    odd = Person(email="o'neil/../x@example.org", name="Pat O'Neil", timezone="Asia/Kolkata")
    clash = Person(email="o'neil_.._x@example.org", name="Other Pat")
    paths = write_invites(virtual_session(), [YUKI, LEA, YUKI, odd, clash], folder, stamp=STAMP)

    assert len(paths) == 4
    assert all(path.parent == folder and path.suffix == ".ics" for path in paths)
    assert len({path.name.casefold() for path in paths}) == 4
    assert paths[0].name == "forklift-2027-03-yuki@example.jp.ics"
    assert "/" not in paths[2].name and "'" not in paths[2].name
    for path, person in zip(paths, [YUKI, LEA, odd, clash], strict=True):
        calendar, event = parse(path.read_bytes())
        assert [str(a) for a in attendees(event)] == [f"mailto:{person.email}"]
        assert event["DTSTART"].params["TZID"] == (person.timezone or "America/New_York")
        assert event["DTSTART"].dt == virtual_session().slot.start
        assert event["UID"] == "forklift-2027-03@lms-connectors"
        assert calendar["METHOD"] == "REQUEST"


def test_write_cancellations(tmp_path: Path) -> None:
    session = virtual_session(status=SessionStatus.CANCELLED, sequence=2)
    (path,) = write_invites(session, [LEA], tmp_path, method="CANCEL", stamp=STAMP)
    calendar, event = parse(path.read_bytes())
    assert (calendar["METHOD"], event["STATUS"], event["SEQUENCE"]) == ("CANCEL", "CANCELLED", 3)
