"""Behaviour of the Moodle adapter against the sandbox (real HTTP on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import NotFound
from lms_connectors.models import Meeting, Modality, Person, ProviderRef, Session, TimeSlot
from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors.testing.sandbox import Fault
from lms_connectors_moodle.mapping import marker

from .conftest import TOKEN, Site, make_site

LA = ZoneInfo("America/Los_Angeles")


def _session(start: datetime, *, minutes: int = 90, title: str = "Forklift safety", **extra: object) -> Session:
    return Session(id="s-1", title=title, slot=TimeSlot(start=start, end=start + timedelta(minutes=minutes),
                                                        timezone=str(start.tzinfo)), **extra)


def _calls(site: Site) -> int:
    return site.adapter.client.calls


def test_create_then_read_back(site: Site) -> None:
    session = _session(datetime(2027, 3, 10, 9, 0, tzinfo=LA), modality=Modality.VIRTUAL,
                       meeting=Meeting(provider="zoom", join_url="https://zoom.example/j/123"))
    ref = site.adapter.create_session(session, key="s-1.moodle.g1")
    back = site.adapter.get_session(ref)
    assert back.start == session.slot.start and back.end == session.slot.end
    assert back.timezone == "America/Los_Angeles"
    assert back.join_url == "https://zoom.example/j/123"
    assert back.location == "https://zoom.example/j/123"
    assert marker("s-1.moodle.g1") in back.raw["description"]


def test_lost_create_response_leaves_one_event(site: Site) -> None:
    session = _session(datetime(2027, 3, 10, 9, 0, tzinfo=LA))
    site.server.faults.add(Fault.drop_after_commit(method="POST", times=1))
    # The group create is dropped after commit: found again by its ID number.
    ref = site.adapter.create_session(session, key="k1")
    assert len(site.simulator.site.data.groups) == 1
    site.server.faults.add(Fault.drop_after_commit(method="POST", times=1))
    again = site.adapter.create_session(session, key="k1")  # the marker lookup is dropped, then retried
    assert again.external_id == ref.external_id
    assert len(site.simulator.site.data.events) == 1


def test_lost_event_create_is_found_not_duplicated(site: Site) -> None:
    session = _session(datetime(2027, 3, 10, 9, 0, tzinfo=LA))
    calls: list[str] = []
    original = site.adapter.client.call

    def spy(wsfunction: str, params: object = None, *, idempotent: bool = False, shape: object = None) -> object:
        calls.append(wsfunction)
        if wsfunction == "core_calendar_create_calendar_events":
            site.server.faults.add(Fault.drop_after_commit(method="POST", times=1))
        return original(wsfunction, params, idempotent=idempotent, shape=shape)  # type: ignore[arg-type]

    site.adapter.client.call = spy  # type: ignore[method-assign]
    ref = site.adapter.create_session(session, key="k2")
    assert len(site.simulator.site.data.events) == 1
    assert str(next(iter(site.simulator.site.data.events))) == ref.external_id
    assert calls.count("core_calendar_create_calendar_events") == 1


def test_reschedule_across_dst_keeps_exact_instant(site: Site) -> None:
    """Session set in Los Angeles on a site whose zone is Europe/London, moved across both DST changes."""
    before = _session(datetime(2027, 3, 10, 9, 0, tzinfo=LA))  # PST, London on GMT
    ref = site.adapter.create_session(before, key="dst")
    after = before.rescheduled(TimeSlot(start=datetime(2027, 3, 31, 9, 0, tzinfo=LA),
                                        end=datetime(2027, 3, 31, 10, 30, tzinfo=LA), timezone="America/Los_Angeles"))
    calls = _calls(site)
    moved = site.adapter.reschedule_session(ref, after)
    assert _calls(site) - calls == 1
    assert moved.external_id == ref.external_id
    back = site.adapter.get_session(moved)
    assert back.start == after.slot.start  # 16:00Z (PDT), not shifted by London's own change on 28 March
    assert back.start.astimezone(LA).hour == 9
    assert back.end - back.start == timedelta(minutes=90)
    assert len(site.simulator.site.data.events) == 1


def _functions_sent(site: Site, since: int) -> list[str]:
    return [parse_qs(r.body.decode())["wsfunction"][0] for r in site.server.requests[since:]]


@pytest.mark.parametrize(("before_day", "after_day", "utc_hour"), [
    (10, 17, 16),  # 10 -> 17 March: only the US has moved to summer time (PDT, London still on GMT)
    (24, 31, 16),  # 24 -> 31 March: only London moves (to BST on 28 March); Los Angeles was on PDT throughout
])
def test_reschedule_when_only_one_side_changed_dst_keeps_the_instant(site: Site, before_day: int, after_day: int,
                                                                      utc_hour: int) -> None:
    """The weeks in which Moodle's day-only move would be an hour off: the adapter sends the exact instant."""
    ref = site.adapter.create_session(_session(datetime(2027, 3, before_day, 9, 0, tzinfo=LA)), key=f"one-{before_day}")
    target = TimeSlot(start=datetime(2027, 3, after_day, 9, 0, tzinfo=LA),
                      end=datetime(2027, 3, after_day, 10, 30, tzinfo=LA), timezone="America/Los_Angeles")
    since = len(site.server.requests)
    moved = site.adapter.reschedule_session(ref, _session(datetime(2027, 3, before_day, 9, 0, tzinfo=LA)).rescheduled(target))
    assert _functions_sent(site, since) == ["core_calendar_submit_create_update_form"]
    back = site.adapter.get_session(moved)
    assert back.start == target.start and back.start.astimezone(UTC).hour == utc_hour
    assert back.start.astimezone(LA).hour == 9


