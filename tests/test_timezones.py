from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tzlocal.windows_tz import tz_win, win_tz

from lms_connectors.errors import ValidationError
from lms_connectors.timezones import (
    dst_transitions,
    format_local,
    format_offset,
    iana_to_windows,
    is_ambiguous,
    is_nonexistent,
    localize,
    modern_iana_name,
    require_window,
    require_zone,
    to_zone,
    windows_to_iana,
    zone_from_any_name,
)

NEW_YORK = "America/New_York"
LONDON = "Europe/London"

# --- Windows <-> IANA -------------------------------------------------------------------------------------


@pytest.mark.parametrize("windows", sorted(win_tz))
def test_every_windows_name_round_trips(windows: str) -> None:
    iana = windows_to_iana(windows)
    assert ZoneInfo(iana).key == iana
    assert iana_to_windows(iana) == windows


def test_windows_names_give_modern_iana_names() -> None:
    assert windows_to_iana("India Standard Time") == "Asia/Kolkata"  # CLDR says Asia/Calcutta
    assert windows_to_iana("Argentina Standard Time") == "America/Argentina/Buenos_Aires"
    assert windows_to_iana("FLE Standard Time") == "Europe/Kyiv"
    assert windows_to_iana("Myanmar Standard Time") == "Asia/Yangon"
    assert windows_to_iana("Nepal Standard Time") == "Asia/Kathmandu"
    assert windows_to_iana("Tokyo Standard Time") == "Asia/Tokyo"
    assert windows_to_iana("UTC") == "Etc/UTC"
    # tzdata links Reykjavik to Abidjan only because their rules agree since 1970; it stays Reykjavik.
    assert windows_to_iana("Greenwich Standard Time") == "Atlantic/Reykjavik"


def test_windows_names_are_matched_without_case() -> None:
    assert windows_to_iana("  eastern standard time ") == NEW_YORK


@pytest.mark.parametrize("iana", sorted(name for name in tz_win if name))
def test_every_cldr_iana_name_maps_to_its_windows_name(iana: str) -> None:
    assert iana_to_windows(iana) == tz_win[iana]


def test_every_tz_database_zone_maps_or_refuses_clearly() -> None:
    mapped, refused = 0, []
    for name in sorted(zoneinfo.available_timezones() - {"localtime"}):
        try:
            windows = iana_to_windows(name)
        except ValidationError as exc:
            refused.append(str(exc))
            continue
        assert windows in win_tz
        mapped += 1
    assert mapped > 550
    assert all("no Windows equivalent" in message for message in refused)


def test_utc_and_legacy_names_map() -> None:
    assert iana_to_windows("UTC") == "UTC"
    assert iana_to_windows("Etc/UTC") == "UTC"
    assert iana_to_windows("Asia/Calcutta") == "India Standard Time"
    assert iana_to_windows("Asia/Kolkata") == "India Standard Time"
    assert iana_to_windows("US/East-Indiana") == "US Eastern Standard Time"  # not in CLDR: via its link
    assert iana_to_windows("Europe/Uzhgorod") == "FLE Standard Time"


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "localtime", "/etc/localtime", "../etc/passwd", "Asia/Kolkatta"])
def test_unknown_iana_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        iana_to_windows(name)
    with pytest.raises(ValidationError):
        require_zone(name)


def test_a_zone_without_windows_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="no Windows equivalent"):
        iana_to_windows("Antarctica/Troll")


@pytest.mark.parametrize("name", ["", "Eastern Time", "Asia/Tokyo", "Central Standard Time (Mexico"])
def test_unknown_windows_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        windows_to_iana(name)


def test_zone_from_any_name() -> None:
    assert zone_from_any_name("Asia/Tokyo") == "Asia/Tokyo"
    assert zone_from_any_name("Asia/Calcutta") == "Asia/Calcutta"
    assert zone_from_any_name("India Standard Time") == "Asia/Kolkata"
    with pytest.raises(ValidationError):
        zone_from_any_name("Nowhere Standard Time")


def test_modern_iana_name() -> None:
    assert modern_iana_name("Asia/Calcutta") == "Asia/Kolkata"
    assert modern_iana_name("US/Eastern") == NEW_YORK
    assert modern_iana_name(NEW_YORK) == NEW_YORK
    assert modern_iana_name("Europe/Amsterdam") == "Europe/Amsterdam"  # a country's zone, though a link


