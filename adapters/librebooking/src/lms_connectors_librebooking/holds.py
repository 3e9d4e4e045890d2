"""What holds a LibreBooking room at a time: its reservations and its blackouts.

LibreBooking refuses a reservation that overlaps another (widened by the room's buffer time) or a blackout with
the same "conflicting reservations" message, and its availability endpoint ignores blackouts (and looks only 7
days ahead). The two are read where the API shows them:

* **Reservations** from the reservation list (``GET /Reservations/?resourceId=``): every reservation of the room,
  pending ones included, with ``bufferedStartDate``/``bufferedEndDate`` when the room keeps a buffer.
* **Blackouts** from the schedule's slots (``GET /Schedules/{id}/Slots?resourceId=``): the API has no blackout
  endpoint; a blackout is a slot that is neither reservable nor reserved and carries the blackout's title as its
  label (a closed period of the schedule carries no label).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lms_connectors_librebooking.mapping import parse_instant

__all__ = ["Hold", "blackout_holds", "reservation_holds"]


@dataclass(frozen=True)
class Hold:
    """One thing that holds a room from ``start`` to ``end`` (aware instants, a buffer included).

    Attributes:
        kind: ``"reservation"`` or ``"blackout"``.
        name: The reservation's reference number and title, or the blackout's title.
        start: Where the hold begins (a reservation's buffered start).
        end: Where the hold ends (a reservation's buffered end).
        shown: The instants as LibreBooking shows them (a reservation without its buffer).
    """

    kind: str
    name: str
    start: datetime
    end: datetime
    shown: str

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether the hold meets ``[start, end)``."""
        return self.start < end and start < self.end

    def describe(self) -> str:
        """The hold as a refusal names it: ``6b10... 'Induction' 2027-02-02T10:00:00+0000..11:00:00+0000``."""
        return f"{self.name} {self.shown}" if self.kind == "reservation" else f"blackout {self.name} {self.shown}"


def reservation_holds(listed: list[dict[str, Any]], resource_id: int) -> list[Hold]:
    """The holds of the room's reservations in a reservation list's answer (other rooms' are left out)."""
    holds = []
    for item in listed:
        if str(item.get("resourceId", resource_id)) != str(resource_id):
            continue
        begins = parse_instant(item.get("startDate"), "startDate")
        ends = parse_instant(item.get("endDate"), "endDate")
        buffered_start = item.get("bufferedStartDate")
        buffered_end = item.get("bufferedEndDate")
        holds.append(Hold(
            kind="reservation", name=f"{item.get('referenceNumber')} {item.get('title')!r}",
            start=parse_instant(buffered_start, "bufferedStartDate") if buffered_start else begins,
            end=parse_instant(buffered_end, "bufferedEndDate") if buffered_end else ends,
            shown=f"{item.get('startDate')}..{item.get('endDate')}",
        ))
    return holds


def blackout_holds(slots: Mapping[str, Any], resource_id: int) -> list[Hold]:
    """The holds of the room's blackouts in a ``Schedules/{id}/Slots`` answer, one per blackout and day shown."""
    holds: list[Hold] = []
    for day in slots.get("dates") or []:
        for resource in (day.get("resources") or []) if isinstance(day, Mapping) else []:
            if not isinstance(resource, Mapping) or str(resource.get("resourceId")) != str(resource_id):
                continue
            for slot in resource.get("slots") or []:
                if not isinstance(slot, Mapping) or slot.get("isReservable") or slot.get("isReserved"):
                    continue
                label = str(slot.get("label") or "").strip()
                if not label:
                    continue  # a period the schedule keeps closed, not a blackout
                begins = parse_instant(slot.get("startDateTime"), "startDateTime")
                ends = parse_instant(slot.get("endDateTime"), "endDateTime")
                hold = Hold(kind="blackout", name=repr(label), start=begins, end=ends,
                            shown=f"{begins.astimezone(UTC):%Y-%m-%dT%H:%M:%S%z}..{ends.astimezone(UTC):%Y-%m-%dT%H:%M:%S%z}")
                if hold not in holds:
                    holds.append(hold)
    return holds
