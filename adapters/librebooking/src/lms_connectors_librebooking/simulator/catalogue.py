"""The simulated site's read-mostly routes: schedules and their slots, availability, groups, attributes, check-in.

Declared on a base class of :class:`~lms_connectors_librebooking.simulator.server.LibreBookingSimulator` so that
these fixed paths (``/Resources/Groups``) are matched before the parameterised ones (``/Resources/{id}``).
"""

from __future__ import annotations

import abc
import json
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator, route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors_librebooking.simulator import pages
from lms_connectors_librebooking.simulator.dates import api_text, local_wall_time, parse_api_date, zone_of
from lms_connectors_librebooking.simulator.layout import periods_of_day
from lms_connectors_librebooking.simulator.site import Reservation, Resource, Site, User

__all__ = ["CatalogueRoutes"]

_JSON = {"Content-Type": "application/json"}
_LOOK_AHEAD = timedelta(days=7)


def _json(status: int, body: dict[str, Any]) -> SandboxResponse:
    return SandboxResponse(status, body, dict(_JSON))


class CatalogueRoutes(RoutedSimulator):
    """Schedules, slots, availability, resource groups, status reasons, custom attributes, check-in/out."""

    site: Site

    @abc.abstractmethod
    def now(self) -> datetime:
        """The site's current instant."""

    @abc.abstractmethod
    def link(self, path: str, title: str) -> dict[str, str]:
        """A HATEOAS link."""

    @abc.abstractmethod
    def caller_user(self) -> User:
        """The authenticated caller."""

    @abc.abstractmethod
    def listed_json(self, reservation: Reservation) -> dict[str, Any]:
        """A reservation as lists show it."""

    @abc.abstractmethod
    def visible_resources(self) -> list[Resource]:
        """The rooms the caller may book."""

    # -- resources ----------------------------------------------------------------------------------------------

    @route("GET", "/Resources/Status", auth=False)
    def statuses(self, request: SandboxRequest) -> SandboxResponse:
        """Resource status values (not a secure route)."""
        names = ["Hidden", "Available", "Unavailable"]
        return _json(200, {"links": [], "message": None,
                           "statuses": [{"id": i, "name": n} for i, n in enumerate(names)]})

    @route("GET", "/Resources/Status/Reasons")
    def status_reasons(self, request: SandboxRequest) -> SandboxResponse:
        """No status reasons are configured on the site."""
        return _json(200, {"links": [], "message": None, "reasons": []})

    @route("GET", "/Resources/Groups")
    def groups(self, request: SandboxRequest) -> SandboxResponse:
        """The group tree: "All" holds every resource, then each top group with its children."""
        def resource_node(resource: Resource) -> dict[str, Any]:
            f = resource.fields
            check_in = bool(f.get("requiresCheckIn"))
            return {"type": "resource", "group_id": 0, "resource_name": resource.name,
                    "id": f"resource-0-{resource.id}", "label": resource.name, "resource_id": str(resource.id),
                    "resourceAdminGroupId": None, "scheduleId": str(resource.schedule_id), "statusId": "1",
                    "scheduleAdminGroupId": None, "requiresApproval": 1 if resource.requires_approval else 0,
                    "isCheckInEnabled": 1 if check_in else 0,
                    "isAutoReleased": f.get("autoReleaseMinutes") not in (None, "", 0),
                    "autoReleaseMinutes": f.get("autoReleaseMinutes"), "minLength": {}, "resourceTypeId": None,
                    "color": f.get("color") or "", "textColor": "", "maxConcurrentReservations": 1}

        def group_node(group: dict[str, Any]) -> dict[str, Any]:
            children = [group_node(g) for g in self.site.groups if g["parent_id"] == group["id"]]
            parent = group["parent_id"]
            return {"id": str(group["id"]), "name": group["name"], "label": group["name"], "parent": None,
                    "parent_id": str(parent) if parent is not None else None, "children": children, "type": "group"}

        everything = {"id": 0, "name": "All", "label": "All", "parent": None, "parent_id": None,
                      "children": [resource_node(r) for r in self.visible_resources()], "type": "group"}
        tops = [group_node(g) for g in self.site.groups if g["parent_id"] is None]
        return _json(200, {"links": [], "message": None, "groups": [everything, *tops]})

    def _availability(self, request: SandboxRequest) -> SandboxResponse:
        """Ignores blackouts and the path's id; filters by ``?resourceId``; looks 7 days ahead."""
        value = request.query_one("dateTime")
        at = parse_api_date(value, zone_of(self.caller_user().timezone)) if value else self.now()
        at = at or self.now()
        wanted = request.query_one("resourceId")
        items = []
        for resource in self.visible_resources():
            if wanted is not None and str(resource.id) != wanted:
                continue
            upcoming = [r.start for r in self.site.reservations.values()
                        if r.resource_id == resource.id and r.end > at and r.start < at + _LOOK_AHEAD]
            until = min(upcoming) if upcoming else at + _LOOK_AHEAD
            items.append({
                "links": [self.link(f"Resources/{resource.id}", "get_resource")], "message": None, "available": True,
                "resource": {"links": [self.link(f"Resources/{resource.id}", "get_resource"),
                                       self.link(f"Schedules/{resource.schedule_id}", "get_schedule")],
                             "message": None, "resourceId": str(resource.id), "name": resource.name,
                             "scheduleId": str(resource.schedule_id), "statusId": "1", "statusReasonId": None},
                "availableAt": None, "availableUntil": api_text(until)})
        return _json(200, {"links": [], "message": None, "resources": [items]})

    @route("GET", "/Resources/Availability")
    def availability(self, request: SandboxRequest) -> SandboxResponse:
        """Availability of the rooms at ``?dateTime`` (now by default)."""
        return self._availability(request)

    @route("GET", "/Resources/{resource_id}/Availability")
    def availability_of(self, request: SandboxRequest, resource_id: str) -> SandboxResponse:
        """The documented per-room form: the id in the path is ignored (as LibreBooking's route does)."""
        return self._availability(request)

    # -- schedules ----------------------------------------------------------------------------------------------

    @route("GET", "/Schedules/")
    def list_schedules(self, request: SandboxRequest) -> SandboxResponse:
        """Every schedule, newest first."""
        items = [{"links": [self.link(f"Schedules/{s.id}", "get_schedule")], "message": None, "daysVisible": "7",
                  "id": str(s.id), "isDefault": "1" if s.is_default else "0", "name": s.name, "timezone": s.timezone,
                  "weekdayStart": "0", "availabilityBegin": "", "availabilityEnd": "", "maxResourcesPerReservation": 0,
                  "totalConcurrentReservationsAllowed": 0}
                 for s in sorted(self.site.schedules.values(), key=lambda s: s.name)]
        return _json(200, {"links": [], "message": None, "schedules": items})

    @route("GET", "/Schedules/{schedule_id}/Slots")
    def slots(self, request: SandboxRequest, schedule_id: str) -> SandboxResponse:
        """Each day's slots per room, in the reader's zone: reservations and blackouts span their slots."""
        schedule = self.site.schedules.get(int(schedule_id)) if schedule_id.isdigit() else None
        if schedule is None:
            raise Refusal(404, "not found", "not_found")
        reader = zone_of(self.caller_user().timezone)
        first = parse_api_date(request.query_one("startDateTime") or "", reader) or self.now()
        last = parse_api_date(request.query_one("endDateTime") or "", reader) or first
        wanted = request.query_one("resourceId")
        rooms = [r for r in self.visible_resources() if r.schedule_id == schedule.id
                 and (wanted is None or str(r.id) == wanted)]
        days = []
        day = first.astimezone(reader).date()
        # The range ends a day after endDateTime (DateRange(start, end + 1 day)); its last date is the one before
        # that end when the end is a midnight, else the end's own: a time of day shows the next day too.
        ends = last.astimezone(reader)
        final = ends.date() if ends.time() == time(0) else ends.date() + timedelta(days=1)
        while day <= final:
            # Each date is the reader's midnight (DateRange::Dates), written in the reader's zone.
            midnight = local_wall_time(datetime.combine(day, time(0)), reader)
            days.append({"links": [], "message": None, "date": api_text(midnight, reader),
                         "resources": [self._room_slots(schedule.layout, schedule.timezone, r, day, reader)
                                       for r in rooms]})
            day += timedelta(days=1)
        return _json(200, {"links": [self.link(f"Schedules/{schedule.id}", "get_schedule")], "message": None,
                           "dates": days})

    def _room_slots(self, layout: list[tuple[time, time, bool]], zone_name: str, resource: Resource,
                    day: date, reader: tzinfo) -> dict[str, Any]:
        periods = periods_of_day(layout, zone_of(zone_name), day, reader)
        slots: list[dict[str, Any]] = []
        index = 0
        while index < len(periods):
            begins, ends, bookable = periods[index]
            taken = next((r for r in self.site.reservations.values()
                          if r.resource_id == resource.id and r.start <= begins < r.end), None)
            blackout = next((b for b in self.site.blackouts
                             if b.resource_id == resource.id and b.start <= begins < b.end), None)
            span = 1
            if taken is not None or blackout is not None:
                stop = taken.end if taken is not None else blackout.end  # type: ignore[union-attr]
                while index + span < len(periods) and periods[index + span][0] < stop:
                    span += 1
                ends = periods[index + span - 1][1]
            slots.append({
                "links": [], "message": None, "slotSpan": span, "isReserved": taken is not None,
                "label": blackout.title if blackout is not None and taken is None else "",
                "isReservable": bookable and taken is None and blackout is None,
                "color": "" if taken is not None else None,
                "startDateTime": api_text(begins, reader), "endDateTime": api_text(ends, reader),
                "reservation": self.listed_json(taken) if taken is not None else None})
            index += span
        return {"links": [self.link(f"Resources/{resource.id}", "get_resource")], "message": None, "slots": slots,
                "resourceId": str(resource.id), "resourceName": resource.name}

    # -- attributes -------------------------------------------------------------------------------------------

    def _attribute_json(self, attribute_id: int, links: list[dict[str, str]]) -> dict[str, Any]:
        found = self.site.attributes[attribute_id]
        return {"links": links, "message": None, "id": str(attribute_id), "label": found["label"],
                "type": str(found.get("type", 1)), "categoryId": str(found.get("categoryId", 1)),
                "regex": found.get("regex") or "", "required": "1" if found.get("required") else "0",
                "possibleValues": found.get("possibleValues") or [], "sortOrder": found.get("sortOrder", 0),
                "appliesToIds": found.get("appliesToIds") or [], "adminOnly": 1 if found.get("adminOnly") else 0,
                "isPrivate": bool(found.get("isPrivate")), "secondaryCategoryId": found.get("secondaryCategoryId"),
                "secondaryEntityIds": found.get("secondaryEntityIds") or []}

    @route("POST", "/Attributes/")
    def create_attribute(self, request: SandboxRequest) -> SandboxResponse:
        """An administrator adds a custom attribute."""
        if not self.caller_user().admin:
            raise Refusal(401, "not authenticated", "not_authenticated")
        body = json.loads(request.body or b"{}")
        fields = {key: value for key, value in body.items() if key != "label"}
        attribute_id = self.site.add_attribute(str(body.get("label")), **fields)
        links = [self.link(f"Attributes/{attribute_id}", title)
                 for title in ("get_custom_attribute", "update_custom_attribute", "delete_custom_attribute")]
        return _json(201, {"links": links, "message": "The attribute was created", "attributeId": attribute_id})

    @route("GET", "/Attributes/Category/{category_id}")
    def attributes_of(self, request: SandboxRequest, category_id: str) -> SandboxResponse:
        """The custom attributes of a category (1: reservations)."""
        items = []
        for attribute_id, found in sorted(self.site.attributes.items()):
            if str(found.get("categoryId", 1)) == category_id:
                links = [self.link(f"Attributes/Category/{category_id}", "all_custom_attributes")] + [
                    self.link(f"Attributes/{attribute_id}", title)
                    for title in ("get_custom_attribute", "update_custom_attribute", "delete_custom_attribute")]
                items.append(self._attribute_json(attribute_id, links))
        return _json(200, {"links": [], "message": None, "attributes": items})

    @route("GET", "/Attributes/{attribute_id}")
    def get_attribute(self, request: SandboxRequest, attribute_id: str) -> SandboxResponse:
        """One custom attribute."""
        if not attribute_id.isdigit() or int(attribute_id) not in self.site.attributes:
            raise Refusal(404, "not found", "not_found")
        return _json(200, self._attribute_json(int(attribute_id), []))

    # -- check-in ---------------------------------------------------------------------------------------------

    def _deprecated_rule(self, rule: str) -> SandboxResponse:
        """PHP 8.2 deprecates the rule's dynamic property, and Slim turns that into a 500: nothing is checked in."""
        message = f"Creation of dynamic property {rule}::$userSession is deprecated"
        trace = [f"{pages.ROOT}/lib/Application/Reservation/Validation/{rule}.php(13): Slim\\Slim::handleErrors()"]
        return pages.slim_error_page(message, f"lib/Application/Reservation/Validation/{rule}.php", 13, trace,
                                     code=8192)

    @route("POST", "/Reservations/{reference}/CheckIn")
    def check_in(self, request: SandboxRequest, reference: str) -> SandboxResponse:
        """Always a 500 on PHP 8.2 (see :meth:`_deprecated_rule`)."""
        return self._deprecated_rule("ReservationCanBeCheckedInRule")

    @route("POST", "/Reservations/{reference}/CheckOut")
    def check_out(self, request: SandboxRequest, reference: str) -> SandboxResponse:
        """Always a 500 on PHP 8.2 (see :meth:`_deprecated_rule`)."""
        return self._deprecated_rule("ReservationCanBeCheckedOutRule")
