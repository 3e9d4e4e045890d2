"""Time zones: IANA names, Windows names for Microsoft Graph, and wall times converted without guessing.

* The tz database comes from :mod:`zoneinfo` (with the ``tzdata`` package as its source where the host has
  none). The host's own zone is never used.
* IANA <-> Windows names come from the table that ``tzlocal`` generates from CLDR's ``windowsZones.xml``.
  That table gives some Windows zones a legacy IANA id (``India Standard Time`` -> ``Asia/Calcutta``);
  :func:`windows_to_iana` answers the modern name (``Asia/Kolkata``) using the link lines of ``tzdata``.
* A local wall time can be missing (the clocks jump over it in spring) or happen twice (autumn):
  :func:`localize` makes the caller say what it wants instead of silently picking one.
"""

from __future__ import annotations

import functools
import math
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lms_connectors.errors import ValidationError

__all__ = [
    "POSIX_STYLE_ZONES",
    "FoldPolicy",
    "GapPolicy",
    "Transition",
    "dst_transitions",
    "format_local",
    "format_utc",
    "iana_to_windows",
    "is_ambiguous",
    "is_nonexistent",
    "localize",
    "modern_iana_name",
    "require_window",
    "canonical_zone",
    "require_zone",
    "to_zone",
    "wall_time_exists",
    "windows_to_iana",
    "zone_from_any_name",
]

FoldPolicy = Literal["earlier", "later", "raise"]
"""What :func:`localize` does with a wall time that happens twice: first or second occurrence, or refuse."""

GapPolicy = Literal["shift_forward", "raise"]
"""What :func:`localize` does with a wall time the clocks skip: move it past the gap, or refuse."""


def require_zone(name: str) -> ZoneInfo:
    """The zone of an IANA name, refusing anything that is not a portable zone name.

    Args:
        name: An IANA name such as ``"Europe/Paris"``.

    Returns:
        The zone.

    Raises:
        ValidationError: The name is not in the tz database, or is a file path or the host's ``localtime``
            (which zoneinfo accepts but which mean different things on different machines).
    """
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or name == "localtime":
        raise ValidationError(f"unknown time zone {name!r}: give an IANA name such as 'Europe/Paris'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {name!r}: give an IANA name such as 'Europe/Paris'") from exc


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else require_zone(zone)


# --- IANA names: legacy links and their modern targets ---------------------------------------------------


@functools.cache
def _tz_links() -> dict[str, str]:
    """Link name -> target zone, from the ``L`` lines of tzdata's compact source ``tzdata.zi``."""
    import importlib.resources  # here, not at import: it pulls in tempfile, shutil and the compression modules

    text = (importlib.resources.files("tzdata") / "zoneinfo" / "tzdata.zi").read_text(encoding="utf-8")
    links: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("L "):
            _, target, link = line.split()[:3]
            links[link] = target
    return links


