"""What LibreBooking checks before it stores a reservation, a user or a room, and how each failure answers.

The order and the messages are LibreBooking's (``WebServices/Controllers/ReservationSaveController.php``,
``lib/Application/Reservation/Validation``). Administrators skip the capacity, length, notice and past-start
rules and are never pending approval; everyone is held to the schedule's slots and to conflicts (reservations,
blackouts and the room's buffer time).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors_librebooking.simulator import pages
from lms_connectors_librebooking.simulator.dates import parse_api_date, zone_of
from lms_connectors_librebooking.simulator.layout import period_at, same_day_in
from lms_connectors_librebooking.simulator.site import Reservation, Resource, User

if TYPE_CHECKING:
    from lms_connectors_librebooking.simulator.server import LibreBookingSimulator

__all__ = ["RESERVATION_KEYS", "ReservationRules", "duration_words"]

RESERVATION_KEYS = (
    "accessories", "customAttributes", "description", "endDateTime", "invitees", "participants",
    "participatingGuests", "invitedGuests", "recurrenceRule", "resourceId", "resources", "startDateTime", "title",
    "userId", "startReminder", "endReminder", "allowParticipation", "retryParameters", "termsAccepted",
)
"""Every key of LibreBooking's reservation request object."""
_READ_ORDER = ("title", "description", "startDateTime", "endDateTime", "resourceId", "participants", "invitees",
               "participatingGuests", "invitedGuests", "accessories", "customAttributes", "recurrenceRule",
               "resources", "startReminder", "endReminder", "allowParticipation", "termsAccepted", "userId",
               "retryParameters")
_USER_KEYS = ("firstName", "lastName", "emailAddress", "userName", "timezone", "language", "password", "phone",
              "organization", "position")
_SAVE = "WebServices/Controllers/ReservationSaveController.php"
_UNKNOWN_USER = (
    "Cannot add or update a child row: a foreign key constraint fails (`librebooking`.`reservation_users`, CONSTRAINT "
    "`reservation_users_ibfk_2` FOREIGN KEY (`user_id`) REFERENCES `users` (`user_id`) ON DELETE CASCADE ON UPDATE "
    "CASCADE)")
"""MariaDB's refusal of a ``reservation_users`` row for a user id with no account."""


