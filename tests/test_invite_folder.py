"""A roster's invites as calendar clients expect them (RFC 5546), read by an independent strict parser.

vobject (not the icalendar library that writes them) parses every file with validation on.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject

from lms_connectors.errors import ValidationError
from lms_connectors.invite_folder import sync_invites, waitlist_notice
from lms_connectors.invites import build_invite
from lms_connectors.models import (
    Enrollment,
    EnrollmentStatus,
    Meeting,
    Modality,
    Person,
    Role,
    RosterMember,
    Session,
    SessionStatus,
    TimeSlot,
)

NY = ZoneInfo("America/New_York")
FIRST = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2027, 2, 2, 8, 30, tzinfo=UTC)
IAN = Person(email="ian@example.org", name="Ian Instructor", role=Role.INSTRUCTOR, timezone="America/New_York")
AMARA = Person(email="amara@example.org", name="Amara Okafor", timezone="America/New_York")
KENJI = Person(email="kenji@example.org", name="Kenji Sato", timezone="Asia/Tokyo")
LENA = Person(email="lena@example.org", name="Lena Fischer", timezone="Europe/Berlin")


def _session(**update: Any) -> Session:
    start = datetime(2027, 3, 16, 9, 0, tzinfo=NY)
    return Session(
        id="onb-7",
        title="Onboarding",
        slot=TimeSlot(start=start, end=start + timedelta(hours=2), timezone="America/New_York"),
        modality=Modality.VIRTUAL,
        capacity=1,
        instructors=(IAN,),
        meeting=Meeting(provider="zoom", join_url="https://zoom.example/j/1"),
    ).model_copy(update=update)


def _roster(*entries: tuple[Person, EnrollmentStatus], links: dict[str, str] | None = None) -> list[Enrollment]:
    return [
        Enrollment(
            session_id="onb-7",
            person=person,
            status=status,
            position=i,
            registrations={"zoom": RosterMember(email=person.email, join_url=(links or {})[person.email])}
            if links and person.email in links
            else {},
        )
        for i, (person, status) in enumerate(entries)
    ]


def _strict(path: Path) -> Any:
    """The file read by vobject with validation: every required property present and well formed."""
    calendar = vobject.readOne(path.read_text(encoding="utf-8"), validate=True)
    assert calendar.name == "VCALENDAR"
    return calendar


def _itip(path: Path) -> tuple[str, str, int, datetime]:
    """METHOD, UID, SEQUENCE and DTSTAMP of an invite, as vobject reads them."""
    calendar = _strict(path)
    event = calendar.vevent
    return calendar.method.value, event.uid.value, int(event.sequence.value), event.dtstamp.value


def _assert_rfc5546(path: Path, attendee: Person) -> None:
    """RFC 5546 3.2.2 (REQUEST) / 3.2.5 (CANCEL): properties every such message must carry."""
    calendar = _strict(path)
    event = calendar.vevent
    method = calendar.method.value
    for name in ("dtstamp", "uid", "sequence", "organizer", "attendee"):
        assert hasattr(event, name), f"{method} lacks {name.upper()}"
    assert event.organizer.value == f"mailto:{IAN.email}"
    assert [a.value for a in event.attendee_list] == [f"mailto:{attendee.email}"]
    assert event.dtstamp.value.utcoffset() == timedelta(0)  # DTSTAMP is UTC (RFC 5545 3.8.7.2)
    if method == "REQUEST":
        assert hasattr(event, "dtstart") and hasattr(event, "summary")
    else:
        assert event.status.value == "CANCELLED"


def test_cancel_is_newer_than_the_request_it_cancels(tmp_path: Path) -> None:
    session = _session()
    request = tmp_path / "request.ics"
    request.write_bytes(build_invite(session, organizer=IAN, attendees=[AMARA], stamp=FIRST))
    cancel = tmp_path / "cancel.ics"
    cancel.write_bytes(build_invite(session, organizer=IAN, attendees=[AMARA], method="CANCEL", stamp=FIRST))
    _assert_rfc5546(request, AMARA)
    _assert_rfc5546(cancel, AMARA)
    (_, uid_r, seq_r, _), (method, uid_c, seq_c, _) = _itip(request), _itip(cancel)
    assert method == "CANCEL" and uid_c == uid_r
    assert seq_c > seq_r  # RFC 5546 2.1.4: clients ignore a cancel that is not newer


def test_a_sequence_older_than_the_sessions_is_refused() -> None:
    with pytest.raises(ValidationError, match="older"):
        build_invite(_session(sequence=2), organizer=IAN, attendees=[AMARA], sequence=1)


def test_each_learner_gets_what_her_place_calls_for(tmp_path: Path) -> None:
    session = _session()
    roster = _roster(
        (AMARA, EnrollmentStatus.CANCELLED),
        (KENJI, EnrollmentStatus.CONFIRMED),
        (LENA, EnrollmentStatus.WAITLISTED),
        links={KENJI.email: "https://zoom.example/w/kenji"},
    )
    result = sync_invites(session, roster, tmp_path, organizer=IAN, stamp=FIRST)
    names = sorted(p.name for p in result.written)
    assert names == [
        "onb-7-amara@example.org.ics",
        "onb-7-kenji@example.org.ics",
        "onb-7-lena@example.org.waitlist.txt",
    ]
    amara, kenji = tmp_path / names[0], tmp_path / names[1]
    _assert_rfc5546(amara, AMARA)
    _assert_rfc5546(kenji, KENJI)
    assert _itip(amara)[0] == "CANCEL" and _itip(amara)[2] == 1
    assert _itip(kenji)[0] == "REQUEST" and _itip(kenji)[2] == 0
    assert "https://zoom.example/w/kenji" in kenji.read_text()  # her own join link
    notice = (tmp_path / names[2]).read_text()
    assert "number 1 on its waitlist" in notice
    assert "Tue 16 Mar 2027, 14:00 CET" in notice  # her local time (Berlin is still on winter time)


def test_rerun_with_nothing_changed_rewrites_nothing(tmp_path: Path) -> None:
    session = _session()
    roster = _roster((KENJI, EnrollmentStatus.CONFIRMED), (LENA, EnrollmentStatus.WAITLISTED))
    first = sync_invites(session, roster, tmp_path, organizer=IAN, stamp=FIRST)
    before = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in first.written}
    second = sync_invites(session, roster, tmp_path, organizer=IAN, stamp=LATER)
    assert second.written == [] and sorted(second.unchanged) == sorted(first.written)
    assert {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in first.written} == before
    assert _itip(tmp_path / "onb-7-kenji@example.org.ics")[3] == FIRST  # DTSTAMP kept


def test_promotion_replaces_the_notice_by_the_invitation(tmp_path: Path) -> None:
    session = _session()
    sync_invites(session, _roster((KENJI, EnrollmentStatus.CONFIRMED), (LENA, EnrollmentStatus.WAITLISTED)), tmp_path, organizer=IAN, stamp=FIRST)
    promoted = _roster((KENJI, EnrollmentStatus.CANCELLED), (LENA, EnrollmentStatus.CONFIRMED))
    result = sync_invites(session, promoted, tmp_path, organizer=IAN, stamp=LATER)
    assert [p.name for p in result.removed] == ["onb-7-lena@example.org.waitlist.txt"]
    lena = tmp_path / "onb-7-lena@example.org.ics"
    _assert_rfc5546(lena, LENA)
    assert _itip(lena)[0] == "REQUEST" and _itip(lena)[3] == LATER
    method, _, sequence, _ = _itip(tmp_path / "onb-7-kenji@example.org.ics")
    assert (method, sequence) == ("CANCEL", 1)


def test_leaving_the_waitlist_removes_the_notice_and_sends_no_cancel(tmp_path: Path) -> None:
    session = _session()
    sync_invites(session, _roster((LENA, EnrollmentStatus.WAITLISTED)), tmp_path, organizer=IAN, stamp=FIRST)
    result = sync_invites(session, _roster((LENA, EnrollmentStatus.CANCELLED)), tmp_path, organizer=IAN, stamp=LATER)
    assert result.written == [] and list(tmp_path.iterdir()) == []


def test_a_learner_back_after_her_cancel_gets_a_request_newer_than_that_cancel(tmp_path: Path) -> None:
    session = _session()
    sync_invites(session, _roster((KENJI, EnrollmentStatus.CONFIRMED)), tmp_path, organizer=IAN, stamp=FIRST)
    sync_invites(session, _roster((KENJI, EnrollmentStatus.CANCELLED)), tmp_path, organizer=IAN, stamp=FIRST)
    path = tmp_path / "onb-7-kenji@example.org.ics"
    cancel_sequence = _itip(path)[2]
    sync_invites(session, _roster((KENJI, EnrollmentStatus.CONFIRMED)), tmp_path, organizer=IAN, stamp=LATER)
    method, _, sequence, _ = _itip(path)
    assert method == "REQUEST" and sequence > cancel_sequence


def test_reschedule_and_session_cancel_each_send_a_newer_sequence(tmp_path: Path) -> None:
    session = _session()
    roster = _roster((KENJI, EnrollmentStatus.CONFIRMED))
    path = tmp_path / "onb-7-kenji@example.org.ics"
    sync_invites(session, roster, tmp_path, organizer=IAN, stamp=FIRST)
    moved = session.rescheduled(session.slot.model_copy(update={"start": session.slot.start + timedelta(days=1), "end": session.slot.end + timedelta(days=1)}))
    sync_invites(moved, roster, tmp_path, organizer=IAN, stamp=LATER)
    assert _itip(path)[:3:2] == ("REQUEST", 1)
    sync_invites(moved.model_copy(update={"status": SessionStatus.CANCELLED}), roster, tmp_path, organizer=IAN, stamp=LATER)
    _assert_rfc5546(path, KENJI)
    assert _itip(path)[:3:2] == ("CANCEL", 2)


def test_waitlist_notice_without_a_zone_uses_the_sessions() -> None:
    text = waitlist_notice(_session(), Person(email="sam@example.org", name="Sam"), 2)
    assert "number 2 on its waitlist" in text and "(America/New_York)" in text


def test_reminders_become_valarms_in_requests_only(tmp_path: Path) -> None:
    offsets = (timedelta(days=7), timedelta(hours=1))
    sync_invites(_session(), _roster((AMARA, EnrollmentStatus.CONFIRMED)), tmp_path, stamp=FIRST, reminders=offsets)
    (path,) = tmp_path.glob("*.ics")
    event = _strict(path).vevent
    alarms = sorted((a.trigger.value, a.action.value, a.description.value) for a in event.valarm_list)
    assert alarms == [(-timedelta(days=7), "DISPLAY", "Reminder: Onboarding"),
                      (-timedelta(hours=1), "DISPLAY", "Reminder: Onboarding")]
    # Unchanged reminders leave the file alone; the cancel carries none.
    again = sync_invites(_session(), _roster((AMARA, EnrollmentStatus.CONFIRMED)), tmp_path, stamp=LATER,
                         reminders=offsets)
    assert again.unchanged == [path]
    sync_invites(_session(), _roster((AMARA, EnrollmentStatus.CANCELLED)), tmp_path, stamp=LATER, reminders=offsets)
    assert not hasattr(_strict(path).vevent, "valarm")