def test_update_event_start_day_would_have_shifted(site: Site) -> None:
    """What the adapter avoids: Moodle's day-only move keeps the London wall clock across London's DST."""
    ref = site.adapter.create_session(_session(datetime(2027, 3, 24, 10, 0, tzinfo=LA)), key="drift")
    event = site.adapter.ex_call("core_calendar_update_event_start_day",
                                 {"eventid": int(ref.external_id), "daytimestamp": 1806494400})["event"]
    assert event["timestart"] - 1805907600 == 7 * 86400 - 3600


def test_cancel_is_idempotent_and_removes_group(site: Site) -> None:
    ref = site.adapter.create_session(_session(datetime(2027, 3, 10, 9, 0, tzinfo=LA)), key="c")
    site.adapter.cancel_session(ref)
    site.adapter.cancel_session(ref)
    assert not site.simulator.site.data.events and not site.simulator.site.data.groups
    with pytest.raises(NotFound):
        site.adapter.get_session(ref)


def _people(n: int, zone: str = "Asia/Tokyo") -> list[Person]:
    return [Person(email=f"learner{i}@example.com", name=f"Learner {i}", timezone=zone) for i in range(n)]


@pytest.mark.parametrize("count", [50, 500])
def test_bulk_enrolment_calls_do_not_grow_with_n(count: int, sandbox_server: SandboxStarter) -> None:
    figures = {}
    for n in (2, count):
        for site in make_site(sandbox_server, create_missing_users=True):
            session = _session(datetime(2027, 3, 10, 9, 0, tzinfo=LA))
            ref = site.adapter.create_session(session, key="bulk")
            start = _calls(site)
            members = site.adapter.enrol(ref, session, _people(n))
            figures[n] = _calls(site) - start
            assert len(members) == n and all(m.status == "enrolled" for m in members)
            enrolled = [k for k in site.simulator.site.data.enrolments if k[0] == site.course_id]
            assert len(enrolled) == n
    print(f"\nenrolment calls: {figures}")
    assert figures[2] == figures[count]


def test_existing_users_enrolled_in_constant_calls_and_never_reenrolled(site: Site) -> None:
    people = _people(500)
    for i, person in enumerate(people):
        site.simulator.site.insert_user({"username": f"u{i}", "email": person.email, "firstname": "L",
                                         "lastname": str(i), "timezone": "Asia/Tokyo"})
    already = site.simulator.site.data.users[3]["id"]
    site.simulator.site.data.enrolments[(site.course_id, already)] = {"timestart": 111, "timeend": 222,
                                                                      "status": 0, "roles": [5]}
    session = _session(datetime(2027, 3, 10, 9, 0, tzinfo=LA))
    ref = site.adapter.create_session(session, key="e")
    start = _calls(site)
    members = site.adapter.enrol(ref, session, people)
    print(f"\n500 existing learners enrolled in {_calls(site) - start} calls")
    assert _calls(site) - start <= 6
    enrolment = site.simulator.site.data.enrolments[(site.course_id, already)]
    assert (enrolment["timestart"], enrolment["timeend"]) == (111, 222)  # not reset by a re-enrol
    assert sum(m.status == "added_to_group" for m in members) == 1


