"""Bad input to the models raises the SDK's own ValidationError, and instants are compared as instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import ConnectorError, ValidationError
from lms_connectors.models import Person, Session, TimeSlot

NY = ZoneInfo("America/New_York")


def slot(start: datetime, end: datetime, zone: str = "America/New_York") -> TimeSlot:
    return TimeSlot(start=start, end=end, timezone=zone)


@pytest.mark.parametrize(
    ("start", "end", "zone", "says"),
    [
        (datetime(2027, 3, 1, 9), datetime(2027, 3, 1, 10), "America/New_York", "naive datetime"),
        (datetime(2027, 3, 1, 9, tzinfo=NY), datetime(2027, 3, 1, 10, tzinfo=NY), "Mars/Olympus_Mons", "unknown time zone"),
        (datetime(2027, 3, 1, 10, tzinfo=NY), datetime(2027, 3, 1, 9, tzinfo=NY), "America/New_York", "before or when it starts"),
        (datetime(2027, 3, 14, 2, 30, tzinfo=NY), datetime(2027, 3, 14, 4, tzinfo=NY), "America/New_York", "does not exist"),
    ],
)
def test_bad_slots_raise_the_sdk_error(start: datetime, end: datetime, zone: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says) as caught:
        slot(start, end, zone)
    assert isinstance(caught.value, ConnectorError)


def test_nested_bad_input_names_the_field() -> None:
    start = datetime(2027, 3, 1, 9, tzinfo=NY)
    with pytest.raises(ValidationError, match=r"instructors\.0: invalid Person: email: invalid email") as caught:
        Session(id="s1", title="T", slot=slot(start, start + timedelta(hours=1)),
                instructors=({"email": "not-an-email", "name": "X"},))  # type: ignore[arg-type]
    assert "Session" in caught.value.message


def test_json_and_mapping_validation_raise_the_sdk_error() -> None:
    with pytest.raises(ValidationError, match="naive datetime"):
        TimeSlot.model_validate({"start": "2027-03-01T09:00:00", "end": "2027-03-01T10:00:00",
                                 "timezone": "America/New_York"})
    with pytest.raises(ValidationError, match="email"):
        Person.model_validate_json('{"email": "nobody", "name": "N"}')


def test_end_after_start_is_judged_in_utc_across_the_fall_back_hour() -> None:
    # 01:50 EDT (05:50Z) to 01:10 EST (06:10Z): the wall clock goes backwards, time does not.
    first = datetime(2027, 11, 7, 1, 50, tzinfo=NY, fold=0)
    second = datetime(2027, 11, 7, 1, 10, tzinfo=NY, fold=1)
    assert slot(first, second).duration == timedelta(minutes=20)
    with pytest.raises(ValidationError, match="before or when it starts"):
        slot(second.replace(minute=40), first.replace(minute=20))  # 01:40 EST (06:40Z) to 01:20 EDT (05:20Z)


def test_duration_is_elapsed_time_across_a_dst_change() -> None:
    overnight = slot(datetime(2027, 3, 13, 10, tzinfo=NY), datetime(2027, 3, 14, 10, tzinfo=NY))
    assert overnight.duration == timedelta(hours=23)


def test_same_instants_sees_the_fold() -> None:
    earlier = datetime(2027, 11, 7, 1, 30, tzinfo=NY, fold=0)
    later = earlier.replace(fold=1)
    one = slot(earlier, later + timedelta(hours=1))
    assert not one.same_instants(slot(later, later + timedelta(hours=1)))
    assert one.same_instants(slot(earlier.astimezone(UTC), later + timedelta(hours=1)))


@pytest.mark.parametrize("bad", ["bad id!", "-starts-with-dash", "a/b"])
def test_a_bad_session_id_is_explained_without_a_regex(bad: str) -> None:
    start = datetime(2027, 3, 1, 9, tzinfo=NY)
    with pytest.raises(ValidationError) as caught:
        Session(id=bad, title="T", slot=slot(start, start + timedelta(hours=1)))
    assert caught.value.field == "id"
    assert "letters, digits" in caught.value.message and "[A-Za-z" not in caught.value.message


def test_a_nested_error_names_its_dotted_field() -> None:
    start = datetime(2027, 3, 1, 9, tzinfo=NY)
    with pytest.raises(ValidationError) as caught:
        Session(id="s1", title="T", slot=slot(start, start + timedelta(hours=1)),
                instructors=({"email": "not-an-email", "name": "X"},))  # type: ignore[arg-type]
    assert caught.value.field == "instructors.0.email"
    assert caught.value.evidence()["field"] == "instructors.0.email"
