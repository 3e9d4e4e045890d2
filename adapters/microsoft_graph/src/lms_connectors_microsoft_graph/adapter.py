"""The Microsoft Graph adapter: a training session is an event in the organizer's Outlook calendar.

Endpoints (Graph v1.0; ``{mailbox}`` is the configured organizer):

* create: ``POST users/{mailbox}/events`` with a ``transactionId`` derived from the idempotency key, and the
  key in a single-value extended property; a look-up by that property precedes a create whose key may have
  been sent before and follows a lost answer.
* find: ``GET users/{mailbox}/events?$filter=singleValueExtendedProperties/Any(...)``.
* read: ``GET users/{mailbox}/events/{id}`` (``$expand`` of the SDK's extended properties).
* reschedule: ``PATCH users/{mailbox}/events/{id}`` with ``If-Match`` (the event's ``@odata.etag``).
* cancel: ``POST users/{mailbox}/events/{id}/cancel`` with a comment (attendees are told), ``DELETE`` when Graph
  refuses the action or no message is wanted.
* roster: the event's ``attendees``, read and written back whole with ``PATCH`` (``If-Match``).
* listing: ``GET users/{mailbox}/calendarView`` (``@odata.nextLink`` pages).
* free/busy: ``POST users/{mailbox}/calendar/getSchedule``; rooms: ``GET places/microsoft.graph.room``, room
  lists ``GET places/microsoft.graph.roomlist`` and a list's rooms ``GET places/{list}/microsoft.graph.roomlist/rooms``;
  a room is booked, read and released on the event (its mailbox as a ``resource`` attendee).
* changes: ``GET users/{mailbox}/calendarView/delta`` (extra); bulk cancels: ``POST $batch`` (extra).
* attendance: the Teams meeting's attendance reports, ``GET users/{organizerId}/onlineMeetings/{meetingId}/
  attendanceReports`` and their ``attendanceRecords`` (see :mod:`.attendance`).

Every request asks ``Prefer: outlook.timezone="<response_timezone>", IdType="ImmutableId"``: ids that survive a
move between folders, and times in a known zone. Requests to one mailbox go through a per-mailbox limiter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlencode

from pydantic import BaseModel

from lms_connectors.adapter import (
    Adapter,
    AdapterKind,
    BusyInterval,
    Capability,
    DiagnosticCheck,
    Presence,
    RoomResponse,
)
from lms_connectors.errors import (
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ResponseLost,
    TransientError,
    ValidationError,
)
from lms_connectors.feeds import FeedPage
from lms_connectors.http.pagination import paginate_by_next_url
from lms_connectors.models import Person, ProviderRef, ProviderSession, Registrations, Room, RosterMember, Session
from lms_connectors.patience import Patience
from lms_connectors.push import PushChannel
from lms_connectors.stale_writes import holds_slot, settle_refused_write
from lms_connectors.timezones import format_utc, require_window
from lms_connectors_microsoft_graph import attendance, feed
from lms_connectors_microsoft_graph.answers import (
    Calendar,
    Event,
    EventPage,
    Mailbox,
    RoomListPage,
    RoomPage,
    Schedules,
)
from lms_connectors_microsoft_graph.auth import MsalClientCredentials, TransportHttpClient
from lms_connectors_microsoft_graph.batch import BatchItem, run_batch
from lms_connectors_microsoft_graph.config import MicrosoftGraphConfig
from lms_connectors_microsoft_graph.errors import classify_graph_response, classify_login_response
from lms_connectors_microsoft_graph.limiter import MailboxLimiter
from lms_connectors_microsoft_graph.mapping import (
    PROVIDER,
    event_body,
    event_key,
    expand_properties,
    key_filter,
    learner_attendees,
    merge_attendees,
    owned_fingerprint,
    provider_ref,
    provider_session,
    reschedule_patch,
    room_answer,
    room_attendee,
    room_response,
    roster_member,
    teams_pending,
    wants_teams,
)
from lms_connectors_microsoft_graph.times import parse_graph_datetime

__all__ = ["DeltaPage", "MicrosoftGraphAdapter", "RoomList"]

_ROSTER_ATTEMPTS = 3  # read-merge-write rounds when someone else changes the attendees in between
_SCHEDULE_BATCH = 20  # schedules asked per getSchedule call
_UNANSWERED = frozenset({"none", "notResponded"})
_UNCERTAIN_CREATE_CODES = frozenset({"ConcurrentItemSave", "ErrorIrresolvableConflict"})
_Place = TypeVar("_Place")


@dataclass(frozen=True)
class DeltaPage:
    """What changed in the organizer's calendar window since the last delta round.

    Attributes:
        changed: Events created or changed (moved, retitled, answered) in the window; match ids with the ledger.
        removed: Ids of events deleted or cancelled since.
        delta_link: Pass it to the next :meth:`MicrosoftGraphAdapter.ex_changes` call.
    """

    changed: tuple[ProviderSession, ...]
    removed: tuple[str, ...]
    delta_link: str


@dataclass(frozen=True)
class RoomList:
    """A room list of the tenant (a building or a group of rooms, ``microsoft.graph.roomList``).

    Attributes:
        email: The list's address: pass it to :meth:`MicrosoftGraphAdapter.list_rooms` as ``room_list``.
        name: Its display name.
    """

    email: str
    name: str


class MicrosoftGraphAdapter(Adapter[MicrosoftGraphConfig]):
    """Sessions as Outlook events, learners as attendees, Teams links, rooms as resource attendees.

    The constructor is :class:`~lms_connectors.adapter.Adapter`'s (its ``sleep`` also paces the waits for
    Outlook's asynchronous work), plus ``token_cache``: an msal token cache to share (default: in memory, or
    ``config.token_cache_path``).
    """

    name: ClassVar[str] = "microsoft_graph"
    display_name: ClassVar[str] = "Microsoft Graph (Outlook, Teams)"
    kind: ClassVar[AdapterKind] = AdapterKind.CALENDAR
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.RESCHEDULE_IN_PLACE, Capability.MEETING_LINK, Capability.PUBLISHES_MEETING_LINK,
        Capability.NATIVE_IDEMPOTENCY, Capability.NOTIFIES_ATTENDEES
    })
    lookup_before_create: ClassVar[bool | None] = True
    """Graph's ``transactionId`` reduces duplicates without ruling them out: look the key up first anyway."""

    def setup(self) -> None:
        """Msal's client-credentials flow over a login transport, then the Graph transport."""
        config = self.config
        credential = config.client_secret or config.certificate_private_key
        self.login_transport = self.token_transport(
            config.login_base_url,
            name="login",
            classifier=classify_login_response,
            extra_secrets=[credential.get_secret_value()] if credential is not None else [],
        )
        self.auth = MsalClientCredentials(config, TransportHttpClient(self.login_transport, config.login_base_url))
        self.api_transport(auth=self.auth, classifier=classify_graph_response)
        self.limiter = MailboxLimiter(f"{config.tenant_id}/{config.client_id}", config.mailbox_concurrency)
        # The newest etag each event had when this adapter's own write left it, kept while the fields the SDK
        # owns are as the ref knows them: a roster change moves the etag, and a reschedule sent with the ref's
        # older etag would cost a refused PATCH, a GET and a second PATCH.
        self._etags: dict[str, str] = {}
        self.organizer_object_id: str | None = None
        """The organizer's object id, once read (the online-meeting API is addressed by it)."""
        self.meeting_ids: dict[str, str] = {}
        """Online-meeting ids by join link, once looked up."""

    # -- standard API ------------------------------------------------------------------------------

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """Create the session's event in the organizer's calendar, carrying ``key``.

        :calls: ``POST users/{mailbox}/events``; then ``GET users/{mailbox}/events/{id}`` while the Teams link or
        the room's answer is outstanding.

        The body carries ``transactionId`` (the same for every attempt with ``key``): Graph drops a resent
        create. Graph documents that as reducing duplicates, not ruling them out, so the base class looks the
        key up before a create that may have been sent before (:attr:`lookup_before_create`), and after a lost
        answer before anything else.

        Outlook attaches the Teams link and the room mailbox answers asynchronously: the event is read again
        (for up to ``teams_wait_seconds`` / ``room_wait_seconds``) until they are there. An event without its
        link, or whose room declined, is deleted before the error is raised: nothing half-made is left.

        Raises:
            Conflict: The session's room is booked at that time (it declined).
            ResponseLost: The answer was lost, or was ``ConcurrentItemSave``/``ErrorIrresolvableConflict`` (the
                event may exist: the base rule looks the key up).
            TransientError: Outlook had not attached the Teams link in time.
        """
        body = event_body(session, key=key)
        try:
            event = self._as_event(
                self.call("POST", self._events_path(), json=body, operation="events.create", shape=Event)
            )
        except (TransientError, Conflict) as exc:
            # ConcurrentItemSave (503) and ErrorIrresolvableConflict (412, reported on creates without any
            # If-Match) come after Exchange may have saved the event: an unknown outcome, like a lost answer, so
            # the base rule looks the key up before anything else.
            if exc.code not in _UNCERTAIN_CREATE_CODES:
                raise
            raise ResponseLost(
                f"Graph answered {exc.code} to the create: the event may have been saved",
                provider=self.name, status=exc.status, code=exc.code, body_excerpt=exc.body_excerpt,
                request_id=exc.request_id,
            ) from exc
        # Graph answers a create without the extended properties (they come only with $expand): they are the
        # ones just written, and the ref needs them (key, meta).
        event.setdefault("singleValueExtendedProperties", body["singleValueExtendedProperties"])
        try:
            event = self._await_outlook(event, session)
        except ConnectorError:
            self._delete(str(event["id"]))
            raise
        ref = self._ref(event)
        self._remember(ref, event)
        return ref

    def find_session(self, key: str) -> ProviderRef | None:
        """The live event a create with ``key`` made, or ``None``.

        :calls: ``GET users/{mailbox}/events?$filter=singleValueExtendedProperties/Any(...)``
        """
        event = self._find_event(key)
        return self._ref(event) if event is not None else None

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """Read the event back (a cancelled one reads back with ``cancelled=True`` while Outlook keeps it).

        :calls: ``GET users/{mailbox}/events/{id}``

        Raises:
            NotFound: The event does not exist (deleted).
        """
        return provider_session(self._get_event(ref.external_id), self.config.organizer)

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """Move the event in place (same id); Outlook sends the attendees an update.

        :calls: ``PATCH users/{mailbox}/events/{id}`` with ``If-Match``; on a 412, ``GET`` the event and, when
        only fields the SDK does not own changed, ``PATCH`` once more.

        Raises:
            Conflict: Someone else moved or retitled the event in Outlook since ``ref`` was read.
        """
        body = reschedule_patch(session)
        try:
            event = self._patch_event(ref.external_id, body, etag=self._etags.get(ref.external_id, ref.version))
        except Conflict as exc:
            event = settle_refused_write(
                exc,
                ref,
                read=lambda: self._get_event(ref.external_id),
                landed=lambda current: holds_slot(session, current, parse_graph_datetime, title_field="subject"),
                owned=owned_fingerprint,
                write_again=lambda current: self._patch_event(ref.external_id, body, etag=_etag(current)),
                someone_else=(
                    "someone else moved or retitled the event in Outlook since it was read; read it again first"
                ),
            )
        moved = self._ref(event)
        self._remember(moved, event)
        return moved

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """Cancel the event; attendees receive ``cancel_comment`` when ``notify``. Already gone: success.

        :calls: ``POST users/{mailbox}/events/{id}/cancel`` (202), or ``DELETE users/{mailbox}/events/{id}``
        when Graph refuses the action (400: not a meeting this mailbox organizes, already cancelled) or when
        ``notify`` is false (an organizer's delete still tells attendees Outlook had invited).
        """
        self._etags.pop(ref.external_id, None)
        if notify:
            try:
                self.call(
                    "POST",
                    f"{self._event_path(ref.external_id)}/cancel",
                    json={"comment": self.config.cancel_comment},
                    # Cancelling twice leaves the event cancelled: safe to resend.
                    idempotent=True,
                    operation="events.cancel",
                )
                return
            except NotFound:
                return
            except InvalidRequest:
                pass
        self._delete(ref.external_id)

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """Add ``people`` as attendees (Outlook invites them); everyone already there stays.

        :calls: ``GET users/{mailbox}/events/{id}``, then ``PATCH`` (``If-Match``) with the whole list when
        someone is new.

        Raises:
            NotFound: The event does not exist or was cancelled.
            Conflict: Someone kept changing the attendees between our read and write (after 3 rounds).
        """
        emails = {person.email.lower() for person in people}
        event = self._change_attendees(ref, add=people)
        return [roster_member(item) for item in learner_attendees(event) if roster_member(item).email in emails]

    def unenrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *,
        registrations: Registrations | None = None,
    ) -> None:
        """Remove ``people`` (and only them) from the attendees; Outlook tells them.

        :calls: ``GET users/{mailbox}/events/{id}``, then ``PATCH`` (``If-Match``) when one of them was there.
        """
        self._change_attendees(ref, remove=[person.email for person in people])

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """The event's learners (rooms, organizer and instructors left out).

        :calls: ``GET users/{mailbox}/events/{id}`` (attendees come whole with the event: no paging).
        """
        event = self._get_event(ref.external_id)
        return iter([roster_member(item) for item in learner_attendees(event)])

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """Every event of this SDK that starts in ``[start, end)``, page after page.

        :calls: ``GET users/{mailbox}/calendarView?startDateTime&endDateTime`` and its ``@odata.nextLink`` pages.
        """
        require_window(start, end)
        params: dict[str, Any] = {
            "startDateTime": _utc_text(start),
            "endDateTime": _utc_text(end),
            "$expand": expand_properties(),
            "$orderby": "start/dateTime",
        }
        if page_size is not None:
            params["$top"] = page_size
        first = self.transport.url_for(self._mailbox_path("calendarView"))
        calls = 0

        def fetch_page(url: str) -> tuple[list[ProviderSession], str | None]:
            nonlocal calls
            calls += 1
            page = self.call("GET", url, params=params if calls == 1 else None, operation="calendarView.list",
                             shape=EventPage)
            items = _page_items(page)
            sessions = [
                provider_session(item, self.config.organizer)
                for item in items
                if event_key(item) is not None
                and not item.get("isCancelled")
                and start <= parse_graph_datetime(item.get("start"), "start") < end
            ]
            return sessions, _next_link(page)

        return paginate_by_next_url(fetch_page, first)

    def list_attendance(self, ref: ProviderRef) -> Iterator[Presence]:
        """Who joined the event's Teams meeting during its session, one record per stay (lazily paged).

        Reads the attendance reports Teams writes each time the meeting ends, keeps those of this session (a
        meeting reused by a series, or reopened, has several) and yields every interval of every person with an
        email (anonymous guests are left out). See :mod:`lms_connectors_microsoft_graph.attendance`.

        :calls: ``GET users/{mailbox}/events/{id}``, ``GET users/{mailbox}?$select=id`` (once per adapter),
        ``GET users/{organizerId}/onlineMeetings?$filter=JoinWebUrl eq '...'`` (once per meeting),
        ``GET .../onlineMeetings/{meetingId}/attendanceReports``, and ``GET .../attendanceReports/{reportId}/
        attendanceRecords`` per report of the session (each with its ``@odata.nextLink`` pages).

        Raises:
            NotSupported: ``attendance_reports`` is off.
            NotFound: The event is gone or has no Teams meeting, or no report of the session exists yet.
            PermissionDenied: ``OnlineMeetings.Read.All``, ``OnlineMeetingArtifact.Read.All`` or the application
                access policy for the organizer is missing (the message says how to grant them).
        """
        if not self.supports(Capability.ATTENDANCE):
            raise self._unsupported(Capability.ATTENDANCE)
        return attendance.list_attendance(self, ref, self._get_event(ref.external_id))

    def supports(self, capability: Capability) -> bool:
        """Whether this adapter offers ``capability``; attendance only with ``attendance_reports`` on.

        An app without the attendance permissions turns it off, and ``collect_attendance`` leaves this adapter out.
        """
        if capability is Capability.ATTENDANCE and not self.config.attendance_reports:
            return False
        return super().supports(capability)

    def free_busy(self, emails: Sequence[str], start: datetime, end: datetime) -> dict[str, list[BusyInterval]]:
        """Busy intervals of people or rooms in ``[start, end)`` (tentative and away count as busy).

        :calls: ``POST users/{mailbox}/calendar/getSchedule`` (one per 20 schedules).

        Raises:
            NotFound: Graph could not read one of the schedules (unknown, or not shared).
        """
        require_window(start, end)
        result: dict[str, list[BusyInterval]] = {}
        for offset in range(0, len(emails), _SCHEDULE_BATCH):
            batch = list(emails[offset : offset + _SCHEDULE_BATCH])
            body = {
                "schedules": batch,
                "startTime": {"dateTime": _utc_naive(start), "timeZone": "UTC"},
                "endTime": {"dateTime": _utc_naive(end), "timeZone": "UTC"},
                "availabilityViewInterval": 15,
            }
            answer = self.call(
                "POST", self._mailbox_path("calendar/getSchedule"), json=body, idempotent=True,
                operation="calendar.getSchedule", shape=Schedules,
            )
            by_id = {
                str(item.get("scheduleId", "")).lower(): item for item in _page_items(answer)
            }
            for email in batch:
                result[email] = _busy_of(email, by_id.get(email.lower()))
        return result

    def diagnose(self) -> list[DiagnosticCheck]:
        """Check the token, the organizer mailbox, calendar write access, Teams links and room listing.

        An application access policy (Exchange RBAC for Applications) that leaves the organizer out of the
        application's scope answers 403 ``ErrorAccessDenied`` on the mailbox itself: the ``mailbox`` check says so
        and names the command that shows which policy applies. Teams links are made on the event
        (``isOnlineMeeting``), so they need ``Calendars.ReadWrite`` and a calendar that allows ``teamsForBusiness``
        (``allowedOnlineMeetingProviders``); ``OnlineMeetings.ReadWrite.All`` is needed only by the
        ``onlineMeetings`` API to make meetings, which this adapter does not do.

        With ``attendance_reports`` on, the ``attendance`` check reads the application permissions the token
        names (its ``roles``): ``OnlineMeetings.Read.All`` and ``OnlineMeetingArtifact.Read.All``. The
        application access policy those need cannot be seen without a meeting to read: the first attendance
        read that it refuses says how to grant it.

        :calls: the token endpoint, ``GET users/{mailbox}``, ``GET users/{mailbox}/calendar``,
        ``GET places/microsoft.graph.room?$top=1``.
        """
        checks: list[DiagnosticCheck] = []

        def check(name: str, action: Callable[[], str]) -> None:
            try:
                checks.append(DiagnosticCheck(name=name, ok=True, detail=action()))
            except ConnectorError as exc:
                checks.append(DiagnosticCheck(name=name, ok=False, detail=f"{type(exc).__name__}: {exc}"))

        def token() -> str:
            self.auth.token()
            return "client credentials accepted by the identity platform"

        def mailbox() -> str:
            try:
                user = self.call("GET", self._mailbox_path(""), params={"$select": "id,mail,userPrincipalName"},
                                  operation="users.get", shape=Mailbox)
            except PermissionDenied as denied:
                raise PermissionDenied(
                    f"the application may not open the organizer mailbox {self.config.organizer}: an application "
                    "access policy (Exchange RBAC for Applications) leaves it out of the application's scope, or "
                    "Calendars.ReadWrite is not granted; 'Test-ApplicationAccessPolicy -Identity "
                    f"{self.config.organizer} -AppId {self.config.client_id}' shows which policy applies",
                    provider=self.name, status=denied.status, code=denied.code, body_excerpt=denied.body_excerpt,
                ) from denied
            return (f"organizer mailbox {user.get('mail') or user.get('userPrincipalName') or user.get('id')} "
                    "(the application access policy, if any, includes it)")

        calendar_answer: dict[str, Any] = {}

        def calendar() -> str:
            found = self.call("GET", self._mailbox_path("calendar"),
                              params={"$select": "id,canEdit,owner,allowedOnlineMeetingProviders"},
                              operation="calendar.get", shape=Calendar)
            calendar_answer.update(found)
            if not found.get("canEdit", True):
                raise InvalidRequest("the application may read but not write the organizer's calendar",
                                     provider=self.name)
            return "Calendars.ReadWrite: the organizer's calendar is writable"

        def teams() -> str:
            allowed = calendar_answer.get("allowedOnlineMeetingProviders")
            if allowed is not None and "teamsForBusiness" not in allowed:
                raise InvalidRequest(
                    "the organizer's calendar cannot make Teams meetings (allowedOnlineMeetingProviders: "
                    f"{', '.join(allowed) or 'none'}): virtual sessions need another meeting provider",
                    provider=self.name)
            return ("Teams links are made on the event (isOnlineMeeting; the calendar allows teamsForBusiness); "
                    "OnlineMeetings.ReadWrite.All is not used")

        def reports() -> str:
            roles = attendance.granted_roles(self.auth.token())
            if roles is None:
                return ("the token does not name its permissions; the first attendance read will show whether "
                        "OnlineMeetings.Read.All and OnlineMeetingArtifact.Read.All are granted")
            missing = attendance.missing_roles(roles)
            if missing:
                raise PermissionDenied(f"attendance reports need {' and '.join(missing)}: {attendance.POLICY_HINT}",
                                       provider=self.name)
            return (f"{' and '.join(attendance.READ_ROLES)} granted (the organizer must also be in an application "
                    "access policy; a read it refuses names the commands)")

        def rooms() -> str:
            self.call("GET", "places/microsoft.graph.room", params={"$top": 1}, operation="places.rooms",
                      shape=RoomPage)
            return "Place.Read.All: rooms can be listed"

        check("token", token)
        if checks[-1].ok:
            check("mailbox", mailbox)
            check("calendar", calendar)
            if checks[-1].ok:
                check("teams", teams)
            if self.config.attendance_reports:
                check("attendance", reports)
            check("rooms", rooms)
        return checks

    def list_rooms(self, *, page_size: int | None = None, room_list: str | None = None) -> Iterator[Room]:
        """The tenant's rooms, or one room list's (capacity, building, floor, features), page after page.

        :calls: ``GET places/microsoft.graph.room`` (or ``GET places/{room_list}/microsoft.graph.roomlist/rooms``)
        and its ``@odata.nextLink`` pages.

        Args:
            page_size: ``$top``.
            room_list: The email of a room list (:meth:`ex_room_lists`): only its rooms.
        """
        path = "places/microsoft.graph.room"
        if room_list is not None:
            path = f"places/{quote(room_list, safe='@')}/microsoft.graph.roomlist/rooms"
        return self._places(path, page_size, "places.rooms", RoomPage, _room)

    def room_response(self, ref: ProviderRef, room: Room) -> RoomResponse:
        """The room mailbox's answer on the event (``none``/``notResponded``: :attr:`RoomResponse.PENDING`).

        The mailbox answers asynchronously: a booking read right after it is made may still be pending.

        :calls: ``GET users/{mailbox}/events/{id}``

        Raises:
            NotFound: The event does not exist, or does not invite ``room``.
        """
        answer = room_answer(self._get_event(ref.external_id), room)
        if answer is None:
            raise NotFound(f"event {ref.external_id} does not book room {room.email or room.id}", provider=self.name)
        return answer

    def book_room(self, ref: ProviderRef, session: Session) -> tuple[ProviderRef, RoomResponse]:
        """Invite ``session.room``'s mailbox to the event (``resource`` attendee and location) and read its answer.

        :calls: ``GET users/{mailbox}/events/{id}``, ``PATCH`` (``If-Match``) with the whole attendee list and the
        location, then ``GET`` while the room has not answered (up to ``room_wait_seconds``); on a decline a
        second ``PATCH`` takes the room off again.

        Raises:
            ValidationError: The session has no room Exchange books (no mailbox, another holder).
            Conflict: The room declined (it is booked then); the event is left without it.
        """
        room = session.room
        attendee = room_attendee(room) if room is not None else None
        if room is None or attendee is None:
            raise ValidationError(f"session {session.id!r} has no Microsoft 365 room to book", field="room")
        event = self._get_event(ref.external_id)
        attendees, _ = merge_attendees(event.get("attendees") or [], remove=[room.email or ""])
        body = {**reschedule_patch(session), "attendees": [*attendees, attendee]}
        patched = self._patch_event(ref.external_id, body, etag=_etag(event))
        try:
            patched = self._await_outlook(patched, session)
        except Conflict:
            self.release_room(self._ref(patched), session.model_copy(update={"room": None}), room)
            raise
        booked = self._ref(patched)
        self._remember(booked, patched)
        return booked, room_answer(patched, room) or RoomResponse.PENDING

    def release_room(self, ref: ProviderRef, session: Session, room: Room) -> ProviderRef:
        """Take ``room`` off the event (attendee and location); the event shows ``session`` afterwards.

        :calls: ``GET users/{mailbox}/events/{id}``, then ``PATCH`` (``If-Match``) when the room is still invited.
        """
        event = self._get_event(ref.external_id)
        if room_answer(event, room) is None:
            return self._ref(event)
        attendees, _ = merge_attendees(event.get("attendees") or [], remove=[room.email or ""])
        patched = self._patch_event(ref.external_id, {**reschedule_patch(session), "attendees": attendees},
                                    etag=_etag(event))
        released = self._ref(patched)
        self._remember(released, patched)
        return released

    def close(self) -> None:
        """Close the HTTP session."""
        self.transport.close()

    # -- provider extras ------------------------------------------------------------------------------

    def ex_changes(self, start: datetime, end: datetime, *, delta_link: str | None = None) -> DeltaPage:
        """What changed in Outlook in ``[start, end)`` since ``delta_link`` (everything on the first round).

        :calls: ``GET users/{mailbox}/calendarView/delta?startDateTime&endDateTime`` (or the ``delta_link``) and
        its ``@odata.nextLink`` pages, until Graph answers an ``@odata.deltaLink``.

        Delta answers cannot ``$expand`` extended properties, so every changed event of the mailbox is reported:
        match their ids with the ledger's refs. An event removed from the window (deleted, cancelled) comes as
        ``@removed`` and is reported by id. Keep ``delta_link`` for the next round.
        """
        if delta_link is None:
            require_window(start, end)
            url = self.transport.url_for(self._mailbox_path("calendarView/delta"))
            params: dict[str, Any] | None = {"startDateTime": _utc_text(start), "endDateTime": _utc_text(end)}
        else:
            url, params = delta_link, None
        changed: list[ProviderSession] = []
        removed: list[str] = []
        seen: set[str] = set()
        while True:
            if url in seen:
                raise MalformedResponse("calendarView/delta sent the same page link twice", provider=self.name)
            seen.add(url)
            page = self.call("GET", url, params=params, operation="calendarView.delta", shape=EventPage)
            params = None
            for item in _page_items(page):
                if "@removed" in item or item.get("isCancelled"):
                    removed.append(str(item.get("id")))
                else:
                    changed.append(provider_session(item, self.config.organizer))
            following = _next_link(page)
            if following is None:
                final = page.get("@odata.deltaLink") if isinstance(page, dict) else None
                if not isinstance(final, str):
                    raise MalformedResponse("calendarView/delta ended without a deltaLink", provider=self.name)
                return DeltaPage(tuple(changed), tuple(removed), final)
            url = following

    # -- change feed and subscriptions ------------------------------------------------------------------

    @property
    def feed_scope(self) -> str:
        """The mailbox the change feed and the subscriptions read (the ledger keeps one delta link for it)."""
        return self.config.organizer

    def read_changes(self, cursor: str | None, start: datetime, end: datetime) -> FeedPage:
        """A ``calendarView/delta`` round from the kept delta link (a new round over ``[start, end)`` without one).

        :calls: ``GET users/{mailbox}/calendarView/delta`` and its pages (see :mod:`.feed`).

        Raises:
            CursorExpired: Graph no longer accepts the delta link (410).
        """
        return feed.read_changes(self, cursor, start, end)

    def open_channel(self, address: str, channel_id: str, token: str) -> PushChannel:
        """Subscribe to the organizer's events with ``token`` as ``clientState`` (Graph chooses the id).

        :calls: ``POST /subscriptions``
        """
        return feed.open_channel(self, address, token)

    def close_channel(self, channel: PushChannel) -> None:
        """Delete a subscription.

        :calls: ``DELETE /subscriptions/{id}``
        """
        feed.close_channel(self, channel)

    def ex_room_lists(self, *, page_size: int | None = None) -> Iterator[RoomList]:
        """The tenant's room lists (buildings), page after page; list one's rooms with ``list_rooms(room_list=...)``.

        :calls: ``GET places/microsoft.graph.roomlist`` and its ``@odata.nextLink`` pages.
        """
        return self._places("places/microsoft.graph.roomlist", page_size, "places.roomLists", RoomListPage, _room_list)

    def ex_get_many(self, refs: Sequence[ProviderRef]) -> dict[str, ProviderSession | ConnectorError]:
        """Read many events (a cohort's sessions) in ``$batch`` calls of up to 20 instead of one call each.

        The items are chained with ``dependsOn`` like every batch to one mailbox, so Outlook runs them one after
        another within its 4 concurrent requests; an item that fails (an event deleted in Outlook) is answered on
        its own and the items after it go again in the next batch.

        :calls: ``POST $batch`` (one per 20 events, plus one more per failed item's broken chain).

        Returns:
            For each event id: the event as read, or the item's error (:class:`NotFound` for one deleted).
        """
        query = urlencode({"$expand": expand_properties()}, quote_via=quote)
        items = [BatchItem(id=str(index), method="GET", url=f"/{self._event_path(ref.external_id)}?{query}")
                 for index, ref in enumerate(refs)]
        answers = run_batch(self.call, self.runtime.sleep, items, operation="batch.get")
        found: dict[str, ProviderSession | ConnectorError] = {}
        for index, ref in enumerate(refs):
            answer = answers[str(index)]
            found[ref.external_id] = (answer.error if answer.error is not None
                                      else provider_session(self._as_event(answer.body), self.config.organizer))
        return found

    def ex_cancel_many(self, refs: Sequence[ProviderRef]) -> dict[str, ConnectorError | None]:
        """Cancel many events in ``$batch`` calls of up to 20, chained with ``dependsOn`` per mailbox.

        :calls: ``POST $batch`` (one per 20 events; items Graph throttles are sent again in a later batch).

        Returns:
            For each event id: ``None`` when it is cancelled (or was already gone), else the item's error.
        """
        items = [
            BatchItem(
                id=str(index),
                method="POST",
                url=f"/{self._event_path(ref.external_id)}/cancel",
                body={"comment": self.config.cancel_comment},
            )
            for index, ref in enumerate(refs)
        ]
        answers = run_batch(self.call, self.runtime.sleep, items, operation="batch.cancel")
        outcome: dict[str, ConnectorError | None] = {}
        for index, ref in enumerate(refs):
            error = answers[str(index)].error
            outcome[ref.external_id] = None if error is None or isinstance(error, NotFound) else error
        return outcome

    # -- helpers --------------------------------------------------------------------------------------

    def _places(
        self,
        path: str,
        page_size: int | None,
        operation: str,
        shape: type[BaseModel],
        parse: Callable[[Mapping[str, Any]], _Place],
    ) -> Iterator[_Place]:
        params = {"$top": page_size} if page_size is not None else None
        calls = 0

        def fetch_page(url: str) -> tuple[list[_Place], str | None]:
            nonlocal calls
            calls += 1
            page = self.call("GET", url, params=params if calls == 1 else None, operation=operation, shape=shape)
            return [parse(item) for item in _page_items(page)], _next_link(page)

        return paginate_by_next_url(fetch_page, self.transport.url_for(path))

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        operation: str | None = None,
        shape: type[BaseModel] | None = None,
    ) -> Any:
        """Send one Graph request through the mailbox limiter, with the adapter's ``Prefer`` header.

        ``shape`` is the answer's checked shape (:mod:`lms_connectors_microsoft_graph.answers`): an answer of
        another shape is a :class:`~lms_connectors.errors.MalformedResponse` naming the endpoint and the field.

        :calls: whatever ``method`` and ``url`` name (used by the batch helper and the harness).
        """
        sent = {"Prefer": f'outlook.timezone="{self.config.response_timezone}", IdType="ImmutableId"'}
        if headers:
            sent.update(headers)
        with self.limiter.slot(self.config.organizer):
            return self.transport.request_json(
                method, url, params=params, json=json, headers=sent, idempotent=idempotent, operation=operation,
                shape=shape,
            )

    def _mailbox_path(self, rest: str) -> str:
        base = f"users/{quote(self.config.organizer, safe='@')}"
        return f"{base}/{rest}" if rest else base

    def _events_path(self) -> str:
        return self._mailbox_path("events")

    def _event_path(self, event_id: str) -> str:
        return f"{self._events_path()}/{quote(event_id, safe='')}"

    def _ref(self, event: Mapping[str, Any]) -> ProviderRef:
        return provider_ref(event, self.config.organizer)

    def _remember(self, ref: ProviderRef, event: Mapping[str, Any]) -> None:
        """Keep the etag this adapter's own write left, while the SDK-owned fields are as ``ref`` knows them."""
        etag = _etag(event)
        if etag is not None and ref.extra.get("owned") == owned_fingerprint(event):
            self._etags[ref.external_id] = etag
        else:
            self._etags.pop(ref.external_id, None)

    def _as_event(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            raise MalformedResponse("Graph answered without an event object", provider=self.name)
        return value

    def _get_event(self, event_id: str) -> dict[str, Any]:
        return self._as_event(
            self.call("GET", self._event_path(event_id), params={"$expand": expand_properties()},
                       operation="events.get", shape=Event)
        )

    def _find_event(self, key: str) -> dict[str, Any] | None:
        page = self.call(
            "GET",
            self._events_path(),
            params={"$filter": key_filter(key), "$expand": expand_properties(), "$top": 5},
            operation="events.find",
            shape=EventPage,
        )
        for item in _page_items(page):
            if event_key(item) == key and not item.get("isCancelled"):
                return self._as_event(item)
        return None

    def _patch_event(self, event_id: str, body: dict[str, Any], *, etag: str | None) -> dict[str, Any]:
        event = self._as_event(
            self.call(
                "PATCH",
                self._event_path(event_id),
                params={"$expand": expand_properties()},
                json=body,
                headers={"If-Match": etag} if etag else None,
                idempotent=True,  # the body sets absolute values: sending it twice changes nothing more
                operation="events.update",
                shape=Event,
            )
        )
        if "singleValueExtendedProperties" in body:
            written = {item["id"].casefold(): item for item in body["singleValueExtendedProperties"]}
            kept = [p for p in event.get("singleValueExtendedProperties") or () if isinstance(p, dict)
                    and str(p.get("id", "")).casefold() not in written]
            event["singleValueExtendedProperties"] = [*kept, *written.values()]
        return event

    def _delete(self, event_id: str) -> None:
        try:
            self.call("DELETE", self._event_path(event_id), operation="events.delete")
        except NotFound:
            return

    def _await_outlook(self, event: dict[str, Any], session: Session) -> dict[str, Any]:
        """Read the event again while Outlook is still attaching its Teams link or the room has not answered."""
        room_email = session.room.email if session.room is not None else None
        teams = wants_teams(session)
        patience = Patience(self.runtime.sleep)
        while True:
            link_missing = teams and teams_pending(event)
            answer = room_response(event, room_email) if room_email else None
            if answer == "declined":
                raise Conflict(
                    f"room {room_email} is already booked at that time (it declined the event)",
                    provider=self.name,
                    code="roomDeclined",
                )
            room_waiting = answer in _UNANSWERED and not patience.used_up(self.config.room_wait_seconds)
            if not link_missing and not room_waiting:
                return event
            if link_missing and patience.used_up(self.config.teams_wait_seconds):
                raise patience.gave_up(f"Outlook had not attached the Teams link of event {event.get('id')}",
                                       provider=self.name, code="onlineMeetingPending")
            patience.pause()
            event = self._get_event(str(event["id"]))

    def _change_attendees(
        self, ref: ProviderRef, *, add: Sequence[Person] = (), remove: Sequence[str] = ()
    ) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            event = self._get_event(ref.external_id)
            if event.get("isCancelled"):
                raise NotFound(f"event {ref.external_id} was cancelled: its roster is closed", provider=self.name)
            attendees, changed = merge_attendees(event.get("attendees") or [], add=add, remove=remove)
            if not changed:
                return event
            try:
                # PATCH replaces the whole list: If-Match makes Graph refuse our write (412) when someone changed
                # the event since our read, instead of our list dropping their attendee; then read and merge again.
                patched = self._patch_event(ref.external_id, {"attendees": attendees}, etag=_etag(event))
                self._remember(ref, patched)
                return patched
            except Conflict:
                if attempt >= _ROSTER_ATTEMPTS:
                    raise


def _etag(event: Mapping[str, Any]) -> str | None:
    etag = event.get("@odata.etag")
    return etag if isinstance(etag, str) and etag else None


def _utc_text(value: datetime) -> str:
    return format_utc(value)


def _utc_naive(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _page_items(page: Any) -> list[dict[str, Any]]:
    if not isinstance(page, dict) or not isinstance(page.get("value"), list):
        raise MalformedResponse("Graph answered a collection without 'value'", provider=PROVIDER)
    return [item for item in page["value"] if isinstance(item, dict)]


def _next_link(page: Any) -> str | None:
    link = page.get("@odata.nextLink") if isinstance(page, dict) else None
    return link if isinstance(link, str) and link else None


_BUSY_STATUSES = frozenset({"busy", "tentative", "oof", "workingElsewhere"})


def _busy_of(email: str, schedule: Any) -> list[BusyInterval]:
    if not isinstance(schedule, dict):
        raise MalformedResponse(f"getSchedule answered nothing for {email}", provider=PROVIDER)
    error = schedule.get("error")
    if isinstance(error, dict):
        raise NotFound(f"free/busy of {email} unavailable: {error.get('message') or error.get('responseCode')}",
                       provider=PROVIDER, code=str(error.get("responseCode") or ""))
    busy = []
    for item in schedule.get("scheduleItems") or ():
        if isinstance(item, dict) and item.get("status") in _BUSY_STATUSES:
            busy.append(
                BusyInterval(
                    start=parse_graph_datetime(item.get("start"), "start"),
                    end=parse_graph_datetime(item.get("end"), "end"),
                )
            )
    return busy


def _room(item: Mapping[str, Any]) -> Room:
    capacity = item.get("capacity")
    floor = item.get("floorLabel") or (f"floor {item['floorNumber']}" if item.get("floorNumber") is not None else None)
    parts = [str(part) for part in (item.get("building"), floor) if part]
    if item.get("isWheelChairAccessible"):
        parts.append("wheelchair accessible")
    email = item.get("emailAddress")
    return Room(
        id=str(item.get("id") or email),
        name=str(item.get("displayName") or email),
        email=email if isinstance(email, str) and email else None,
        capacity=capacity if isinstance(capacity, int) and capacity > 0 else None,
        location=", ".join(parts) or None,
        features=_room_features(item),
        provider=PROVIDER,
    )


def _room_features(item: Mapping[str, Any]) -> tuple[str, ...]:
    """The room's ``tags``, its devices (``audio``, ``video``, ``display``) and wheelchair access, lower case."""
    found: list[str] = []
    tags = item.get("tags")
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, str) and tag.strip():
            found.append(tag.strip().lower())
    for field, feature in (("audioDeviceName", "audio"), ("videoDeviceName", "video"), ("displayDeviceName", "display"),
                           ("displayDevice", "display")):
        if item.get(field):
            found.append(feature)
    if item.get("isWheelChairAccessible"):
        found.append("wheelchair accessible")
    return tuple(dict.fromkeys(found))


def _room_list(item: Mapping[str, Any]) -> RoomList:
    email = item.get("emailAddress")
    if not isinstance(email, str) or not email:
        raise MalformedResponse("Graph answered a room list without its emailAddress", provider=PROVIDER)
    return RoomList(email=email, name=str(item.get("displayName") or email))
