"""The LibreBooking adapter: a session's room becomes a LibreBooking reservation of that room.

LibreBooking (an open-source resource scheduler) keeps rooms as *resources* with a capacity
(``maxParticipants``), approval, length, notice and buffer rules, booked in the slots of a schedule. One
reservation stands for one session: its title and description, its start and end (sent in UTC), the learners
who have an account as *participants* (they count towards the room's capacity), the instructors who have one as
*invitees*, and the idempotency key in a custom attribute and as a marker in the description.

What the API does not offer, and how the adapter copes (details and sources in the README):

* **No idempotency key**, and nothing deduplicates a repeated POST; worse, a failed call can still write (an
  HTML 500 or an empty 200 after the reservation was stored). A create answered that way is a lost answer: the
  base class looks the key's marker up before anything is sent again.
* **No paging**: reservations are listed by date window only (one call per window).
* **No rate limit** was seen and none is announced.
* An update **replaces** the whole reservation, so each update sends the owner and the full roster again, and
  what an update answered with an empty body is read back before it is believed or refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, ClassVar

from lms_connectors.adapter import Adapter, AdapterKind, BusyInterval, Capability, DiagnosticCheck, RoomResponse
from lms_connectors.errors import (
    AuthError,
    CapacityFull,
    Conflict,
    ConnectorError,
    MalformedResponse,
    NotFound,
    ProviderError,
    ResponseLost,
    ValidationError,
)
from lms_connectors.markers import key_in
from lms_connectors.models import Person, ProviderRef, ProviderSession, Registrations, Room, RosterMember, Session
from lms_connectors_librebooking.auth import SessionTokenAuth
from lms_connectors_librebooking.config import LibreBookingConfig
from lms_connectors_librebooking.errors import PROVIDER, classify_librebooking_response, may_have_written
from lms_connectors_librebooking.holds import Hold, blackout_holds, reservation_holds
from lms_connectors_librebooking.mapping import (
    ReservationDraft,
    emails_of,
    parse_instant,
    reservation_body,
    user_ids,
    utc_text,
)
from lms_connectors_librebooking.rooms import RoomRules, SlotGrid, room_of, rules_of

__all__ = ["LibreBookingAdapter"]

logger = logging.getLogger("lms_connectors.librebooking")

PENDING = "pending_approval"
"""``ProviderRef.extra["approval"]`` of a reservation waiting for an administrator's approval."""
APPROVED = "approved"


