"""Instructor assignment: skills, availability in the instructor's own zone across DST, buffers, fallbacks.

The rules are checked with both solvers (``solver`` fixture); the reshuffles only CP-SAT finds are at the end,
each with the greedy pass shown leaving the session CP-SAT places.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from lms_connectors.errors import ConfigurationError
from lms_connectors.operations import assignment
from lms_connectors.operations.assignment import BusyCalendar, Solver, assign_instructors
from lms_connectors.operations.plan_file import InstructorSpec, SessionSpec


@pytest.fixture(params=["greedy", "cp-sat"])
def solver(request: pytest.FixtureRequest) -> Solver:
    return request.param  # type: ignore[no-any-return]


def _instructor(email: str, zone: str, *, skills: tuple[str, ...] = ("safety",), cost: float = 50.0,
                hours: tuple[str, str] = ("09:00", "17:00"), fallbacks: tuple[str, ...] = (),
                buffer: int = 0, week_hours: float | None = None) -> InstructorSpec:
    return InstructorSpec.model_validate({
        "email": email, "name": email.split("@")[0], "timezone": zone, "skills": skills, "cost_per_hour": cost,
        "availability": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": hours[0], "to": hours[1]}],
        "fallbacks": fallbacks, "buffer_minutes": buffer, "max_hours_per_week": week_hours,
    })


def _session(sid: str, start: str, zone: str = "America/New_York", *, minutes: int = 60,
             skills: tuple[str, ...] = ("safety",), instructor: str | None = None) -> SessionSpec:
    return SessionSpec(id=sid, title=sid, start=datetime.fromisoformat(start), minutes=minutes, timezone=zone,
                       skills=skills, instructor=instructor)


def test_only_an_instructor_with_every_skill_is_chosen(solver: Solver) -> None:
    cheap = _instructor("cheap@example.org", "America/New_York", skills=("safety",), cost=10)
    skilled = _instructor("skilled@example.org", "America/New_York", skills=("safety", "forklift"), cost=90)
    (choice,) = assign_instructors([_session("s", "2027-03-02 10:00", skills=("safety", "forklift"))], [cheap, skilled],
                                   solver=solver)
    assert choice.instructor == "skilled@example.org"
    assert choice.turned_down["cheap@example.org"] == "lacks forklift"


def test_availability_is_read_in_the_instructors_own_zone_across_dst(solver: Solver) -> None:
    # 11:00 in New York. Before 14 March 2027 (US change) that is 17:00 in Madrid; in the week between the US and
    # the EU changes (14-28 March) it is 16:00 in Madrid. A Madrid instructor free until 16:30 can take only the
    # second one.
    madrid = _instructor("madrid@example.org", "Europe/Madrid", hours=("09:00", "16:30"))
    before = _session("before", "2027-03-09 10:00")  # 10:00-11:00 NY = 16:00-17:00 Madrid
    between = _session("between", "2027-03-16 10:00")  # 10:00-11:00 NY = 15:00-16:00 Madrid
    choices = {a.session_id: a for a in assign_instructors([before, between], [madrid], solver=solver)}
    assert choices["before"].instructor is None
    assert "outside her availability" in choices["before"].turned_down["madrid@example.org"]
    assert "17:00 Europe/Madrid" in choices["before"].turned_down["madrid@example.org"]
    assert choices["between"].instructor == "madrid@example.org"


def test_busy_time_and_buffer_are_respected_and_load_spreads(solver: Solver) -> None:
    ana = _instructor("ana@example.org", "America/New_York", cost=50, buffer=30)
    ben = _instructor("ben@example.org", "America/New_York", cost=55)
    first = _session("first", "2027-03-02 09:00")
    right_after = _session("right-after", "2027-03-02 10:15")  # inside Ana's 30-minute buffer
    later = _session("later", "2027-03-02 14:00")
    choices = {a.session_id: a for a in assign_instructors([first, right_after, later], [ana, ben], solver=solver)}
    if solver == "greedy":
        assert choices["first"].instructor == "ana@example.org"  # cheapest
        assert choices["right-after"].instructor == "ben@example.org"
        assert choices["right-after"].turned_down["ana@example.org"] == "busy with first (buffer 30 min)"
        # Ana has 1 h of load (score 50 + 10), Ben 1 h (55 + 10): Ana again, by cost.
        assert choices["later"].instructor == "ana@example.org"
        return
    # CP-SAT: Ana teaches two (one of the close pair and the later one), Ben the other of the pair; which of the
    # pair is a tie (cost 50 + 55 + 50 and a 1 h spread either way).
    pair = {choices["first"].instructor, choices["right-after"].instructor}
    assert pair == {"ana@example.org", "ben@example.org"}
    assert choices["later"].instructor == "ana@example.org"
    bens = "first" if choices["first"].instructor == "ben@example.org" else "right-after"
    other = "right-after" if bens == "first" else "first"
    assert choices[bens].turned_down["ana@example.org"] == f"teaches {other} then (buffer 30 min)"


def test_the_ledgers_busy_time_counts(solver: Solver) -> None:
    ana = _instructor("ana@example.org", "America/New_York")
    busy = BusyCalendar()
    session = _session("s", "2027-03-02 09:00")
    slot = session.slot()
    busy.add("ana@example.org", slot.start, slot.end, "other-session")
    (choice,) = assign_instructors([session], [ana], busy=busy, solver=solver)
    assert choice.instructor is None
    assert choice.turned_down["ana@example.org"].startswith("busy with other-session")


def test_a_decline_goes_to_her_named_fallback_first(solver: Solver) -> None:
    ana = _instructor("ana@example.org", "America/New_York", cost=10, fallbacks=("cy@example.org",))
    ben = _instructor("ben@example.org", "America/New_York", cost=20)
    cy = _instructor("cy@example.org", "America/New_York", cost=80)
    session = _session("s", "2027-03-02 09:00")
    (first,) = assign_instructors([session], [ana, ben, cy], solver=solver)
    assert first.instructor == "ana@example.org"
    (second,) = assign_instructors([session], [ana, ben, cy], declined=[("s", "ana@example.org")],
                                   solver=solver)
    assert second.instructor == "cy@example.org"  # her fallback, although Ben is cheaper
    assert second.reasons[0] == "named as fallback"
    assert second.turned_down["ana@example.org"] == "declined or unavailable for this session"


def test_named_instructors_keep_their_sessions_and_block_their_time(solver: Solver) -> None:
    ana = _instructor("ana@example.org", "America/New_York", cost=10)
    ben = _instructor("ben@example.org", "America/New_York", cost=20)
    named = _session("named", "2027-03-02 09:00", instructor="ana@example.org")
    open_one = _session("open", "2027-03-02 09:30")
    (choice,) = assign_instructors([named, open_one], [ana, ben], solver=solver)
    assert choice.session_id == "open"
    assert choice.instructor == "ben@example.org"


def test_weekly_hours_are_counted_in_her_own_zone(solver: Solver) -> None:
    # Sunday 20:00-22:00 in New York is Monday 02:00-04:00 in Berlin: the same week as Monday's session for her.
    berlin = _instructor("berlin@example.org", "Europe/Berlin", hours=("00:00", "23:59"), week_hours=3)
    berlin = berlin.model_copy(update={"availability": (
        *berlin.availability,
        berlin.availability[0].model_copy(update={"days": ("sat", "sun")}),
    )})
    sunday = _session("sunday", "2027-03-07 20:00", minutes=120)  # Mon 02:00 Berlin, ISO week 10 there
    monday = _session("monday", "2027-03-08 04:00", minutes=120)  # Mon 10:00 Berlin, week 10
    choices = {a.session_id: a for a in assign_instructors([sunday, monday], [berlin], solver=solver)}
    assert [choices["sunday"].instructor, choices["monday"].instructor].count("berlin@example.org") == 1
    left = choices["monday"] if choices["sunday"].instructor else choices["sunday"]
    assert "over her 3 h a week (2 h already in 2027-W10)" in left.turned_down["berlin@example.org"]


def test_without_or_tools_auto_uses_the_greedy_pass_and_cp_sat_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assignment, "cp_sat_available", lambda: False)
    ana = _instructor("ana@example.org", "America/New_York")
    (choice,) = assign_instructors([_session("s", "2027-03-02 09:00")], [ana])
    assert choice.instructor == "ana@example.org"
    assert not any("CP-SAT" in reason for reason in choice.reasons)
    with pytest.raises(ConfigurationError, match=r"lms-connectors\[planning\]"):
        assign_instructors([_session("s", "2027-03-02 09:00")], [ana], solver="cp-sat")


def test_with_or_tools_auto_uses_cp_sat() -> None:
    (choice,) = assign_instructors([_session("s", "2027-03-02 09:00")], [_instructor("ana@example.org", "UTC")])
    assert choice.reasons[-1] == "chosen by CP-SAT (proven most placed; cost and load proven best)"


# -- what a reshuffle places: the greedy pass leaves these sessions, CP-SAT places them -------------------------


def _placed(choices: list[assignment.Assignment]) -> dict[str, str | None]:
    return {a.session_id: a.instructor for a in choices}


def test_a_reshuffle_frees_the_only_skilled_instructor() -> None:
    # Ana is the only one with forklift, and the cheapest: the greedy pass gives her the 09:00 session and has
    # nobody for the forklift session at 09:30. Giving 09:00 to Ben places both.
    ana = _instructor("ana@example.org", "America/New_York", skills=("safety", "forklift"), cost=10)
    ben = _instructor("ben@example.org", "America/New_York", cost=50)
    sessions = [_session("early", "2027-03-02 09:00"),
                _session("forklift", "2027-03-02 09:30", skills=("safety", "forklift"))]
    greedy = _placed(assign_instructors(sessions, [ana, ben], solver="greedy"))
    assert greedy == {"early": "ana@example.org", "forklift": None}
    solved = assign_instructors(sessions, [ana, ben], solver="cp-sat")
    assert _placed(solved) == {"early": "ben@example.org", "forklift": "ana@example.org"}
    assert solved[0].turned_down["ana@example.org"] == "teaches forklift then (buffer 0 min)"


def test_a_reshuffle_respects_travel_buffers() -> None:
    # Ben, the only one with forklift, needs 60 minutes between sessions (travel). The sessions do not overlap,
    # but once the greedy pass gives Ben the cheaper 09:00 session, 10:30 is inside his buffer. CP-SAT gives 09:00
    # to Cy, and 11:45 (also inside Ben's buffer after 10:30) to Cy as well.
    ben = _instructor("ben@example.org", "America/New_York", skills=("safety", "forklift"), cost=10, buffer=60)
    cy = _instructor("cy@example.org", "America/New_York", cost=20)
    sessions = [_session("nine", "2027-03-02 09:00"),
                _session("forklift", "2027-03-02 10:30", skills=("forklift",)),
                _session("noon", "2027-03-02 11:45", minutes=30)]
    greedy = assign_instructors(sessions, [ben, cy], solver="greedy")
    assert _placed(greedy) == {"nine": "ben@example.org", "forklift": None, "noon": "cy@example.org"}
    assert greedy[1].turned_down["ben@example.org"] == "busy with nine (buffer 60 min)"
    solved = assign_instructors(sessions, [ben, cy], solver="cp-sat")
    assert _placed(solved) == {"nine": "cy@example.org", "forklift": "ben@example.org", "noon": "cy@example.org"}
    assert solved[2].turned_down["ben@example.org"] == "teaches forklift then (buffer 60 min)"


def test_a_reshuffle_keeps_weekly_hours() -> None:
    # Ana may teach 2 h a week and is the only one with first-aid. The greedy pass spends her hours on Monday.
    ana = _instructor("ana@example.org", "America/New_York", skills=("safety", "first-aid"), cost=10, week_hours=2)
    ben = _instructor("ben@example.org", "America/New_York", cost=40)
    sessions = [_session("monday", "2027-03-01 09:00", minutes=120),
                _session("thursday", "2027-03-04 09:00", minutes=120, skills=("first-aid",))]
    greedy = assign_instructors(sessions, [ana, ben], solver="greedy")
    assert _placed(greedy) == {"monday": "ana@example.org", "thursday": None}
    assert greedy[1].turned_down["ana@example.org"] == "over her 2 h a week (2 h already in 2027-W09)"
    assert _placed(assign_instructors(sessions, [ana, ben], solver="cp-sat")) == {
        "monday": "ben@example.org", "thursday": "ana@example.org"}


def test_a_reshuffle_finds_room_for_a_declined_sessions_fallback() -> None:
    # Ana declined "late"; her named fallback Cy is given it although Ben is cheaper, and Cy's earlier session
    # moves to Ben so that she can.
    ana = _instructor("ana@example.org", "America/New_York", fallbacks=("cy@example.org",))
    ben = _instructor("ben@example.org", "America/New_York", cost=10)
    cy = _instructor("cy@example.org", "America/New_York", cost=5)
    sessions = [_session("early", "2027-03-02 09:00"), _session("late", "2027-03-02 09:30")]
    declined = [("late", "ana@example.org")]
    solved = assign_instructors(sessions, [ana, ben, cy], declined=declined, solver="cp-sat")
    assert _placed(solved) == {"early": "ben@example.org", "late": "cy@example.org"}
    assert solved[1].reasons[0] == "named as fallback"


def test_cp_sat_spreads_the_load_at_equal_cost() -> None:
    ana = _instructor("ana@example.org", "America/New_York")
    ben = _instructor("ben@example.org", "America/New_York")
    sessions = [_session(f"s{n}", f"2027-03-0{n + 1} 10:00") for n in range(4)]
    solved = _placed(assign_instructors(sessions, [ana, ben], solver="cp-sat"))
    assert sorted(solved.values()).count("ana@example.org") == 2


def test_cp_sat_says_why_a_session_stays_unplaced() -> None:
    ana = _instructor("ana@example.org", "America/New_York")
    sessions = [_session("one", "2027-03-02 09:00"), _session("two", "2027-03-02 09:00")]
    solved = {a.session_id: a for a in assign_instructors(sessions, [ana], solver="cp-sat")}
    left = solved["two"] if solved["one"].instructor else solved["one"]
    assert left.instructor is None
    assert left.reasons == ("every qualified instructor teaches another session then, and no reshuffle frees one",)