def duration_words(span: timedelta) -> str:
    """A duration as LibreBooking words it in its messages (``30 minutes``, ``2 hours``, ``1 day``)."""
    minutes = int(span.total_seconds() // 60)
    parts = []
    for size, word in ((1440, "day"), (60, "hour"), (1, "minute")):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {word}{'s' if count != 1 else ''}")
    return " ".join(parts) or "0 minutes"


def _us(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).strftime("%m/%d/%Y %I:%M:%S %p")


class ReservationRules:
    """Validation and storage of the simulated site's writes."""

    def __init__(self, simulator: LibreBookingSimulator) -> None:
        self.sim = simulator
        self.fail_after_saving = False

    def php_error(self, message: str, file: str, line: int, callers: list[str], *,
                  code: int | None = 2) -> SandboxResponse:
        """Slim's 500 page for a PHP warning at ``file:line`` raised under ``callers`` (innermost first)."""
        self.sim.php_errors.append(message)
        trace = [f"{pages.ROOT}/{file}({line}): Slim\\Slim::handleErrors()", *callers]
        return pages.slim_error_page(message, file, line, trace, code=code)

    def query_error(self, detail: str) -> SandboxResponse:
        """Slim's 500 page for a failed query (an exception: no code on the page)."""
        return self.php_error(f"There was an error executing your query\\n{detail}",
                              "lib/Database/MySQL/MySqlConnection.php", 119, [], code=None)

    # -- reservations ---------------------------------------------------------------------------------------------

    def _body(self, request: SandboxRequest, *, read_later: tuple[str, ...] = ()) -> dict[str, Any]:
        """The request object, validated as LibreBooking's validator and then its presenter read it."""
        try:
            body = json.loads(request.body or b"")
        except ValueError:
            body = None
        errors: list[str] = []
        resource_id = body.get("resourceId") if isinstance(body, dict) else None
        if not isinstance(resource_id, int) and not (isinstance(resource_id, str) and resource_id.isdigit()):
            errors.append("Missing or invalid resourceId")
        for key in ("startDateTime", "endDateTime"):
            if not isinstance(body, dict) or key not in body:
                # Reading the missing property is a PHP warning: the exception ends the validation.
                problem = (f"Undefined property: stdClass::${key}" if isinstance(body, dict)
                           else f'Attempt to read property "{key}" on null')
                errors.append(f"Could not process request.ErrorException: {problem} in {pages.ROOT}/{_SAVE}:530\n"
                              f"Stack trace:\n#0 {pages.ROOT}/{_SAVE}(530): Slim\\Slim::handleErrors()")
                break
            if body[key] is None:
                errors.append(f"Missing or invalid {key}")
        if errors:
            raise Refusal(400, "invalid", "invalid", errors=errors)
        assert isinstance(body, dict)
        missing = next((key for key in _READ_ORDER if key not in body and key not in read_later), None)
        if missing is not None:
            raise Refusal(500, "php", "php", response=self.php_error(
                f"Undefined property: stdClass::${missing}", _SAVE, 525, []))
        return body

    def _checked(self, body: dict[str, Any], caller: User, current: Reservation | None) -> Reservation:
        zone = zone_of(caller.timezone)
        resource_id = body["resourceId"]
        if body.get("title") is None:
            raise Refusal(500, "php", "php", response=self.php_error(
                "htmlspecialchars_decode(): Passing null to parameter #1 ($string) of type string is deprecated",
                "Presenters/Reservation/ReservationSavePresenter.php", 76, [], code=8192))
        start, end = parse_api_date(body["startDateTime"], zone), parse_api_date(body["endDateTime"], zone)
        invalid = "".join(f"{text}\n" for text, value in (("The start date and time requested is not valid.", start),
                                                          ("The end date and time requested is not valid.", end))
                          if value is None)
        if invalid:
            raise Refusal(400, "invalid", "invalid", errors=[invalid])
        assert start is not None
        assert end is not None
        resource = self.sim.site.resources.get(int(str(resource_id)))
        if resource is None:
            raise Refusal(400, "invalid", "invalid", errors=["There were problems with your reservation request."])
        owner_id = int(body["userId"]) if body.get("userId") not in (None, "") else caller.id
        reservation = Reservation(
            reference=current.reference if current else self.sim.site.new_reference(self.sim.now()),
            resource_id=resource.id, owner_id=owner_id, start=start, end=end, title=str(body["title"]),
            description=str(body.get("description") or ""),
            participants=[int(u) for u in body.get("participants") or []],
            invitees=[int(u) for u in body.get("invitees") or []],
            participating_guests=[str(g) for g in body.get("participatingGuests") or []],
            invited_guests=[str(g) for g in body.get("invitedGuests") or []],
            attributes={int(a["attributeId"]): str(a.get("attributeValue") or "")
                        for a in body.get("customAttributes") or [] if isinstance(a, dict) and "attributeId" in a},
        )
        self._rules(reservation, resource, caller, current)
        return reservation

    def _rules(self, reservation: Reservation, resource: Resource, caller: User, current: Reservation | None) -> None:
        zone = zone_of(caller.timezone)
        start, end, now = reservation.start, reservation.end, self.sim.now()
        if start >= end:
            raise Refusal(400, "invalid", "invalid",
                          errors=["The start date and time must be before the end date and time."])
        errors: list[str] = []
        if not caller.admin:
            if start < now:
                errors.append("The start date and time cannot be in the past.")
            shortest, longest = resource.duration("minLength"), resource.duration("maxLength")
            if shortest is not None and end - start < shortest:
                errors.append(f"This reservation must last at least {duration_words(shortest)}.")
            if longest is not None and end - start > longest:
                errors.append(f"This reservation cannot last longer than {duration_words(longest)}.")
            schedule_zone = zone_of(self.sim.site.schedules[resource.schedule_id].timezone)
            if not resource.fields.get("allowMultiday") and not same_day_in(start, end, schedule_zone):
                errors.append(f"{resource.name} does not allow reservations across days.")
            notice, furthest = resource.duration("minNoticeAdd"), resource.duration("maxNotice")
            if notice is not None and start < now + notice:
                errors.append("This reservation requires advance notice. The earliest date and time that can be "
                              f"reserved is {_us(now + notice, zone)}.")
            if furthest is not None and start > now + furthest:
                errors.append("This reservation cannot be made this far in the future. The latest date and time "
                              f"that can be reserved is {_us(now + furthest, zone)}.")
            capacity = resource.max_participants
            if capacity is not None and len(reservation.participants) > capacity:
                errors.append(f"{resource.name} can only support {capacity} participants.\n")
        if errors:
            raise Refusal(400, "invalid", "invalid", errors=errors)
        starts_ok, ends_ok = self._on_slots(resource, start, end)
        if not (starts_ok and ends_ok):
            lines = [text for text, ok in (("The start date and time requested is not valid.", starts_ok),
                                           ("The end date and time requested is not valid.", ends_ok)) if not ok]
            raise Refusal(400, "invalid", "invalid", errors=["".join(f"{line}\n" for line in lines)])
        if self._clashes(reservation, resource, current):
            day = start.astimezone(zone).strftime("%m/%d/%Y")
            raise Refusal(400, "conflict", "conflict", errors=[
                f"There are conflicting reservations on the following dates:\n{day} - {resource.name}\n"])

    def _on_slots(self, resource: Resource, start: datetime, end: datetime) -> tuple[bool, bool]:
        """``SchedulePeriodRule``: the start begins a bookable period, the end begins a period (any)."""
        schedule = self.sim.site.schedules[resource.schedule_id]
        zone = zone_of(schedule.timezone)
        starts_in, ends_in = period_at(schedule.layout, zone, start), period_at(schedule.layout, zone, end)
        starts_ok = starts_in is not None and starts_in[1] and starts_in[0] == start
        ends_ok = ends_in is not None and ends_in[0] == end
        return starts_ok, ends_ok

    def _clashes(self, reservation: Reservation, resource: Resource, current: Reservation | None) -> bool:
        buffer = resource.duration("bufferTime") or timedelta()
        start, end = reservation.start - buffer, reservation.end + buffer
        if any(other.resource_id == resource.id and other.reference != reservation.reference
               and other.start < end and start < other.end for other in self.sim.site.reservations.values()):
            return True
        return any(b.resource_id == resource.id and b.start < reservation.end and reservation.start < b.end
                   for b in self.sim.site.blackouts)

    def _people_known(self, reservation: Reservation) -> SandboxResponse | None:
        if any(u not in self.sim.site.users for u in reservation.participants + reservation.invitees):
            return self.query_error(_UNKNOWN_USER)
        return None

    def create(self, request: SandboxRequest, caller: User) -> SandboxResponse:
        """``POST /Reservations/``: 201 with the reference, pending when an ordinary user books an approval room."""
        body = self._body(request)
        reservation = self._checked(body, caller, None)
        resource = self.sim.site.resources[reservation.resource_id]
        reservation.pending = resource.requires_approval and not caller.admin
        # ReservationRepository::Add: the series row, then the instance row, each taking its table's next id.
        reservation.series_id = self.sim.site.next_series
        self.sim.site.next_series += 1
        reservation.instance_id = self.sim.site.next_instance
        self.sim.site.next_instance += 1
        self.sim.site.reservations[reservation.reference] = reservation
        failed = self._insert_user_rows(reservation)
        if failed is not None:
            return failed
        if self.fail_after_saving:
            self.fail_after_saving = False
            return self.query_error(f"Duplicate entry '{reservation.instance_id}-{reservation.owner_id}' for key "
                                    "'PRIMARY'")
        reference = reservation.reference
        return SandboxResponse(201, {
            "links": [self.sim.link(f"Reservations/{reference}", "get_reservation"),
                      self.sim.link(f"Reservations/{reference}", "update_reservation")],
            "message": "The reservation was created", "referenceNumber": reference,
            "isPendingApproval": reservation.pending}, {"Content-Type": "application/json"})

    def _insert_user_rows(self, reservation: Reservation) -> SandboxResponse | None:
        """The new instance's ``reservation_users`` rows, inserted as ``InstanceAddedEventCommand`` does.

        The owner's row, then one per participant, then one per invitee (the guests after them), each insert
        committed on its own: LibreBooking opens no transaction. A row that fails (a user id with no account breaks
        the foreign key; a second row for the same user, such as the owner listed as a participant, breaks the
        primary key (instance id, user id)) ends the request with a 500, yet the series, the instance and the rows
        before it stay stored; the rows after it are never written.
        """
        holders = {reservation.owner_id}
        stored: dict[str, list[int]] = {"participants": [], "invitees": []}
        for level in ("participants", "invitees"):
            for user_id in getattr(reservation, level):
                if user_id not in self.sim.site.users:
                    failure = _UNKNOWN_USER
                elif user_id in holders:
                    failure = f"Duplicate entry '{reservation.instance_id}-{user_id}' for key 'PRIMARY'"
                else:
                    holders.add(user_id)
                    stored[level].append(user_id)
                    continue
                reservation.participants, reservation.invitees = stored["participants"], stored["invitees"]
                reservation.participating_guests, reservation.invited_guests = [], []
                return self.query_error(failure)
        return None

    def update(self, request: SandboxRequest, caller: User, reference: str) -> SandboxResponse:
        """``POST /Reservations/{ref}?updateScope=``: the body replaces the reservation (owner included)."""
        scope = request.query_one("updateScope", "full")
        if scope not in ("this", "full", "future"):
            raise Refusal(400, "invalid", "invalid", errors=[f"Missing or invalid updateScope: {scope}"])
        current = self.sim.site.reservations.get(reference)
        if current is None:
            self.sim.php_errors.append(f"update of unknown reservation {reference}")
            return SandboxResponse(200, b"", {"Content-Type": "application/json"})
        body = self._body(request, read_later=("participants", "invitees"))
        # Keys the presenter reads only after saving: left out, they are saved as empty, then PHP dies (empty 200).
        late = [key for key in ("participants", "invitees") if key not in body]
        body = {**body, **{key: [] for key in late}}
        replaced = self._checked(body, caller, current)
        failed = self._people_known(replaced)
        if failed is not None:
            return failed
        replaced.pending = current.pending
        # LibreBooking remembers the end a reservation had before its first move.
        replaced.original_end = current.original_end or (current.end if replaced.end != current.end else None)
        # updateScope=this splits the instance off into a new series; the instance keeps its row and id.
        replaced.series_id = self.sim.site.next_series if scope == "this" else current.series_id
        self.sim.site.next_series += scope == "this"
        replaced.instance_id = current.instance_id
        self.sim.site.reservations[reference] = replaced
        # The series is saved first, then the user rows change: a new owner who already holds a participant or
        # invitee row on the instance (OwnerChangedEventCommand), or the owner listed as a participant, collides
        # with that row's primary key (instance id, user id).
        holders = current.participants + current.invitees
        taken_over = replaced.owner_id != current.owner_id and replaced.owner_id in holders
        if self.fail_after_saving or taken_over or replaced.owner_id in replaced.participants:
            self.fail_after_saving = False
            return self.query_error(f"Duplicate entry '{replaced.instance_id}-{replaced.owner_id}' for key 'PRIMARY'")
        if late:
            self.sim.php_errors.append(f"update without {', '.join(late)}")
            return SandboxResponse(200, b"", {"Content-Type": "application/json"})
        return SandboxResponse(200, {
            "links": [self.sim.link(f"Reservations/{reference}", "get_reservation")],
            "message": "The reservation was updated", "referenceNumber": reference,
            "isPendingApproval": replaced.pending}, {"Content-Type": "application/json"})

    # -- users and rooms ------------------------------------------------------------------------------------------

    def create_user(self, request: SandboxRequest) -> SandboxResponse:
        """``POST /Users/`` (administrators): every key, unique name and e-mail, names and a valid e-mail."""
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or any(key not in body for key in _USER_KEYS):
            return self.php_error("trim(): Passing null to parameter #1 ($string) of type string is deprecated",
                                  "lib/Common/Validators/RequiredValidator.php", 14, [], code=8192)
        errors = []
        if not str(body["firstName"]).strip():
            errors.append("firstName is missing or empty")
        if not str(body["lastName"]).strip():
            errors.append("lastName is missing or empty")
        email = str(body["emailAddress"]).strip()
        if "@" not in email or email.startswith("@") or "." not in email.rsplit("@", 1)[-1]:
            errors.append("A valid email address is required.")
        if self.sim.site.user_named(str(body["userName"])) is not None:
            errors.append("That user name is already registered.")
        elif any(u.email.lower() == email.lower() for u in self.sim.site.users.values()):
            errors.append("That email address is already registered.")
        if errors:
            raise Refusal(400, "invalid", "invalid", errors=errors)
        user = self.sim.site.add_user(str(body["userName"]), email, str(body["firstName"]), str(body["lastName"]),
                                      str(body["timezone"]), str(body["password"]), language=str(body["language"]),
                                      organization=str(body["organization"]), position=str(body["position"]),
                                      phone=str(body["phone"]), created=self.sim.now())
        return SandboxResponse(201, {"links": [self.sim.link(f"Users/{user.id}", "get_user"),
                                               self.sim.link(f"Users/{user.id}", "update_user")],
                                     "message": None, "userId": user.id},
                               {"Content-Type": "application/json"})

    def create_resource(self, request: SandboxRequest) -> SandboxResponse:
        """``POST /Resources/`` (administrators): a name, a known schedule, the typed keys."""
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        if not str(body.get("name") or "").strip():
            raise Refusal(400, "invalid", "invalid", errors=["name is missing or empty"])
        schedule_id = int(body.get("scheduleId") or 0)
        if schedule_id not in self.sim.site.schedules:
            return self.query_error(
                "Cannot add or update a child row: a foreign key constraint fails (`librebooking`.`resources`, "
                "CONSTRAINT `resources_ibfk_1` FOREIGN KEY (`schedule_id`) REFERENCES `schedules` (`schedule_id`) "
                "ON DELETE CASCADE ON UPDATE CASCADE)")
        fields = {key: value for key, value in body.items() if key not in ("name", "scheduleId")}
        resource = self.sim.site.add_resource(str(body["name"]), schedule_id, **fields)
        typed = ("bufferTime", "minNoticeAdd", "minNoticeUpdate", "minNoticeDelete", "groupIds", "icsUrl", "typeId")
        if any(key not in body for key in typed):
            # Stored half-configured, then PHP dies on the missing typed field: an empty 200.
            return SandboxResponse(200, b"", {"Content-Type": "application/json"})
        return SandboxResponse(201, {"links": [self.sim.link(f"Resources/{resource.id}", "get_resource"),
                                               self.sim.link(f"Resources/{resource.id}", "update_resource")],
                                     "message": None, "resourceId": resource.id},
                               {"Content-Type": "application/json"})

