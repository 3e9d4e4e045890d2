"""Teams attendance through Graph: the meeting found by its join link, the session's reports, every stay.

Against the simulator on 127.0.0.1 (reports derived from the joins each test declares), and the simulator's
answers checked against the examples of Microsoft's Graph reference (``tests/data/graph-docs``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from lms_connectors.adapter import Capability, Presence
from lms_connectors.errors import MalformedResponse, NotFound, NotSupported, PermissionDenied
from lms_connectors.operations.attendance import minutes_present
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter
from lms_connectors_microsoft_graph.attendance import granted_roles, presences
from lms_connectors_microsoft_graph.sandbox import GraphSimulator
from lms_connectors_microsoft_graph.sandbox_login import DEFAULT_ROLES, SimulatedApplication
from lms_connectors_microsoft_graph.sandbox_meetings import Join

from .conftest import CLIENT_ID, CLIENT_SECRET, LEARNERS, build_config, session, virtual

MailboxFactory = Callable[..., MicrosoftGraphAdapter]

DOCS = Path(__file__).parent / "data" / "graph-docs"
KEY = "ilt-101.2027-03-16.graph.g1"
START = datetime(2027, 3, 16, 13, 0, tzinfo=UTC)  # the session: 09:00-10:30 in New York (EDT)
AMARA, LENA, KENJI = (p.email for p in LEARNERS)


def _at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def _teams_session(adapter: MicrosoftGraphAdapter) -> tuple[Any, str]:
    ref = adapter.create_session(virtual(), key=KEY, fresh=True)
    return ref, ref.external_id


def _graph_calls(server: SandboxServer[GraphSimulator]) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests if r.path.startswith("/v1.0/")]


def test_each_stay_of_the_sessions_report_is_read_and_other_occurrences_are_left_out(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator, server: SandboxServer[GraphSimulator]
) -> None:
    ref, event_id = _teams_session(adapter)
    # A report of the week before (the link reused): not this session's.
    simulator.record_join(event_id, Join(AMARA, _at(-7 * 24 * 60), _at(-7 * 24 * 60 + 60)))
    simulator.end_meeting(event_id)
    # This session: opened 20 minutes early by the instructor; Amara drops out and comes back (Teams writes her
    # address as her directory has it); Lena comes 25 minutes late; an anonymous guest; Kenji never comes.
    simulator.record_join(event_id, Join("trainer@contoso.example", _at(-20), _at(95), role="Organizer"))
    simulator.record_join(event_id, Join("Amara.Okafor@example.org", _at(-2), _at(40)))
    simulator.record_join(event_id, Join("Amara.Okafor@example.org", _at(45), _at(90)))
    simulator.record_join(event_id, Join(LENA, _at(25), _at(90)))
    simulator.record_join(event_id, Join(None, _at(5), _at(30), name="Guest (unverified)"))
    simulator.end_meeting(event_id)
    server.requests.clear()

    found = list(adapter.list_attendance(ref))

    assert [(p.email, p.joined, p.left) for p in found] == [
        ("trainer@contoso.example", _at(-20), _at(95)),
        ("amara.okafor@example.org", _at(-2), _at(40)),
        ("amara.okafor@example.org", _at(45), _at(90)),
        (LENA, _at(25), _at(90)),
    ]
    assert minutes_present([p for p in found if p.email == AMARA]) == 87.0  # 42 + 45 minutes, summed
    calls = _graph_calls(server)
    assert len(calls) == 5, calls
    assert calls[1] == f"GET /v1.0/users/{simulator.organizer}"  # her object id, once
    assert "/onlineMeetings" in calls[2] and calls[3].endswith("/attendanceReports")
    assert calls[4].endswith("/attendanceRecords")  # one report of the two is this session's

    server.requests.clear()
    assert len(list(adapter.list_attendance(ref))) == 4
    assert len(_graph_calls(server)) == 3  # object id and meeting id are known now


def test_a_meeting_reopened_during_the_session_has_two_reports_and_both_count(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> None:
    ref, event_id = _teams_session(adapter)
    simulator.record_join(event_id, Join(AMARA, _at(0), _at(30)))
    simulator.end_meeting(event_id)  # everyone left: Teams wrote a report
    simulator.record_join(event_id, Join(AMARA, _at(35), _at(90)))
    simulator.record_join(event_id, Join(KENJI, _at(36), _at(90)))
    simulator.end_meeting(event_id)
    found = list(adapter.list_attendance(ref))
    assert sorted((p.email, p.joined) for p in found) == [(AMARA, _at(0)), (AMARA, _at(35)), (KENJI, _at(36))]


def test_attendance_records_are_read_across_next_link_pages(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator, server: SandboxServer[GraphSimulator]
) -> None:
    ref, event_id = _teams_session(adapter)
    people = [f"learner{n:02d}@example.org" for n in range(7)]
    for n, email in enumerate(people):
        simulator.record_join(event_id, Join(email, _at(n), _at(60)))
    simulator.end_meeting(event_id)
    simulator.attendance_page_size = 3
    server.requests.clear()
    assert [p.email for p in adapter.list_attendance(ref)] == people
    assert sum(1 for call in _graph_calls(server) if call.endswith("/attendanceRecords")) == 3


def test_no_report_yet_an_in_person_event_and_an_unknown_meeting_are_not_found(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> None:
    ref, event_id = _teams_session(adapter)
    with pytest.raises(NotFound, match="Teams writes one when the meeting ends") as pending:
        adapter.list_attendance(ref)
    assert pending.value.code == "noAttendanceReport"
    in_person = adapter.create_session(session(id="ilt-102"), key="ilt-102.graph.g1", fresh=True)
    with pytest.raises(NotFound, match="sign-in sheet"):
        adapter.list_attendance(in_person)
    simulator.meetings.clear()  # Graph no longer knows the meeting behind the link
    with pytest.raises(NotFound, match="does not know the Teams meeting of event"):
        adapter.list_attendance(ref)  # its id was known: the reports' read is refused 404
    with pytest.raises(NotFound, match="no online meeting with join link"):
        adapter.list_attendance(ref)  # looked up again by the link


def test_an_unknown_meeting_id_is_refused_404(adapter: MicrosoftGraphAdapter, simulator: GraphSimulator) -> None:
    with pytest.raises(NotFound):
        adapter.call("GET", f"users/{simulator.organizer_id}/onlineMeetings/MSpub3RoZXJl/attendanceReports")
    with pytest.raises(NotFound):  # online meetings are addressed by the user's object id, not her address
        adapter.call("GET", f"users/{simulator.organizer}/onlineMeetings/MSpub3RoZXJl/attendanceReports")


def test_without_an_application_access_policy_the_read_says_how_to_grant_it(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> None:
    ref, event_id = _teams_session(adapter)
    simulator.record_join(event_id, Join(AMARA, _at(0), _at(30)))
    simulator.end_meeting(event_id)
    simulator.policy_granted = False
    with pytest.raises(PermissionDenied, match="Grant-CsApplicationAccessPolicy") as denied:
        adapter.list_attendance(ref)
    assert denied.value.status == 403 and "No application access policy" in str(denied.value)


@pytest.fixture
def without_artifacts(
    simulator: GraphSimulator, server: SandboxServer[GraphSimulator]
) -> Iterator[MicrosoftGraphAdapter]:
    simulator.login.roles[CLIENT_ID] = DEFAULT_ROLES - {"OnlineMeetingArtifact.Read.All"}
    adapter = MicrosoftGraphAdapter(build_config(server), sleep=lambda _s: None)
    yield adapter
    adapter.close()


def test_without_the_artifact_permission_reports_are_refused_and_the_doctor_says_so(
    without_artifacts: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> None:
    ref, event_id = _teams_session(without_artifacts)
    simulator.record_join(event_id, Join(AMARA, _at(0), _at(30)))
    simulator.end_meeting(event_id)
    with pytest.raises(PermissionDenied, match=r"OnlineMeetingArtifact\.Read\.All"):
        without_artifacts.list_attendance(ref)
    checks = {c.name: c for c in without_artifacts.diagnose()}
    assert not checks["attendance"].ok
    assert "attendance reports need OnlineMeetingArtifact.Read.All" in checks["attendance"].detail
    assert all(checks[name].ok for name in ("token", "mailbox", "calendar", "teams", "rooms"))


def test_attendance_can_be_turned_off(make_adapter: MailboxFactory, adapter: MicrosoftGraphAdapter) -> None:
    off = make_adapter(attendance_reports=False)
    assert "attendance" not in {c.name for c in off.diagnose()}
    assert adapter.supports(Capability.ATTENDANCE) and not off.supports(Capability.ATTENDANCE)
    ref = off.create_session(virtual(), key=KEY, fresh=True)
    with pytest.raises(NotSupported, match="attendance"):
        off.list_attendance(ref)


def test_the_simulators_tokens_name_the_applications_roles(simulator: GraphSimulator) -> None:
    simulator.login.roles["other-app"] = frozenset({"Calendars.Read"})
    simulator.login.tokens.add_client("other-app", secrets={"s"})
    simulator.login._issuing = "other-app"
    assert granted_roles(simulator.login._mint(1)) == {"Calendars.Read"}
    assert granted_roles("not-a-jwt") is None
    assert granted_roles("a.%%%.c") is None
    assert SimulatedApplication(CLIENT_ID, secrets={CLIENT_SECRET}).roles == DEFAULT_ROLES


# -- the documented examples ----------------------------------------------------------------------------------


def _doc(name: str) -> Any:
    return json.loads((DOCS / name).read_text(encoding="utf-8"))


def test_the_documented_record_becomes_one_presence_per_interval_summed_by_the_core() -> None:
    record = _doc("attendance_report_get_expanded.json")["attendanceRecords"][0]
    opened = datetime(2021, 3, 16, 18, 59, tzinfo=UTC)
    found = presences(record, opened)
    assert [p.email for p in found] == ["frederick.cormier@contoso.com"] * 3
    assert found[0].joined == datetime(2021, 3, 16, 18, 59, 52, 278218, tzinfo=UTC)
    # The core sums the stays: 415 + 427 + 310 seconds, as totalAttendanceInSeconds says (1152 s).
    assert minutes_present(found) == pytest.approx(record["totalAttendanceInSeconds"] / 60, abs=0.1)


def test_missing_data_counts_from_the_meeting_start_and_a_record_without_email_is_left_out() -> None:
    opened = datetime(2027, 3, 16, 13, 0, tzinfo=UTC)
    lacking = {"emailAddress": "Kenji.Sato@example.org", "attendanceIntervals": [
        {"joinDateTime": None, "leaveDateTime": None, "durationInSeconds": 0}]}
    assert presences(lacking, opened) == [Presence(email=KENJI, joined=opened, left=None)]
    assert presences({"emailAddress": None, "attendanceIntervals": [
        {"joinDateTime": "2027-03-16T13:00:00Z", "leaveDateTime": None, "durationInSeconds": 0}]}, opened) == []
    with pytest.raises(MalformedResponse, match="joinDateTime"):
        presences({"emailAddress": AMARA, "attendanceIntervals": [{"joinDateTime": "16/03/2027 13:00"}]}, opened)


def _shape(value: Any) -> Any:
    """Keys and JSON types, recursively (a list by the shape of its items; null stands for any type)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None if value is None else type(value).__name__


