"""A schedule's periods over a reader's day, and the period an instant falls in (``Domain/ScheduleLayout.php``).

LibreBooking stores a layout as wall times in the schedule's zone and lays it over the reader's day in
``ScheduleLayout::GetLayout``: each period is placed on the reader's date in the schedule's zone, converted to the
reader's zone, and a period that then crosses the reader's midnight gets a "compensating" copy on the other side
of the day, built from the converted wall times by ``Date::SetTime`` and ``Date::AddDays``. Those set wall times
in the reader's zone, so on a day the clocks change the copy does not line up with the period it stands for: on
the day London moves to summer time a London reader of a UTC schedule gets an extra first period from 19:00 the
evening before to 02:00 (01:00 falls in the gap and PHP moves it forward), overlapping the first real one; on
the day it moves back, the schedule's midnight is read back as 01:00 GMT, an hour late (:func:`_to_zone`).
This module follows that algorithm step by step, with PHP's wall-time rules, so such days come out as LibreBooking
answers them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from lms_connectors_librebooking.simulator.dates import local_wall_time

__all__ = ["Period", "period_at", "periods_of_day", "same_day_in"]

Period = tuple[datetime, datetime, bool]
"""(begins, ends, bookable), aware in the reader's zone."""


def _wall(day: date, at: time, zone: tzinfo) -> datetime:
    """``Date::Create`` / ``new Date('Y-m-d H:i:s', zone)``: a wall time as PHP resolves it (gaps move forward)."""
    return local_wall_time(datetime.combine(day, at), zone)


def _to_zone(instant: datetime, zone: tzinfo) -> datetime:
    """``Date::ToTimezone``: formats the wall time in ``zone`` and parses it again there.

    On the night the clocks go back the second parse can pick the other occurrence of an ambiguous wall time:
    for a London reader the UTC schedule's midnight (01:00 BST) comes back as 01:00 GMT, an hour later.
    """
    return _wall(instant.astimezone(zone).date(), instant.astimezone(zone).time(), zone)


def _set_time(instant: datetime, at: time, *, is_end: bool = False) -> datetime:
    """``Date::SetTime``: the same date with the wall time ``at``; an end at midnight is the next day's."""
    zone = instant.tzinfo
    assert zone is not None
    moved = _wall(instant.date(), at, zone)
    return _add_days(moved, 1) if is_end and at == time(0) else moved


def _add_days(instant: datetime, days: int) -> datetime:
    """``Date::AddDays``: the wall time ``days`` calendar days on (not 24-hour steps)."""
    zone = instant.tzinfo
    assert zone is not None
    return _wall(instant.date() + timedelta(days=days), instant.time(), zone)


def _is_midnight(instant: datetime) -> bool:
    return instant.time() == time(0)


def periods_of_day(layout: list[tuple[time, time, bool]], layout_zone: tzinfo, day: date,
                   reader: tzinfo) -> list[Period]:
    """The periods LibreBooking lists for the reader's ``day``, sorted by start (``ScheduleLayout::GetLayout``).

    Args:
        layout: The schedule's periods as wall times in ``layout_zone`` (an end of midnight ends the day).
        layout_zone: The schedule's zone.
        day: The reader's date.
        reader: The reader's zone.

    Returns:
        The periods, each aware in ``reader``; PHP's ``PeriodList`` drops a period whose end an earlier one had.
    """
    layout_date = _wall(day, time(0), reader)
    working = _wall(day, time(0), layout_zone)
    found: list[Period] = []
    ends_seen: set[datetime] = set()

    def add(begins: datetime, ends: datetime, bookable: bool) -> None:
        # PeriodList::AlreadyAdded records starts under another name than it checks, so only a repeated end counts.
        if ends in ends_seen:
            return
        ends_seen.add(ends)
        found.append((begins, ends, bookable))

    for start, end, bookable in layout:
        begins = _to_zone(_set_time(working, start), reader)
        ends = _to_zone(_set_time(working, end, is_end=True), reader)
        if ends < begins:
            ends = _add_days(ends, 1)
        start_time, end_time = begins.time(), ends.time()
        if begins.date() != day and ends.date() != day:
            begins, ends = _set_time(layout_date, start_time), _set_time(layout_date, end_time, is_end=True)
        if begins.date() != ends.date() and not _is_midnight(ends):
            if begins < layout_date:
                add(_set_time(layout_date, start_time), _add_days(ends, 1), bookable)
            else:
                add(_add_days(begins, -1), _set_time(layout_date, end_time, is_end=True), bookable)
        if not _is_midnight(begins) and begins < layout_date and ends.date() == day and _is_midnight(ends):
            begins, ends = _add_days(begins, 1), _add_days(ends, 1)
        add(begins, ends, bookable)
    return sorted(found, key=lambda period: period[0])


def period_at(
    layout: list[tuple[time, time, bool]], layout_zone: tzinfo, instant: datetime
) -> tuple[datetime, bool] | None:
    """The period ``instant`` falls in, as ``ScheduleLayout::GetPeriod`` finds it: (its start, bookable), or ``None``.

    The instant's date in the schedule's zone (through ``Date::ToTimezone``) gets each period of the layout; the
    first whose start is at or before the instant and whose end is after it is the one. Reservation rules check
    that a start is a bookable period's start, and that an end is the start of some period, bookable or not.
    """
    local = _to_zone(instant, layout_zone)
    for start, end, bookable in layout:
        begins = _wall(local.date(), start, layout_zone)
        ends = _wall(local.date(), end, layout_zone)
        if end == time(0):
            ends = _add_days(ends, 1)
        if begins <= instant < ends:
            return begins, bookable
    return None


def same_day_in(start: datetime, end: datetime, zone: tzinfo) -> bool:
    """``ResourceCrossDayRule``: whether both instants fall on one date in the schedule's zone.

    An end at midnight is the next day's, so 17:00 to 24:00 crosses days.
    """
    return _to_zone(start, zone).date() == _to_zone(end, zone).date()
