"""The small helpers adapters share: waiting for a provider's late work, an LMS session's integer course, and
whether a calendar event as read holds a session's slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lms_connectors.courses import integer_course_id
from lms_connectors.errors import MalformedResponse, TransientError, ValidationError
from lms_connectors.models import Session, TimeSlot
from lms_connectors.patience import Patience
from lms_connectors.stale_writes import holds_slot


def _session(course_id: str | None) -> Session:
    start = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    return Session(id="s1", title="T", slot=TimeSlot(start=start, end=start + timedelta(hours=1), timezone="UTC"),
                   course_id=course_id)


def test_patience_doubles_its_pauses_up_to_the_longest_and_counts_the_time() -> None:
    slept: list[float] = []
    patience = Patience(slept.append)
    while not patience.used_up(6.0):
        patience.pause()
    assert slept == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert patience.waited == 7.5


def test_patience_gives_up_with_a_transient_error_naming_the_time_waited() -> None:
    patience = Patience(lambda _: None, first=1.0, longest=1.0)
    patience.pause()
    patience.pause()
    error = patience.gave_up("Acme was still making the room", provider="acme", code="pending")
    assert isinstance(error, TransientError)
    assert str(error).startswith("Acme was still making the room after 2.0 s")
    assert (error.provider, error.code) == ("acme", "pending")


def test_the_session_course_wins_over_the_configured_one() -> None:
    assert integer_course_id(_session("42"), 7, "Moodle") == 42
    assert integer_course_id(_session(None), 7, "Moodle") == 7
    assert integer_course_id(None, 7, "Moodle") == 7


def test_a_missing_or_non_integer_course_is_a_typed_error() -> None:
    with pytest.raises(ValidationError, match="a Canvas session needs a course"):
        integer_course_id(_session(None), None, "Canvas")
    with pytest.raises(ValidationError, match="Canvas course ids are integers, got 'abc'"):
        integer_course_id(_session("abc"), 7, "Canvas")


def _instant(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedResponse(f"{name} is not an instant", provider="acme")
    return datetime.fromisoformat(value)


def test_an_event_holds_the_slot_when_its_instants_and_title_are_the_sessions() -> None:
    session = _session(None)
    event = {"start": "2027-03-01T10:00:00+01:00", "end": "2027-03-01T11:00:00+01:00", "summary": "T"}
    assert holds_slot(session, event, _instant, title_field="summary")
    assert not holds_slot(session, {**event, "summary": "Other"}, _instant, title_field="summary")
    assert not holds_slot(session, {**event, "end": "2027-03-01T11:30:00+01:00"}, _instant, title_field="summary")


def test_an_event_whose_instants_cannot_be_read_does_not_hold_the_slot() -> None:
    event = {"start": {"dateTime": 5}, "end": "2027-03-01T11:00:00+01:00", "summary": "T"}
    assert not holds_slot(_session(None), event, _instant, title_field="summary")