def _same_shape(ours: Any, documented: Any, where: str = "$", optional: frozenset[str] = frozenset()) -> None:
    if isinstance(documented, dict):
        assert isinstance(ours, dict), where
        missing = set(documented) - set(ours) - optional
        extra = set(ours) - set(documented)
        assert not missing and not extra, f"{where}: missing {sorted(missing)}, not documented {sorted(extra)}"
        for key in set(documented) & set(ours):
            _same_shape(ours[key], documented[key], f"{where}.{key}", optional)
    elif isinstance(documented, list):
        assert isinstance(ours, list), where
        if documented and ours:
            _same_shape(ours[0], documented[0], f"{where}[0]", optional)
    elif documented is not None and ours is not None:
        assert ours == documented, f"{where}: {ours} where the documentation has {documented}"


def test_the_simulators_answers_have_the_documented_keys_and_types(
    adapter: MicrosoftGraphAdapter, simulator: GraphSimulator
) -> None:
    ref, event_id = _teams_session(adapter)
    simulator.record_join(event_id, Join(AMARA, _at(0), _at(30), name="Amara Okafor", role="Presenter"))
    simulator.record_join(event_id, Join(AMARA, _at(35), _at(60), name="Amara Okafor", role="Presenter"))
    report_id = simulator.end_meeting(event_id)
    base = f"users/{simulator.organizer_id}/onlineMeetings"
    join_url = simulator.events[event_id]["onlineMeeting"]["joinUrl"]
    found = adapter.call("GET", base, params={"$filter": f"JoinWebUrl eq '{quote(join_url, safe='')}'"})
    meeting = found["value"][0]["id"]
    # videoTeleconferenceId exists only for Cloud Video Interop licences (onlinemeeting-get).
    _same_shape(_shape(found), _shape(_doc("onlinemeetings_by_joinweburl.json")),
                optional=frozenset({"videoTeleconferenceId"}))
    _same_shape(_shape(adapter.call("GET", f"{base}/{meeting}/attendanceReports")),
                _shape(_doc("attendance_reports_list.json")))
    _same_shape(_shape(adapter.call("GET", f"{base}/{meeting}/attendanceReports/{report_id}",
                                    params={"$expand": "attendanceRecords"})),
                _shape(_doc("attendance_report_get_expanded.json")))
    _same_shape(_shape(adapter.call("GET", f"{base}/{meeting}/attendanceReports/{report_id}/attendanceRecords")),
                _shape(_doc("attendance_records_list.json")))
    assert found["value"][0]["joinWebUrl"] == join_url and ref.external_id == event_id