def _two_sessions_and_an_outsider(site: Site) -> tuple[Session, ProviderRef, Session, ProviderRef, int]:
    """Two SDK sessions in the course, and a user enrolled in it before the SDK (``pre@example.com``)."""
    first = _session(datetime(2027, 3, 10, 9, 0, tzinfo=LA))
    second = _session(datetime(2027, 3, 17, 9, 0, tzinfo=LA), title="Forklift safety II")
    ref1 = site.adapter.create_session(first, key="one")
    ref2 = site.adapter.create_session(second, key="two")
    outsider = site.simulator.site.insert_user({"username": "pre", "email": "pre@example.com", "firstname": "P",
                                                "lastname": "Re"})
    site.simulator.site.data.enrolments[(site.course_id, outsider)] = {"timestart": 0, "timeend": 0, "status": 0,
                                                                       "roles": [5]}
    return first, ref1, second, ref2, outsider


def test_unenrol_only_removes_what_the_sdk_enrolled(creating_site: Site) -> None:
    site = creating_site
    first, ref1, second, ref2, outsider = _two_sessions_and_an_outsider(site)
    alice, bob = _people(2)
    pre = Person(email="pre@example.com", name="Pre Existing")
    site.adapter.enrol(ref1, first, [alice, bob, pre])
    site.adapter.enrol(ref2, second, [bob])
    site.adapter.unenrol(ref1, first, [alice, bob, pre])
    enrolled = {u for (c, u) in site.simulator.site.data.enrolments if c == site.course_id}
    ids = {p: site.adapter.users.find([p])[p.email] for p in (alice, bob)}
    assert ids[alice] not in enrolled  # enrolled by the SDK, in no other session: unenrolled
    assert ids[bob] in enrolled  # still in session two
    assert outsider in enrolled  # was enrolled before the SDK: only left the group
    assert [m.email for m in site.adapter.list_roster(ref2)] == [bob.email]
    assert list(site.adapter.list_roster(ref1)) == []


def test_cancel_unenrols_those_the_sdk_enrolled_for_that_session_only(creating_site: Site) -> None:
    site = creating_site
    first, ref1, second, ref2, outsider = _two_sessions_and_an_outsider(site)
    alice, bob = _people(2)
    site.adapter.enrol(ref1, first, [alice, bob, Person(email="pre@example.com", name="Pre Existing")])
    site.adapter.enrol(ref2, second, [bob])
    ids = {p.email: site.adapter.users.find([p])[p.email] for p in (alice, bob)}
    site.adapter.cancel_session(ref1)
    enrolled = {u for (c, u) in site.simulator.site.data.enrolments if c == site.course_id}
    assert ids[alice.email] not in enrolled  # enrolled by the SDK for this session alone: gone with it
    assert ids[bob.email] in enrolled  # still in session two
    assert outsider in enrolled  # enrolled before the SDK: untouched
    assert [m.email for m in site.adapter.list_roster(ref2)] == [bob.email]
    site.adapter.cancel_session(ref1)  # again: nothing left to do, no error


def test_missing_user_without_creation_is_not_found(site: Site) -> None:
    session = _session(datetime(2027, 3, 10, 9, 0, tzinfo=LA))
    ref = site.adapter.create_session(session, key="nf")
    with pytest.raises(NotFound, match="create_missing_users"):
        site.adapter.enrol(ref, session, _people(1))


def test_token_never_in_urls(site: Site) -> None:
    site.adapter.create_session(_session(datetime(2027, 3, 10, 9, 0, tzinfo=LA)), key="t")
    for request in site.server.requests:
        assert TOKEN not in request.path and not request.query
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