# --- gaps and folds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "wall", "shifted", "utc"),
    [
        # New York springs forward on 2027-03-14 at 02:00 EST -> 03:00 EDT.
        (NEW_YORK, datetime(2027, 3, 14, 2, 30), datetime(2027, 3, 14, 3, 30), datetime(2027, 3, 14, 7, 30)),
        (NEW_YORK, datetime(2027, 3, 14, 2, 0), datetime(2027, 3, 14, 3, 0), datetime(2027, 3, 14, 7, 0)),
        # London springs forward on 2027-03-28 at 01:00 GMT -> 02:00 BST.
        (LONDON, datetime(2027, 3, 28, 1, 15), datetime(2027, 3, 28, 2, 15), datetime(2027, 3, 28, 1, 15)),
    ],
)
def test_gap(zone: str, wall: datetime, shifted: datetime, utc: datetime) -> None:
    assert is_nonexistent(wall, zone)
    assert not is_ambiguous(wall, zone)
    with pytest.raises(ValidationError, match="does not exist"):
        localize(wall, zone)
    moved = localize(wall, zone, gap_policy="shift_forward")
    assert moved.replace(tzinfo=None) == shifted
    assert moved.astimezone(UTC) == utc.replace(tzinfo=UTC)
    assert moved.tzinfo == ZoneInfo(zone)


@pytest.mark.parametrize(
    ("zone", "wall", "earlier_utc", "later_utc"),
    [
        # New York falls back on 2027-11-07 at 02:00 EDT -> 01:00 EST: 01:00-01:59 happen twice.
        (NEW_YORK, datetime(2027, 11, 7, 1, 30), datetime(2027, 11, 7, 5, 30), datetime(2027, 11, 7, 6, 30)),
        (NEW_YORK, datetime(2027, 11, 7, 1, 0), datetime(2027, 11, 7, 5, 0), datetime(2027, 11, 7, 6, 0)),
        # London falls back on 2027-10-31 at 02:00 BST -> 01:00 GMT.
        (LONDON, datetime(2027, 10, 31, 1, 45), datetime(2027, 10, 31, 0, 45), datetime(2027, 10, 31, 1, 45)),
    ],
)
def test_fold(zone: str, wall: datetime, earlier_utc: datetime, later_utc: datetime) -> None:
    assert is_ambiguous(wall, zone)
    assert not is_nonexistent(wall, zone)
    with pytest.raises(ValidationError, match="happens twice"):
        localize(wall, zone)
    earlier = localize(wall, zone, fold_policy="earlier")
    later = localize(wall, zone, fold_policy="later")
    assert earlier.astimezone(UTC) == earlier_utc.replace(tzinfo=UTC)
    assert later.astimezone(UTC) == later_utc.replace(tzinfo=UTC)
    # Python subtracts datetimes that share a tzinfo by wall clock (0 here): compare the instants in UTC.
    assert later.astimezone(UTC) - earlier.astimezone(UTC) == timedelta(hours=1)
    assert earlier.replace(tzinfo=None) == later.replace(tzinfo=None, fold=0) == wall


@pytest.mark.parametrize(
    ("zone", "wall"),
    [
        (NEW_YORK, datetime(2027, 3, 14, 1, 59, 59)),
        (NEW_YORK, datetime(2027, 3, 14, 3, 0)),
        (NEW_YORK, datetime(2027, 11, 7, 0, 59, 59)),
        (NEW_YORK, datetime(2027, 11, 7, 2, 0)),
        (LONDON, datetime(2027, 7, 1, 12, 0)),
        ("Asia/Tokyo", datetime(2027, 3, 14, 2, 30)),
    ],
)
def test_ordinary_wall_times(zone: str, wall: datetime) -> None:
    assert not is_nonexistent(wall, zone)
    assert not is_ambiguous(wall, zone)
    local = localize(wall, zone)  # strict policies: an ordinary time needs none
    assert local.replace(tzinfo=None) == wall
    assert to_zone(local.astimezone(UTC), zone).replace(tzinfo=None) == wall


def test_localize_refuses_aware_input() -> None:
    with pytest.raises(ValidationError):
        localize(datetime(2027, 3, 14, 2, 30, tzinfo=UTC), NEW_YORK)
    with pytest.raises(ValidationError):
        localize(datetime(2027, 3, 14, 2, 30), "Not/AZone")


# --- conversion and display -------------------------------------------------------------------------------


def test_to_zone_keeps_the_instant() -> None:
    start = datetime(2027, 3, 16, 10, 0, tzinfo=ZoneInfo(NEW_YORK))
    tokyo = to_zone(start, "Asia/Tokyo")
    assert tokyo == start
    assert (tokyo.hour, tokyo.utcoffset()) == (23, timedelta(hours=9))
    with pytest.raises(ValidationError, match="naive"):
        to_zone(datetime(2027, 3, 16, 10, 0), "Asia/Tokyo")


