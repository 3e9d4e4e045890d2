"""The CalDAV adapter (RFC 4791): a training session is a VEVENT resource in a calendar collection.

Calls (``<cal>`` is the sessions' calendar collection, found once per adapter by
:func:`~lms_connectors_caldav.discovery.discover_calendar`; ``<name>`` derives from the idempotency key):

* create: ``PUT <cal>/<name>`` with ``If-None-Match: *``: the server itself refuses a second create of the same
  key (412), which is then read back with ``GET`` (native idempotency: no look-up before the create).
* find / read: ``GET <cal>/<name>``.
* reschedule: ``GET``, then ``PUT`` with ``If-Match: <etag>``; SEQUENCE bumped, the learners' answers kept.
* cancel: ``DELETE <cal>/<name>`` (see the README for why the resource is deleted rather than marked
  ``STATUS:CANCELLED``).
* roster: the event's ATTENDEEs, read with ``GET`` and written with ``PUT`` + ``If-Match``.
* listing: ``REPORT <cal>`` ``calendar-query`` with a time range (then ``calendar-multiget`` page by page when a
  page size is asked for).
* free/busy: ``REPORT`` ``free-busy-query`` on the person's calendar, or a ``calendar-query`` where the server
  does not answer one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import ClassVar

from lms_connectors.adapter import Adapter, AdapterKind, BusyInterval, Capability, DiagnosticCheck
from lms_connectors.errors import (
    ConfigurationError,
    Conflict,
    ConnectorError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
)
from lms_connectors.http.auth import Auth, BasicAuth, StaticTokenAuth
from lms_connectors.models import Person, ProviderRef, ProviderSession, Registrations, RosterMember, Session, utc_now
from lms_connectors.timezones import require_window
from lms_connectors_caldav import dav
from lms_connectors_caldav.config import CalDavConfig
from lms_connectors_caldav.discovery import CalendarLocation, DavClient, discover_calendar, find_home, find_principal
from lms_connectors_caldav.errors import classify_caldav_response
from lms_connectors_caldav.ical import (
    PROVIDER,
    StoredEvent,
    busy_from_events,
    busy_from_freebusy,
    new_event,
    owned_fingerprint,
    resource_name,
)

__all__ = ["CalDavAdapter"]

_ROSTER_ATTEMPTS = 3  # read-merge-write rounds when another writer changes the event in between
_ICALENDAR = {"Content-Type": "text/calendar; charset=utf-8"}
_XML = "application/xml; charset=utf-8"
# Answers that say "this server does not do free-busy-query here" (RFC 4791 7.10 is a MUST, but not every
# server keeps it): the busy time is then computed from a calendar-query.
_NO_FREE_BUSY = frozenset({400, 403, 405, 415, 501})


class CalDavAdapter(Adapter[CalDavConfig]):
    """Sessions as VEVENT resources of a CalDAV calendar, learners as ATTENDEEs with their PARTSTAT.

    The constructor and ``from_config`` are :class:`~lms_connectors.adapter.Adapter`'s.
    """

    name: ClassVar[str] = "caldav"
    display_name: ClassVar[str] = "CalDAV"
    kind: ClassVar[AdapterKind] = AdapterKind.CALENDAR
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.RESCHEDULE_IN_PLACE, Capability.PUBLISHES_MEETING_LINK, Capability.NATIVE_IDEMPOTENCY
    })

    def setup(self) -> None:
        """Build the transport (Basic or bearer credentials, the CalDAV error table) and the DAV client."""
        config = self.config
        self.api_transport(auth=_auth_of(config), classifier=classify_caldav_response)
        self.dav = DavClient.for_base_url(self.transport, config.base_url)
        self._organizer = (
            Person(email=config.organizer_email, name=config.organizer_name or config.organizer_email)
            if config.organizer_email
            else None
        )
        self._location: CalendarLocation | None = None
        self._location_lock = threading.Lock()
        self._no_free_busy: set[str] = set()

    # -- standard API ------------------------------------------------------------------------------

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """Store the session's event under a name derived from ``key`` (the base class's create rule calls it).

        :calls: ``PUT <cal>/<name>`` with ``If-None-Match: *`` (then ``GET <cal>/<name>`` when it exists already).

        The server refuses to overwrite an existing resource (412), so a create sent twice, or retried after its
        answer was lost, stores one event; the one already there is read back and returned when ``key`` made it.
        This native idempotency is why the base rule sends no look-up before the create.

        Raises:
            Conflict: The name holds an event another key made, or another resource of the calendar already has
                the session's UID (an earlier generation that was not removed).
        """
        href = self.ex_calendar() + resource_name(key)
        calendar = new_event(session, key=key, uid_domain=self.config.uid_domain, organizer=self._organizer)
        stored = StoredEvent.parse(calendar.to_ical(), href=href, etag=None)
        try:
            response = self.transport.request(
                "PUT",
                self.dav.url(href),
                data=stored.to_ical(),
                headers={**_ICALENDAR, "If-None-Match": "*"},
                operation="create event",
            )
        except Conflict as exc:
            if exc.status != 412:
                raise Conflict(
                    f"another resource of the calendar already holds UID {stored.uid}: remove it (an earlier "
                    "generation of this session?) before creating the session again",
                    provider=self.name, status=exc.status, code=exc.code, body_excerpt=exc.body_excerpt,
                ) from exc
            existing = self._read(href)
            if existing.key != key:
                raise Conflict(f"{href} holds an event that key {key!r} did not make", provider=self.name,
                               status=412, code="exists") from exc
            return existing.ref()
        stored.etag = response.headers.get("ETag")  # absent when the server changed the data it stored
        return stored.ref()

    def find_session(self, key: str) -> ProviderRef | None:
        """Return the event a create with ``key`` made, or ``None`` (also when another client cancelled it).

        :calls: ``GET <cal>/<name>``
        """
        try:
            stored = self._read(self.ex_calendar() + resource_name(key))
        except NotFound:
            return None
        if stored.key != key or stored.cancelled:
            return None
        return stored.ref()

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """Read the event back.

        :calls: ``GET <href>``

        Raises:
            NotFound: The event does not exist (it was cancelled: cancelling deletes it).
        """
        return self._read(self._href(ref)).provider_session()

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """Move the event to the session's slot in place (same resource, same UID), SEQUENCE bumped.

        :calls: ``GET <href>``, then ``PUT <href>`` with ``If-Match`` on the ETag just read.

        Learners and their answers, and whatever other clients added (alarms, categories), stay.

        Raises:
            Conflict: Someone else changed the event's title, times or place since ``ref`` was made, or changed
                the event between this read and this write (the server refused the ``If-Match``).
        """
        href = self._href(ref)
        current = self._read(href)
        if _holds(current, session):
            return current.ref()  # a retried reschedule whose answer was lost: done already
        owned = ref.extra.get("owned")
        if owned is not None and owned_fingerprint(current) != owned:
            raise Conflict(
                f"someone else changed the title, times or place of {href} since it was read; read it again first",
                provider=self.name, code="changed",
            )
        current.reschedule(session, uid_domain=self.config.uid_domain, organizer=self._organizer, stamp=utc_now())
        return self._write(current, operation="reschedule event").ref()

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """Delete the event; already gone: success.

        :calls: ``DELETE <href>``

        ``notify`` is not the client's to decide here: a server with scheduling (RFC 6638: Nextcloud, iCloud)
        sends the attendees a CANCEL itself when an organizer's event is deleted; Radicale sends nothing.
        """
        try:
            self.transport.request("DELETE", self.dav.url(self._href(ref)), operation="delete event")
        except NotFound:
            return

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """Add ``people`` as ATTENDEEs (``PARTSTAT=NEEDS-ACTION``); everyone already there keeps their answer.

        :calls: ``GET <href>``, then ``PUT <href>`` (``If-Match``) when someone is new; read and merged again if
        another writer changed the event in between.

        Raises:
            NotFound: The event does not exist (the session was cancelled).
        """
        stored = self._change_learners(ref, add=people)
        emails = {person.email for person in people}
        return [member for member in stored.learners() if member.email in emails]

    def unenrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *,
        registrations: Registrations | None = None,
    ) -> None:
        """Remove ``people`` (and only them) from the ATTENDEEs.

        :calls: ``GET <href>``, then ``PUT <href>`` (``If-Match``) when one of them was there.
        """
        self._change_learners(ref, remove=[person.email for person in people])

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """The event's learners (organizer, instructors and rooms left out), with their PARTSTAT.

        :calls: ``GET <href>``
        """
        return iter(self._read(self._href(ref)).learners())

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """Every event of this SDK in the calendar that starts in ``[start, end)``.

        :calls: ``REPORT <cal>`` ``calendar-query`` (time range) with the events' data; with ``page_size``, the
        query asks for hrefs and ETags only and ``REPORT <cal>`` ``calendar-multiget`` reads ``page_size``
        events a call (CalDAV has no paging of its own; this bounds each answer).

        Raises:
            ValidationError: A naive or empty window.
        """
        require_window(start, end)
        if page_size is not None and page_size < 1:
            raise InvalidRequest("page_size must be at least 1", provider=self.name)
        return self._listing(start, end, page_size)

    def _listing(self, start: datetime, end: datetime, page_size: int | None) -> Iterator[ProviderSession]:
        calendar = self.ex_calendar()
        query = dav.calendar_query(start, end, with_data=page_size is None)
        answer = self._report(calendar, query, depth="1", operation="calendar-query")
        if page_size is None:
            yield from _sessions_in(self._events_of(answer, "calendar-query"), start, end)
            return
        hrefs = sorted(item.href for item in answer.responses if item.status in (None, 200) and item.href != calendar)
        for offset in range(0, len(hrefs), page_size):
            page = self._report(calendar, dav.calendar_multiget(hrefs[offset : offset + page_size]), depth="1",
                                operation="calendar-multiget")
            yield from _sessions_in(self._events_of(page, "calendar-multiget"), start, end)

    def free_busy(self, emails: Sequence[str], start: datetime, end: datetime) -> dict[str, list[BusyInterval]]:
        """Busy intervals of people or rooms in ``[start, end)``, from the calendars the configuration names.

        :calls: ``REPORT <their calendar>`` ``free-busy-query`` per address; where the server refuses it, one
        ``calendar-query`` with the events expanded (cancelled and transparent events are free).

        Raises:
            NotFound: No calendar is configured for an address (``free_busy_calendars``, ``organizer_email``).
            ValidationError: A naive or empty window.
        """
        require_window(start, end)
        calendars = self._free_busy_calendars()
        result: dict[str, list[BusyInterval]] = {}
        for email in emails:
            calendar = calendars.get(email.strip().lower())
            if calendar is None:
                raise NotFound(
                    f"no calendar is configured for the free/busy of {email} (free_busy_calendars)", provider=self.name
                )
            result[email] = self._busy(calendar, start, end)
        return result

    def diagnose(self) -> list[DiagnosticCheck]:
        """Discovery, the calendar, and whether the server answers ``free-busy-query`` there.

        :calls: the discovery PROPFINDs, one ``free-busy-query``.
        """
        checks = []
        try:
            location = self.ex_location()
        except ConnectorError as exc:
            return [DiagnosticCheck(name="calendar", ok=False, detail=str(exc))]
        checks.append(DiagnosticCheck(name="calendar", ok=True,
                                      detail=f"{location.calendar} ({location.display_name or 'no display name'})"))
        now = datetime.now(UTC)
        try:
            self._free_busy_query(location.calendar, now, now.replace(year=now.year + 1))
        except ConnectorError as exc:
            checks.append(DiagnosticCheck(name="free-busy-query", ok=False,
                                          detail=f"refused ({exc}); free/busy falls back to calendar-query"))
        else:
            checks.append(DiagnosticCheck(name="free-busy-query", ok=True, detail="answered"))
        return checks

    def close(self) -> None:
        """Close the HTTP session."""
        self.transport.close()

    # -- provider extras ------------------------------------------------------------------------------

    def ex_location(self) -> CalendarLocation:
        """Where the sessions' calendar is (discovered at the first call, then kept)."""
        with self._location_lock:
            if self._location is None:
                config = self.config
                self._location = discover_calendar(
                    self.dav, base_url=config.base_url, calendar=config.calendar, calendar_url=config.calendar_url,
                )
            return self._location

    def ex_calendar(self) -> str:
        """The sessions' calendar collection, an absolute path ending in ``/``."""
        return self.ex_location().calendar

    def ex_make_calendar(self, display_name: str | None = None) -> str:
        """Create the configured calendar collection in the account's calendar home (``MKCALENDAR``).

        :calls: discovery up to the calendar home, then ``MKCALENDAR <home>/<calendar>/``.

        Returns:
            The new collection's path.

        Raises:
            Conflict: It exists already.
        """
        config = self.config
        if config.calendar_url is not None:
            path = dav.normalise_href(config.calendar_url, self.dav.origin + "/")
        else:
            home = find_home(self.dav, find_principal(self.dav, config.base_url))
            path = (home if home.endswith("/") else home + "/") + config.calendar + "/"
        body = dav.mkcalendar(display_name or config.calendar)
        try:
            self.transport.request("MKCALENDAR", self.dav.url(path), data=body,
                                   headers={"Content-Type": _XML}, operation="make calendar")
        except (PermissionDenied, ProviderError) as exc:
            if exc.status == 405:  # RFC 4791 5.3.1: MKCALENDAR on an existing resource is 405
                raise Conflict(f"{path} exists already", provider=self.name, status=405) from exc
            raise
        return path if path.endswith("/") else path + "/"

    def ex_resource_href(self, key: str) -> str:
        """The path of the event a create with ``key`` stores."""
        return self.ex_calendar() + resource_name(key)

    def ex_read_ical(self, ref: ProviderRef) -> bytes:
        """The event's iCalendar text as the server holds it.

        :calls: ``GET <href>``
        """
        return self._read(self._href(ref)).to_ical()

    # -- helpers --------------------------------------------------------------------------------------

    def _href(self, ref: ProviderRef) -> str:
        if ref.provider != self.name or not ref.external_id.startswith("/"):
            raise InvalidRequest(f"{ref.external_id!r} is not a {self.name} event href", provider=self.name)
        return ref.external_id

    def _read(self, href: str) -> StoredEvent:
        response = self.transport.request("GET", self.dav.url(href), headers={"Accept": "text/calendar"},
                                          operation="read event")
        return StoredEvent.parse(response.content, href=href, etag=response.headers.get("ETag"))

    def _write(self, stored: StoredEvent, *, operation: str) -> StoredEvent:
        headers = dict(_ICALENDAR)
        if stored.etag:
            headers["If-Match"] = stored.etag
        response = self.transport.request("PUT", self.dav.url(stored.href), data=stored.to_ical(), headers=headers,
                                          operation=operation)
        stored.etag = response.headers.get("ETag")
        return stored

    def _report(self, url_path: str, body: bytes, *, depth: str, operation: str) -> dav.Multistatus:
        response = self.transport.request(
            "REPORT", self.dav.url(url_path), data=body, headers={"Depth": depth, "Content-Type": _XML},
            operation=operation,
        )
        return dav.Multistatus.parse(response.content, base_url=response.url or self.dav.url(url_path),
                                     what=operation, provider=self.name, secrets=self.transport.secrets())

    def _events_of(self, answer: dav.Multistatus, what: str) -> list[StoredEvent]:
        events = []
        for item in answer.responses:
            if item.status not in (None, 200):
                continue  # removed between the query and the read
            data = item.text(dav.CALDAV, "calendar-data", what=what, provider=self.name)
            etag = item.props.get(dav.qname(dav.DAV, "getetag"))
            events.append(StoredEvent.parse(data, href=item.href, etag=etag.text if etag is not None else None))
        return events

    def _change_learners(self, ref: ProviderRef, *, add: Sequence[Person] = (), remove: Sequence[str] = ()
                         ) -> StoredEvent:
        href = self._href(ref)
        for attempt in range(1, _ROSTER_ATTEMPTS + 1):
            stored = self._read(href)
            if not stored.change_learners(add=add, remove=remove):
                return stored
            try:
                # If-Match: a writer that changed the event since our read makes the server refuse this PUT (412)
                # instead of losing their change; the roster is read and merged again.
                return self._write(stored, operation="write attendees")
            except Conflict:
                if attempt == _ROSTER_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _free_busy_calendars(self) -> dict[str, str]:
        config = self.config
        calendars = {email: dav.normalise_href(url, self.dav.origin + "/")
                     for email, url in config.free_busy_calendars.items()}
        if config.organizer_email and config.organizer_email not in calendars:
            calendars[config.organizer_email] = self.ex_calendar()
        return {email: path if path.endswith("/") else path + "/" for email, path in calendars.items()}

    def _busy(self, calendar: str, start: datetime, end: datetime) -> list[BusyInterval]:
        if calendar not in self._no_free_busy:
            try:
                return self._free_busy_query(calendar, start, end)
            except ConnectorError as exc:
                if exc.status not in _NO_FREE_BUSY or isinstance(exc, NotFound):
                    raise
                self._no_free_busy.add(calendar)
        answer = self._report(calendar, dav.calendar_query(start, end, with_data=True, expand=True), depth="1",
                              operation="calendar-query (free/busy)")
        return busy_from_events(self._events_of(answer, "calendar-query (free/busy)"), start, end)

    def _free_busy_query(self, calendar: str, start: datetime, end: datetime) -> list[BusyInterval]:
        response = self.transport.request(
            "REPORT", self.dav.url(calendar), data=dav.free_busy_query(start, end),
            headers={"Depth": "1", "Content-Type": _XML}, operation="free-busy-query",
        )
        return busy_from_freebusy(response.content, what="free-busy-query")


def _auth_of(config: CalDavConfig) -> Auth:
    if config.bearer_token is not None:
        return StaticTokenAuth(config.bearer_token.get_secret_value())
    if config.username is None or config.password is None:
        raise ConfigurationError("CalDAV needs Basic credentials or a bearer token", provider=PROVIDER)
    return BasicAuth(config.username, config.password.get_secret_value())


def _holds(stored: StoredEvent, session: Session) -> bool:
    """Whether the event already shows the session's title and instants."""
    try:
        return (
            stored.instant("DTSTART").astimezone(UTC) == session.slot.start_utc()
            and stored.instant("DTEND").astimezone(UTC) == session.slot.end_utc()
            and str(stored.event.get("SUMMARY", "")) == session.title
        )
    except ConnectorError:
        return False


def _sessions_in(events: Sequence[StoredEvent], start: datetime, end: datetime) -> Iterator[ProviderSession]:
    """The SDK's events (they carry a key) that start in the window: calendar-query selects overlapping ones."""
    for stored in events:
        if stored.key is None:
            continue
        session = stored.provider_session()
        if start.astimezone(UTC) <= session.start.astimezone(UTC) < end.astimezone(UTC):
            yield session