@functools.cache
def _country_zones() -> frozenset[str]:
    """Names that ``zone.tab`` lists for a country: preferred names even where they are links."""
    import importlib.resources  # see _tz_links

    text = (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    return frozenset(
        line.split("\t")[2] for line in text.splitlines() if line and not line.startswith("#") and "\t" in line
    )


def modern_iana_name(name: str) -> str:
    """The current spelling of an IANA name (``Asia/Calcutta`` -> ``Asia/Kolkata``).

    A link is followed only when its name is not listed for a country in ``zone.tab``: tzdata also links
    zones that merely share their rules since 1970 (``Atlantic/Reykjavik`` -> ``Africa/Abidjan``), and
    an Icelandic learner must keep seeing Reykjavik.

    Args:
        name: An IANA name.

    Returns:
        The modern name, or ``name`` itself when it is already current.

    Raises:
        ValidationError: The name is not a zone.
    """
    require_zone(name)
    seen = {name}
    while name not in _country_zones() and name in _tz_links():
        name = _tz_links()[name]
        if name in seen:  # a cycle would be a broken tzdata; stop rather than loop
            break
        seen.add(name)
    return name


POSIX_STYLE_ZONES: dict[str, str] = {
    "EST5EDT": "America/New_York",
    "CST6CDT": "America/Chicago",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "EST": "America/Panama",
    "MST": "America/Phoenix",
    "HST": "Pacific/Honolulu",
    "CET": "Europe/Brussels",
    "MET": "Europe/Brussels",
    "EET": "Europe/Athens",
    "WET": "Europe/Lisbon",
}
"""The tz database's POSIX-style zones and the city zones they became links to in tz 2024b (its ``backward``
file). Older tzdata releases, such as some ``tzdata`` wheels, still ship them as zones of their own, so the
mapping is kept here rather than read from the installed data."""


@functools.cache
def _zones_by_folded_name() -> dict[str, str]:
    """Every zone name of the tz database (links included), by its case-folded spelling."""
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def _unknown_zone(name: str) -> ValidationError:
    """The error for a name that is no zone, with the closest IANA or Windows names as a suggestion."""
    import difflib

    from tzlocal.windows_tz import win_tz

    folded = name.strip().casefold()
    candidates = {**_zones_by_folded_name(), **{w.casefold(): w for w in win_tz}}
    close = difflib.get_close_matches(folded, list(candidates), n=3, cutoff=0.75)
    hint = f" Did you mean {' or '.join(repr(candidates[c]) for c in close)}?" if close else ""
    return ValidationError(
        f"unknown time zone {name!r}: give an IANA name such as 'Europe/Paris' (or a Windows name).{hint}"
    )


def canonical_zone(name: str) -> str:
    """The canonical modern IANA name for any zone name a person or a provider may give.

    Accepted: IANA names in any letter case (``america/new_york``), legacy aliases (``US/Eastern``,
    ``Asia/Calcutta``, POSIX-style ``EST5EDT``, see :data:`POSIX_STYLE_ZONES`) and Windows names
    (``Eastern Standard Time``, as Microsoft Graph and Outlook give them). ``UTC`` and its aliases are ``UTC``.

    Args:
        name: A zone name.

    Returns:
        The modern IANA name (``America/New_York``), as models store it and invites write it.

    Raises:
        ValidationError: Not a zone name; the message suggests the closest IANA or Windows names.
    """
    if not isinstance(name, str) or not name.strip() or name.startswith(("/", ".")) or name == "localtime":
        raise ValidationError(f"unknown time zone {name!r}: give an IANA name such as 'Europe/Paris'")
    spelled = _zones_by_folded_name().get(name.strip().casefold())
    if spelled is None:
        try:
            return windows_to_iana(name)
        except ValidationError:
            raise _unknown_zone(name) from None
    spelled = POSIX_STYLE_ZONES.get(spelled, spelled)
    modern = modern_iana_name(spelled)
    return "UTC" if modern in _UTC_ALIASES else modern


# --- IANA <-> Windows -------------------------------------------------------------------------------------

_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})
_UTC_ALIASES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu"})


def iana_to_windows(name: str) -> str:
    """The Windows zone name of an IANA zone (what Microsoft Graph expects).

    Args:
        name: An IANA name, current or legacy (``"Asia/Kolkata"``, ``"Asia/Calcutta"``, ``"US/Eastern"``).

    Returns:
        The Windows name from CLDR, e.g. ``"India Standard Time"``; ``"UTC"`` for ``UTC`` and ``Etc/UTC``.

    Raises:
        ValidationError: The name is not a zone, or CLDR has no Windows zone for it (``Antarctica/Troll``).
    """
    if name in _UTC_NAMES:
        return "UTC"
    require_zone(name)
    # The table has a junk "" key; require_zone has refused "" already, so a lookup cannot hit it.
    from tzlocal.windows_tz import tz_win  # CLDR tables, loaded only when a Windows name is needed

    windows = tz_win.get(name)
    if windows is None:
        # A legacy alias CLDR does not list (US/East-Indiana) maps like the zone it links to.
        target = _tz_links().get(name)
        windows = tz_win.get(target) if target else None
    if windows is None:
        raise ValidationError(f"time zone {name!r} has no Windows equivalent in CLDR; pick a city zone")
    return str(windows)


@functools.cache
def _windows_by_folded_name() -> dict[str, str]:
    from tzlocal.windows_tz import win_tz

    return {windows.casefold(): windows for windows in win_tz}


def windows_to_iana(name: str) -> str:
    """The IANA zone of a Windows zone name (as Microsoft Graph returns it), in its modern spelling.

    Args:
        name: A Windows name such as ``"India Standard Time"`` (case-insensitive).

    Returns:
        The modern IANA name of CLDR's main zone for it, e.g. ``"Asia/Kolkata"`` (CLDR itself says
        ``"Asia/Calcutta"``); ``"Etc/UTC"`` for ``"UTC"``.

    Raises:
        ValidationError: Not a Windows zone name.
    """
    windows = _windows_by_folded_name().get(name.strip().casefold()) if isinstance(name, str) else None
    if windows is None:
        raise ValidationError(f"unknown Windows time zone {name!r}")
    from tzlocal.windows_tz import win_tz

    return modern_iana_name(str(win_tz[windows]))


