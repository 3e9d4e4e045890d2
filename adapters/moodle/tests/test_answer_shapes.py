"""Moodle answers of another shape than the adapter reads: a MalformedResponse naming the web-service function
and the field, with a redacted excerpt of the body (never a KeyError, a TypeError, or a wrong value used)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import MalformedResponse
from lms_connectors.models import Person, ProviderRef, Session, TimeSlot
from lms_connectors.testing.answers import GARBLED, LEAKY_FIELD, assert_malformed
from lms_connectors.testing.sandbox import Fault

from .conftest import Site

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2027, 3, 10, 9, 0, tzinfo=LA)
SESSION = Session(id="s-1", title="Forklift safety",
                  slot=TimeSlot(start=START, end=START + timedelta(minutes=90), timezone="America/Los_Angeles"))
NEWCOMER = Person(email="newcomer@example.org", name="New Comer", timezone="Europe/Lisbon")

Call = Callable[[Site, ProviderRef], object]


def _enrol_existing(site: Site, ref: ProviderRef) -> object:
    """Enrol a learner whose account exists: only then does an enrolment ask who is enrolled already."""
    site.simulator.site.insert_user({"username": "known", "firstname": "Kim", "lastname": "Known",
                                     "email": "known@example.org"})
    return site.adapter.enrol(ref, SESSION, [Person(email="known@example.org", name="Kim Known")])


FUNCTIONS: dict[str, Call] = {
    # web-service function: the adapter call that reads its answer
    "core_calendar_get_calendar_event_by_id": lambda s, r: s.adapter.get_session(r),
    "core_calendar_get_calendar_events": lambda s, _r: s.adapter.find_session("s-9.moodle.g1"),
    "core_calendar_create_calendar_events":
        lambda s, _r: s.adapter.create_session(SESSION.model_copy(update={"id": "s-2"}), key="s-2.moodle.g1",
                                               fresh=True),
    "core_group_get_course_groups": lambda s, _r: s.adapter.discard("s-9.moodle.g1"),
    "core_group_get_group_members": lambda s, r: list(s.adapter.list_roster(r)),
    "core_enrol_get_enrolled_users": _enrol_existing,
    "core_user_get_users_by_field": lambda s, r: s.adapter.enrol(r, SESSION, [NEWCOMER]),
}

WRONG_SHAPES: dict[str, tuple[Any, str]] = {
    # function: (an answer of another shape, the field the error names)
    "core_calendar_get_calendar_event_by_id":
        ({"event": {"id": 1, "name": "x", "timestart": "soon", "timeduration": 5400, **LEAKY_FIELD}},
         "event.timestart"),
    "core_calendar_get_calendar_events": ({"events": [{"id": 1, "name": "x", **LEAKY_FIELD}]}, "events.0.timestart"),
    "core_calendar_create_calendar_events": ({"events": {"id": 3}, **LEAKY_FIELD}, "events"),
    "core_group_get_course_groups": ({"id": 1, "idnumber": "lmsc:s-9.moodle.g1", **LEAKY_FIELD}, ""),
    "core_group_get_group_members": ([{"groupid": 1, "userids": ["ines"], **LEAKY_FIELD}], "0.userids.0"),
    "core_enrol_get_enrolled_users": ([{"fullname": "Ines Duarte", **LEAKY_FIELD}], "0.id"),
    # (an account without "email" is not malformed: Moodle hides it from a role without viewuseridentity)
    "core_user_get_users_by_field": ([{"id": 3, "email": 42, **LEAKY_FIELD}], "0.email"),
}


@pytest.fixture
def site(creating_site: Site) -> Site:
    """A site whose adapter makes the accounts of learners it does not know (the newcomer's)."""
    return creating_site


@pytest.fixture
def event(site: Site) -> ProviderRef:
    return site.adapter.create_session(SESSION, key="s-1.moodle.g1", fresh=True)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_json_of_another_shape_names_the_function_and_the_field(site: Site, event: ProviderRef, function: str) -> None:
    body, field = WRONG_SHAPES[function]
    # times=2: a create's answer of another shape is looked up by key and sent once more.
    site.server.faults.add(Fault.error(200, body, body_pattern=f"wsfunction={function}", times=2))
    with pytest.raises(MalformedResponse) as caught:
        FUNCTIONS[function](site, event)
    assert_malformed(caught.value, provider="moodle", endpoint=f"{function} (POST ", field=field)
    assert caught.value.code == "unexpected_shape" and caught.value.status == 200


@pytest.mark.parametrize("garbled", sorted(GARBLED))
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_an_answer_that_is_not_json_names_the_function(
    site: Site, event: ProviderRef, function: str, garbled: str
) -> None:
    headers, body = GARBLED[garbled]
    site.server.faults.add(Fault.error(200, body, headers=headers, body_pattern=f"wsfunction={function}", times=30))
    with pytest.raises(MalformedResponse) as caught:
        FUNCTIONS[function](site, event)
    assert_malformed(caught.value, provider="moodle", endpoint=f"{function} (POST ")
