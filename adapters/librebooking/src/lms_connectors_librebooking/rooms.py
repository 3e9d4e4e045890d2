"""LibreBooking resources (rooms) and the slots of their schedules.

A resource answers its capacity as ``maxParticipants`` (a string, ``""`` when unlimited), its rules as duration
strings (``"0d2h0m"``, ``""`` when unset) and its flags with mixed types (``requiresApproval: 0``,
``allowMultiday: "0"``): :func:`room_of` reads them all. A reservation must start and end on its schedule's
slots and cover only bookable ones, or LibreBooking refuses it; :class:`SlotGrid` checks that before any write,
from the layout ``GET /Schedules/{id}`` answers (one list of periods per day shown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lms_connectors.errors import MalformedResponse, ValidationError
from lms_connectors.models import Room

__all__ = ["RoomRules", "SlotGrid", "duration", "room_of", "rules_of"]

_DURATION = re.compile(r"^(?P<d>\d+)d(?P<h>\d+)h(?P<m>\d+)m$")


def duration(value: Any) -> timedelta | None:
    """A LibreBooking duration string (``"1d0h0m"``) as a timedelta; ``None`` when unset (``""`` or null)."""
    if value in (None, ""):
        return None
    found = _DURATION.match(str(value))
    if found is None:
        raise MalformedResponse(f"LibreBooking answered the duration {value!r}", provider="librebooking")
    return timedelta(days=int(found["d"]), hours=int(found["h"]), minutes=int(found["m"]))


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true"}


def _count(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and int(text) > 0 else None


@dataclass(frozen=True)
class RoomRules:
    """A resource's booking rules, as LibreBooking answers them (``None``: not set).

    Attributes:
        schedule_id: The schedule whose slots the room is booked in.
        capacity: ``maxParticipants``.
        requires_approval: Reservations wait for an administrator's approval.
        min_length: Shortest reservation.
        max_length: Longest reservation.
        buffer: Time kept free around each reservation.
        min_notice: How long before its start a reservation may be made.
        max_notice: How far ahead a reservation may be made.
        allows_multiday: A reservation may span midnight in the schedule's zone.
    """

    schedule_id: int
    capacity: int | None = None
    requires_approval: bool = False
    min_length: timedelta | None = None
    max_length: timedelta | None = None
    buffer: timedelta | None = None
    min_notice: timedelta | None = None
    max_notice: timedelta | None = None
    allows_multiday: bool = False


def rules_of(resource: Mapping[str, Any]) -> RoomRules:
    """The rules of a resource as ``GET /Resources/`` or ``GET /Resources/{id}`` answers it."""
    try:
        schedule_id = int(str(resource["scheduleId"]))
    except (KeyError, ValueError) as exc:
        raise MalformedResponse(f"LibreBooking answered a resource without a scheduleId: {exc}",
                                provider="librebooking") from exc
    return RoomRules(
        schedule_id=schedule_id,
        capacity=_count(resource.get("maxParticipants")),
        requires_approval=_flag(resource.get("requiresApproval")),
        min_length=duration(resource.get("minLength")),
        max_length=duration(resource.get("maxLength")),
        buffer=duration(resource.get("bufferTime")),
        min_notice=duration(resource.get("minNoticeAdd")),
        max_notice=duration(resource.get("maxNotice")),
        allows_multiday=_flag(resource.get("allowMultiday")),
    )


def room_of(resource: Mapping[str, Any]) -> Room:
    """A resource as the SDK's :class:`~lms_connectors.models.Room` (its id is the resource id)."""
    location = str(resource.get("location") or "").strip() or None
    capacity = _count(resource.get("maxParticipants"))
    return Room(id=str(resource["resourceId"]), name=str(resource["name"]), capacity=capacity, location=location)


@dataclass
class SlotGrid:
    """The bookable slots of one schedule, per weekday, in the schedule's zone.

    Attributes:
        zone: The schedule's zone.
        bookable: Weekday (0 = Monday) -> (start, end) of each bookable slot (``time(0)`` as an end is midnight).
        closed: Weekday -> (start, end) of each slot that is not bookable.
    """

    zone: ZoneInfo
    bookable: dict[int, list[tuple[time, time]]] = field(default_factory=dict)
    closed: dict[int, list[tuple[time, time]]] = field(default_factory=dict)

    @classmethod
    def from_schedule(cls, schedule: Mapping[str, Any]) -> SlotGrid:
        """Read ``GET /Schedules/{id}``: its ``timezone`` and ``periods`` (one list per day shown)."""
        try:
            zone = ZoneInfo(str(schedule.get("timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise MalformedResponse(f"LibreBooking's schedule has the unknown zone {schedule.get('timezone')!r}",
                                    provider="librebooking") from exc
        grid = cls(zone)
        for day in schedule.get("periods") or []:
            for period in day if isinstance(day, list) else []:
                start = datetime.fromisoformat(str(period["start"])).astimezone(zone)
                end = datetime.fromisoformat(str(period["end"])).astimezone(zone)
                target = grid.bookable if period.get("isReservable") else grid.closed
                target.setdefault(start.weekday(), []).append((start.time(), end.time()))
        return grid

    def check(self, start: datetime, end: datetime, room: str) -> None:
        """Refuse a slot LibreBooking would refuse: off the schedule's slots or over a closed one.

        Raises:
            ValidationError: The slot does not start and end on bookable slots of one day, or covers a closed one.
        """
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        weekday = local_start.weekday()
        slots = self.bookable.get(weekday)
        if not slots:
            if weekday in self.closed:
                raise ValidationError(
                    f"{room} cannot be booked on {local_start:%A} (its schedule has no bookable slot)", field="slot")
            return  # the layout answered no day like this one: let LibreBooking decide
        ends_at_midnight = local_end.time() == time(0) and local_end.date() == local_start.date() + timedelta(days=1)
        if local_end.date() != local_start.date() and not ends_at_midnight:
            raise ValidationError(f"{room}: a session across midnight ({self.zone.key}) is not bookable", field="slot")
        starts = {s for s, _ in slots}
        ends = {e for _, e in slots}
        if local_start.time() not in starts or local_end.time() not in ends:
            shown = ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in sorted(slots))
            raise ValidationError(
                f"{room} is booked in its schedule's slots ({self.zone.key}: {shown}); "
                f"{local_start:%H:%M}-{local_end:%H:%M} does not start and end on them", field="slot")
        for closed_start, closed_end in self.closed.get(weekday, []):
            closed_end_ = time.max if closed_end == time(0) else closed_end
            stop = time.max if ends_at_midnight else local_end.time()
            if closed_start < stop and local_start.time() < closed_end_:
                raise ValidationError(
                    f"{room}: {closed_start:%H:%M}-{closed_end:%H:%M} ({self.zone.key}) is not bookable", field="slot")
