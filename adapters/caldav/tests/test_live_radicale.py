"""Behaviour the contract matrix does not pin down, checked against a real Radicale on 127.0.0.1."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from lms_connectors.errors import AuthError, ConfigurationError, Conflict
from lms_connectors.invites import build_invite
from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import Fault, SandboxServer
from lms_connectors_caldav.adapter import CalDavAdapter
from lms_connectors_caldav.testing import RadicaleProxy, RadicaleServer

from .conftest import make_adapter

NEW_YORK = ZoneInfo("America/New_York")
AMARA = Person(email="amara.okafor@example.org", name="Amara Okafor", timezone="America/New_York")
KENJI = Person(email="kenji.sato@example.org", name="Kenji Sato", timezone="Asia/Tokyo")


def session(sid: str = "caldav-unit", day: int = 10, **fields: object) -> Session:
    start = datetime(2027, 2, day, 9, 0, tzinfo=NEW_YORK)
    values: dict[str, object] = {
        "id": sid,
        "title": f"Session {sid}",
        "slot": TimeSlot(start=start, end=start + timedelta(minutes=90), timezone="America/New_York"),
        "capacity": 10,
    }
    values.update(fields)
    return Session(**values)  # type: ignore[arg-type]


def moved(original: Session, days: int = 1) -> Session:
    slot = original.slot
    return original.rescheduled(
        TimeSlot(start=slot.start + timedelta(days=days), end=slot.end + timedelta(days=days), timezone=slot.timezone)
    )


def stored_event(adapter: CalDavAdapter, ref_href: str) -> Calendar:
    response = adapter.transport.request("GET", adapter.dav.url(ref_href))
    return Calendar.from_ical(response.content)


def foreign_edit(adapter: CalDavAdapter, href: str, old: bytes, new: bytes) -> None:
    """Another client's read-modify-write of the resource."""
    url = adapter.dav.url(href)
    current = adapter.transport.request("GET", url)
    assert old in current.content
    adapter.transport.request("PUT", url, data=current.content.replace(old, new), headers={
        "Content-Type": "text/calendar; charset=utf-8", "If-Match": current.headers["ETag"]})


def test_a_refused_password_is_an_auth_error_at_once(radicale: RadicaleServer) -> None:
    radicale.reset_calendar()
    adapter = make_adapter(radicale.url, password="not-the-password")
    with pytest.raises(AuthError):
        adapter.find_session("any.caldav.g1")
    assert adapter.transport.counter.total == 1, "Basic credentials are not refreshed: one call, no retry"


def test_a_missing_calendar_is_a_configuration_error_naming_it(radicale: RadicaleServer) -> None:
    adapter = make_adapter(radicale.url, calendar="no-such-calendar")
    with pytest.raises(ConfigurationError, match="no-such-calendar"):
        adapter.find_session("any.caldav.g1")


def test_calendar_url_skips_discovery(adapter: CalDavAdapter, radicale: RadicaleServer) -> None:
    direct = make_adapter(radicale.url, calendar_url=f"{radicale.url}/trainer/training/")
    assert direct.find_session("absent.caldav.g1") is None
    assert direct.transport.counter.by_operation == {"check calendar": 1, "read event": 1}


def test_stored_event_carries_the_invites_uid_through_the_scheduler(adapter: CalDavAdapter) -> None:
    scheduler = Scheduler([adapter], MemoryLedger())
    planned = session("caldav-invite", modality=Modality.IN_PERSON, instructors=(Person(
        email="priya.nair@example.org", name="Priya Nair", timezone="America/New_York", role="instructor"),))
    scheduled = scheduler.schedule(planned)
    scheduler.enrol(scheduled.id, KENJI)
    ref = scheduler.ledger.get_ref(scheduled.id, adapter.name)
    assert ref is not None
    invite = Calendar.from_ical(build_invite(scheduled, organizer=None, attendees=[KENJI], for_person=KENJI))
    stored = stored_event(adapter, ref.external_id)
    (invite_event,) = invite.walk("VEVENT")
    (stored_vevent,) = stored.walk("VEVENT")
    assert str(stored_vevent["UID"]) == str(invite_event["UID"]) == "caldav-invite@lms-connectors"
    assert "METHOD" not in stored, "a stored calendar object resource carries no iTIP method (RFC 4791 4.1)"
    assert stored.walk("VTIMEZONE"), "the session's zone travels with the event"

    rescheduled = scheduler.reschedule(scheduled.id, moved(scheduled).slot)
    stored = stored_event(adapter, ref.external_id)
    (stored_vevent,) = stored.walk("VEVENT")
    (invite_event,) = Calendar.from_ical(
        build_invite(rescheduled, organizer=None, attendees=[KENJI], for_person=KENJI)).walk("VEVENT")
    assert str(stored_vevent["UID"]) == str(invite_event["UID"])
    assert int(stored_vevent["SEQUENCE"]) == int(invite_event["SEQUENCE"]) == 1
    assert stored_vevent.decoded("DTSTART") == rescheduled.slot.start


