"""The Google Calendar adapter: a training session is an event on the organizer's calendar.

Endpoints (Calendar API v3 unless said otherwise):

* create: ``POST calendars/{calendarId}/events`` (``events.insert``) with a client-chosen ``id`` derived from
  the idempotency key, so that a retried insert is refused by Google (409) instead of duplicating the event.
* find / read: ``GET calendars/{calendarId}/events/{eventId}`` (``events.get``).
* reschedule: ``PATCH calendars/{calendarId}/events/{eventId}`` (``events.patch``, ``If-Match`` etag).
* cancel: ``DELETE calendars/{calendarId}/events/{eventId}`` (``events.delete``, ``If-Match`` etag); Google
  keeps the event with ``status: cancelled`` (restorable by the organizer) and never frees its id.
* roster: the event's ``attendees``, read with ``events.get`` and written with ``events.patch``.
* listing: ``GET calendars/{calendarId}/events`` (``events.list``, page tokens).
* free/busy: ``POST freeBusy`` (``freebusy.query``).
* change feed: ``events.list`` with sync tokens; push channels: ``events.watch`` and ``channels.stop`` (see
  :mod:`~lms_connectors_google_calendar.feed`).
* rooms (extra): Admin SDK Directory ``GET customer/{customer}/resources/calendars``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from lms_connectors.adapter import Adapter, AdapterKind, BusyInterval, Capability, DiagnosticCheck, RoomResponse
from lms_connectors.errors import (
    Conflict,
    ConnectorError,
    MalformedResponse,
    NotFound,
    ProviderError,
    ValidationError,
)
from lms_connectors.feeds import FeedPage
from lms_connectors.http.pagination import paginate_by_token
from lms_connectors.models import Person, ProviderRef, ProviderSession, Registrations, Room, RosterMember, Session
from lms_connectors.patience import Patience
from lms_connectors.push import PushChannel
from lms_connectors.stale_writes import holds_slot, settle_refused_write
from lms_connectors.timezones import require_window
from lms_connectors_google_calendar import feed
from lms_connectors_google_calendar.answers import Event, EventPage, FreeBusy, ResourcePage
from lms_connectors_google_calendar.auth import google_auth
from lms_connectors_google_calendar.config import GoogleCalendarConfig
from lms_connectors_google_calendar.doctor import calendar_access, meet_permission, room_access
from lms_connectors_google_calendar.errors import classify_google_response
from lms_connectors_google_calendar.ids import event_id_for_key
from lms_connectors_google_calendar.mapping import (
    MANAGED_MARKER,
    PROVIDER,
    event_body,
    event_is_ours,
    event_key,
    event_reschedule_patch,
    is_cancelled,
    learner_attendees,
    meet_status,
    merge_attendees,
    owned_fingerprint,
    parse_datetime,
    provider_ref,
    provider_session,
    room_answer,
    room_attendee,
    roster_member,
)

__all__ = ["GoogleCalendarAdapter"]

_FREEBUSY_BATCH = 50  # calendarExpansionMax: Google's limit of calendars per freeBusy query
_ROSTER_ATTEMPTS = 3  # read-modify-write rounds when another writer changes the event in between
_KEPT_EVENTS = 1024  # events whose last write this adapter keeps (the most recent ones)


class GoogleCalendarAdapter(Adapter[GoogleCalendarConfig]):
    """Sessions as Google Calendar events, learners as attendees, Meet links, rooms as resource attendees."""

    name: ClassVar[str] = "google_calendar"
    display_name: ClassVar[str] = "Google Calendar"
    kind: ClassVar[AdapterKind] = AdapterKind.CALENDAR
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.RESCHEDULE_IN_PLACE, Capability.MEETING_LINK, Capability.PUBLISHES_MEETING_LINK,
        Capability.NATIVE_IDEMPOTENCY, Capability.NOTIFIES_ATTENDEES, Capability.ROSTER_AT_CREATE
    })

    def setup(self) -> None:
        """The token flow the configuration describes (refresh token or service account), then the API."""
        self.auth = google_auth(self.config, self.token_transport(self.config.token_uri))
        self.api_transport(auth=self.auth, classifier=classify_google_response)
        # Each event as this adapter's last write left it (its etag and attendees), kept only while the fields the
        # SDK owns are as the ref knows them: a roster change is then one PATCH merged onto the kept attendees
        # with the kept etag (no GET first), and a reschedule after a roster change does not meet a 412. Another
        # writer's change makes Google refuse the etag (412): the event is read, merged and written again.
        self._written: OrderedDict[str, dict[str, Any]] = OrderedDict()

    # -- standard API ------------------------------------------------------------------------------

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """Insert the session's event; idempotent for ``key`` by itself (no look-up is needed first).

        :calls: ``POST calendars/{calendarId}/events`` (then ``GET .../events/{eventId}`` on a 409). The learners
        already confirmed (``session.learners``) and the Meet request are part of that one insert.

        The event id is derived from ``key``, so the insert may be sent again safely: when an earlier attempt
        was committed but its answer lost, Google answers 409 and the existing event is read and returned.

        A Meet conference is made by Google asynchronously: while its status is ``pending`` the event is read
        again (for up to ``meet_wait_seconds``) until the link exists. An event Google cannot complete (the
        conference failed or is still pending, or its room declined because it is booked) is deleted again
        before the error is raised: no event without its link or with a declined room is left behind.

        Raises:
            Conflict: The id belongs to an event that was deleted (the key must get a new generation), or to
                an event another client made; or the session's room is booked at that time (it declined).
            ProviderError: Google could not make the Meet conference.
            TransientError: The Meet conference was still pending after ``meet_wait_seconds``.
        """
        event_id = event_id_for_key(key)
        body = event_body(session, key=key, event_id=event_id)
        params: dict[str, Any] = {"sendUpdates": self.config.send_updates}
        if "conferenceData" in body:
            params["conferenceDataVersion"] = 1  # without it Google silently ignores createRequest
        try:
            event = self.transport.request_json(
                "POST", self._events_path(), params=params, json=body, idempotent=True, operation="events.insert",
                shape=Event,
            )
        except Conflict as exc:
            if exc.status != 409:
                raise
            event = self._existing_event(event_id, key, exc)
        event = self._as_event(event)
        try:
            if "conferenceData" in body:
                event = self._await_meet(event)
            _refuse_declined_room(event)
        except ConnectorError:
            self.cancel_session(self._ref(event), notify=False)
            raise
        ref = self._ref(event)
        self._remember(ref, event)
        return ref

    def _await_meet(self, event: dict[str, Any]) -> dict[str, Any]:
        """Read the event again while Google is still making its Meet conference."""
        patience = Patience(self.runtime.sleep)
        while (status := meet_status(event)) == "pending":
            if patience.used_up(self.config.meet_wait_seconds):
                raise patience.gave_up(f"Google was still making the Meet conference of event {event.get('id')}",
                                       provider=self.name, code="pending")
            patience.pause()
            event = self._get_event(str(event["id"]), self.config.calendar_id)
        if status == "failure":
            raise ProviderError(
                f"Google could not make the Meet conference of event {event.get('id')}", provider=self.name,
                code="failure",
            )
        return event

    def find_session(self, key: str) -> ProviderRef | None:
        """Return the live event a create with ``key`` made, or ``None``.

        :calls: ``GET calendars/{calendarId}/events/{eventId}``
        """
        try:
            event = self._get_event(event_id_for_key(key), self.config.calendar_id)
        except NotFound:
            return None
        if is_cancelled(event) or event_key(event) != key:
            return None
        return self._ref(event)

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """Read the event back (a deleted event reads back with ``cancelled=True``).

        :calls: ``GET calendars/{calendarId}/events/{eventId}``
        """
        calendar_id = self._calendar_of(ref)
        return provider_session(self._get_event(ref.external_id, calendar_id), calendar_id)

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """Move the event to the session's slot in place (same id); attendees are notified.

        :calls: ``PATCH calendars/{calendarId}/events/{eventId}`` with ``If-Match`` when ``ref.version`` is set;
        on a 412, ``GET`` the event and, when only fields the SDK does not own changed, ``PATCH`` once more (and
        ``GET`` again if that one is refused too: it may have landed before its answer was lost).

        The etag changes whenever anything on the event changes, attendees' answers and this SDK's own
        enrolments included, so a ref kept since the create is usually stale. What must not be overwritten is
        someone else's change to what the SDK owns (times, title, text, location): ``ref.extra["owned"]``
        fingerprints those fields as they were, and the patch is re-sent on the fresh etag only if they are
        unchanged.

        Raises:
            Conflict: Someone else changed the event's times, title, text or location since ``ref`` was read.
            NotFound: The event was cancelled (Google keeps cancelled events writable, but a move does not
                restore one).
        """
        calendar_id = self._calendar_of(ref)
        body = event_reschedule_patch(session, key=ref.extra.get("key"))
        try:
            event = self._patch_event(
                ref.external_id, calendar_id, body, etag=self._kept_etag(ref.external_id) or ref.version
            )
        except Conflict as exc:
            event = settle_refused_write(
                exc,
                ref,
                read=lambda: self._get_event(ref.external_id, calendar_id),
                landed=lambda current: _holds_patch(current, session, body),
                owned=owned_fingerprint,
                write_again=lambda current: self._patch_event(
                    ref.external_id, calendar_id, body, etag=_etag_of(current)
                ),
                someone_else="someone else changed the event's times or text since it was read; read it again first",
            )
        if is_cancelled(event):
            raise NotFound(f"event {ref.external_id} was cancelled: it cannot be rescheduled", provider=self.name,
                           code="cancelled")
        moved = self._ref(event)
        self._remember(moved, event)
        return moved

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """Delete the event; attendees are told when ``notify``. Already deleted or missing: success.

        :calls: ``DELETE calendars/{calendarId}/events/{eventId}`` with ``If-Match`` (the etag this adapter's own
        last write left, else ``ref.version``); on a 412, ``GET`` the event and ``DELETE`` it in the version read.

        The delete names the version it was decided on, so an event that changed since (an attendee answered,
        someone edited or restored it) is read again before it is deleted: an event someone else cancelled
        meanwhile is left as it is, any other is deleted in its current version (cancelling the session is the
        caller's decision, whatever changed on the event).

        Raises:
            Conflict: The event kept changing between each read and delete (three rounds).
        """
        calendar_id = self._calendar_of(ref)
        etag = self._kept_etag(ref.external_id) or ref.version
        attempt = 0
        while True:
            attempt += 1
            try:
                self._delete_event(ref.external_id, calendar_id, etag=etag, notify=notify)
                break
            except NotFound:
                break  # 410 Gone (deleted before) or 404: the goal is reached
            except Conflict:
                if attempt >= _ROSTER_ATTEMPTS:
                    raise
                try:
                    current = self._get_event(ref.external_id, calendar_id)
                except NotFound:
                    break
                if is_cancelled(current):
                    break
                fresh = current.get("etag")
                etag = fresh if isinstance(fresh, str) else None
        self._written.pop(ref.external_id, None)

    def _delete_event(self, event_id: str, calendar_id: str, *, etag: str | None, notify: bool) -> None:
        # Read as JSON so that an answer that is not Google's (a truncated body, a page with status 200) is a
        # MalformedResponse, not a success: Google answers a delete with 204 and no body.
        self.transport.request_json(
            "DELETE",
            self._event_path(event_id, calendar_id),
            params={"sendUpdates": self.config.send_updates if notify else "none"},
            headers={"If-Match": etag} if etag else None,
            operation="events.delete",
        )

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """Add ``people`` as attendees (Google invites them); everyone already there stays as they are.

        :calls: ``PATCH .../events/{eventId}`` with ``If-Match`` onto the event as this adapter's last write left
        it; when the adapter keeps no such event, or Google refuses the etag (412: someone else changed the
        event), ``GET .../events/{eventId}`` first and the attendees are merged onto what is there.

        Raises:
            NotFound: The event does not exist or was cancelled.
        """
        emails = {person.email for person in people}
        event = self._change_attendees(ref, add=people)
        return [roster_member(item) for item in learner_attendees(event) if str(item["email"]).lower() in emails]

    def unenrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *,
        registrations: Registrations | None = None,
    ) -> None:
        """Remove ``people`` (and only them) from the attendees; Google tells them the event is off.

        :calls: As :meth:`enrol`: one ``PATCH`` with the kept etag, or ``GET`` then ``PATCH``.
        """
        self._change_attendees(ref, remove=[person.email for person in people])

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """The event's learners (rooms, organizer and instructors left out).

        :calls: ``GET .../events/{eventId}`` (Google returns every attendee at once: no paging).
        """
        event = self._get_event(ref.external_id, self._calendar_of(ref))
        return iter([roster_member(item) for item in learner_attendees(event)])

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """Every event of this SDK that starts in ``[start, end)``, page after page.

        :calls: ``GET calendars/{calendarId}/events`` with ``privateExtendedProperty=lmsc_managed=1``,
        ``singleEvents=true``, ``orderBy=startTime``, ``maxResults``, ``pageToken``.
        """
        require_window(start, end)
        calendar_id = self.config.calendar_id
        params: dict[str, Any] = {
            "timeMin": start.isoformat(),
            "timeMax": end.isoformat(),
            "singleEvents": "true",
            "orderBy": "startTime",
            "privateExtendedProperty": f"{MANAGED_MARKER[0]}={MANAGED_MARKER[1]}",
        }
        if page_size is not None:
            params["maxResults"] = page_size

        def fetch_page(token: str | None) -> tuple[list[ProviderSession], str | None]:
            page = self.transport.request_json(
                "GET",
                self._events_path(calendar_id),
                params={**params, "pageToken": token} if token else params,
                operation="events.list",
                shape=EventPage,
            )
            if not isinstance(page, dict):
                raise MalformedResponse("events.list answered without an object", provider=self.name)
            sessions = [
                provider_session(item, calendar_id)
                for item in page.get("items") or ()
                # timeMin/timeMax select events that overlap the window; the contract is "starts in it".
                if isinstance(item, dict) and event_is_ours(item) and _starts_within(item, start, end)
            ]
            token = page.get("nextPageToken")
            return sessions, token if isinstance(token, str) else None

        return paginate_by_token(fetch_page)

    def free_busy(self, emails: Sequence[str], start: datetime, end: datetime) -> dict[str, list[BusyInterval]]:
        """Busy intervals of people or room calendars in ``[start, end)``.

        :calls: ``POST freeBusy`` (one per 50 calendars).

        Raises:
            NotFound: Google does not know one of the calendars, or may not show it.
        """
        require_window(start, end)
        result: dict[str, list[BusyInterval]] = {}
        for offset in range(0, len(emails), _FREEBUSY_BATCH):
            batch = list(emails[offset : offset + _FREEBUSY_BATCH])
            body = {
                "timeMin": start.isoformat(),
                "timeMax": end.isoformat(),
                "items": [{"id": email} for email in batch],
            }
            # A query, not a write: safe to send again.
            answer = self.transport.request_json(
                "POST", "freeBusy", json=body, idempotent=True, operation="freebusy.query", shape=FreeBusy
            )
            calendars = answer.get("calendars") if isinstance(answer, dict) else None
            if not isinstance(calendars, dict):
                raise MalformedResponse("freeBusy answered without calendars", provider=self.name)
            by_lower = {str(name).lower(): value for name, value in calendars.items()}
            for email in batch:
                result[email] = self._busy_of(email, by_lower.get(email.lower()))
        return result

    def diagnose(self) -> list[DiagnosticCheck]:
        """Credentials (a token now), calendar access, Meet links and rooms, for ``lms-connectors doctor``.

        :calls: the token endpoint, ``GET calendars/{calendarId}/events?maxResults=1``,
            ``GET admin/directory/v1/customer/{customer}/resources/calendars?maxResults=1``
        """
        credentials = self.check_credentials()
        if not credentials.ok:
            return [credentials]
        return [
            credentials,
            calendar_access(self.transport, self.config),
            meet_permission(self.auth, self.config),
            room_access(lambda: self.list_rooms(page_size=1), self.config),
        ]

    def list_rooms(self, *, page_size: int | None = None, query: str | None = None) -> Iterator[Room]:
        """The Workspace's room resources (Admin SDK Directory), page after page.

        :calls: ``GET admin/directory/v1/customer/{customer}/resources/calendars``

        Args:
            page_size: ``maxResults`` (Google's limit is 500).
            query: Directory filter, e.g. ``"resourceCategory=CONFERENCE_ROOM AND capacity>=10"``.
        """
        customer = quote(self.config.customer, safe="")
        url = f"{self.config.directory_base_url.rstrip('/')}/customer/{customer}/resources/calendars"
        params: dict[str, Any] = {}
        if page_size is not None:
            params["maxResults"] = page_size
        if query:
            params["query"] = query

        def fetch_page(token: str | None) -> tuple[list[Room], str | None]:
            page = self.transport.request_json(
                "GET",
                url,
                params={**params, "pageToken": token} if token else params,
                operation="resources.calendars.list",
                shape=ResourcePage,
            )
            if not isinstance(page, dict):
                raise MalformedResponse("resources.calendars.list answered without an object", provider=self.name)
            rooms = [_room(item) for item in page.get("items") or () if isinstance(item, dict)]
            token = page.get("nextPageToken")
            return rooms, token if isinstance(token, str) else None

        return paginate_by_token(fetch_page)

    def room_response(self, ref: ProviderRef, room: Room) -> RoomResponse:
        """The room calendar's answer on the event (``needsAction`` is :attr:`RoomResponse.PENDING`).

        :calls: ``GET calendars/{calendarId}/events/{eventId}``

        Raises:
            NotFound: The event does not exist, or does not invite ``room``.
        """
        event = self._get_event(ref.external_id, self._calendar_of(ref))
        answer = room_answer(event, room)
        if answer is None:
            raise NotFound(f"event {ref.external_id} does not book room {room.email or room.id}", provider=self.name)
        return answer

    def book_room(self, ref: ProviderRef, session: Session) -> tuple[ProviderRef, RoomResponse]:
        """Invite ``session.room``'s resource calendar to the event and read its answer.

        :calls: ``GET .../events/{eventId}``, ``PATCH .../events/{eventId}`` (``If-Match``) with the attendees and
        the location; on a decline, a second ``PATCH`` that takes the room off again.

        Raises:
            ValidationError: The session has no room Google Calendar books (no resource email, another holder).
            Conflict: The room declined (it is booked then); the event is left without it.
        """
        room = _room_of(session)
        attendee = room_attendee(room)
        if attendee is None:
            raise ValidationError(f"room {room.name!r} is not a Google Calendar resource", field="room")
        calendar_id = self._calendar_of(ref)
        event = self._get_event(ref.external_id, calendar_id)
        attendees, _ = merge_attendees(event.get("attendees") or [], remove=[str(attendee["email"])])
        body = {**event_reschedule_patch(session, key=ref.extra.get("key")), "attendees": [*attendees, attendee]}
        patched = self._patch_event(ref.external_id, calendar_id, body, etag=_etag_of(event))
        answer = room_answer(patched, room) or RoomResponse.PENDING
        booked = self._ref(patched)
        if answer is RoomResponse.DECLINED:
            self.release_room(booked, session.model_copy(update={"room": None}), room)
            raise Conflict(
                f"room {room.email} is already booked at that time (it declined the event)",
                provider=self.name,
                code="roomDeclined",
            )
        self._remember(booked, patched)
        return booked, answer

    def release_room(self, ref: ProviderRef, session: Session, room: Room) -> ProviderRef:
        """Take ``room`` off the event; the event shows ``session`` (without the room) afterwards.

        :calls: ``GET .../events/{eventId}``, then ``PATCH .../events/{eventId}`` (``If-Match``) when the room is
        still invited.
        """
        calendar_id = self._calendar_of(ref)
        event = self._get_event(ref.external_id, calendar_id)
        if room_answer(event, room) is None:
            return self._ref(event)
        attendees, _ = merge_attendees(event.get("attendees") or [], remove=[room.email or ""])
        body = {**event_reschedule_patch(session, key=ref.extra.get("key")), "attendees": attendees}
        patched = self._patch_event(ref.external_id, calendar_id, body, etag=_etag_of(event))
        released = self._ref(patched)
        self._remember(released, patched)
        return released

    # -- change feed and push channels -----------------------------------------------------------------

    @property
    def feed_scope(self) -> str:
        """The calendar the change feed and push channels read (the ledger keeps one sync token for it)."""
        return self.config.calendar_id

    def read_changes(self, cursor: str | None, start: datetime, end: datetime) -> FeedPage:
        """The SDK's events changed since the sync token ``cursor`` (``None``: a full sync of the calendar).

        ``start`` and ``end`` are not sent: Google refuses ``timeMin``/``timeMax`` beside a sync token.

        :calls: ``GET calendars/{calendarId}/events`` (``syncToken``, ``maxResults=2500``), one call per page.

        Raises:
            CursorExpired: The token is no longer valid (410 ``fullSyncRequired``).
        """
        return feed.read_changes(self, cursor)

    def open_channel(self, address: str, channel_id: str, token: str) -> PushChannel:
        """Open a push channel on the calendar's events that posts to ``address`` with ``token``.

        :calls: ``POST calendars/{calendarId}/events/watch``
        """
        return feed.open_channel(self, address, channel_id, token)

    def close_channel(self, channel: PushChannel) -> None:
        """Stop a push channel.

        :calls: ``POST channels/stop``
        """
        feed.close_channel(self, channel)

    def events_path(self, calendar_id: str | None = None) -> str:
        """The API path of a calendar's events (the configured calendar by default)."""
        return self._events_path(calendar_id)

    # -- provider extras ------------------------------------------------------------------------------

    def ex_event_id(self, key: str) -> str:
        """The event id a create with ``key`` uses."""
        return event_id_for_key(key)

    # -- helpers --------------------------------------------------------------------------------------

    def _calendar_of(self, ref: ProviderRef) -> str:
        return ref.extra.get("calendar_id") or self.config.calendar_id

    def _events_path(self, calendar_id: str | None = None) -> str:
        return f"calendars/{quote(calendar_id or self.config.calendar_id, safe='')}/events"

    def _event_path(self, event_id: str, calendar_id: str) -> str:
        return f"{self._events_path(calendar_id)}/{quote(event_id, safe='')}"

    def _ref(self, event: Mapping[str, Any]) -> ProviderRef:
        return provider_ref(event, self.config.calendar_id)

    def _remember(self, ref: ProviderRef, event: dict[str, Any]) -> None:
        """Keep the event this adapter's own write left, if the SDK-owned fields are still as ``ref`` knows them."""
        owned = ref.extra.get("owned")
        if isinstance(event.get("etag"), str) and owned is not None and owned_fingerprint(event) == owned:
            self._written[ref.external_id] = event
            self._written.move_to_end(ref.external_id)
            while len(self._written) > _KEPT_EVENTS:
                self._written.popitem(last=False)
        else:
            self._written.pop(ref.external_id, None)

    def _kept_etag(self, event_id: str) -> str | None:
        kept = self._written.get(event_id)
        return None if kept is None else str(kept["etag"])

    def _as_event(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise MalformedResponse("the Calendar API answered without an event object", provider=self.name)
        return value

    def _get_event(self, event_id: str, calendar_id: str) -> dict[str, Any]:
        return self._as_event(
            self.transport.request_json(
                "GET", self._event_path(event_id, calendar_id), operation="events.get", shape=Event
            )
        )

    def _patch_event(
        self, event_id: str, calendar_id: str, body: dict[str, Any], *, etag: str | None
    ) -> dict[str, Any]:
        return self._as_event(
            self.transport.request_json(
                "PATCH",
                self._event_path(event_id, calendar_id),
                params={"sendUpdates": self.config.send_updates},
                json=body,
                headers={"If-Match": etag} if etag else None,
                idempotent=True,  # the body sets absolute values: sending it twice changes nothing more
                operation="events.patch",
                shape=Event,
            )
        )

    def _existing_event(self, event_id: str, key: str, duplicate: Conflict) -> dict[str, Any]:
        """Resolve a 409 on insert: the event of an earlier attempt of this create, or a real conflict."""
        try:
            event = self._get_event(event_id, self.config.calendar_id)
        except NotFound:
            raise duplicate from None  # the id is taken in a calendar we cannot read: nothing to return
        if is_cancelled(event):
            raise Conflict(
                f"event id {event_id} belongs to a deleted event and Google never reuses ids: "
                "create the session again under a new key generation",
                provider=self.name,
                status=409,
                code="deleted",
            )
        if event_key(event) != key:
            raise Conflict(
                f"event id {event_id} is taken by an event this key did not make", provider=self.name, status=409
            )
        return event

    def _change_attendees(
        self, ref: ProviderRef, *, add: Sequence[Person] = (), remove: Sequence[str] = ()
    ) -> dict[str, Any]:
        calendar_id = self._calendar_of(ref)
        attempt = 0
        event = self._written.get(ref.external_id)  # as this adapter's last write left it: no read needed
        read = event is None
        while True:
            attempt += 1
            if event is None:
                event = self._get_event(ref.external_id, calendar_id)
                read = True
            if is_cancelled(event):
                raise NotFound(f"event {ref.external_id} was cancelled: its roster is closed", provider=self.name)
            attendees, changed = merge_attendees(event.get("attendees") or [], add=add, remove=remove)
            if not changed:
                if not read:
                    # The kept event may be stale: another process may have changed the attendees since our write.
                    # A PATCH on it is safe (If-Match refuses a stale etag), but "nothing to write" is not: decide
                    # that on the event as it is now, or a learner the ledger confirms stays missing at Google.
                    event = None
                    continue
                return event
            etag = event.get("etag")
            try:
                # Someone else may change the attendees between our read and our write: If-Match makes Google
                # refuse our write then (412) instead of dropping their change; we read again and merge again.
                patched = self._patch_event(
                    ref.external_id, calendar_id, {"attendees": attendees}, etag=etag if isinstance(etag, str) else None
                )
                self._remember(ref, patched)
                return patched
            except Conflict:
                # 412: someone changed the event since it was read or written (or a retried PATCH of ours met
                # the etag its lost answer left): read it again and merge onto what is there now.
                self._written.pop(ref.external_id, None)
                if attempt >= _ROSTER_ATTEMPTS:
                    raise
                event = None

    def _busy_of(self, email: str, calendar: Any) -> list[BusyInterval]:
        if not isinstance(calendar, dict):
            raise MalformedResponse(f"freeBusy answered nothing for {email}", provider=self.name)
        errors = calendar.get("errors") or []
        if errors:
            reasons = ", ".join(str(item.get("reason")) for item in errors if isinstance(item, dict))
            raise NotFound(f"free/busy of {email} unavailable: {reasons}", provider=self.name, code=reasons)
        try:
            busy = calendar.get("busy") or ()
            return [BusyInterval(start=_aware(item["start"]), end=_aware(item["end"])) for item in busy]
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponse(f"freeBusy answered a busy interval of {email} that is not one: {exc}",
                                    provider=self.name) from exc


def _room_of(session: Session) -> Room:
    if session.room is None:
        raise ValidationError(f"session {session.id!r} asks for no room", field="room")
    return session.room


def _etag_of(event: Mapping[str, Any]) -> str | None:
    etag = event.get("etag")
    return etag if isinstance(etag, str) and etag else None


def _refuse_declined_room(event: Mapping[str, Any]) -> None:
    """A room that declined is booked then: the session has no room, which is a conflict, not a success."""
    for attendee in event.get("attendees") or ():
        if isinstance(attendee, Mapping) and attendee.get("resource") and attendee.get("responseStatus") == "declined":
            raise Conflict(
                f"room {attendee.get('email')} is already booked at that time (it declined the event)",
                provider=PROVIDER,
                code="roomDeclined",
            )


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no offset")
    return value


def _starts_within(event: Mapping[str, Any], start: datetime, end: datetime) -> bool:
    return start <= parse_datetime(event.get("start"), "start") < end


def _holds_patch(event: Mapping[str, Any], session: Session, body: Mapping[str, Any]) -> bool:
    """Whether the event shows the slot, title, text and place the reschedule ``body`` sets."""
    return holds_slot(session, event, parse_datetime, title_field="summary") and all(
        (event.get(name) or "") == (body.get(name) or "") for name in ("description", "location")
    )


def _room(item: Mapping[str, Any]) -> Room:
    capacity = item.get("capacity")
    place = ", ".join(str(item[name]) for name in ("buildingId", "floorName", "floorSection") if item.get(name))
    return Room(
        id=str(item.get("resourceId")),
        name=str(item.get("resourceName") or item.get("generatedResourceName") or item.get("resourceId")),
        email=item.get("resourceEmail") or None,
        capacity=capacity if isinstance(capacity, int) and capacity > 0 else None,
        location=place or None,
        features=_features(item.get("featureInstances")),
        provider=PROVIDER,
    )


def _features(instances: Any) -> tuple[str, ...]:
    """``featureInstances`` (``[{"feature": {"name": "Projector"}}]``, typed ``any`` in the discovery document)."""
    names: list[str] = []
    for instance in instances if isinstance(instances, list) else ():
        feature = instance.get("feature") if isinstance(instance, Mapping) else None
        name = feature.get("name") if isinstance(feature, Mapping) else None
        if isinstance(name, str) and name.strip() and name.strip().lower() not in names:
            names.append(name.strip().lower())
    return tuple(names)

