"""The web-service calls each operation makes, in order: the counts ``benchmarks/calls_per_operation.py`` prints.

Each extra call over the fewest a Moodle operation needs keeps a promise, named where it is asserted. What the
form-made event and the refused unenrolment batch do was checked on a live Moodle 4.5.6 by a web-service user
holding the README's role:

* ``core_calendar_submit_create_update_form`` with ``id=0``, the create form's marker, no ``userid`` and a
  plain integer ``timestart`` made a course event (and, with ``groupcourseid`` and ``groupid``, a group event)
  owned by the token's user, with the location and the description sent, at exactly that start; the event read
  by id showed the same location;
* ``enrol_manual_unenrol_users`` with three rows, one naming a user id that does not exist, answered
  ``invaliduser`` and left both other users enrolled (one transaction); each sent alone was unenrolled.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import ConnectorError, InvalidRequest
from lms_connectors.models import Meeting, Person, ProviderRef, Session, TimeSlot
from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors.testing.sandbox import Fault

from .conftest import Site, make_site

NY = ZoneInfo("America/New_York")
START = datetime(2027, 4, 6, 10, 0, tzinfo=NY)
LINK = "https://zoom.example/j/123456789"
SESSION = Session(id="calls", title="Advanced Excel (virtual)",
                  slot=TimeSlot(start=START, end=START + timedelta(hours=1), timezone="America/New_York"),
                  meeting=Meeting(provider="zoom", join_url=LINK))


def _functions(site: Site, since: int) -> list[str]:
    return [parse_qs(r.body.decode())["wsfunction"][0] for r in site.server.requests[since:]]


def _learners(n: int, tag: str = "v") -> list[Person]:
    return [Person(email=f"{tag}{i}@example.org", name=f"Learner {i}") for i in range(n)]


def _schedule(site: Site, key: str = "calls.g1") -> ProviderRef:
    return site.adapter.create_session(SESSION, key=key, fresh=True)


def test_a_session_with_a_join_link_is_made_in_two_calls_and_shows_the_link(site: Site) -> None:
    before = len(site.server.requests)
    ref = _schedule(site)
    # core_calendar_create_calendar_events takes no location: the form makes the event with it in one write.
    assert _functions(site, before) == ["core_group_create_groups", "core_calendar_submit_create_update_form"]
    event = site.simulator.site.data.events[int(ref.external_id)]
    assert event["location"] == LINK and LINK in event["description"]
    assert event["timestart"] == int(START.timestamp()) and event["timeduration"] == 3600
    shown = site.adapter.get_session(ref)
    assert (shown.location, shown.join_url, shown.start) == (LINK, LINK, START)
    assert ref.extra["owner_id"] == str(event["userid"])


def test_a_session_without_a_location_is_made_by_create_calendar_events(site: Site) -> None:
    before = len(site.server.requests)
    site.adapter.create_session(SESSION.model_copy(update={"meeting": None}), key="calls.g2", fresh=True)
    assert _functions(site, before) == ["core_group_create_groups", "core_calendar_create_calendar_events"]


@pytest.fixture
def group_site(sandbox_server: SandboxStarter) -> Iterator[Site]:
    """A site whose sessions are group events (only the session's roster sees them)."""
    yield from make_site(sandbox_server, event_type="group")


def test_a_group_event_is_made_by_the_form_for_the_session_group(group_site: Site) -> None:
    ref = _schedule(group_site)
    event = group_site.simulator.site.data.events[int(ref.external_id)]
    assert (event["eventtype"], event["groupid"], event["location"]) == ("group", int(ref.extra["group_id"]), LINK)


def test_an_event_the_form_refuses_leaves_no_group(site: Site) -> None:
    site.server.faults.add(Fault.error(200, {"validationerror": True},
                                       body_pattern="wsfunction=core_calendar_submit_create_update_form"))
    with pytest.raises(InvalidRequest):
        _schedule(site)
    assert site.simulator.site.data.events == {}
    assert not [g for g in site.simulator.site.data.groups.values() if g["idnumber"] == "lmsc:calls.g1"]


def test_ten_new_learners_cost_six_calls_and_no_enrolment_read(creating_site: Site) -> None:
    ref = _schedule(creating_site)
    before = len(creating_site.server.requests)
    creating_site.adapter.enrol(ref, SESSION, _learners(10))
    assert _functions(creating_site, before) == [
        "core_user_get_users_by_field",  # the exact look-up
        "core_user_get_users",  # Moodle compares emails case-sensitively: one search per domain before creating
        "core_user_create_users",
        # (no core_enrol_get_enrolled_users: an account made by this call is enrolled nowhere)
        "enrol_manual_enrol_users",
        "core_group_create_groups",  # the course's "enrolled by the SDK" group, once per adapter and course
        "core_group_add_group_members",  # the session's group and the SDK's group in one call
    ]
    before = len(creating_site.server.requests)
    creating_site.adapter.enrol(ref, SESSION, _learners(10, "w"))
    assert len(_functions(creating_site, before)) == 5


def test_learners_with_accounts_are_checked_for_an_enrolment_first(creating_site: Site) -> None:
    ref = _schedule(creating_site)
    creating_site.simulator.site.insert_user({"username": "kim", "firstname": "Kim", "lastname": "Known",
                                              "email": "kim@example.org"})
    before = len(creating_site.server.requests)
    creating_site.adapter.enrol(ref, SESSION, [Person(email="kim@example.org", name="Kim Known")])
    # Re-enrolling resets an enrolment's dates and status: who is enrolled is read before enrolling anyone.
    assert _functions(creating_site, before) == [
        "core_user_get_users_by_field", "core_enrol_get_enrolled_users", "enrol_manual_enrol_users",
        "core_group_create_groups", "core_group_add_group_members",
    ]


def test_cancel_unenrols_its_learners_in_one_call(creating_site: Site) -> None:
    ref = _schedule(creating_site)
    creating_site.adapter.enrol(ref, SESSION, _learners(3))
    before = len(creating_site.server.requests)
    creating_site.adapter.cancel_session(ref)
    assert _functions(creating_site, before) == [
        "core_calendar_delete_calendar_events",
        # who the SDK enrolled, and who is in another session: Moodle is the record every process shares
        "core_group_get_course_groups", "core_group_get_group_members",
        "enrol_manual_unenrol_users",
        "core_group_delete_groups",
    ]
    assert not creating_site.simulator.site.data.enrolments


def test_a_refused_unenrolment_batch_is_sent_one_user_at_a_time(creating_site: Site) -> None:
    ref = _schedule(creating_site)
    members = creating_site.adapter.enrol(ref, SESSION, _learners(3))
    # A learner whose account goes away between the members read and the unenrolment (Moodle then answers
    # invaliduser for the whole batch and rolls it back).
    gone = int(members[1].external_id)
    creating_site.simulator.site.data.users[gone]["deleted"] = True
    creating_site.simulator.site.data.enrolments.pop((creating_site.course_id, gone))
    before = len(creating_site.server.requests)
    creating_site.adapter.cancel_session(ref)
    sent = _functions(creating_site, before)
    assert sent.count("enrol_manual_unenrol_users") == 4  # the batch, then each of the three alone
    assert not creating_site.simulator.site.data.enrolments
    assert not [g for g in creating_site.simulator.site.data.groups.values() if g["idnumber"] == "lmsc:calls.g1"]


def test_one_user_moodle_refuses_does_not_keep_the_others_enrolled(creating_site: Site) -> None:
    ref = _schedule(creating_site)
    members = creating_site.adapter.enrol(ref, SESSION, _learners(3))
    stuck = members[0].external_id
    refusal = {"exception": "moodle_exception", "errorcode": "usernotconfirmed", "message": "not confirmed"}
    creating_site.server.faults.add(Fault.error(
        200, refusal, body_pattern=rf"wsfunction=enrol_manual_unenrol_users&.*enrolments%5B0%5D%5Buserid%5D={stuck}&",
        times=10,
    ))
    # (an account never confirmed: Moodle refuses to unenrol it, and rolls back the batch it is in)
    with pytest.raises(ConnectorError):
        creating_site.adapter.cancel_session(ref)
    left = {u for (_c, u) in creating_site.simulator.site.data.enrolments}
    assert left == {int(stuck)}
    # The session's group stays until every learner enrolled for it alone is unenrolled: a retry finishes.
    assert [g for g in creating_site.simulator.site.data.groups.values() if g["idnumber"] == "lmsc:calls.g1"]
    creating_site.server.faults.clear()
    creating_site.adapter.cancel_session(ref)
    assert not creating_site.simulator.site.data.enrolments
