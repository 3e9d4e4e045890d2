"""The small helpers adapters share: waiting for a provider's late work, and an LMS session's integer course."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lms_connectors.courses import integer_course_id
from lms_connectors.errors import TransientError, ValidationError
from lms_connectors.models import Session, TimeSlot
from lms_connectors.patience import Patience


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
