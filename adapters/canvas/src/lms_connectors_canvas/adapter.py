"""The Canvas adapter: a session is a course calendar event, its roster a course section made for it.

=====================  =========================================================================================
SDK operation          Canvas REST API (``/api/v1``)
=====================  =========================================================================================
create_session         ``POST /courses/:course_id/sections`` (``sis_section_id`` from the key: Canvas refuses a
                       duplicate), ``POST /calendar_events`` (``context_code=course_N``, the section's time in
                       ``child_event_data``); with native capacity also ``POST /appointment_groups`` and
                       ``GET /appointment_groups/:id?include[]=appointments`` (the slot's id). Unless the key is
                       fresh, first ``GET /calendar_events`` over the session's window (marker look-up)
find_session           ``GET /sections/sis_section_id:<id>``, then the course's events (``all_events``) by marker
get_session            ``GET /calendar_events/:id``
reschedule_session     ``PUT /calendar_events/:id`` (same event; with native capacity also the slot's)
cancel_session         ``DELETE /calendar_events/:id?cancel_reason=``, ``DELETE /sections/:id`` (kept while it
                       still holds enrolments); with native capacity ``DELETE /appointment_groups/:id``
enrol                  ``POST /sections/:id/enrollments`` per learner (``StudentEnrollment``, ``active``); with
                       native capacity ``POST /calendar_events/:slot_id/reservations/:user_id`` too
unenrol                ``DELETE /courses/:course_id/enrollments/:id?task=conclude|delete`` per learner (the
                       section's roster is read first for learners whose enrolment id is not known); with native
                       capacity ``GET /calendar_events/:slot_id`` and ``DELETE`` of each one's reservation
list_roster            ``GET /sections/:id/enrollments?type[]=StudentEnrollment&state[]=active`` (paged)
list_sessions          ``GET /calendar_events?type=event&context_codes[]=course_N&start_date&end_date``, one
                       listing per course (paged)
record_completion      a pass/fail assignment: ``GET /courses/:id/assignments/:id`` (one named) or ``GET
                       /courses/:id/assignments?search_term=`` then ``POST /courses/:id/assignments`` (one made);
                       ``GET .../assignments/:id/submissions?include[]=user``, then ``PUT .../submissions/:user_id``
                       (``submission[posted_grade]=complete|incomplete``) per learner whose grade differs
=====================  =========================================================================================
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from lms_connectors.adapter import Adapter, AdapterKind, Capability, DiagnosticCheck
from lms_connectors.completion import CompletionItem, CompletionState, CompletionWritten
from lms_connectors.courses import integer_course_id
from lms_connectors.errors import (
    CapacityFull,
    ConfigurationError,
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    ResponseLost,
    ValidationError,
)
from lms_connectors.feeds import FeedPage
from lms_connectors.http.auth import Auth, RefreshTokenAuth, StaticTokenAuth
from lms_connectors.http.budget import LeakyBucketObserver
from lms_connectors.markers import marker
from lms_connectors.models import Person, ProviderRef, ProviderSession, Registrations, RosterMember, Session
from lms_connectors.outcomes import maybe_committed
from lms_connectors.timezones import require_window
from lms_connectors_canvas import feed, grading, mapping
from lms_connectors_canvas.classify import CanvasClassifier, is_throttled
from lms_connectors_canvas.client import CanvasClient
from lms_connectors_canvas.config import CanvasConfig
from lms_connectors_canvas.doctor import check_instance

__all__ = ["CanvasAdapter"]

logger = logging.getLogger("lms_connectors.canvas")

_STUDENT = "StudentEnrollment"


def _sis_path(key: str) -> str:
    return f"/sections/sis_section_id:{quote(mapping.section_sis_id(key), safe='')}"


class CanvasAdapter(Adapter[CanvasConfig]):
    """Sessions as Canvas course calendar events, rosters as a section per session (constructor: see ``Adapter``)."""

    name: ClassVar[str] = mapping.PROVIDER
    display_name: ClassVar[str] = "Canvas LMS"
    kind: ClassVar[AdapterKind] = AdapterKind.LMS
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.RESCHEDULE_IN_PLACE, Capability.PUBLISHES_MEETING_LINK, Capability.NATIVE_CAPACITY
    })

    def setup(self) -> None:
        """The token (static, or refreshed at ``POST /login/oauth2/token``), then the API transport.

        Canvas sends no ``Retry-After``: every answer's ``X-Rate-Limit-Remaining`` feeds the adaptive limiter
        (:class:`~lms_connectors.http.budget.LeakyBucketObserver`), which holds the adapter's calls while the
        instance's bucket drains.
        """
        config = self.config
        self.auth: Auth
        if config.access_token is not None:
            self.auth = StaticTokenAuth(config.access_token.get_secret_value())
        else:
            if config.client_id is None or config.client_secret is None or config.refresh_token is None:
                raise ConfigurationError("Canvas OAuth needs client_id, client_secret and refresh_token",
                                         provider=self.name)
            self.auth = RefreshTokenAuth(
                self.token_transport(config.resolved_token_url),
                refresh_token=config.refresh_token.get_secret_value(),
                client_id=config.client_id,
                client_secret=config.client_secret.get_secret_value(),
            )
        self.budget = LeakyBucketObserver(
            self.pausable_rate_limiter(), leak_per_second=config.leak_per_second, low_water=config.low_water,
            is_throttled=is_throttled,
        )
        transport = self.api_transport(auth=self.auth, classifier=CanvasClassifier(), response_observers=(self.budget,))
        self.client = CanvasClient(transport, as_user_id=config.as_user_id, page_size=config.page_size)

    # -- sessions -------------------------------------------------------------------------------------------

    def _course_of(self, session: Session | None) -> int:
        return integer_course_id(session, self.config.course_id, "Canvas")

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """Make the session's section, then its course event (and its appointment group); never half-made.

        The section's ``sis_section_id`` comes from the key, so a section a lost answer made is found, not made
        twice. If the event (or the appointment group) cannot be made, what this call made is removed before the
        error is raised; a lost answer to the event's create keeps the section (the base class looks the event up).

        :calls: ``POST /courses/:course_id/sections`` (+ ``GET /sections/sis_section_id:...`` when Canvas says
            the SIS id is taken), ``POST /calendar_events``; with native capacity and a capacity,
            ``POST /appointment_groups`` and ``GET /appointment_groups/:id``.
        """
        course_id = self._course_of(session)
        section_id = self._ensure_section(course_id, session, key)
        try:
            event = self.client.call(
                "POST", "/calendar_events", operation="create event",
                json=mapping.event_body(session, key, section_id=section_id, course_id=course_id),
            )
        except ResponseLost:
            raise
        except ConnectorError:
            self._delete_section(section_id)
            raise
        ref = self._ref(event, course_id, section_id, key)
        if self._native(session):
            try:
                ref = self._add_appointment_group(ref, session, key)
            except ConnectorError:
                self.cancel_session(ref, notify=False)
                raise
        return ref

    def _native(self, session: Session) -> bool:
        return self.config.native_capacity and session.capacity is not None

    def _ensure_section(self, course_id: int, session: Session, key: str) -> str:
        """Create the session's section, or find the one an earlier attempt made (its SIS id is the key's)."""
        try:
            section = self.client.call(
                "POST", f"/courses/{course_id}/sections", json=mapping.section_body(session, key),
                idempotent=True,  # Canvas refuses a second section with the same sis_section_id
                operation="create section",
            )
        except ConnectorError as exc:
            if not (isinstance(exc, Conflict) or maybe_committed(exc)):
                raise
            found = self._section_by_key(key)
            if found is None:
                raise
            section = found
        if "id" not in section:
            raise MalformedResponse("create section: Canvas answered a section without an id", provider=self.name)
        return str(section["id"])

    def _section_by_key(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.call("GET", _sis_path(key), operation="get section")
        except NotFound:
            return None

    def _delete_section(self, section_id: str) -> bool:
        """Delete a session's section; one that still holds enrolments is kept (Canvas refuses it)."""
        try:
            self.client.call("DELETE", f"/sections/{section_id}", operation="delete section")
        except NotFound:
            return True
        except InvalidRequest as refused:
            logger.info("canvas kept section %s: %s", section_id, refused.message)
            return False
        return True

    def _add_appointment_group(self, ref: ProviderRef, session: Session, key: str) -> ProviderRef:
        course_id = int(ref.extra["course_id"])
        group = self.client.call(
            "POST", "/appointment_groups", operation="create appointment group",
            json=mapping.appointment_group_body(session, key, course_id=course_id, section_id=ref.extra["section_id"]),
        )
        group_id = str(group["id"])
        detail = self.client.call("GET", f"/appointment_groups/{group_id}", params={"include[]": ["appointments"]},
                                  operation="get appointment group")
        slots = [slot for slot in detail.get("appointments") or [] if isinstance(slot, dict) and "id" in slot]
        if len(slots) != 1:
            raise MalformedResponse(f"appointment group {group_id} has {len(slots)} slots, not the session's one",
                                    provider=self.name)
        return ref.model_copy(update={"extra": {**ref.extra, "appointment_group_id": group_id,
                                                "slot_id": str(slots[0]["id"])}})

    def _ref(self, event: Mapping[str, Any], course_id: int, section_id: str | None, key: str | None) -> ProviderRef:
        if "id" not in event:
            raise MalformedResponse("Canvas answered a calendar event without an id", provider=self.name)
        extra = {"course_id": str(course_id)}
        if section_id:
            extra["section_id"] = section_id
        if key:
            extra["key"] = key
        return ProviderRef(provider=self.name, external_id=str(event["id"]), extra=extra)

    def find_created(self, session: Session, key: str) -> ProviderRef | None:
        """Find the event by its marker among the course's events of the session's window.

        :calls: ``GET /calendar_events?type=event&context_codes[]=course_N&start_date&end_date`` (paged);
            with native capacity, ``GET /appointment_groups?context_codes[]=course_N`` when the event is found.
        """
        course_id = self._course_of(session)
        start, end = session.slot.start, session.slot.end
        found = self._find_event(course_id, key, start - timedelta(minutes=1), end + timedelta(minutes=1))
        if found is None:
            return None
        if self._native(session):
            found = self._with_appointment_group(found, key)
        return found

    def find_session(self, key: str) -> ProviderRef | None:
        """Find the event a ``create_session(key=key)`` made: its section by SIS id, then its event by marker.

        No section means no event (the section is made first); otherwise the course's events are read.

        :calls: ``GET /sections/sis_section_id:<id>``, then ``GET /calendar_events?all_events=true&context_codes[]=
            course_N`` (paged).
        """
        section = self._section_by_key(key)
        return None if section is None else self._event_of_section(section, key)

    def _event_of_section(self, section: Mapping[str, Any], key: str) -> ProviderRef | None:
        course_id = int(section.get("course_id") or self._course_of(None))
        found = self._find_event(course_id, key, None, None)
        if found is None:
            return None
        return self._with_appointment_group(found, key) if self.config.native_capacity else found

    def _find_event(self, course_id: int, key: str, start: datetime | None, end: datetime | None) -> ProviderRef | None:
        params: dict[str, Any] = {"type": "event", "context_codes[]": [f"course_{course_id}"]}
        if start is None or end is None:
            params["all_events"] = "true"
        else:
            params.update({"start_date": start.isoformat(timespec="seconds"),
                           "end_date": end.isoformat(timespec="seconds")})
        for event in self.client.listing("/calendar_events", params=params, operation="list events"):
            if mapping.event_key(event) == key and event.get("workflow_state") != "deleted":
                return self._ref(event, course_id, mapping.section_of(event), key)
        return None

    def _with_appointment_group(self, ref: ProviderRef, key: str) -> ProviderRef:
        groups = self.client.listing(
            "/appointment_groups", operation="list appointment groups",
            params={"scope": "manageable", "context_codes[]": [f"course_{ref.extra['course_id']}"],
                    "include[]": ["appointments"], "include_past_appointments": "true"},
        )
        for group in groups:
            if group.get("description") == marker(key):
                slots = [slot for slot in group.get("appointments") or [] if isinstance(slot, dict) and "id" in slot]
                if slots:
                    extra = {**ref.extra, "appointment_group_id": str(group["id"]), "slot_id": str(slots[0]["id"])}
                    return ref.model_copy(update={"extra": extra})
        return ref

    def discard(self, key: str) -> bool:
        """Remove what a create with ``key`` left: its event, appointment group and section, or the section alone.

        :calls: what :meth:`find_session` calls, then what :meth:`cancel_session` calls, or ``DELETE /sections/:id``.
        """
        section = self._section_by_key(key)
        if section is None:
            return False
        found = self._event_of_section(section, key)
        if found is not None:
            self.cancel_session(found, notify=False)
        else:
            self._delete_section(str(section["id"]))
        return True

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """Read the event back (a deleted event reads as cancelled).

        :calls: ``GET /calendar_events/:id``

        Raises:
            NotFound: No such event.
        """
        event = self.client.call("GET", f"/calendar_events/{quote(ref.external_id, safe='')}", operation="get event")
        found = mapping.event_session(event, ref)
        capacity = self._capacity_of(ref)
        return found if capacity is None else found.model_copy(update={"capacity": capacity})

    def _capacity_of(self, ref: ProviderRef) -> int | None:
        slot = ref.extra.get("slot_id")
        if not slot:
            return None
        detail = self.client.call("GET", f"/calendar_events/{slot}", operation="get slot")
        limit = detail.get("participants_per_appointment")
        return int(limit) if isinstance(limit, int) else None

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """Move the event in place (same id) with its section's time, and carry the session's other fields.

        :calls: ``PUT /calendar_events/:id``; with an appointment group also ``PUT /calendar_events/:slot_id``.
        """
        key = ref.extra.get("key") or ""
        section_id = ref.extra.get("section_id")
        if not key or not section_id:
            raise ValidationError(f"Canvas ref {ref.external_id} lacks its key or section (a ref made by this adapter)")
        self.client.call(
            "PUT", f"/calendar_events/{quote(ref.external_id, safe='')}", operation="update event",
            json=mapping.event_body(session, key, section_id=section_id),
        )
        slot = ref.extra.get("slot_id")
        if slot:
            self.client.call("PUT", f"/calendar_events/{slot}", operation="move slot", json={"calendar_event": {
                "start_at": session.slot.start.isoformat(timespec="seconds"),
                "end_at": session.slot.end.isoformat(timespec="seconds"),
            }})
        return ref

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """Delete the event (Canvas tells its people why, with ``cancel_reason``), its appointment group and section.

        Already gone is fine. The section is kept while it holds enrolments (concluded learners keep their record).

        :calls: ``DELETE /calendar_events/:id``, [``DELETE /appointment_groups/:id``], ``DELETE /sections/:id``.
        """
        params = {"cancel_reason": "The session was cancelled."} if notify else None
        try:
            self.client.call("DELETE", f"/calendar_events/{quote(ref.external_id, safe='')}", params=params,
                             operation="delete event")
        except NotFound:
            logger.debug("canvas event %s was already deleted", ref.external_id)
        group = ref.extra.get("appointment_group_id")
        if group:
            try:
                self.client.call("DELETE", f"/appointment_groups/{group}", params=params,
                                 operation="delete appointment group")
            except NotFound:
                logger.debug("canvas appointment group %s was already deleted", group)
        section = ref.extra.get("section_id")
        if section:
            self._delete_section(section)

    # -- roster ---------------------------------------------------------------------------------------------

    def _section_of(self, ref: ProviderRef) -> str:
        section = ref.extra.get("section_id")
        if not section:
            raise ValidationError(f"Canvas ref {ref.external_id} names no section (a ref made by this adapter)")
        return section

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """Enrol ``people`` in the session's section as active students (one call each; Canvas has no batch).

        Enrolling someone already enrolled answers her enrolment (a concluded one is made active again). With
        an appointment group, each learner also reserves the session's slot; a full slot is ``CapacityFull``.

        :calls: ``POST /sections/:id/enrollments`` per learner; [``POST /calendar_events/:slot_id/reservations/
            :user_id`` per learner].

        Raises:
            CapacityFull: The appointment slot is full; the learner's enrolment in the section is removed again,
                and learners enrolled before her in the same call keep theirs.
        """
        section = self._section_of(ref)
        slot = ref.extra.get("slot_id")
        members: list[RosterMember] = []
        for person in {p.email: p for p in people}.values():
            enrollment = self.client.call(
                "POST", f"/sections/{section}/enrollments", operation="enrol",
                idempotent=True,  # Canvas answers an existing enrolment of the user in the section again
                json={"enrollment": {
                    "user_id": self.config.user_id_template.format(email=person.email),
                    "type": _STUDENT, "enrollment_state": "active", "notify": self.config.notify,
                }},
            )
            status = str(enrollment.get("enrollment_state") or "active")
            if slot:
                self._reserve(slot, enrollment, person)
                status = "reserved"
            members.append(RosterMember(email=person.email, external_id=str(enrollment.get("id")), status=status))
        return members

    def _reserve(self, slot: str, enrollment: Mapping[str, Any], person: Person) -> None:
        """Reserve the slot for an enrolled learner; a full slot undoes her enrolment."""
        user_id = enrollment.get("user_id")
        if user_id is None:
            raise MalformedResponse(f"enrol: Canvas answered no user_id for {person.email}", provider=self.name)
        try:
            # cancel_existing: a learner pushed again holds her reservation again, not a second one.
            self.client.call("POST", f"/calendar_events/{slot}/reservations/{user_id}", operation="reserve slot",
                             json={"comments": "Seat given by lms-connectors", "cancel_existing": True})
        except CapacityFull as full:
            # No seat, no place in the section either: the enrolment just made is removed again.
            course_id = enrollment.get("course_id")
            with contextlib.suppress(NotFound):
                self.client.call("DELETE", f"/courses/{course_id}/enrollments/{enrollment.get('id')}",
                                 params={"task": "delete"}, operation="unenrol")
            full.message = f"{person.email}: {full.message}"
            raise

    def unenrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *,
        registrations: Registrations | None = None,
    ) -> None:
        """End the enrolments of ``people`` in the section (``task=conclude`` or ``delete`` as configured).

        Enrolment ids in ``registrations`` (what :meth:`enrol` answered) are used as they are; the section's roster
        is read once for the others. People not enrolled are ignored. Their slot reservations are cancelled first.

        :calls: [``GET /sections/:id/enrollments``], [``GET /calendar_events/:slot_id``, ``DELETE
            /calendar_events/:reservation_id`` per learner], ``DELETE /courses/:course_id/enrollments/:id`` per learner.
        """
        emails = {person.email for person in people}
        if not emails:
            return
        known = {e: m.external_id for e, m in (registrations or {}).items() if e in emails and m.external_id}
        if emails - set(known):
            known.update({m.email: m.external_id for m in self.list_roster(ref)
                          if m.email in emails and m.external_id and m.email not in known})
        if not known:
            return
        slot = ref.extra.get("slot_id")
        if slot:
            self._cancel_reservations(slot, set(known))
        course_id = ref.extra.get("course_id") or str(self._course_of(session))
        for enrollment_id in known.values():
            try:
                self.client.call("DELETE", f"/courses/{course_id}/enrollments/{enrollment_id}",
                                 params={"task": self.config.unenrol_task}, operation="unenrol")
            except NotFound:
                continue

    def _cancel_reservations(self, slot: str, emails: set[str]) -> None:
        detail = self.client.call("GET", f"/calendar_events/{slot}", operation="get slot")
        for child in detail.get("child_events") or []:
            user = child.get("user") if isinstance(child, dict) else None
            login = str(user.get("login_id") or "").lower() if isinstance(user, dict) else ""
            if login in emails:
                try:
                    self.client.call("DELETE", f"/calendar_events/{child['id']}", operation="cancel reservation")
                except NotFound:
                    continue

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """The section's active students (lazily paged).

        :calls: ``GET /sections/:id/enrollments?type[]=StudentEnrollment&state[]=active`` (paged).
        """
        section = self._section_of(ref)
        listing = self.client.listing(f"/sections/{section}/enrollments", operation="list enrolments",
                                      params={"type[]": [_STUDENT], "state[]": ["active"]})
        for enrollment in listing:
            member = mapping.roster_member(enrollment)
            if member is not None:
                yield member

    # -- completion -----------------------------------------------------------------------------------------

    def record_completion(
        self, ref: ProviderRef, session: Session, item: CompletionItem, marks: Mapping[str, CompletionState]
    ) -> Iterator[CompletionWritten]:
        """Grade each learner complete or incomplete on the session's pass/fail assignment.

        ``item`` is an assignment: an existing pass/fail one (its id), or none (``id=None``), and the adapter
        makes one in the session's course, due at its end, and finds it again by its marker
        (:mod:`lms_connectors_canvas.grading`). Needs the course permissions ``manage_grades`` (and
        ``manage_assignments_add`` to make one); ``lms-connectors doctor`` says whether the token has them.

        :calls: 2 + one per learner whose grade differs (an existing assignment); 2 + one per learner the
            first time an assignment is made, 3 + ... when it is found again.
        """
        course_id = int(ref.extra.get("course_id") or self._course_of(session))
        return grading.record_completion(self.client, course_id, session, item, marks,
                                         user_id_template=self.config.user_id_template, provider=self.name)

    def check_completion(self, session: Session, item: CompletionItem) -> list[DiagnosticCheck]:
        """The grading permissions in the session's course and the named pass/fail assignment (reads only).

        :calls: 1, or 2 for a named assignment (:func:`lms_connectors_canvas.grading.check_item`).
        """
        return grading.check_item(self.client, self._course_of(session), item, provider=self.name)

    # -- listing --------------------------------------------------------------------------------------------

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """The courses' events that start in ``[start, end)``, one listing per course (paged).

        One listing per course: Canvas refuses a whole listing when one of its ``context_codes[]`` cannot be read,
        so a course the token may not see fails alone.

        :calls: ``GET /calendar_events?type=event&context_codes[]=course_N&start_date&end_date&per_page`` per course.
        """
        require_window(start, end)
        courses = self.config.listed_courses
        if not courses:
            raise ValidationError("set course_id or list_course_ids to list Canvas sessions")
        client = self.client
        if page_size is not None:
            client = CanvasClient(self.transport, as_user_id=self.config.as_user_id, page_size=page_size)
        for course_id in courses:
            params = {"type": "event", "context_codes[]": [f"course_{course_id}"],
                      "start_date": start.isoformat(timespec="seconds"), "end_date": end.isoformat(timespec="seconds")}
            for event in client.listing("/calendar_events", params=params, operation="list events"):
                if event.get("workflow_state") == "deleted":
                    continue
                ref = self._ref(event, course_id, mapping.section_of(event), mapping.event_key(event))
                found = mapping.event_session(event, ref)
                if start <= found.start < end:
                    yield found

    # -- change feed ----------------------------------------------------------------------------------------

    @property
    def feed_scope(self) -> str:
        """The courses the change feed reads."""
        return "courses-" + "-".join(str(c) for c in self.config.listed_courses)

    def read_changes(self, cursor: str | None, start: datetime, end: datetime) -> FeedPage:
        """The listed courses' SDK events in ``[start, end)`` with their sections' students (no cursor).

        :calls: per course, ``GET /calendar_events`` and ``GET /courses/:id/enrollments`` (paged): see
        :mod:`lms_connectors_canvas.feed`.
        """
        return feed.read_window(self, start, end, _STUDENT)

    # -- doctor and extras ----------------------------------------------------------------------------------

    def diagnose(self) -> list[DiagnosticCheck]:
        """Token, course and its account, course permissions, SIS ids allowed (``doctor.check_instance``)."""
        credentials = self.check_credentials()
        if not credentials.ok:
            return [credentials]
        return [credentials, *check_instance(self.client, self.config)]

    def ex_remaining_budget(self) -> float | None:
        """The instance's throttling budget left (``X-Rate-Limit-Remaining``) as last reported (no call)."""
        return self.budget.remaining
