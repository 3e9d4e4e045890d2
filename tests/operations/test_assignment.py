"""Instructor assignment: skills, availability in the instructor's own zone across DST, buffers, fallbacks."""

from __future__ import annotations

from datetime import datetime

from lms_connectors.operations.assignment import BusyCalendar, assign_instructors
from lms_connectors.operations.plan_file import InstructorSpec, SessionSpec


def _instructor(email: str, zone: str, *, skills: tuple[str, ...] = ("safety",), cost: float = 50.0,
                hours: tuple[str, str] = ("09:00", "17:00"), fallbacks: tuple[str, ...] = (),
                buffer: int = 0) -> InstructorSpec:
    return InstructorSpec.model_validate({
        "email": email, "name": email.split("@")[0], "timezone": zone, "skills": skills, "cost_per_hour": cost,
        "availability": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": hours[0], "to": hours[1]}],
        "fallbacks": fallbacks, "buffer_minutes": buffer,
    })


def _session(sid: str, start: str, zone: str = "America/New_York", *, minutes: int = 60,
             skills: tuple[str, ...] = ("safety",), instructor: str | None = None) -> SessionSpec:
    return SessionSpec(id=sid, title=sid, start=datetime.fromisoformat(start), minutes=minutes, timezone=zone,
                       skills=skills, instructor=instructor)


def test_only_an_instructor_with_every_skill_is_chosen() -> None:
    cheap = _instructor("cheap@example.org", "America/New_York", skills=("safety",), cost=10)
    skilled = _instructor("skilled@example.org", "America/New_York", skills=("safety", "forklift"), cost=90)
    (choice,) = assign_instructors([_session("s", "2027-03-02 10:00", skills=("safety", "forklift"))], [cheap, skilled])
    assert choice.instructor == "skilled@example.org"
    assert choice.turned_down["cheap@example.org"] == "lacks forklift"


def test_availability_is_read_in_the_instructors_own_zone_across_dst() -> None:
    # 11:00 in New York. Before 14 March 2027 (US change) that is 17:00 in Madrid; in the week between the US and
    # the EU changes (14-28 March) it is 16:00 in Madrid. A Madrid instructor free until 16:30 can take only the
    # second one.
    madrid = _instructor("madrid@example.org", "Europe/Madrid", hours=("09:00", "16:30"))
    before = _session("before", "2027-03-09 10:00")  # 10:00-11:00 NY = 16:00-17:00 Madrid
    between = _session("between", "2027-03-16 10:00")  # 10:00-11:00 NY = 15:00-16:00 Madrid
    choices = {a.session_id: a for a in assign_instructors([before, between], [madrid])}
    assert choices["before"].instructor is None
    assert "outside her availability" in choices["before"].turned_down["madrid@example.org"]
    assert "17:00 Europe/Madrid" in choices["before"].turned_down["madrid@example.org"]
    assert choices["between"].instructor == "madrid@example.org"


def test_busy_time_and_buffer_are_respected_and_load_spreads() -> None:
    ana = _instructor("ana@example.org", "America/New_York", cost=50, buffer=30)
    ben = _instructor("ben@example.org", "America/New_York", cost=55)
    first = _session("first", "2027-03-02 09:00")
    right_after = _session("right-after", "2027-03-02 10:15")  # inside Ana's 30-minute buffer
    later = _session("later", "2027-03-02 14:00")
    choices = {a.session_id: a for a in assign_instructors([first, right_after, later], [ana, ben])}
    assert choices["first"].instructor == "ana@example.org"  # cheapest
    assert choices["right-after"].instructor == "ben@example.org"
    assert "busy with first (buffer 30 min)" in choices["right-after"].turned_down["ana@example.org"]
    # Ana has 1 h of load (score 50 + 10), Ben 1 h (55 + 10): Ana again, by cost.
    assert choices["later"].instructor == "ana@example.org"


def test_the_ledgers_busy_time_counts() -> None:
    ana = _instructor("ana@example.org", "America/New_York")
    busy = BusyCalendar()
    session = _session("s", "2027-03-02 09:00")
    slot = session.slot()
    busy.add("ana@example.org", slot.start, slot.end, "other-session")
    (choice,) = assign_instructors([session], [ana], busy=busy)
    assert choice.instructor is None
    assert choice.turned_down["ana@example.org"].startswith("busy with other-session")


def test_a_decline_goes_to_her_named_fallback_first() -> None:
    ana = _instructor("ana@example.org", "America/New_York", cost=10, fallbacks=("cy@example.org",))
    ben = _instructor("ben@example.org", "America/New_York", cost=20)
    cy = _instructor("cy@example.org", "America/New_York", cost=80)
    session = _session("s", "2027-03-02 09:00")
    (first,) = assign_instructors([session], [ana, ben, cy])
    assert first.instructor == "ana@example.org"
    (second,) = assign_instructors([session], [ana, ben, cy], declined=[("s", "ana@example.org")])
    assert second.instructor == "cy@example.org"  # her fallback, although Ben is cheaper
    assert second.reasons[0] == "named as fallback"
    assert second.turned_down["ana@example.org"] == "declined or unavailable for this session"


def test_named_instructors_keep_their_sessions_and_block_their_time() -> None:
    ana = _instructor("ana@example.org", "America/New_York", cost=10)
    ben = _instructor("ben@example.org", "America/New_York", cost=20)
    named = _session("named", "2027-03-02 09:00", instructor="ana@example.org")
    open_one = _session("open", "2027-03-02 09:30")
    (choice,) = assign_instructors([named, open_one], [ana, ben])
    assert choice.session_id == "open"
    assert choice.instructor == "ben@example.org"
