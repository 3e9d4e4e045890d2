"""Reminders across DST, attendance matched to the roster, and each KPI against a hand-computed fixture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import ValidationError
from lms_connectors.models import Enrollment, EnrollmentStatus, Person, Session, SessionStatus, TimeSlot
from lms_connectors.operations.attendance import (
    Outcome,
    Presence,
    attendance_of,
    minutes_present,
    read_attendance_csv,
    record_attendance,
)
from lms_connectors.operations.kpis import compute_kpis
from lms_connectors.operations.reminders import alarm_offsets, due_reminders, parse_offset, reminders_for
from lms_connectors.store.base import AuditEntry
from lms_connectors.store.memory import MemoryLedger

NY = ZoneInfo("America/New_York")


def _slot(year: int, month: int, day: int, hour: int, minutes: int = 60, zone: str = "America/New_York") -> TimeSlot:
    start = datetime(year, month, day, hour, tzinfo=ZoneInfo(zone))
    return TimeSlot(start=start, end=start + timedelta(minutes=minutes), timezone=zone)


def _enrol(ledger: MemoryLedger, sid: str, email: str, status: EnrollmentStatus, zone: str | None = None) -> None:
    ledger.upsert_enrollment(Enrollment(
        session_id=sid, person=Person(email=email, name=email.split("@")[0], timezone=zone), status=status,
        position=ledger.next_position(sid),
    ))


def test_offsets_parse_and_refuse_nonsense() -> None:
    assert alarm_offsets(["1h", "7d", "1d", "24h"]) == (timedelta(days=7), timedelta(days=1), timedelta(hours=1))
    for bad in ("0d", "1y", "soon", "-1h"):
        with pytest.raises(ValidationError):
            parse_offset(bad)


def test_reminders_are_elapsed_time_before_the_start_across_dst_and_shown_in_the_learners_zone() -> None:
    # 16 March 2027, 09:00 New York (EDT, after the 14 March change): 13:00 UTC. Seven days before is 9 March
    # 13:00 UTC, when New York still showed 08:00 EST: the reminder keeps the instant, not the wall clock.
    ledger = MemoryLedger()
    session = Session(id="s.dst", title="Safety", slot=_slot(2027, 3, 16, 9))
    ledger.save_session(session)
    _enrol(ledger, "s.dst", "tokyo@example.org", EnrollmentStatus.CONFIRMED, "Asia/Tokyo")
    _enrol(ledger, "s.dst", "waiting@example.org", EnrollmentStatus.WAITLISTED)
    reminders = reminders_for(session, ledger.list_enrollments("s.dst"), alarm_offsets(["7d", "1h"]))
    assert [(r.email, r.due_at) for r in reminders] == [
        ("tokyo@example.org", datetime(2027, 3, 9, 13, tzinfo=UTC)),
        ("tokyo@example.org", datetime(2027, 3, 16, 12, tzinfo=UTC)),
    ]
    assert reminders[0].due_at.astimezone(NY).hour == 8  # EST then
    assert reminders[0].starts_local.startswith("Tue 16 Mar 2027, 22:00 JST")


def test_due_reminders_follow_reschedules_and_cancels() -> None:
    ledger = MemoryLedger()
    session = Session(id="s.move", title="Safety", slot=_slot(2027, 3, 16, 9))
    ledger.save_session(session)
    _enrol(ledger, "s.move", "a@example.org", EnrollmentStatus.CONFIRMED)
    window = {"since": datetime(2027, 3, 15, tzinfo=UTC), "until": datetime(2027, 3, 17, tzinfo=UTC)}
    offsets = alarm_offsets(["1d", "1h"])
    assert [r.due_at.hour for r in due_reminders(ledger, **window, offsets=offsets)] == [13, 12]
    ledger.save_session(session.rescheduled(_slot(2027, 3, 16, 11)))
    assert [r.due_at.hour for r in due_reminders(ledger, **window, offsets=offsets)] == [15, 14]
    ledger.save_session(session.model_copy(update={"status": SessionStatus.CANCELLED}))
    assert list(due_reminders(ledger, **window, offsets=offsets)) == []
    with pytest.raises(ValidationError):
        list(due_reminders(ledger, since=datetime(2027, 3, 15), until=datetime(2027, 3, 16)))


def test_attendance_is_matched_by_email_and_classified(tmp_path: Path) -> None:
    ledger = MemoryLedger()
    ledger.save_session(Session(id="s.att", title="Safety", slot=_slot(2027, 3, 16, 9)))
    for email in ("on.time@example.org", "late@example.org", "absent@example.org"):
        _enrol(ledger, "s.att", email, EnrollmentStatus.CONFIRMED)
    _enrol(ledger, "s.att", "waiting@example.org", EnrollmentStatus.WAITLISTED)
    sheet = tmp_path / "sign-in.csv"
    sheet.write_text(
        "Email,Joined,Left\n"
        "On.Time@Example.org,2027-03-16T09:03:00-04:00,2027-03-16T10:00:00-04:00\n"
        "late@example.org,2027-03-16T13:25:00+00:00,\n"  # 09:25 in New York
        "late@example.org,2027-03-16T09:40:00-04:00,\n"  # rejoined: the first join counts
        "visitor@example.org,2027-03-16T09:00:00-04:00,\n"
    )
    unmatched = record_attendance(ledger, "s.att", read_attendance_csv(sheet))
    assert [p.email for p in unmatched] == ["visitor@example.org"]
    assert attendance_of(ledger, "s.att") == {
        ("s.att", "absent@example.org"): Outcome.NO_SHOW,
        ("s.att", "late@example.org"): Outcome.LATE,
        ("s.att", "on.time@example.org"): Outcome.ATTENDED,
    }
    # Recording again (a corrected sheet) replaces the outcome.
    record_attendance(ledger, "s.att", [Presence(email="absent@example.org", joined=datetime(2027, 3, 16, 13, 5, tzinfo=UTC))])
    assert attendance_of(ledger, "s.att")[("s.att", "absent@example.org")] is Outcome.ATTENDED
    sheet.write_text("email,joined\na@example.org,2027-03-16T09:00:00\n")
    with pytest.raises(ValidationError, match=r"sign-in\.csv:2: times need an offset"):
        read_attendance_csv(sheet)


def test_minutes_present_sums_stays_and_counts_overlaps_once() -> None:
    at = datetime(2027, 3, 16, 13, 0, tzinfo=UTC)

    def stay(joined: int, left: int | None) -> Presence:
        return Presence(email="a@example.org", joined=at + timedelta(minutes=joined),
                        left=None if left is None else at + timedelta(minutes=left))

    # 0-30 and 20-40 overlap (a laptop and a phone): 40 minutes; then 50-60; a stay without a leave adds nothing.
    assert minutes_present([stay(50, 60), stay(0, 30), stay(20, 40), stay(70, None)]) == 50.0
    assert minutes_present([stay(0, None)]) is None
    assert minutes_present([]) is None


def test_every_kpi_against_a_hand_computed_fixture() -> None:
    ledger = MemoryLedger()
    t0 = datetime(2027, 1, 4, 12, tzinfo=UTC)
    # Session A: capacity 4, 3 confirmed, 1 cancelled learner; two learners were waitlisted, one promoted.
    ledger.save_session(Session(id="a", title="A", course_id="101", capacity=4, slot=_slot(2027, 3, 16, 9)))
    for email in ("a1@example.org", "a2@example.org", "a3@example.org"):
        _enrol(ledger, "a", email, EnrollmentStatus.CONFIRMED)
    _enrol(ledger, "a", "a4@example.org", EnrollmentStatus.CANCELLED)
    # Session B: capacity 2, 2 confirmed, 1 waitlisted.
    ledger.save_session(Session(id="b", title="B", course_id="101", capacity=2, slot=_slot(2027, 3, 23, 9)))
    for email in ("b1@example.org", "b2@example.org"):
        _enrol(ledger, "b", email, EnrollmentStatus.CONFIRMED)
    _enrol(ledger, "b", "b3@example.org", EnrollmentStatus.WAITLISTED)
    # Session C: cancelled, with one enrolment.
    ledger.save_session(Session(id="c", title="C", capacity=5, status=SessionStatus.CANCELLED, slot=_slot(2027, 3, 24, 9)))
    _enrol(ledger, "c", "c1@example.org", EnrollmentStatus.CONFIRMED)
    audit = [
        ("a", None, "schedule", {}, 0), ("a", "google_calendar", "created", {}, 2), ("a", "zoom", "created", {}, 4),
        ("b", None, "schedule", {}, 10), ("b", "google_calendar", "created", {}, 11),
        ("b", "zoom", "create_failed", {}, 12), ("b", "zoom", "created", {}, 18),
        ("a", None, "enrolled", {"email": "a3@example.org", "status": "waitlisted"}, 20),
        ("a", None, "promoted", {"email": "a3@example.org"}, 21),
        ("b", None, "enrolled", {"email": "b3@example.org", "status": "waitlisted"}, 22),
        ("a", "zoom", "roster_failed", {}, 23),
    ]
    for sid, provider, action, detail, seconds in audit:
        ledger.append_audit(AuditEntry(at=t0 + timedelta(seconds=seconds), session_id=sid, provider=provider,
                                       action=action, detail=detail))
    record_attendance(ledger, "a", [Presence(email="a1@example.org", joined=datetime(2027, 3, 16, 13, tzinfo=UTC)),
                                    Presence(email="a2@example.org", joined=datetime(2027, 3, 16, 13, 30, tzinfo=UTC))])
    kpis = compute_kpis(ledger)
    assert (kpis.seats_filled, kpis.seats_offered) == (5, 6)  # C is cancelled: its seats are not offered
    assert kpis.utilisation == pytest.approx(5 / 6)
    assert (kpis.waitlisted, kpis.promoted, kpis.waitlist_conversion) == (2, 1, 0.5)
    assert (kpis.outcomes, kpis.no_shows, kpis.late) == (3, 1, 1)  # a1 attended, a2 late, a3 no-show
    assert kpis.no_show_rate == pytest.approx(1 / 3)
    assert (kpis.enrolments, kpis.enrolments_cancelled) == (8, 1)
    assert kpis.learner_cancellation_rate == pytest.approx(1 / 8)
    assert (kpis.sessions, kpis.sessions_cancelled) == (3, 1)
    assert kpis.time_to_schedule_s == [4.0, 8.0]
    assert kpis.median_time_to_schedule_s == 6.0
    assert kpis.provider_operations == {"google_calendar": 2, "zoom": 2}
    assert kpis.provider_failures == {"zoom": 2}
    weeks = {(cw.course, cw.week): (cw.seats_filled, cw.seats_offered, cw.no_shows, cw.outcomes)
             for cw in kpis.by_course_week}
    assert weeks == {("101", "2027-W11"): (3, 4, 1, 3), ("101", "2027-W12"): (2, 2, 0, 0)}
