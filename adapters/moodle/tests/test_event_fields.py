"""Event fields after a reschedule by the event form, as a live Moodle 4.5.6 answered them.

On the live site (PostgreSQL 15, site zone Europe/London, a web-service user with the documented role) an event
made by ``core_calendar_create_calendar_events`` at 1802000000 for an hour, then moved by
``core_calendar_submit_create_update_form`` (``timestart`` 1802261000, as the adapter sends it), read back with:

* ``timestart`` 1802260980: the form's date selector drops the seconds;
* ``timesort`` equal to the new start (it was the old start before the move);
* ``timeusermidnight`` 0, before and after;
* a ``formattedtime`` whose day link points at the event's end (``time=1802264580``), not at its start.
"""

from __future__ import annotations

from urllib.parse import urlencode

from .test_accounts import Site, ws  # noqa: F401 - the fixture

START, MOVED, HOUR = 1802000000, 1802261000, 3600


def _form(event_id: int, owner: int, course_id: int, start: int) -> str:
    return urlencode([
        ("id", event_id), ("userid", owner), ("modulename", ""), ("instance", "0"), ("visible", "1"),
        ("sesskey", "x"), ("_qf__core_calendar_local_event_forms_update", "1"), ("name", "Probe"),
        ("eventtype", "course"), ("courseid", str(course_id)), ("description[text]", ""),
        ("description[format]", "1"), ("description[itemid]", "0"), ("location", ""), ("duration", "2"),
        ("timedurationminutes", "60"), ("timestart", str(start)),
    ])


def test_a_form_reschedule_moves_timesort_and_links_the_day_of_the_end(ws: Site) -> None:  # noqa: F811
    call = ws.adapter.ex_call
    (made,) = call("core_calendar_create_calendar_events", {"events": [
        {"name": "Probe", "courseid": ws.course_id, "eventtype": "course", "timestart": START,
         "timeduration": HOUR}]})["events"]
    before = call("core_calendar_get_calendar_event_by_id", {"eventid": made["id"]})["event"]
    assert (before["timesort"], before["timeusermidnight"]) == (START, 0)
    assert f"time={START + HOUR}" in before["formattedtime"]
    answer = call("core_calendar_submit_create_update_form",
                  {"formdata": _form(made["id"], made["userid"], ws.course_id, MOVED)})
    after = call("core_calendar_get_calendar_event_by_id", {"eventid": made["id"]})["event"]
    for event in (answer["event"], after):
        moved = MOVED - MOVED % 60
        assert (event["timestart"], event["timesort"], event["timeusermidnight"]) == (moved, moved, 0)
        assert f"time={moved + HOUR}" in event["formattedtime"]


def test_a_start_with_seconds_is_refused_before_any_call(ws: Site) -> None:  # noqa: F811
    from datetime import UTC, datetime, timedelta

    import pytest

    from lms_connectors.errors import ValidationError
    from lms_connectors.models import Session, TimeSlot

    start = datetime(2027, 2, 10, 9, 0, 20, tzinfo=UTC)  # the form would store 09:00:00
    session = Session(id="s", title="Seconds", slot=TimeSlot(start=start, end=start + timedelta(hours=1),
                                                            timezone="UTC"))
    before = ws.adapter.client.calls
    with pytest.raises(ValidationError, match="whole minutes"):
        ws.adapter.create_session(session, key="s")
    assert ws.adapter.client.calls == before
