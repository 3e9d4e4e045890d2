"""Graph's ``dateTimeTimeZone``: naive wall time plus a zone name, written in Windows names, read in any.

Graph (Exchange) knows Windows zone names everywhere and IANA names only in some places (``findMeetingTimes``
with an IANA ``outlook.timezone`` answered ``UnknownError``), so the adapter writes Windows names, from the
CLDR table the core wraps (:mod:`lms_connectors.timezones`). Answers carry whatever zone was asked for with
``Prefer: outlook.timezone`` (UTC by default), and ``originalStartTimeZone`` names the zone the event was made
in: Windows or IANA, both are parsed.

A wall time is written in the session's Windows zone only when that cannot change the instant: the wall time
occurs once in the session's zone (no fall-back repeat), and CLDR's main IANA zone of the Windows name has the
same UTC offset at that instant (a zone folded into a Windows zone whose rules differ that day would move
it). Otherwise the instant is written in UTC, which is never ambiguous.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lms_connectors.errors import MalformedResponse, ValidationError
from lms_connectors.timezones import iana_to_windows, is_ambiguous, windows_to_iana, zone_from_any_name

__all__ = ["graph_datetime", "iana_zone_of", "parse_graph_datetime", "windows_zone_for"]

PROVIDER = "microsoft_graph"
_FRACTION = re.compile(r"^(?P<base>[^.]+)(?:\.(?P<fraction>\d+))?$")
_UTC_WINDOWS = "UTC"


def windows_zone_for(iana: str) -> str:
    """The Windows name Graph is given for an IANA zone (``"Europe/Berlin"`` -> ``"W. Europe Standard Time"``).

    Raises:
        ValidationError: CLDR has no Windows zone for it.
    """
    return iana_to_windows(iana)


def graph_datetime(instant: datetime, zone: str) -> dict[str, str]:
    """The ``dateTimeTimeZone`` of an aware instant for a session held in IANA zone ``zone``.

    Args:
        instant: An aware datetime.
        zone: The session's home zone (IANA).

    Returns:
        ``{"dateTime": "2027-03-16T09:00:00", "timeZone": "Eastern Standard Time"}``, or the same instant in
        ``UTC`` when the Windows zone could place it elsewhere (see the module docstring).

    Raises:
        ValidationError: ``instant`` is naive.
    """
    if instant.tzinfo is None:
        raise ValidationError("a Graph dateTimeTimeZone needs an aware datetime")
    local = instant.astimezone(ZoneInfo(zone))
    try:
        windows = windows_zone_for(zone)
    except ValidationError:
        windows = None
    if windows is not None and windows != _UTC_WINDOWS and _same_offset(local, windows):
        naive = local.replace(tzinfo=None)
        if not is_ambiguous(naive, zone):
            return {"dateTime": naive.isoformat(timespec="seconds"), "timeZone": windows}
    utc = instant.astimezone(UTC).replace(tzinfo=None)
    return {"dateTime": utc.isoformat(timespec="seconds"), "timeZone": _UTC_WINDOWS}


def _same_offset(local: datetime, windows: str) -> bool:
    main = ZoneInfo(windows_to_iana(windows))
    return local.utcoffset() == local.astimezone(main).utcoffset()


def iana_zone_of(name: Any) -> str | None:
    """The IANA name of a zone Graph names (Windows or IANA), or ``None`` for none or an unknown one.

    Outlook also answers custom zones (``"tzone://Microsoft/Custom"``) that have no name to map.
    """
    if not isinstance(name, str) or not name:
        return None
    try:
        return zone_from_any_name(name)
    except ValidationError:
        return None


def parse_graph_datetime(value: Any, field: str) -> datetime:
    """Read a ``dateTimeTimeZone`` back as an aware datetime.

    ``dateTime`` has up to seven fractional digits (``2027-03-16T13:00:00.0000000``); ``timeZone`` is the zone
    of ``Prefer: outlook.timezone`` (Windows or IANA). A wall time repeated by a fall-back is read as its first
    occurrence: ask answers in UTC (the default) to avoid it.

    Raises:
        MalformedResponse: The value is missing, unreadable, or names an unknown zone.
    """
    if not isinstance(value, dict):
        raise MalformedResponse(f"event {field} is missing", provider=PROVIDER)
    text, zone_name = value.get("dateTime"), value.get("timeZone")
    if not isinstance(text, str):
        raise MalformedResponse(f"event {field}.dateTime is missing", provider=PROVIDER)
    match = _FRACTION.match(text.removesuffix("Z"))
    if match is None:
        raise MalformedResponse(f"event {field}.dateTime {text!r} is not a date-time", provider=PROVIDER)
    fraction = (match["fraction"] or "")[:6]
    try:
        naive = datetime.fromisoformat(match["base"] + (f".{fraction}" if fraction else ""))
    except ValueError as exc:
        raise MalformedResponse(f"event {field}.dateTime {text!r} is not a date-time", provider=PROVIDER) from exc
    if naive.tzinfo is not None:
        return naive
    zone = iana_zone_of(zone_name if zone_name else "UTC")
    if zone is None:
        raise MalformedResponse(f"event {field}.timeZone {zone_name!r} is no zone Graph documents", provider=PROVIDER)
    return naive.replace(tzinfo=ZoneInfo(zone))



_INSTANT = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?(?P<offset>Z|[+-]\d{2}:\d{2})$"
)


def parse_utc_instant(value: Any, field: str) -> datetime:
    """Read an ``Edm.DateTimeOffset`` as Graph writes it (``2021-10-05T04:38:23.945Z``, up to seven digits).

    Raises:
        MalformedResponse: The value is not a string, or not a date-time with ``Z`` or an offset.
    """
    match = _INSTANT.match(value) if isinstance(value, str) else None
    if match is None:
        raise MalformedResponse(f"{field} {value!r} is not a date-time with an offset", provider=PROVIDER)
    fraction = (match["fraction"] or "")[:6]
    offset = "+00:00" if match["offset"] == "Z" else match["offset"]
    try:
        return datetime.fromisoformat(match["base"] + (f".{fraction.ljust(6, '0')}" if fraction else "") + offset)
    except ValueError as exc:
        raise MalformedResponse(f"{field} {value!r} is not a date-time", provider=PROVIDER) from exc