def test_reschedule_keeps_learners_answers_and_bumps_sequence(adapter: CalDavAdapter) -> None:
    planned = session("caldav-partstat")
    ref = adapter.create_session(planned, key="caldav-partstat.caldav.g1")
    adapter.enrol(ref, planned, [AMARA, KENJI])
    # Amara accepts in her calendar client (the server keeps her answer on the organizer's copy).
    url = adapter.dav.url(ref.external_id)
    current = adapter.transport.request("GET", url)
    calendar = Calendar.from_ical(current.content)
    (event,) = calendar.walk("VEVENT")
    for attendee in event["ATTENDEE"]:
        if str(attendee).lower() == f"mailto:{AMARA.email}":
            attendee.params["PARTSTAT"] = "ACCEPTED"
    adapter.transport.request("PUT", url, data=calendar.to_ical(), headers={
        "Content-Type": "text/calendar; charset=utf-8", "If-Match": current.headers["ETag"]})
    new_ref = adapter.reschedule_session(ref, moved(planned))
    assert new_ref.external_id == ref.external_id
    statuses = {member.email: member.status for member in adapter.list_roster(new_ref)}
    assert statuses == {AMARA.email: "ACCEPTED", KENJI.email: "NEEDS-ACTION"}
    assert adapter.get_session(new_ref).raw["sequence"] == 1


