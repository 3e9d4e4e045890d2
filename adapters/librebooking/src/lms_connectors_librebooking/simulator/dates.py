"""How LibreBooking reads and writes instants (``lib/WebService/WebServiceDate.php``, ``lib/Common/Date.php``).

* A value containing ``T`` is parsed as it is: an offset (``+01:00``, ``Z``) is honoured and **no offset means
  UTC**, whoever the caller.
* Any other value is parsed in the caller's own zone (``2027-03-14 10:00`` is 10:00 in New York for a New York
  account), a wall time missing in a DST gap moving forward and an ambiguous one resolved as PHP resolves it
  (:func:`local_wall_time`).
* Impossible calendar dates roll over as PHP's do (``2027-02-30`` is 2 March).
* Answers give ``YYYY-MM-DDTHH:MM:SS+HHMM``: a single reservation in the reader's zone, lists in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["api_text", "local_wall_time", "parse_api_date", "zone_of"]

_WITH_T = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})T(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\.\d+)?"
    r"(?P<z>Z|[+-]\d{2}:?\d{2})?$")
_LOCAL = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})(?:\s+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?$")


def zone_of(name: str | None) -> tzinfo:
    """A user's zone; an unknown name (LibreBooking stores any) falls back to UTC as PHP's does."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _rolled(y: int, mo: int, d: int, h: int, mi: int, s: int) -> datetime:
    """A naive wall time whose overflowing fields roll over (PHP's ``mktime``)."""
    year, month = y + (mo - 1) // 12, (mo - 1) % 12 + 1
    return datetime(year, month, 1) + timedelta(days=d - 1, hours=h, minutes=mi, seconds=s)


def _offset_at(instant: datetime, zone: tzinfo) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta()


def _offset_since(instant: datetime, zone: tzinfo) -> datetime | None:
    """When the offset in force at ``instant`` began (the zone's last transition), ``None`` if not in 400 days."""
    offset = _offset_at(instant, zone)
    earlier = instant
    for _ in range(400):
        if _offset_at(earlier - timedelta(days=1), zone) != offset:
            break
        earlier -= timedelta(days=1)
    else:
        return None
    low, high = earlier - timedelta(days=1), earlier  # the offset differs at low and holds from high
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle in (low, high):
            break
        if _offset_at(middle, zone) == offset:
            high = middle
        else:
            low = middle
    return high


def local_wall_time(wall: datetime, zone: tzinfo) -> datetime:
    """A naive wall time in ``zone`` as PHP reads it (timelib's ``do_adjust_timezone``), aware in ``zone``.

    PHP takes the offset in force at the wall time read as UTC, then the offset in force at the instant that gives;
    when they differ it uses the second, unless the instant falls in the hour skipped by the clock change. So a time
    in a gap moves forward by the gap (London 01:30 on the spring day is 02:30 BST, New York 02:30 is 03:30 EDT),
    and an ambiguous time is the first occurrence west of UTC (New York 01:30 on the autumn day is EDT) but the
    second at or east of it (London 01:30 on the autumn day is GMT).
    """
    as_utc = wall.replace(tzinfo=UTC)
    current = _offset_at(as_utc, zone)
    first_guess = as_utc - current
    after = _offset_at(first_guess, zone)
    if after != current:
        candidate = as_utc - after
        since = _offset_since(first_guess, zone)
        in_transition = since is not None and since + (current - after) <= candidate < since
        if not in_transition:
            return candidate.astimezone(zone)
    return first_guess.astimezone(zone)


def parse_api_date(value: object, user_zone: tzinfo) -> datetime | None:
    """An instant as LibreBooking reads a request's date, or ``None`` when it cannot (a 400 "not valid")."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    found = _WITH_T.match(text)
    if "T" in text:
        if found is None:
            return None
        wall = _rolled(int(found["y"]), int(found["mo"]), int(found["d"]), int(found["h"]), int(found["mi"]),
                       int(found["s"] or 0))
        zone = found["z"]
        if zone is None or zone == "Z":
            return wall.replace(tzinfo=UTC)
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return (wall - sign * offset).replace(tzinfo=UTC)
    local = _LOCAL.match(text)
    if local is None:
        return None
    wall = _rolled(int(local["y"]), int(local["mo"]), int(local["d"]), int(local["h"] or 0), int(local["mi"] or 0),
                   int(local["s"] or 0))
    return local_wall_time(wall, user_zone).astimezone(UTC)


def api_text(instant: datetime, zone: tzinfo = UTC) -> str:
    """An instant as LibreBooking answers it in ``zone``: ``2027-01-12T09:00:00+0000``."""
    return instant.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S%z")