def zone_from_any_name(name: str) -> str:
    """An IANA name from either an IANA or a Windows zone name (providers answer with both).

    Args:
        name: ``"Asia/Tokyo"`` or ``"Tokyo Standard Time"``.

    Returns:
        The IANA name (a given IANA name is returned unchanged).

    Raises:
        ValidationError: Neither an IANA nor a Windows name.
    """
    try:
        require_zone(name)
    except ValidationError:
        return windows_to_iana(name)
    return name


# --- wall times -------------------------------------------------------------------------------------------


def _require_naive(value: datetime) -> None:
    if value.tzinfo is not None:
        raise ValidationError(f"expected a local wall time without a zone, got {value.isoformat()}")


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"naive datetime {value.isoformat()} refused: attach a zone (the SDK never guesses one)")
    return value


def require_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Check a ``[start, end)`` window given to a listing before any provider is asked.

    Returns:
        ``start`` and ``end``, unchanged.

    Raises:
        ValidationError: Either is naive, or ``end`` is not after ``start`` (compared as instants).
    """
    _require_aware(start)
    _require_aware(end)
    if end.astimezone(UTC) <= start.astimezone(UTC):
        raise ValidationError(f"window ends ({end.isoformat()}) before or when it starts ({start.isoformat()})")
    return start, end


def wall_time_exists(local: datetime) -> bool:
    """Whether an aware local time survives a trip through UTC unchanged, i.e. whether its zone shows it.

    ``False`` for a wall time the clocks skip (02:30 on the spring-forward night in New York).
    """
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None, fold=0) == local.replace(tzinfo=None, fold=0)


def is_nonexistent(naive: datetime, zone: str | ZoneInfo) -> bool:
    """Whether the clocks of ``zone`` skip this wall time (a spring-forward gap).

    Args:
        naive: A wall time without zone.
        zone: An IANA name or zone.

    Returns:
        ``True`` when no instant shows this wall time in ``zone``.
    """
    _require_naive(naive)
    return not wall_time_exists(naive.replace(tzinfo=_zone(zone), fold=0))


def is_ambiguous(naive: datetime, zone: str | ZoneInfo) -> bool:
    """Whether this wall time happens twice in ``zone`` (the hour repeated when clocks go back).

    Args:
        naive: A wall time without zone.
        zone: An IANA name or zone.

    Returns:
        ``True`` when two instants show this wall time in ``zone``.
    """
    _require_naive(naive)
    tz = _zone(zone)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    return first.utcoffset() != second.utcoffset() and wall_time_exists(first)


def _describe(naive: datetime, tz: ZoneInfo) -> str:
    return f"{naive:%Y-%m-%d %H:%M} in {tz.key}"


def localize(
    naive: datetime,
    zone: str | ZoneInfo,
    *,
    fold_policy: FoldPolicy = "raise",
    gap_policy: GapPolicy = "raise",
) -> datetime:
    """Attach a zone to a wall time, saying what to do when the wall time is missing or repeated.

    Args:
        naive: A wall time without zone (``2027-03-14 02:30``).
        zone: An IANA name or zone.
        fold_policy: For a time that happens twice: ``"earlier"`` (the first, still on summer time),
            ``"later"`` (the second), or ``"raise"``.
        gap_policy: For a time the clocks skip: ``"shift_forward"`` reads it with the offset in force
            before the jump, as RFC 5545 prescribes for iCalendar (02:30 in New York on the spring-forward
            day becomes 03:30 EDT), or ``"raise"``.

    Returns:
        An aware datetime in ``zone`` (its ``fold`` set for the later of two occurrences). Python subtracts
        and compares datetimes that share a tzinfo by wall clock, ignoring ``fold``: convert to UTC before
        doing arithmetic across a transition.

    Raises:
        ValidationError: ``naive`` has a zone, or the time is missing/repeated and the policy is ``"raise"``.
    """
    _require_naive(naive)
    tz = _zone(zone)
    first = naive.replace(tzinfo=tz, fold=0)
    if not wall_time_exists(first):
        if gap_policy == "raise":
            raise ValidationError(f"{_describe(naive, tz)} does not exist: the clocks skip it")
        # With fold=0, zoneinfo reads a skipped time with the offset from before the jump; going through UTC
        # lands on the wall time that instant really shows.
        return first.astimezone(UTC).astimezone(tz)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    if fold_policy == "raise":
        raise ValidationError(f"{_describe(naive, tz)} happens twice: the clocks go back over it")
    return first if fold_policy == "earlier" else second


def to_zone(dt: datetime, zone: str | ZoneInfo) -> datetime:
    """The same instant shown in ``zone``.

    Args:
        dt: An aware datetime.
        zone: An IANA name or zone.

    Returns:
        ``dt`` converted to ``zone``.

    Raises:
        ValidationError: ``dt`` is naive (its instant is unknown), or the zone is unknown.
    """
    return _require_aware(dt).astimezone(_zone(zone))


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_utc(dt: datetime) -> str:
    """An aware instant in UTC to the second, as REST APIs take it: ``"2027-03-09T09:00:00Z"``.

    Raises:
        ValidationError: ``dt`` is naive.
    """
    return _require_aware(dt).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_offset(offset: timedelta) -> str:
    """An offset as ``UTC+09:00`` / ``UTC-03:30``.

    Args:
        offset: The offset from UTC.

    Returns:
        The offset as text; seconds are shown only when there are some (historical local mean time).
    """
    sign = "-" if offset < timedelta(0) else "+"
    seconds = int(abs(offset).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"UTC{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{secs:02d}" if secs else text


def format_local(dt: datetime, zone: str | ZoneInfo) -> str:
    """An instant as a person in ``zone`` reads it, e.g. ``"Tue 9 Mar 2027, 18:00 JST (UTC+09:00)"``.

    The text is English and independent of the host's locale. Zones whose abbreviation is only a number
    (``-03`` in São Paulo) show just the offset.

    Args:
        dt: An aware datetime.
        zone: An IANA name or zone.

    Returns:
        Weekday, day, month, year, 24-hour time, abbreviation and offset.

    Raises:
        ValidationError: ``dt`` is naive or the zone is unknown.
    """
    local = to_zone(dt, zone)
    offset = local.utcoffset() or timedelta(0)
    abbreviation = local.tzname() or ""
    label = "" if not abbreviation or abbreviation[0] in "+-" else f" {abbreviation}"
    return (
        f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}, "
        f"{local:%H:%M}{label} ({format_offset(offset)})"
    )


# --- transitions ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """A change of a zone's UTC offset.

    Attributes:
        at: The instant of the change, in UTC.
        offset_before: Offset in force just before.
        offset_after: Offset in force from ``at`` on.
    """

    at: datetime
    offset_before: timedelta
    offset_after: timedelta

    @property
    def is_gap(self) -> bool:
        """Whether clocks jump forward (wall times are skipped) rather than back (repeated)."""
        return self.offset_after > self.offset_before


# Offsets never change twice within this step in the tz database (the closest pairs are weeks apart), so
# scanning at this step and bisecting each change finds every transition. tz transitions fall on whole
# seconds, so the scan works on integer POSIX timestamps.
_SCAN_STEP_SECONDS = 6 * 3600


def _offset_at(tz: tzinfo, timestamp: int) -> timedelta:
    return datetime.fromtimestamp(timestamp, tz).utcoffset() or timedelta(0)


def dst_transitions(zone: str | ZoneInfo, start: datetime, end: datetime) -> list[Transition]:
    """Every change of UTC offset in ``zone`` between two instants.

    Args:
        zone: An IANA name or zone.
        start: Aware start of the window (inclusive).
        end: Aware end of the window (exclusive).

    Returns:
        The transitions in order, each to the second.

    Raises:
        ValidationError: A bound is naive or the zone is unknown.
    """
    tz = _zone(zone)
    low = math.floor(_require_aware(start).timestamp())
    high = math.ceil(_require_aware(end).timestamp())
    found: list[Transition] = []
    # Start one second early so that a transition exactly at ``start`` is seen as a change.
    cursor, offset = low - 1, _offset_at(tz, low - 1)
    while cursor < high:
        step_end = min(cursor + _SCAN_STEP_SECONDS, high)
        next_offset = _offset_at(tz, step_end)
        if next_offset != offset:
            before, after = cursor, step_end  # offset(before) == offset != offset(after)
            while after - before > 1:
                middle = (before + after) // 2
                if _offset_at(tz, middle) == offset:
                    before = middle
                else:
                    after = middle
            at = datetime.fromtimestamp(after, UTC)
            if start <= at < end:
                found.append(Transition(at=at, offset_before=offset, offset_after=_offset_at(tz, after)))
        cursor, offset = step_end, next_offset
    return found
