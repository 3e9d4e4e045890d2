"""Moodle's date helpers, for one zone: ``usergetmidnight``, wall-clock arithmetic and the event time text.

Moodle renders dates in the reader's zone but does some arithmetic in the server's (PHP default) zone,
which is the site zone; callers pass the zone each step uses.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["add_days", "format_event_time", "midnight", "same_day", "with_time_of"]

DAY = 24 * 3600


def midnight(timestamp: int, zone: ZoneInfo) -> int:
    """``usergetmidnight``: the start of the local day that holds ``timestamp``."""
    local = datetime.fromtimestamp(timestamp, zone)
    return int(datetime(local.year, local.month, local.day, tzinfo=zone).timestamp())


def add_days(timestamp: int, days: int, zone: ZoneInfo) -> int:
    """PHP's ``modify('+N day')``: the same wall-clock time ``days`` local days later."""
    return int((datetime.fromtimestamp(timestamp, zone) + timedelta(days=days)).timestamp())


def with_time_of(day: int, moment: int, zone: ZoneInfo) -> int:
    """PHP's ``setTimestamp(day)->setTime(...)``: the local date of ``day`` at the local time of ``moment``."""
    on = datetime.fromtimestamp(day, zone)
    at = datetime.fromtimestamp(moment, zone)
    return int(on.replace(hour=at.hour, minute=at.minute, second=at.second).timestamp())


def same_day(first: int, second: int, zone: ZoneInfo) -> bool:
    """Whether two instants fall on the same local date."""
    return datetime.fromtimestamp(first, zone).date() == datetime.fromtimestamp(second, zone).date()


def _year_day(day: date) -> int:
    return day.timetuple().tm_yday - 1  # PHP's getdate()['yday'] counts from 0


def _common_word(stamp: date, today: date) -> str | None:
    # calendar_day_representation() compares 0-based year days; across New Year it tests yday == 1, so it
    # says "Yesterday"/"Tomorrow" one day off there. Kept as Moodle does it.
    if stamp == today:
        return "Today"
    if (stamp.year == today.year and _year_day(stamp) == _year_day(today) - 1) or (
        stamp.year == today.year - 1 and (stamp.month, stamp.day) == (12, 31) and _year_day(today) == 1
    ):
        return "Yesterday"
    if (stamp.year == today.year and _year_day(stamp) == _year_day(today) + 1) or (
        stamp.year == today.year + 1 and (today.month, today.day) == (12, 31) and _year_day(stamp) == 1
    ):
        return "Tomorrow"
    return None


def _day_text(timestamp: int, now: int, zone: ZoneInfo, common_words: bool) -> str:
    local = datetime.fromtimestamp(timestamp, zone)
    word = _common_word(local.date(), datetime.fromtimestamp(now, zone).date()) if common_words else None
    return word or f"{local.strftime('%A')}, {local.day} {local.strftime('%B')}"  # strftimedayshort


def _time_text(timestamp: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(timestamp, zone).strftime("%I:%M %p").lstrip("0")  # strftimetime12


def _span(first: str, last: str) -> str:
    return f"{first} <strong>&raquo;</strong> {last}"


def _link(siteurl: str, timestamp: int, text: str) -> str:
    return f'<a href="{siteurl}/calendar/view.php?view=day&amp;time={timestamp}">{text}</a>'


def format_event_time(siteurl: str, start: int, duration: int, now: int, zone: ZoneInfo, server_zone: ZoneInfo,
                      *, common_words: bool) -> str:
    """``calendar_format_event_time`` (no link parameters, no ``showtime``): the HTML time of an event.

    Args:
        siteurl: The site's base URL (for the day-view links).
        start: The event's start (Unix seconds).
        duration: Its duration in seconds (negative durations are shown as recorded: end before start).
        now: The current time (for "Today"/"Yesterday"/"Tomorrow" and for dimming past events).
        zone: The reader's zone (the dates and times shown).
        server_zone: PHP's default zone (where Moodle adds a day with ``strtotime``).
        common_words: Say "Today"/"Yesterday"/"Tomorrow" instead of the date (the calendar views do).
    """
    end = start + duration
    if not duration:
        text = f"{_link(siteurl, start, _day_text(start, now, zone, common_words))}, {_time_text(start, zone)}"
    elif same_day(start, end, zone):
        span = "All day" if duration == DAY else _span(_time_text(start, zone), _time_text(end, zone))
        text = f"{_link(siteurl, end, _day_text(start, now, zone, common_words))}, {span}"  # Moodle links the end
    else:
        first_day = midnight(start, zone)
        end_link = _link(siteurl, end, f"{_day_text(end, now, zone, common_words)}, ") + _time_text(end, zone)
        if first_day <= now < add_days(first_day, 1, server_zone):  # started today: no link to its first day
            text = _span(_time_text(start, zone), end_link)
        else:
            start_link = _link(siteurl, start, f"{_day_text(start, now, zone, common_words)}, ")
            text = _span(start_link + _time_text(start, zone), end_link)
    if end < now:  # a past event is dimmed
        return '<span class="dimmed_text">' + text.replace(" href=", ' class="dimmed" href=') + "</span>"
    return text