def test_an_edit_between_read_and_write_is_a_conflict(adapter: CalDavAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    planned = session("caldav-race")
    ref = adapter.create_session(planned, key="caldav-race.caldav.g1")
    original_read = adapter._read

    def read_then_someone_writes(href: str) -> object:
        stored = original_read(href)
        foreign_edit(adapter, href, b"TRANSP:OPAQUE", b"TRANSP:TRANSPARENT")  # leaves the owned fields alone
        return stored

    monkeypatch.setattr(adapter, "_read", read_then_someone_writes)
    with pytest.raises(Conflict) as raised:
        adapter.reschedule_session(ref, moved(planned))
    assert raised.value.status == 412
    monkeypatch.undo()
    assert adapter.get_session(ref).start == planned.slot.start, "the refused write changed nothing"


def test_a_roster_write_racing_another_writer_merges_both(adapter: CalDavAdapter,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    planned = session("caldav-merge")
    ref = adapter.create_session(planned, key="caldav-merge.caldav.g1")
    original_read = adapter._read
    raced: list[str] = []

    def read_then_another_enrols(href: str) -> object:
        stored = original_read(href)
        if not raced:
            raced.append(href)
            other = make_adapter(adapter.config.base_url)
            other.enrol(ref, planned, [KENJI])
        return stored

    monkeypatch.setattr(adapter, "_read", read_then_another_enrols)
    adapter.enrol(ref, planned, [AMARA])
    monkeypatch.undo()
    assert {m.email for m in adapter.list_roster(ref)} == {AMARA.email, KENJI.email}


def test_recreating_a_session_whose_old_resource_remains_is_a_uid_conflict(adapter: CalDavAdapter) -> None:
    planned = session("caldav-uid")
    adapter.create_session(planned, key="caldav-uid.caldav.g1")
    with pytest.raises(Conflict) as raised:
        adapter.create_session(planned, key="caldav-uid.caldav.g2")
    assert raised.value.code == "no-uid-conflict"


def test_a_key_whose_name_holds_another_keys_event_is_a_conflict(adapter: CalDavAdapter) -> None:
    planned = session("caldav-taken")
    ref = adapter.create_session(planned, key="caldav-taken.caldav.g1")
    foreign_edit(adapter, ref.external_id, b"X-LMSC-KEY:caldav-taken.caldav.g1", b"X-LMSC-KEY:someone-else")
    with pytest.raises(Conflict):
        adapter.create_session(planned, key="caldav-taken.caldav.g1")
    assert adapter.find_session("caldav-taken.caldav.g1") is None


def test_listing_leaves_out_events_the_sdk_did_not_make(adapter: CalDavAdapter) -> None:
    ours = adapter.create_session(session("caldav-ours"), key="caldav-ours.caldav.g1")
    foreign = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nBEGIN:VEVENT\r\nUID:other-1\r\n"
               b"DTSTAMP:20270101T000000Z\r\nDTSTART:20270211T150000Z\r\nDTEND:20270211T160000Z\r\n"
               b"SUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    adapter.transport.request("PUT", adapter.dav.url(adapter.ex_calendar() + "other-1.ics"), data=foreign,
                              headers={"Content-Type": "text/calendar"})
    window = (datetime(2027, 2, 1, tzinfo=NEW_YORK), datetime(2027, 3, 1, tzinfo=NEW_YORK))
    assert [s.ref.external_id for s in adapter.list_sessions(*window)] == [ours.external_id]
    assert [s.ref.external_id for s in adapter.list_sessions(*window, page_size=1)] == [ours.external_id]
    busy = adapter.free_busy([adapter.config.organizer_email or ""], *window)
    assert len(next(iter(busy.values()))) == 2, "foreign events are busy time too"


def test_free_busy_falls_back_to_calendar_query_where_the_server_refuses_it(radicale: RadicaleServer) -> None:
    radicale.reset_calendar()
    window = (datetime(2027, 2, 1, tzinfo=NEW_YORK), datetime(2027, 3, 1, tzinfo=NEW_YORK))
    with SandboxServer(RadicaleProxy(radicale)) as proxy:
        adapter = make_adapter(proxy.url)
        first = adapter.create_session(session("caldav-fb-1", day=10), key="caldav-fb-1.caldav.g1")
        second = adapter.create_session(session("caldav-fb-2", day=12), key="caldav-fb-2.caldav.g1")
        adapter.cancel_session(second)
        adapter.create_session(session("caldav-fb-3", day=14), key="caldav-fb-3.caldav.g1")
        email = adapter.config.organizer_email or ""
        expected = adapter.free_busy([email], *window)[email]
        assert len(expected) == 2 and first.external_id
        refused = proxy.faults.add(Fault.error(501, b"free-busy-query not implemented", body_pattern="free-busy-query",
                                               times=5))
        fallback = make_adapter(proxy.url)
        assert fallback.free_busy([email], *window)[email] == expected
        assert fallback.free_busy([email], *window)[email] == expected
        assert refused.fired == 1, "once refused, the calendar is not asked for free-busy-query again"


def test_free_busy_of_an_unconfigured_address_is_not_found(adapter: CalDavAdapter) -> None:
    from lms_connectors.errors import NotFound

    window = (datetime(2027, 2, 1, tzinfo=NEW_YORK), datetime(2027, 3, 1, tzinfo=NEW_YORK))
    with pytest.raises(NotFound):
        adapter.free_busy(["stranger@example.org"], *window)


def test_diagnose_reports_the_calendar_and_free_busy(adapter: CalDavAdapter) -> None:
    checks = {check.name: check for check in adapter.diagnose()}
    assert checks["calendar"].ok and "/trainer/training/" in checks["calendar"].detail
    assert checks["free-busy-query"].ok


def test_make_calendar(radicale: RadicaleServer) -> None:
    adapter = make_adapter(radicale.url, calendar="made-by-test")
    radicale.send("DELETE", "/trainer/made-by-test/")
    assert adapter.ex_make_calendar("Made by a test") == "/trainer/made-by-test/"
    assert adapter.ex_location().display_name == "Made by a test"
    with pytest.raises(Conflict):
        adapter.ex_make_calendar()
