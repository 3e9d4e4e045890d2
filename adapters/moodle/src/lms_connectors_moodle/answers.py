"""The checked shapes of the Moodle web-service answers the adapter reads: the fields it uses, typed.

Every call goes through :meth:`~lms_connectors_moodle.client.MoodleClient.call` with one of these shapes, so an
answer of another shape (an event without ``timestart``, a group list that is an object, user ids that are not
numbers) is a :class:`~lms_connectors.errors.MalformedResponse` naming the function and the field, with a
redacted excerpt of the body, before the adapter reads it. Fields follow the functions' return structures in
Moodle's web-service API documentation (Site administration > Server > Web services > API documentation).
Moodle's ids are integers; a numeric string is accepted for them (pydantic's lax ``int``), as the PHP side may
give one.
"""

from __future__ import annotations

from pydantic import StrictBool, StrictInt, StrictStr

from lms_connectors.shapes import AnswerList, AnswerShape

__all__ = [
    "CourseGroups", "CreatedEvents", "CreatedGroups", "CreatedUsers", "EnrolledUsers", "EventById", "EventForm",
    "EventList", "FoundUsers", "GroupMembers", "SiteInfo", "Timestamps", "Users", "Warnings",
]


class Warnings(AnswerShape):
    """An answer that carries only ``warnings`` (and whatever else the adapter does not read)."""

    warnings: list[dict[str, object]] | None = None


class CreatedEvent(AnswerShape):
    """An event ``core_calendar_create_calendar_events`` made."""

    id: int
    userid: int | None = None


class CreatedEvents(Warnings):
    """The answer of ``core_calendar_create_calendar_events``."""

    events: list[CreatedEvent]


class Event(AnswerShape):
    """An event as ``core_calendar_get_calendar_events`` and ``..._get_calendar_event_by_id`` give it."""

    id: int
    name: StrictStr = ""
    description: StrictStr | None = None
    timestart: int
    timeduration: int
    location: StrictStr | None = None
    userid: int | None = None


class EventList(Warnings):
    """The answer of ``core_calendar_get_calendar_events``."""

    events: list[Event] | None = None


class EventById(Warnings):
    """The answer of ``core_calendar_get_calendar_event_by_id``."""

    event: Event


class EventForm(AnswerShape):
    """The answer of ``core_calendar_submit_create_update_form``."""

    validationerror: StrictBool | None = None


class Group(AnswerShape):
    """A course group (its ID number marks the SDK's groups)."""

    id: int
    idnumber: StrictStr | None = None
    name: StrictStr | None = None


class CourseGroups(AnswerList):
    """The answer of ``core_group_get_course_groups``."""

    root: list[Group]


class CreatedGroups(AnswerList):
    """The answer of ``core_group_create_groups``."""

    root: list[Group]


class Members(AnswerShape):
    """The members of one group."""

    groupid: int
    userids: list[int]


class GroupMembers(AnswerList):
    """The answer of ``core_group_get_group_members``."""

    root: list[Members]


class UserId(AnswerShape):
    """A user, as far as an enrolment listing is read (``userfields=id``)."""

    id: int


class EnrolledUsers(AnswerList):
    """The answer of ``core_enrol_get_enrolled_users``."""

    root: list[UserId]


class User(AnswerShape):
    """An account (``core_user_get_users_by_field``, ``core_user_get_users``).

    ``email`` is left out when Moodle hides identity fields from the token's user (its role lacks
    ``moodle/site:viewuseridentity``): that is a permission problem the adapter names, not a malformed answer.
    """

    id: int
    email: StrictStr | None = None
    timezone: StrictStr | None = None


class Users(AnswerList):
    """The answer of ``core_user_get_users_by_field``."""

    root: list[User]


class FoundUsers(Warnings):
    """The answer of ``core_user_get_users``."""

    users: list[User]


class CreatedUser(AnswerShape):
    """An account ``core_user_create_users`` made."""

    id: int
    username: StrictStr


class CreatedUsers(AnswerList):
    """The answer of ``core_user_create_users``."""

    root: list[CreatedUser]


class Function(AnswerShape):
    """A web-service function the token may call."""

    name: StrictStr


class SiteInfo(AnswerShape):
    """The answer of ``core_webservice_get_site_info`` (the doctor's first check)."""

    sitename: StrictStr | None = None
    release: StrictStr | None = None
    username: StrictStr | None = None
    userid: StrictInt | None = None
    userissiteadmin: StrictBool | None = None
    functions: list[Function] | None = None


class Timestamp(AnswerShape):
    """One converted time of ``core_calendar_get_timestamps``."""

    key: StrictStr
    timestamp: int


class Timestamps(AnswerShape):
    """The answer of ``core_calendar_get_timestamps``."""

    timestamps: list[Timestamp]
