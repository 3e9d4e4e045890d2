"""Every zone a person or a session is given in: any spelling in, one canonical modern IANA name stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from lms_connectors.errors import ValidationError
from lms_connectors.invites import build_invite
from lms_connectors.models import Person, Session, TimeSlot
from lms_connectors.timezones import POSIX_STYLE_ZONES, canonical_zone

NY = ZoneInfo("America/New_York")


def _slot(zone: str, start: datetime | None = None) -> TimeSlot:
    start = start or datetime(2027, 3, 16, 9, 0, tzinfo=NY)
    return TimeSlot(start=start, end=start + timedelta(hours=2), timezone=zone)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("America/New_York", "America/New_York"),
        ("america/new_york", "America/New_York"),
        ("AMERICA/NEW_YORK", "America/New_York"),
        ("US/Eastern", "America/New_York"),
        ("us/eastern", "America/New_York"),
        ("EST5EDT", "America/New_York"),
        ("Eastern Standard Time", "America/New_York"),
        ("eastern standard time", "America/New_York"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("India Standard Time", "Asia/Kolkata"),
        ("Etc/UTC", "UTC"),
        ("utc", "UTC"),
        ("Atlantic/Reykjavik", "Atlantic/Reykjavik"),  # a country's own zone stays, although tzdata links it
    ],
)
def test_session_and_person_zones_are_stored_canonical(given: str, stored: str) -> None:
    assert Person(email="kenji@example.org", name="Kenji", timezone=given).timezone == stored
    start = datetime(2027, 3, 16, 9, 0, tzinfo=ZoneInfo(stored))
    assert _slot(given, start).timezone == stored


def test_every_posix_style_zone_becomes_a_city_with_the_same_rules_now() -> None:
    instant = datetime(2027, 7, 1, 12, tzinfo=UTC)
    for legacy, city in POSIX_STYLE_ZONES.items():
        assert canonical_zone(legacy) == city
        assert instant.astimezone(ZoneInfo(legacy)).utcoffset() == instant.astimezone(ZoneInfo(city)).utcoffset()


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("america/new_yrok", "'America/New_York'"),
        ("Europe/Pari", "'Europe/Paris'"),
        ("Eastern Standard Tme", "'Eastern Standard Time'"),
    ],
)
def test_an_unknown_zone_gets_a_suggestion(given: str, suggested: str) -> None:
    with pytest.raises(ValidationError, match=f"Did you mean {suggested}") as caught:
        Person(email="kenji@example.org", name="Kenji", timezone=given)
    assert caught.value.field == "timezone"


def test_a_name_nothing_resembles_gets_no_suggestion() -> None:
    with pytest.raises(ValidationError) as caught:
        canonical_zone("Mars/Olympus_Mons")
    assert "Did you mean" not in caught.value.message


def test_a_start_in_another_named_zone_is_refused() -> None:
    tokyo = datetime(2027, 3, 16, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    with pytest.raises(ValidationError, match="given in Asia/Tokyo but the slot is set in America/New_York") as caught:
        _slot("America/New_York", tokyo)
    assert caught.value.field == "start"


def test_a_start_in_another_spelling_of_the_slots_zone_is_accepted() -> None:
    slot = _slot("America/New_York", datetime(2027, 3, 16, 9, 0, tzinfo=ZoneInfo("US/Eastern")))
    assert slot.start.tzinfo is NY and slot.start.hour == 9


def test_an_instant_in_utc_or_a_fixed_offset_is_converted_to_the_slots_zone() -> None:
    utc = datetime(2027, 3, 16, 13, 0, tzinfo=UTC)
    slot = _slot("America/New_York", utc)
    assert slot.start == utc and slot.start.tzinfo is NY and slot.start.hour == 9
    again = TimeSlot.model_validate_json(slot.model_dump_json())  # the ledger stores fixed offsets
    assert again == slot and again.start.tzinfo is NY


def test_invites_carry_the_modern_name_whatever_the_spelling() -> None:
    start = datetime(2027, 3, 16, 9, 0, tzinfo=NY)
    session = Session(id="s1", title="T", slot=_slot("US/Eastern", start))
    reader = Person(email="ian@example.org", name="Ian", timezone="Eastern Standard Time")
    data = build_invite(session, organizer=None, attendees=[reader], for_person=reader)
    assert b"TZID:America/New_York" in data and b"US/Eastern" not in data
    event = Calendar.from_ical(data).walk("VEVENT")[0]
    assert event["DTSTART"].params["TZID"] == "America/New_York"
