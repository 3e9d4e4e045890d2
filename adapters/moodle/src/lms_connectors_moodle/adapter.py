"""The Moodle adapter: a session is a course calendar event plus a course group holding its roster.

Calls per operation (N learners, all fitting under ``max_input_vars``):

* create: 2 (create group, create event; an event with a location or join link is made by the event form, which
  sets the location in the same write), + 1 (look up by marker) unless the scheduler says the key was never sent;
* reschedule: 1 (``core_calendar_submit_create_update_form`` with the exact Unix start);
* cancel: 4 (delete event, course groups, group members, delete group) + 1 to unenrol the learners the SDK
  enrolled for this session only (all in one call);
* enrol N: 4 (users by email, enrolled users, enrol the missing ones, add to the groups) + 1 if profiles' zones
  change; when accounts are missing, + 1 case-insensitive search per email domain and + 1 to create them, and
  the enrolled users are not read when every account was made by this call; + 1 the first time an adapter
  instance enrols in a course (it makes sure of the course's "enrolled by the SDK" group: 1 call when it is new,
  2 when it exists) -- independent of N;
* unenrol N: 3 or 4 (course groups, members, [remove from group], unenrol those the SDK enrolled), + 1 to look
  the users up when the scheduler does not give their ids;
* completion of N learners: 1 (users by email) + per learner 1 read + 1 override when the state differs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from lms_connectors.adapter import Adapter, AdapterKind, Capability, DiagnosticCheck
from lms_connectors.completion import CompletionItem, CompletionState, CompletionWritten
from lms_connectors.courses import integer_course_id
from lms_connectors.errors import (
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ProviderError,
    ResponseLost,
    ValidationError,
)
from lms_connectors.feeds import FeedPage
from lms_connectors.models import Person, ProviderRef, ProviderSession, Registrations, RosterMember, Session
from lms_connectors.outcomes import maybe_committed
from lms_connectors.shapes import unexpected_shape
from lms_connectors.timezones import require_window
from lms_connectors_moodle import completion, feed
from lms_connectors_moodle.answers import (
    CourseGroups,
    CreatedEvents,
    CreatedGroups,
    EnrolledUsers,
    EventById,
    EventForm,
    EventList,
    GroupMembers,
)
from lms_connectors_moodle.batching import batches
from lms_connectors_moodle.client import MoodleClient
from lms_connectors_moodle.config import MoodleConfig
from lms_connectors_moodle.doctor import check_site
from lms_connectors_moodle.errors import classify_moodle, raise_for_warnings
from lms_connectors_moodle.mapping import (
    description_html,
    event_instants,
    group_idnumber,
    group_name,
    join_url_of,
    key_of,
    location_of,
    marker,
)
from lms_connectors_moodle.names import check_name, read_name
from lms_connectors_moodle.users import UserDirectory

__all__ = ["ENROLLED_BY_SDK_IDNUMBER", "MoodleAdapter"]

logger = logging.getLogger("lms_connectors.moodle")

ENROLLED_BY_SDK_IDNUMBER = "lmsc:enrolled-by-sdk"
"""ID number of the course group whose members are the users this SDK enrolled (and may unenrol)."""


def _whole_minutes(session: Session) -> int:
    # The event form, which every reschedule uses, keeps whole minutes of the start and of the duration: a start
    # at 09:00:20 would be stored as 09:00:00.
    seconds = int(session.slot.duration.total_seconds())
    if seconds % 60:
        raise ValidationError("Moodle's event form takes durations in whole minutes", field="slot")
    if session.slot.start.second or session.slot.start.microsecond:
        raise ValidationError("Moodle's event form takes start times in whole minutes", field="slot")
    return seconds // 60


class MoodleAdapter(Adapter[MoodleConfig]):
    """Sessions as Moodle course calendar events, rosters as manual enrolments plus a group per session."""

    name: ClassVar[str] = "moodle"
    display_name: ClassVar[str] = "Moodle"
    kind: ClassVar[AdapterKind] = AdapterKind.LMS
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.RESCHEDULE_IN_PLACE, Capability.PUBLISHES_MEETING_LINK
    })

    def setup(self) -> None:
        """One transport to ``server.php``; the token travels in the form, so it is an extra secret."""
        token = self.config.token.get_secret_value()
        self.client = MoodleClient(self.api_transport(classifier=classify_moodle, extra_secrets=[token]), token)
        self.users = UserDirectory(self.client, self.config)
        self._marker_groups: dict[int, int] = {}

    # -- sessions ---------------------------------------------------------------------------------------

    def _course_of(self, session: Session | None) -> int:
        return integer_course_id(session, self.config.course_id, "Moodle")

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """Create the session's group and calendar event; never half-made.

        An event with a location (the join link) is made by the event form, which sets the location in the
        same write: ``core_calendar_create_calendar_events`` takes none, so it would need the form again. If the
        event cannot be made, the group made for it is deleted again before the error is raised, so that no group
        is left without its event; only a lost or garbled answer keeps the group (the event may exist: the base
        class looks it up by marker; :meth:`discard` removes a group whose event never came).

        :calls: ``core_group_create_groups``, then ``core_calendar_submit_create_update_form`` (with a location or
            join link) or ``core_calendar_create_calendar_events``.

        Raises:
            ValidationError: The session does not last a whole number of minutes (Moodle's event form, which
                every reschedule uses, takes minutes), or its title would be refused or read back changed
                (see :mod:`lms_connectors_moodle.names`), before any call.
        """
        course_id = self._course_of(session)
        _whole_minutes(session)
        check_name(session.title, field="title")
        group_id = self._ensure_group(course_id, group_idnumber(key), group_name(session, key),
                                      f"Roster of {session.title}")
        location = location_of(session)
        try:
            if location:
                ref = self._create_by_form(session, key, course_id, group_id, location)
            else:
                ref = self._create_event(session, key, course_id, group_id)
        except (ResponseLost, MalformedResponse):
            # A lost or garbled answer may come after Moodle made the event: the group stays for it, and the base
            # class looks the event up by marker before anything else.
            raise
        except ConnectorError:
            self._delete_group(group_id)
            raise
        return ref

    def find_created(self, session: Session, key: str) -> ProviderRef | None:
        """Find the event by marker in the session's course, and set its location again when it has one.

        An earlier attempt may have stopped (or lost its answer) before it set the location.

        :calls: ``core_calendar_get_calendar_events``, then ``core_calendar_submit_create_update_form`` when the
            session has a location or join link.

        Raises:
            ValidationError: As :meth:`create_new`, before any call.
        """
        course_id = self._course_of(session)
        _whole_minutes(session)
        check_name(session.title, field="title")
        existing = self._find(key, course_id)
        location = location_of(session)
        if existing is not None and location:
            self._submit_form(existing, session, key, location)
        return existing

    def _create_event(self, session: Session, key: str, course_id: int, group_id: int) -> ProviderRef:
        event = {
            "name": session.title, "description": description_html(session, key), "format": 1,
            "courseid": course_id, "eventtype": self.config.event_type,
            "timestart": int(session.slot.start.timestamp()),
            "timeduration": int(session.slot.duration.total_seconds()),
        }
        if self.config.event_type == "group":
            event["groupid"] = group_id
        # Not repeatable: a lost answer raises ResponseLost, and the base class looks the event up by marker.
        answer = self.client.call("core_calendar_create_calendar_events", {"events": [event]}, shape=CreatedEvents)
        raise_for_warnings(answer.get("warnings"), items=[session.title], what=f"creating event {session.title!r}")
        events = answer.get("events") if isinstance(answer, Mapping) else None
        if not events or not isinstance(events[0], Mapping) or "id" not in events[0]:
            raise MalformedResponse("core_calendar_create_calendar_events answered no event", provider=self.name)
        return self._ref(events[0], session, course_id, group_id, key)

    def find_session(self, key: str) -> ProviderRef | None:
        """Find the event a previous ``create_session(key=key)`` made, by the marker in its description.

        :calls: ``core_calendar_get_calendar_events`` (the configured course, filtered on our side).
        """
        if self.config.course_id is None:
            return None
        return self._find(key, self.config.course_id)

    def discard(self, key: str) -> bool:
        """Remove what a create with ``key`` left: its event with its group, or its group alone.

        A create makes the group first; one cut short before its event was made leaves only the group, which
        :meth:`find_session` (by event) cannot see.

        :calls: ``core_calendar_get_calendar_events``, ``core_group_get_course_groups``, then what
            :meth:`cancel_session` calls, or ``core_group_delete_groups``.
        """
        if self.config.course_id is None:
            return super().discard(key)
        course_id = int(self.config.course_id)
        found = self._find(key, course_id)
        if found is not None:
            self.cancel_session(found, notify=False)
            return True
        group = self._group_by_idnumber(course_id, group_idnumber(key))
        if group is None:
            return False
        self._delete_group(int(group["id"]))
        return True

    def _find(self, key: str, course_id: int) -> ProviderRef | None:
        answer = self.client.call("core_calendar_get_calendar_events", {
            "events": {"courseids": [course_id]},
            "options": {"userevents": False, "siteevents": False, "ignorehidden": False},
        }, idempotent=True, shape=EventList)
        tagged = [e for e in answer.get("events", []) if marker(key) in (e.get("description") or "")]
        if not tagged and self.config.event_type == "group":
            tagged = self._find_group_events(key, course_id)
        if not tagged:
            return None
        event = min(tagged, key=lambda e: int(e["id"]))
        group = self._group_by_idnumber(course_id, group_idnumber(key))
        return self._ref(event, None, course_id, group["id"] if group else 0, key)

    def _find_group_events(self, key: str, course_id: int) -> list[dict[str, Any]]:
        group = self._group_by_idnumber(course_id, group_idnumber(key))
        if group is None:
            return []
        answer = self.client.call("core_calendar_get_calendar_events", {
            "events": {"groupids": [group["id"]]},
            "options": {"userevents": False, "siteevents": False, "ignorehidden": False},
        }, idempotent=True, shape=EventList)
        return [e for e in answer.get("events", []) if marker(key) in (e.get("description") or "")]

    def _ref(self, event: Mapping[str, Any], session: Session | None, course_id: int, group_id: int,
             key: str) -> ProviderRef:
        extra = {"course_id": str(course_id), "group_id": str(group_id), "key": key,
                 "owner_id": str(event.get("userid") or "")}
        if session is not None:
            extra["timezone"] = session.slot.timezone
        return ProviderRef(provider=self.name, external_id=str(event["id"]),
                           join_url=session.meeting.join_url if session and session.meeting else None, extra=extra)

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """Read the event back (its location comes only from the rich exporter).

        :calls: ``core_calendar_get_calendar_event_by_id``.

        Raises:
            NotFound: The event does not exist (Moodle itself answers a missing id with ``nopermissions``;
                the adapter checks by id before saying so).
        """
        try:
            answer = self.client.call("core_calendar_get_calendar_event_by_id", {"eventid": int(ref.external_id)},
                                      idempotent=True, shape=EventById)
        except PermissionDenied:
            if not self._event_exists(int(ref.external_id)):
                raise NotFound(f"Moodle event {ref.external_id} does not exist", provider=self.name) from None
            raise
        event = answer["event"]
        start, end = event_instants(event)
        return ProviderSession(
            ref=ref, title=read_name(str(event["name"])), start=start, end=end, timezone=ref.extra.get("timezone"),
            location=event.get("location") or None, join_url=join_url_of(str(event.get("description", ""))),
            raw=event,
        )

    def _event_exists(self, event_id: int) -> bool:
        answer = self.client.call("core_calendar_get_calendar_events", {
            "events": {"eventids": [event_id]}, "options": {"userevents": False, "siteevents": False},
        }, idempotent=True, shape=EventList)
        return any(int(e["id"]) == event_id for e in answer.get("events", []))

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """Move the event in place, to the exact instant.

        Uses the event form with a plain integer ``timestart`` (taken as-is, no zone involved), never
        ``core_calendar_update_event_start_day``, which keeps the time of day in the *site* zone and so
        shifts the instant by an hour across a DST change.

        :calls: ``core_calendar_submit_create_update_form``.
        """
        key = ref.extra.get("key") or ""
        self._submit_form(ref, session, key, location_of(session))
        extra = {**ref.extra, "timezone": session.slot.timezone}
        return ref.model_copy(update={"extra": extra,
                                      "join_url": session.meeting.join_url if session.meeting else ref.join_url})

    def _create_by_form(self, session: Session, key: str, course_id: int, group_id: int,
                        location: str) -> ProviderRef:
        # The form with id 0 and the create form's marker makes the event with its location in one write (live
        # 4.5.6: the event belongs to the token's user, who is also the owner a reschedule names).
        # Not repeatable: a lost answer raises ResponseLost, and the base class looks the event up by marker.
        answer = self.client.call("core_calendar_submit_create_update_form", {"formdata": urlencode(
            self._form_fields("0", None, "create", session, key, str(course_id), str(group_id), location))},
            shape=EventForm)
        self._raise_for_form(answer, f"the creation of event {session.title!r}")
        event = answer.get("event")
        if not isinstance(event, Mapping) or "id" not in event:
            raise MalformedResponse("core_calendar_submit_create_update_form answered no event", provider=self.name)
        return self._ref(event, session, course_id, group_id, key)

    def _submit_form(self, ref: ProviderRef, session: Session, key: str, location: str) -> None:
        course_id = ref.extra.get("course_id") or str(self._course_of(session))
        fields = self._form_fields(ref.external_id, ref.extra.get("owner_id", ""), "update", session, key,
                                   course_id, ref.extra.get("group_id", "0"), location)
        answer = self.client.call("core_calendar_submit_create_update_form", {"formdata": urlencode(fields)},
                                  idempotent=True, shape=EventForm)
        self._raise_for_form(answer, f"the update of event {ref.external_id}")

    def _form_fields(self, event_id: str, owner_id: str | None, form: str, session: Session, key: str, course_id: str,
                     group_id: str, location: str) -> list[tuple[str, str]]:
        """The event form's fields, as Moodle's own calendar page posts them (``form``: create or update).

        A new event has no owner to name: Moodle makes the token's user its owner.
        """
        seconds = _whole_minutes(session) * 60
        check_name(session.title, field="title")
        fields: list[tuple[str, str]] = [("id", event_id)]
        if owner_id is not None:
            fields.append(("userid", owner_id))
        fields += [
            ("modulename", ""), ("instance", "0"), ("visible", "1"), ("sesskey", "ignored-for-ws"),
            (f"_qf__core_calendar_local_event_forms_{form}", "1"), ("name", session.title),
            ("eventtype", self.config.event_type), ("courseid", course_id),
        ]
        if self.config.event_type == "group":
            fields += [("groupcourseid", course_id), ("groupid", group_id)]
        fields += [
            ("description[text]", description_html(session, key)), ("description[format]", "1"),
            ("description[itemid]", "0"), ("location", location), ("duration", "2"),
            ("timedurationminutes", str(seconds // 60)), ("timestart", str(int(session.slot.start.timestamp()))),
        ]
        return fields

    def _raise_for_form(self, answer: Mapping[str, Any], what: str) -> None:
        if answer.get("validationerror"):
            raise InvalidRequest(f"Moodle's event form refused {what} "
                                 "(it gives no detail: name, type, course or permission)", provider=self.name,
                                 code="validationerror")

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """Delete the event, unenrol the learners the SDK enrolled for this session only, delete its group.

        Learners the SDK enrolled in the course for this session alone leave the course with it (the same rule
        as :meth:`unenrol`); anyone else keeps their enrolment. Already gone is fine, and a cancel that stopped
        half-way is finished by calling it again.

        :calls: ``core_calendar_delete_calendar_events``, ``core_group_get_course_groups``,
            ``core_group_get_group_members``, [``enrol_manual_unenrol_users``], ``core_group_delete_groups``.
        """
        try:
            self.client.call("core_calendar_delete_calendar_events",
                             {"events": [{"eventid": int(ref.external_id), "repeat": False}]}, idempotent=True)
        except NotFound:
            logger.debug("moodle event %s was already deleted", ref.external_id)
        group_id = int(ref.extra.get("group_id") or 0)
        course = ref.extra.get("course_id") or self.config.course_id
        if group_id and course:
            self._release(int(course), group_id, None, leave_group=False)
        self._delete_group(group_id)

    def _delete_group(self, group_id: int) -> None:
        if not group_id:
            return
        try:
            self.client.call("core_group_delete_groups", {"groupids": [group_id]}, idempotent=True)
        except NotFound:
            logger.debug("moodle group %s was already deleted", group_id)

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """Events of the configured course starting in ``[start, end)`` that this SDK created.

        Moodle returns the whole window in one answer (the function has no paging).

        :calls: ``core_calendar_get_calendar_events``.
        """
        require_window(start, end)
        course_id = self._course_of(None)
        answer = self.client.call("core_calendar_get_calendar_events", {
            "events": {"courseids": [course_id]},
            "options": {"userevents": False, "siteevents": False, "timestart": int(start.timestamp()),
                        "timeend": int(end.timestamp())},
        }, idempotent=True, shape=EventList)
        for event in answer.get("events", []):
            key = key_of(str(event.get("description") or ""))
            begin, finish = event_instants(event)
            if key is None or not start <= begin < end:
                continue
            ref = ProviderRef(provider=self.name, external_id=str(event["id"]),
                              extra={"course_id": str(course_id), "key": key})
            yield ProviderSession(ref=ref, title=read_name(str(event["name"])), start=begin, end=finish,
                                  join_url=join_url_of(str(event.get("description") or "")), raw=event)

    # -- change feed ------------------------------------------------------------------------------------

    @property
    def feed_scope(self) -> str:
        """The course the change feed reads."""
        return f"course-{self._course_of(None)}"

    def read_changes(self, cursor: str | None, start: datetime, end: datetime) -> FeedPage:
        """The course's SDK events in ``[start, end)`` with their groups' members (Moodle has no cursor).

        :calls: ``core_calendar_get_calendar_events``, ``core_group_get_course_groups``,
        ``core_group_get_group_members`` (every session group at once), ``core_user_get_users_by_field``
        (batched): four calls whatever the number of sessions (see :mod:`lms_connectors_moodle.feed`).
        """
        return feed.read_window(self, self._course_of(None), start, end)

    # -- groups -----------------------------------------------------------------------------------------

    def _course_groups(self, course_id: int) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = self.client.call("core_group_get_course_groups", {"courseid": course_id},
                                                        idempotent=True, shape=CourseGroups)
        return groups

    def _group_by_idnumber(self, course_id: int, idnumber: str) -> dict[str, Any] | None:
        return next((g for g in self._course_groups(course_id) if g.get("idnumber") == idnumber), None)

    def _ensure_group(self, course_id: int, idnumber: str, name: str, description: str) -> int:
        """Create a group, or find the one a previous attempt made (its ID number is the natural key)."""
        group = {"courseid": course_id, "name": name, "description": description, "idnumber": idnumber}
        try:
            created = self.client.call("core_group_create_groups", {"groups": [group]}, shape=CreatedGroups)
            return int(created[0]["id"])
        except ConnectorError as exc:
            # A duplicate ID number is 'idnumbertaken', a duplicate name 'invalidparameter'; a lost, garbled or
            # failed (5xx) answer may come after Moodle made it. In every such case the group with our ID number
            # is the one to use; a plain refusal (permissions, a missing course) is raised as it is.
            if not (isinstance(exc, Conflict | InvalidRequest) or maybe_committed(exc)):
                raise
            found = self._group_by_idnumber(course_id, idnumber)
            if found is None:
                raise
            return int(found["id"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            # Valid JSON of another shape: Moodle made the group, most likely, and said so oddly.
            found = self._group_by_idnumber(course_id, idnumber)
            if found is None:
                raise unexpected_shape(self.name, "core_group_create_groups", exc) from exc
            return int(found["id"])

    def _marker_group(self, course_id: int) -> int:
        if course_id not in self._marker_groups:
            self._marker_groups[course_id] = self._ensure_group(
                course_id, ENROLLED_BY_SDK_IDNUMBER, "lms-connectors: enrolled by the SDK",
                "Members are the users lms-connectors enrolled in this course; it unenrols only them.",
            )
        return self._marker_groups[course_id]

    # -- roster -----------------------------------------------------------------------------------------

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """Enrol ``people`` in the course (only those not enrolled yet) and add them to the session's group.

        Re-enrolling an enrolled user is not a no-op in Moodle (it resets the enrolment window and status),
        so enrolled users are only added to the group. Every step is one call per ``max_input_vars`` batch.

        :calls: ``core_user_get_users_by_field``, [``core_user_get_users`` per email domain of people the first
            look-up missed], [``core_user_create_users``], [``core_user_update_users``],
            [``core_enrol_get_enrolled_users``: only when some account existed before this call],
            ``enrol_manual_enrol_users``, ``core_group_add_group_members``.
        """
        if not people:
            return []
        course_id = int(ref.extra.get("course_id") or self._course_of(session))
        group_id = int(ref.extra.get("group_id") or 0)
        accounts = self.users.resolve(people)
        users = accounts.ids
        # Only accounts that existed before may be enrolled already; one made by this call is enrolled nowhere.
        found = {users[p.email] for p in people} - accounts.created
        enrolled = self._enrolled_ids(course_id) if found else set()
        newcomers = list(dict.fromkeys(users[p.email] for p in people if users[p.email] not in enrolled))
        if newcomers:
            self._enrol_ids(course_id, newcomers)
        marker_group = self._marker_group(course_id) if newcomers else 0
        members = [{"groupid": group_id, "userid": users[p.email]} for p in people if group_id]
        members += [{"groupid": marker_group, "userid": uid} for uid in newcomers]
        for batch in batches(members, 2, self.config.max_input_vars):
            self.client.call("core_group_add_group_members", {"members": list(batch)}, idempotent=True)
        fresh = set(newcomers)
        return [RosterMember(email=p.email, external_id=str(users[p.email]),
                             status="enrolled" if users[p.email] in fresh else "added_to_group") for p in people]

    def _enrolled_ids(self, course_id: int) -> set[int]:
        answer = self.client.call("core_enrol_get_enrolled_users", {
            "courseid": course_id, "options": [{"name": "userfields", "value": "id"}],
        }, idempotent=True, shape=EnrolledUsers)
        return {int(row["id"]) for row in answer}

    def _enrol_ids(self, course_id: int, user_ids: Sequence[int]) -> None:
        rows = [{"roleid": self.config.student_role_id, "userid": uid, "courseid": course_id} for uid in user_ids]
        for batch in batches(rows, 3, self.config.max_input_vars):
            try:
                self.client.call("enrol_manual_enrol_users", {"enrolments": list(batch)}, idempotent=True)
            except ProviderError as exc:
                # 'Message was not sent.': the welcome mail failed AFTER the enrolment committed.
                if "notification" not in exc.message and "Message was not sent" not in str(exc.code):
                    raise
                missing = {r["userid"] for r in batch} - self._enrolled_ids(course_id)
                if missing:
                    raise
                logger.warning("moodle enrolled %d users but could not send their welcome message", len(batch))

    def unenrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *,
        registrations: Registrations | None = None,
    ) -> None:
        """Remove ``people`` from the session's group; unenrol only those this SDK enrolled.

        A user leaves the course only when the SDK enrolled them and they are in no other session of the
        course (Moodle's unenrol drops every group membership); the others only leave the group. User ids
        given in ``registrations`` (what :meth:`enrol` answered) save looking those users up.

        :calls: [``core_user_get_users_by_field``], ``core_group_get_course_groups``,
            ``core_group_get_group_members``, ``core_group_delete_group_members``, ``enrol_manual_unenrol_users``.
        """
        if not people:
            return
        course_id = int(ref.extra.get("course_id") or self._course_of(session))
        group_id = int(ref.extra.get("group_id") or 0)
        given = (registrations or {}).items()
        known = {e: int(m.external_id) for e, m in given if m.external_id and m.external_id.isdigit()}
        unknown = [p for p in people if p.email not in known]
        users = {**known, **(self.users.find(unknown) if unknown else {})}
        ids = [users[p.email] for p in people if p.email in users]
        if not ids:
            return
        self._release(course_id, group_id, ids, leave_group=True)

    def _release(self, course_id: int, group_id: int, ids: Sequence[int] | None, *, leave_group: bool) -> None:
        """Unenrol those of ``ids`` (default: the session group's members) the SDK enrolled for no other session.

        The others only leave the session's group (when ``leave_group``; a cancel deletes the group instead).
        """
        ours = [g for g in self._course_groups(course_id) if str(g.get("idnumber", "")).startswith("lmsc:")]
        members: dict[int, set[int]] = {}
        if ours:
            answer = self.client.call("core_group_get_group_members",
                                      {"groupids": [int(g["id"]) for g in ours]}, idempotent=True, shape=GroupMembers)
            members = {int(row["groupid"]): {int(u) for u in row["userids"]} for row in answer}
        if ids is None:
            ids = sorted(members.get(group_id, set()))
        marker_id = next((int(g["id"]) for g in ours if g.get("idnumber") == ENROLLED_BY_SDK_IDNUMBER), None)
        enrolled_by_us = members.get(marker_id, set()) if marker_id is not None else set()
        other_sessions = [m for gid, m in members.items() if gid not in (group_id, marker_id)]
        leaving = [uid for uid in ids if uid in enrolled_by_us and not any(uid in m for m in other_sessions)]
        in_group = members.get(group_id, set()) if leave_group else set()
        staying = [uid for uid in ids if uid not in leaving and uid in in_group]
        for batch in batches([{"groupid": group_id, "userid": uid} for uid in staying], 2, self.config.max_input_vars):
            self.client.call("core_group_delete_group_members", {"members": list(batch)}, idempotent=True)
        rows = [{"userid": uid, "courseid": course_id} for uid in leaving]
        for batch in batches(rows, 2, self.config.max_input_vars):
            self._unenrol_batch(batch)

    def _unenrol_batch(self, batch: Sequence[Mapping[str, int]]) -> None:
        """Unenrol a batch in one call; if Moodle refuses it, unenrol each user alone so one cannot block the rest.

        Moodle unenrols a batch in one transaction, and one refused row rolls the whole batch back (live 4.5.6:
        a batch holding a missing user id answered ``invaliduser`` and left every other user enrolled). Each row
        is then sent alone: a user who no longer exists holds no enrolment and is done; any other refusal is
        raised once every other row is unenrolled, so a retry finds only what is still left.
        """
        try:
            self.client.call("enrol_manual_unenrol_users", {"enrolments": list(batch)}, idempotent=True)
            return
        except ConnectorError as exc:
            # A missing capability refuses every row alike: sending them one by one would only repeat it.
            if len(batch) == 1 or maybe_committed(exc) or isinstance(exc, PermissionDenied):
                raise
            logger.info("moodle refused unenrolling %d users at once (%s); unenrolling each alone", len(batch), exc)
        refused: ConnectorError | None = None
        for row in batch:
            try:
                self.client.call("enrol_manual_unenrol_users", {"enrolments": [dict(row)]}, idempotent=True)
            except NotFound:
                logger.debug("moodle user %s no longer exists: nothing to unenrol", row["userid"])
            except ConnectorError as exc:
                if maybe_committed(exc):
                    raise
                refused = refused or exc
        if refused is not None:
            raise refused

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """Members of the session's group.

        :calls: ``core_group_get_group_members``, ``core_user_get_users_by_field`` (by id, batched).
        """
        group_id = int(ref.extra.get("group_id") or 0)
        if not group_id:
            return
        answer = self.client.call("core_group_get_group_members", {"groupids": [group_id]}, idempotent=True,
                                  shape=GroupMembers)
        ids = [int(u) for row in answer for u in row["userids"]]
        for person in self.users.by_ids(ids):
            yield RosterMember(email=str(person["email"]).lower(), external_id=str(person["id"]), status="member")

    # -- completion -------------------------------------------------------------------------------------

    def record_completion(
        self, ref: ProviderRef, session: Session, item: CompletionItem, marks: Mapping[str, CompletionState]
    ) -> Iterator[CompletionWritten]:
        """Set each learner's completion of an existing activity of the session's course (its ``cmid``).

        The activity must have completion tracking; the adapter never makes one. Needs the service functions
        :data:`~lms_connectors_moodle.doctor.COMPLETION_FUNCTIONS` and the capabilities
        :data:`~lms_connectors_moodle.doctor.COMPLETION_CAPABILITIES` (``lms-connectors doctor`` says whether the
        functions are there); without them the call is a ``PermissionDenied`` naming what to add
        (:mod:`lms_connectors_moodle.completion`).

        :calls: 1 + per learner 1 read + 1 override when her state differs.
        """
        return completion.record_completion(self.client, self.users, self._course_of(session), item, marks,
                                            provider=self.name)

    def check_completion(self, session: Session, item: CompletionItem) -> list[DiagnosticCheck]:
        """The completion functions in the token's service and the activity's completion tracking (reads only).

        :calls: 2 (:func:`lms_connectors_moodle.completion.check_item`).
        """
        return completion.check_item(self.client, self._course_of(session), item, provider=self.name)

    # -- lifecycle and extras -----------------------------------------------------------------------------

    def diagnose(self) -> list[DiagnosticCheck]:
        """Checks for ``lms-connectors doctor`` (see :func:`lms_connectors_moodle.doctor.check_site`)."""
        return check_site(self.client, self.config)

    def ex_call(self, wsfunction: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call any web-service function of the token's service (Moodle-only escape hatch)."""
        return self.client.call(wsfunction, params)


