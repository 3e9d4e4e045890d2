"""Windows zone names written, Windows and IANA names read, and the DST weeks where only one side has moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from tzlocal.windows_tz import tz_win

from lms_connectors.errors import MalformedResponse, ValidationError
from lms_connectors.timezones import is_ambiguous
from lms_connectors_microsoft_graph.times import graph_datetime, iana_zone_of, parse_graph_datetime

# Every IANA zone CLDR maps to a Windows name: the zones a session can be held in and still be written with one.
MAPPED = sorted(name for name in tz_win if name and name in available_timezones())
INSTANTS = [datetime(2027, 1, 15, 14, 0, tzinfo=UTC), datetime(2027, 7, 15, 14, 0, tzinfo=UTC)]


@pytest.mark.parametrize("zone", MAPPED)
def test_every_mapped_zone_round_trips_the_instant_in_winter_and_summer(zone: str) -> None:
    for instant in INSTANTS:
        written = graph_datetime(instant, zone)
        assert parse_graph_datetime(written, "start") == instant, (zone, written)
        if written["timeZone"] != "UTC":
            assert iana_zone_of(written["timeZone"]) is not None


def test_windows_names_are_written_for_the_usual_zones() -> None:
    winter = datetime(2027, 1, 15, 14, 0, tzinfo=UTC)
    assert graph_datetime(winter, "America/New_York") == {"dateTime": "2027-01-15T09:00:00",
                                                          "timeZone": "Eastern Standard Time"}
    assert graph_datetime(winter, "Asia/Kolkata")["timeZone"] == "India Standard Time"
    assert graph_datetime(winter, "Europe/Berlin")["timeZone"] == "W. Europe Standard Time"
    assert graph_datetime(winter, "UTC") == {"dateTime": "2027-01-15T14:00:00", "timeZone": "UTC"}


def test_a_repeated_fall_back_hour_is_written_in_utc() -> None:
    second = datetime(2027, 11, 7, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York"))
    assert is_ambiguous(second.replace(tzinfo=None), "America/New_York")
    written = graph_datetime(second, "America/New_York")
    assert written == {"dateTime": "2027-11-07T06:30:00", "timeZone": "UTC"}
    # PEP 495: a fold=1 datetime never compares equal across zones; compare the instants.
    assert parse_graph_datetime(written, "start").timestamp() == second.timestamp()


def test_a_zone_without_a_windows_name_is_written_in_utc() -> None:
    instant = datetime(2027, 3, 16, 12, 0, tzinfo=UTC)
    assert graph_datetime(instant, "Antarctica/Troll") == {"dateTime": "2027-03-16T12:00:00", "timeZone": "UTC"}


@pytest.mark.parametrize(
    ("zone", "local", "other", "other_hour"),
    [
        # 14 March 2027: New York has moved to UTC-4, Berlin and London are still on winter time until 28 March.
        ("America/New_York", datetime(2027, 3, 16, 9, 0), "Europe/Berlin", 14),
        ("Europe/Berlin", datetime(2027, 3, 16, 14, 0), "America/New_York", 9),
        # 31 October 2027: Europe is back on winter time, New York not until 7 November.
        ("Europe/London", datetime(2027, 11, 2, 13, 0), "America/New_York", 9),
        ("America/New_York", datetime(2027, 11, 2, 9, 0), "Europe/London", 13),
        # Southern hemisphere: Sydney left summer time on 4 April 2027; Tokyo never has it.
        ("Australia/Sydney", datetime(2027, 4, 5, 9, 0), "Asia/Tokyo", 8),
    ],
)
def test_dst_weeks_where_only_one_side_has_moved(zone: str, local: datetime, other: str, other_hour: int) -> None:
    start = local.replace(tzinfo=ZoneInfo(zone))
    written = graph_datetime(start, zone)
    assert written["dateTime"] == local.isoformat(timespec="seconds"), "the home zone's wall time is kept"
    back = parse_graph_datetime(written, "start")
    assert back == start
    assert back.astimezone(ZoneInfo(other)).hour == other_hour


def test_answers_in_any_zone_graph_names_are_read() -> None:
    utc = parse_graph_datetime({"dateTime": "2027-03-16T13:00:00.0000000", "timeZone": "UTC"}, "start")
    pacific = parse_graph_datetime({"dateTime": "2027-03-16T06:00:00.0000000", "timeZone": "Pacific Standard Time"},
                                   "start")
    iana = parse_graph_datetime({"dateTime": "2027-03-16T09:00:00", "timeZone": "America/New_York"}, "start")
    assert utc == pacific == iana == datetime(2027, 3, 16, 13, 0, tzinfo=UTC)
    assert utc.utcoffset() == timedelta(0)


def test_unreadable_answers_are_malformed_responses() -> None:
    with pytest.raises(MalformedResponse):
        parse_graph_datetime({"dateTime": "2027-03-16T09:00:00", "timeZone": "tzone://Microsoft/Custom"}, "start")
    with pytest.raises(MalformedResponse):
        parse_graph_datetime({"dateTime": "16/03/2027"}, "start")
    with pytest.raises(MalformedResponse):
        parse_graph_datetime(None, "start")
    assert iana_zone_of("tzone://Microsoft/Custom") is None
    assert iana_zone_of("India Standard Time") == "Asia/Kolkata"


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValidationError):
        graph_datetime(datetime(2027, 3, 16, 9, 0), "America/New_York")