class LibreBookingAdapter(Adapter[LibreBookingConfig]):
    """Book rooms in a LibreBooking site for training sessions (kind ``room``, first in the scheduler's fan-out).

    Args:
        config: A :class:`~lms_connectors_librebooking.config.LibreBookingConfig`.
        **options: As :class:`~lms_connectors.adapter.Adapter` (``session``, ``sleep``, ``clock``, ``hooks``).
    """

    name: ClassVar[str] = "librebooking"
    display_name: ClassVar[str] = "LibreBooking"
    kind: ClassVar[AdapterKind] = AdapterKind.ROOM
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.RESCHEDULE_IN_PLACE,
        Capability.NATIVE_CAPACITY,
    })

    def setup(self) -> None:
        """Build the sign-in transport, the session-token auth and the API transport."""
        password = self.config.password.get_secret_value()
        sign_in = self.token_transport(
            self.config.api_url + "/Authentication/", classifier=classify_librebooking_response,
            extra_secrets=(password,),
        )
        self.auth = SessionTokenAuth(
            sign_in, username=self.config.username, password=password,
            session_seconds=self.config.session_minutes * 60, clock=self.runtime.clock,
        )
        self.api_transport(auth=self.auth, classifier=classify_librebooking_response,
                           base_url=self.config.api_url + "/")
        self._rules: dict[int, RoomRules] = {}
        self._names: dict[int, str] = {}
        self._grids: dict[int, SlotGrid] = {}
        self._user_ids: dict[str, int | None] = {}

    # -- reading helpers --------------------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        payload = self.transport.request_json("GET", path, params=dict(params) if params else None)
        if not isinstance(payload, dict):
            raise MalformedResponse(f"LibreBooking answered GET {path} with {type(payload).__name__}",
                                    provider=PROVIDER)
        return payload

    def resource_id(self, session: Session) -> int:
        """The LibreBooking resource that holds ``session.room`` (see :meth:`resource_of`).

        Raises:
            ValidationError: The session asks for no room, or its room maps to no resource.
        """
        if session.room is None:
            raise ValidationError("a LibreBooking reservation needs the session's room", field="room")
        return self.resource_of(session.room)

    def resource_of(self, room: Room) -> int:
        """The LibreBooking resource of ``room``.

        The configuration's ``rooms`` map first, then a room id that is a number, then the one resource the
        account may book whose name is the room's (one ``GET /Resources/`` per adapter).

        Raises:
            ValidationError: The room maps to no resource.
        """
        mapped = self.config.rooms.get(room.id)
        if mapped is not None:
            return mapped
        if room.id.isdigit():
            return int(room.id)
        if not self._names:
            list(self.list_rooms())
        wanted = room.name.strip().casefold()
        named = [rid for rid, name in self._names.items() if name.strip().casefold() == wanted]
        if len(named) == 1:
            return named[0]
        known = ", ".join(f"{rid} {name!r}" for rid, name in sorted(self._names.items())) or "none"
        raise ValidationError(
            f"room {room.id!r} ({room.name!r}) is not a LibreBooking resource the account may book "
            f"(it may book: {known}): give its resource id, or map it in the configuration's 'rooms'", field="room")

    def room_rules(self, resource_id: int) -> RoomRules:
        """The room's rules (``GET /Resources/{id}``, once per adapter)."""
        if resource_id not in self._rules:
            resource = self._get(f"Resources/{resource_id}")
            self._rules[resource_id] = rules_of(resource)
            self._names[resource_id] = str(resource.get("name") or resource_id)
        return self._rules[resource_id]

    def _grid(self, schedule_id: int) -> SlotGrid:
        if schedule_id not in self._grids:
            self._grids[schedule_id] = SlotGrid.from_schedule(self._get(f"Schedules/{schedule_id}"))
        return self._grids[schedule_id]

    def _check_slot(self, resource_id: int, session: Session) -> None:
        rules = self.room_rules(resource_id)
        room = f"room {self._names.get(resource_id, resource_id)!r}"
        self._grid(rules.schedule_id).check(session.slot.start, session.slot.end, room)

    def user_id(self, email: str) -> int | None:
        """The LibreBooking user whose e-mail is ``email`` (matched whole, ignoring case), or ``None``."""
        address = email.lower()
        if address not in self._user_ids:
            users = self._get("Users/", {"email": address}).get("users") or []
            found = [u for u in users if isinstance(u, Mapping) and str(u.get("emailAddress", "")).lower() == address]
            self._user_ids[address] = int(str(found[0]["id"])) if found else None
        return self._user_ids[address]

    def _owner_id(self) -> int:
        return int(self.auth.user_id)

    def _invitees(self, session: Session) -> list[int]:
        return [uid for person in session.instructors if (uid := self.user_id(person.email)) is not None]

    def _draft(self, session: Session, key: str, resource_id: int, participants: Sequence[int]) -> ReservationDraft:
        return ReservationDraft(
            resource_id=resource_id, start=session.slot.start, end=session.slot.end, title=session.title,
            description=session.description, key=key, owner_id=self._owner_id(), participants=participants,
            invitees=self._invitees(session), key_attribute_id=self.config.key_attribute_id,
        )

    def _read(self, reference: str) -> dict[str, Any]:
        return self._get(f"Reservations/{reference}")

    def _listed(self, start: datetime, end: datetime, **filters: int) -> list[dict[str, Any]]:
        """Reservations overlapping ``[start, end)`` (LibreBooking lists by window only: one call, no pages)."""
        params: dict[str, Any] = {"startDateTime": utc_text(start), "endDateTime": utc_text(end), **filters}
        found = self._get("Reservations/", params).get("reservations") or []
        return [item for item in found if isinstance(item, dict)]

    # -- create, find -----------------------------------------------------------------------------------------

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """``POST /Reservations/`` once, with the full body; a PHP error or empty answer is a lost answer.

        :calls: ``GET /Resources/{id}``, ``GET /Schedules/{id}`` and ``GET /Users/?email=`` the first time
            (cached), then ``POST /Reservations/``.

        Raises:
            ValidationError: The slot is off the room's schedule slots (before any call that writes).
            Conflict: The room is taken (the clashing reservations are named when they can be listed).
            ResponseLost: LibreBooking failed in a way that may have stored the reservation.
        """
        resource_id = self.resource_id(session)
        self._check_slot(resource_id, session)
        body = reservation_body(self._draft(session, key, resource_id, participants=()))
        try:
            payload = self.transport.request_json("POST", "Reservations/", json=body)
        except Conflict as clash:
            raise self._named_conflict(clash, resource_id, session) from clash
        except ProviderError as failed:
            if may_have_written(failed):
                raise ResponseLost(f"LibreBooking failed after the create was sent ({failed.message}); it may "
                                   "have stored the reservation", provider=PROVIDER, status=failed.status,
                                   code=failed.code, body_excerpt=failed.body_excerpt) from failed
            raise
        if not isinstance(payload, dict) or not payload.get("referenceNumber"):
            raise MalformedResponse("LibreBooking's create answer has no referenceNumber", provider=PROVIDER)
        pending = payload.get("isPendingApproval") is True
        if pending:
            logger.info("reservation %s of %s waits for an administrator's approval", payload["referenceNumber"], key)
        return self._ref(str(payload["referenceNumber"]), resource_id, pending)

    def _ref(self, reference: str, resource_id: int | str, pending: bool) -> ProviderRef:
        return ProviderRef(provider=self.name, external_id=reference,
                           extra={"resource_id": str(resource_id), "approval": PENDING if pending else APPROVED})

    def _named_conflict(self, clash: Conflict, resource_id: int, session: Session) -> Conflict:
        """The refusal with what holds the room then named: the clashing reservations and blackouts."""
        try:
            holds = [hold for hold in self.holds(resource_id, session.slot.start, session.slot.end)
                     if hold.overlaps(session.slot.start, session.slot.end)]
        except ConnectorError:
            holds = []
        room = self._names.get(resource_id, str(resource_id))
        what = ("clashes with " + "; ".join(hold.describe() for hold in holds)) if holds else "is not free then"
        return Conflict(f"room {room!r} {session.slot.start.isoformat()}..{session.slot.end.isoformat()} {what}",
                        provider=PROVIDER, status=clash.status, code=clash.code, body_excerpt=clash.body_excerpt)

    def holds(self, resource_id: int, start: datetime, end: datetime) -> list[Hold]:
        """The reservations (buffers included) and blackouts that hold the room in ``[start, end)``.

        The reservations' window is widened by the room's buffer time, so a reservation whose buffer reaches
        into the window is found.

        :calls: ``GET /Reservations/?resourceId=&startDateTime=&endDateTime=`` and
            ``GET /Schedules/{id}/Slots?resourceId=&startDateTime=&endDateTime=`` (and ``GET /Resources/{id}``
            once per room for its schedule and buffer).
        """
        rules = self.room_rules(resource_id)
        margin = (rules.buffer or timedelta(0)) + timedelta(minutes=1)
        listed = self._listed(start - margin, end + margin, resourceId=resource_id)
        slots = self._get(f"Schedules/{rules.schedule_id}/Slots", {
            "startDateTime": utc_text(start), "endDateTime": utc_text(end), "resourceId": resource_id})
        found = reservation_holds(listed, resource_id) + blackout_holds(slots, resource_id)
        return [hold for hold in found if hold.overlaps(start, end)]

    def room_busy(self, rooms: Sequence[Room], start: datetime, end: datetime) -> dict[str, list[BusyInterval]]:
        """What LibreBooking holds on each room in ``[start, end)`` (:meth:`holds`), by :attr:`Room.id`.

        LibreBooking's availability endpoint is not used: it ignores blackouts and buffers, looks only 7 days
        ahead and ignores the room id in its path.
        """
        return {room.id: [BusyInterval(start=hold.start, end=hold.end)
                          for hold in self.holds(self.resource_of(room), start, end)]
                for room in rooms}

    def find_created(self, session: Session, key: str) -> ProviderRef | None:
        """The reservation an earlier create of ``session`` with ``key`` made: its room and slot, by marker.

        :calls: ``GET /Reservations/?resourceId=&startDateTime=&endDateTime=`` (one window).
        """
        resource_id = self.resource_id(session)
        listed = self._listed(session.slot.start, session.slot.end, resourceId=resource_id)
        return self._marked(listed, key)

    def find_session(self, key: str) -> ProviderRef | None:
        """The reservation of the API account that carries ``key``'s marker, in the configured look-up window.

        :calls: ``GET /Reservations/?userId=&startDateTime=&endDateTime=`` (one window).
        """
        since = datetime.combine(self.config.lookup_since, time(0), UTC)
        until = datetime.combine(self.config.lookup_until, time(0), UTC)
        listed = self._listed(since, until, userId=self._owner_id())
        return self._marked(listed, key)

    def _marked(self, listed: list[dict[str, Any]], key: str) -> ProviderRef | None:
        for item in listed:
            if key_in(str(item.get("description") or "")) == key:
                return self._ref(str(item["referenceNumber"]), str(item.get("resourceId", "")),
                                 item.get("requiresApproval") is True)
        return None

    # -- read, reschedule, cancel -----------------------------------------------------------------------------

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """``GET /Reservations/{ref}``: the reservation in SDK terms (its instants compared, not its offsets).

        Raises:
            NotFound: The reservation does not exist (deleted).
        """
        found = self._read(ref.external_id)
        return self._session_of(found)

    def _session_of(self, found: Mapping[str, Any]) -> ProviderSession:
        resources = found.get("resources")
        names = [str(r.get("name")) for r in (resources.values() if isinstance(resources, Mapping) else [])
                 if isinstance(r, Mapping)]
        reference = str(found.get("referenceNumber"))
        pending = found.get("requiresApproval") is True
        return ProviderSession(
            ref=self._ref(reference, str(found.get("resourceId", "")), pending),
            title=str(found.get("title") or ""),
            start=parse_instant(found.get("startDate"), "startDate"),
            end=parse_instant(found.get("endDate"), "endDate"),
            location=", ".join(names) or None,
            attendees=tuple(emails_of(found.get("participants"))),
            raw=dict(found),
        )

    def room_response(self, ref: ProviderRef, room: Room) -> RoomResponse:
        """The reservation's answer for ``room``: pending while it waits for an administrator's approval.

        LibreBooking has no status field: a reservation waiting for approval reads ``requiresApproval: true``,
        and ``false`` once approved (or at once in a room that needs no approval). An administrator's rejection
        deletes the reservation, so it then reads as not found.

        :calls: ``GET /Reservations/{ref}`` (and ``GET /Resources/`` once, for a room known by name only).

        Raises:
            NotFound: The reservation does not exist (cancelled or rejected), or it books another room.
            ValidationError: The room is no LibreBooking resource the account may book.
        """
        found = self._read(ref.external_id)
        if str(found.get("resourceId")) != str(self.resource_of(room)):
            raise NotFound(f"reservation {ref.external_id} does not book room {room.name!r}", provider=PROVIDER)
        return RoomResponse.PENDING if found.get("requiresApproval") is True else RoomResponse.ACCEPTED

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """Move the reservation (``updateScope=this``), keeping its participants and owner.

        :calls: ``GET /Reservations/{ref}``, then ``POST /Reservations/{ref}?updateScope=this``.
        """
        current = self._read(ref.external_id)
        resource_id = self.resource_id(session)
        self._check_slot(resource_id, session)
        key = key_in(str(current.get("description") or "")) or str(ref.extra.get("key") or session.id)
        draft = self._draft(session, key, resource_id, participants=user_ids(current.get("participants")))
        self._update(ref, draft, session)
        return self._ref(ref.external_id, resource_id, current.get("requiresApproval") is True)

    def _update(self, ref: ProviderRef, draft: ReservationDraft, session: Session) -> None:
        body = reservation_body(draft)
        try:
            self.transport.request_json("POST", f"Reservations/{ref.external_id}", params={"updateScope": "this"},
                                        json=body)
        except Conflict as clash:
            raise self._named_conflict(clash, draft.resource_id, session) from clash
        except ProviderError as failed:
            # An update may be saved before PHP fails (a notification crash): believe what is read back.
            if not may_have_written(failed) or not self._holds(ref.external_id, draft):
                raise

    def _holds(self, reference: str, draft: ReservationDraft) -> bool:
        try:
            found = self._read(reference)
        except NotFound:
            return False
        return (
            parse_instant(found.get("startDate")) == draft.start
            and parse_instant(found.get("endDate")) == draft.end
            and found.get("title") == draft.title
            and sorted(user_ids(found.get("participants"))) == sorted(set(draft.participants))
        )

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """``DELETE /Reservations/{ref}?updateScope=this``; a reservation already gone is success.

        LibreBooking answers a second delete with an empty 200: the reservation is then read, and a 404 proves it
        gone.
        """
        try:
            self.transport.request_json("DELETE", f"Reservations/{ref.external_id}", params={"updateScope": "this"})
        except NotFound:
            return
        except ProviderError as failed:
            if not may_have_written(failed):
                raise
            try:
                self._read(ref.external_id)
            except NotFound:
                return
            raise

    # -- roster -----------------------------------------------------------------------------------------------

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """Add the learners who have a LibreBooking account as participants (one update for all of them).

        A learner without an account is answered ``status="no_account"`` and not sent: LibreBooking counts only
        participants with an account towards the room's capacity.

        :calls: ``GET /Users/?email=`` per new address (cached), ``GET /Reservations/{ref}``, then one
            ``POST /Reservations/{ref}?updateScope=this``.

        Raises:
            CapacityFull: The room holds fewer participants (refused before the update is sent).
        """
        ids = {person.email: self.user_id(person.email) for person in people}
        current = self._read(ref.external_id)
        participants = user_ids(current.get("participants"))
        wanted = participants + [uid for uid in ids.values() if uid is not None and uid not in participants]
        resource_id = self.resource_id(session)
        capacity = self.room_rules(resource_id).capacity
        if capacity is not None and len(wanted) > capacity:
            raise CapacityFull(f"room {self._names.get(resource_id, resource_id)!r} holds {capacity} participants; "
                               f"{len(wanted)} were asked for", provider=PROVIDER)
        if wanted != participants:
            self._update(ref, self._current_draft(current, session, resource_id, wanted), session)
        return [RosterMember(email=email, external_id=str(uid) if uid is not None else None,
                             status="participant" if uid is not None else "no_account")
                for email, uid in ids.items()]

    def _current_draft(
        self, current: Mapping[str, Any], session: Session, resource_id: int, participants: Sequence[int]
    ) -> ReservationDraft:
        """The reservation as it is (its own instants), with another roster: an update must send everything."""
        key = key_in(str(current.get("description") or "")) or session.id
        draft = self._draft(session, key, resource_id, participants)
        draft.start = parse_instant(current.get("startDate"))
        draft.end = parse_instant(current.get("endDate"))
        return draft

    def unenrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *,
        registrations: Registrations | None = None,
    ) -> None:
        """Remove these learners from the participants (one update), keeping everyone else."""
        leaving = {uid for person in people if (uid := self.user_id(person.email)) is not None}
        current = self._read(ref.external_id)
        participants = user_ids(current.get("participants"))
        kept = [uid for uid in participants if uid not in leaving]
        if kept != participants:
            self._update(ref, self._current_draft(current, session, self.resource_id(session), kept), session)

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """The reservation's participants (one read; LibreBooking has no roster paging)."""
        current = self._read(ref.external_id)
        for person in current.get("participants") or []:
            if isinstance(person, Mapping) and person.get("emailAddress"):
                yield RosterMember(email=str(person["emailAddress"]).lower(), external_id=str(person.get("userId")),
                                   status="participant")

    # -- listing ------------------------------------------------------------------------------------------------

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """The API account's reservations that start in ``[start, end)``.

        One window, one call: LibreBooking has no paging, so ``page_size`` is ignored.
        """
        for item in self._listed(start, end, userId=self._owner_id()):
            begins = parse_instant(item.get("startDate"), "startDate")
            if start <= begins < end:
                yield ProviderSession(
                    ref=self._ref(str(item["referenceNumber"]), str(item.get("resourceId", "")),
                                  item.get("requiresApproval") is True),
                    title=str(item.get("title") or ""),
                    start=begins,
                    end=parse_instant(item.get("endDate"), "endDate"),
                    location=str(item.get("resourceName") or "") or None,
                    raw=item,
                )

    def list_rooms(self, *, page_size: int | None = None) -> Iterator[Room]:
        """Every resource the account may book (``GET /Resources/``, one answer), capacity from ``maxParticipants``."""
        for resource in self._get("Resources/").get("resources") or []:
            if isinstance(resource, Mapping):
                rid = int(str(resource["resourceId"]))
                self._rules[rid] = rules_of(resource)
                self._names[rid] = str(resource.get("name") or rid)
                yield room_of(resource)

    # -- doctor -------------------------------------------------------------------------------------------------

    def check_credentials(self) -> DiagnosticCheck:
        """Sign in now (``POST /Authentication/Authenticate``)."""

        def sign_in() -> str:
            self.auth.refresh()
            return f"signed in as {self.config.username!r} (user id {self.auth.user_id})"

        return DiagnosticCheck.probe("credentials", sign_in)

    def diagnose(self) -> list[DiagnosticCheck]:
        """Credentials, that the account is not an administrator, the rooms it sees, the key attribute."""
        from lms_connectors_librebooking.doctor import run_checks

        return run_checks(self)

    def close(self) -> None:
        """Sign the session out at the site, then release the connections."""
        self.auth.sign_out()
        super().close()

    def ex_post_probe(self, path: str, body: Mapping[str, Any]) -> int:
        """Send ``body`` to an administrator's route and return the status (``doctor``'s administrator check).

        An ordinary account is answered 401 before the route runs; an administrator reaches the route's
        validation. The transport's single re-authentication on 401 happens first, so a 401 here is final.
        """
        try:
            self.transport.request("POST", path, json=dict(body), idempotent=True)
        except AuthError as refused:
            return refused.status or 401
        except ConnectorError as failed:
            return failed.status or 0
        return 200

    def ex_json(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``GET`` a route of the API and return its JSON object (for doctor and provider-specific reads)."""
        return self._get(path, params)