def test_the_weeks_when_only_new_york_has_switched() -> None:
    # 10:00 in New York is midnight in Tokyo before 14 March and 23:00 the day before after it.
    before = localize(datetime(2027, 3, 9, 10, 0), NEW_YORK)
    after = localize(datetime(2027, 3, 16, 10, 0), NEW_YORK)
    assert to_zone(before, "Asia/Tokyo").replace(tzinfo=None) == datetime(2027, 3, 10, 0, 0)
    assert to_zone(after, "Asia/Tokyo").replace(tzinfo=None) == datetime(2027, 3, 16, 23, 0)


@pytest.mark.parametrize(
    ("instant", "zone", "text"),
    [
        (datetime(2027, 3, 9, 9, 0, tzinfo=UTC), "Asia/Tokyo", "Tue 9 Mar 2027, 18:00 JST (UTC+09:00)"),
        (datetime(2027, 3, 16, 14, 0, tzinfo=UTC), NEW_YORK, "Tue 16 Mar 2027, 10:00 EDT (UTC-04:00)"),
        (datetime(2027, 3, 9, 15, 0, tzinfo=UTC), NEW_YORK, "Tue 9 Mar 2027, 10:00 EST (UTC-05:00)"),
        (datetime(2027, 12, 31, 23, 5, tzinfo=UTC), "Asia/Kolkata", "Sat 1 Jan 2028, 04:35 IST (UTC+05:30)"),
        (datetime(2027, 1, 4, 12, 0, tzinfo=UTC), "America/St_Johns", "Mon 4 Jan 2027, 08:30 NST (UTC-03:30)"),
        # São Paulo's abbreviation is just "-03": show the offset once.
        (datetime(2027, 6, 1, 12, 0, tzinfo=UTC), "America/Sao_Paulo", "Tue 1 Jun 2027, 09:00 (UTC-03:00)"),
        (datetime(2027, 6, 1, 12, 0, tzinfo=UTC), "Etc/UTC", "Tue 1 Jun 2027, 12:00 UTC (UTC+00:00)"),
    ],
)
def test_format_local(instant: datetime, zone: str, text: str) -> None:
    assert format_local(instant, zone) == text


def test_format_offset_with_seconds() -> None:
    assert format_offset(timedelta(hours=-4, minutes=-56, seconds=-2)) == "UTC-04:56:02"
    assert format_offset(timedelta(hours=5, minutes=45)) == "UTC+05:45"


# --- transitions ------------------------------------------------------------------------------------------


def _year(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def test_transitions_of_new_york_and_london() -> None:
    ny = dst_transitions(NEW_YORK, *_year(2027))
    assert [(t.at, t.is_gap) for t in ny] == [
        (datetime(2027, 3, 14, 7, 0, tzinfo=UTC), True),
        (datetime(2027, 11, 7, 6, 0, tzinfo=UTC), False),
    ]
    assert ny[0].offset_before == timedelta(hours=-5)
    assert ny[0].offset_after == timedelta(hours=-4)
    london = dst_transitions(ZoneInfo(LONDON), *_year(2027))
    assert [t.at for t in london] == [
        datetime(2027, 3, 28, 1, 0, tzinfo=UTC),
        datetime(2027, 10, 31, 1, 0, tzinfo=UTC),
    ]


def test_transitions_agree_with_gap_detection() -> None:
    for transition in dst_transitions(NEW_YORK, *_year(2027)):
        wall = transition.at.astimezone(ZoneInfo(NEW_YORK)).replace(tzinfo=None)
        if transition.is_gap:
            assert is_nonexistent(wall - timedelta(minutes=30), NEW_YORK)
        else:
            assert is_ambiguous(wall, NEW_YORK)


def test_transitions_half_hour_dst_and_none() -> None:
    lord_howe = dst_transitions("Australia/Lord_Howe", *_year(2027))
    assert [t.offset_after - t.offset_before for t in lord_howe] == [
        timedelta(minutes=-30),
        timedelta(minutes=30),
    ]
    assert dst_transitions("Asia/Tokyo", *_year(2027)) == []


def test_transition_window_is_half_open() -> None:
    at = datetime(2027, 3, 14, 7, 0, tzinfo=UTC)
    assert len(dst_transitions(NEW_YORK, at, at + timedelta(hours=1))) == 1
    assert dst_transitions(NEW_YORK, at - timedelta(hours=1), at) == []
    with pytest.raises(ValidationError):
        dst_transitions(NEW_YORK, datetime(2027, 1, 1), datetime(2028, 1, 1))


def test_a_listing_window_is_checked_before_any_call() -> None:
    start = datetime(2027, 3, 1, 9, tzinfo=ZoneInfo(NEW_YORK))
    assert require_window(start, start + timedelta(hours=1)) == (start, start + timedelta(hours=1))
    with pytest.raises(ValidationError, match="naive"):
        require_window(datetime(2027, 3, 1, 9), start)
    with pytest.raises(ValidationError, match="before or when it starts"):
        require_window(start, start.astimezone(UTC) - timedelta(minutes=1))
