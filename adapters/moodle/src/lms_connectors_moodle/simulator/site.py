"""The simulated site's data: users, courses, enrolments, groups, events, tokens; and its transactions.

Like Moodle on PostgreSQL, a web-service call that fails rolls back everything it changed (batches are
all-or-nothing), but ids handed out inside the failed transaction stay used.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lms_connectors.testing.refusal import Refusal

__all__ = ["ADMIN_ID", "ROLES", "SERVICE_FUNCTIONS", "MoodleError", "SiteData", "SiteState"]

ADMIN_ID = 2
SITE_COURSE_ID = 1

ROLES: dict[int, str] = {1: "manager", 2: "coursecreator", 3: "editingteacher", 4: "teacher", 5: "student"}
"""Moodle's default roles (id -> shortname)."""

_TEACHING_ROLES = {1, 3}  # roles holding moodle/calendar:manageentries and moodle/course:managegroups
_SITE_COURSE_CONTEXT = 2
_INSTALLED_CONTEXTS = 10

SERVICE_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info", "core_course_create_courses", "core_course_get_courses_by_field",
    "core_course_update_courses", "core_course_delete_courses", "core_course_get_courses", "core_course_get_contents",
    "core_user_create_users", "core_user_get_users_by_field", "core_user_update_users", "core_user_delete_users",
    "core_user_get_users", "enrol_manual_enrol_users", "enrol_manual_unenrol_users", "core_enrol_get_enrolled_users",
    "core_enrol_get_users_courses", "core_enrol_get_course_enrolment_methods", "core_group_create_groups",
    "core_group_add_group_members", "core_group_delete_group_members", "core_group_get_course_groups",
    "core_group_get_group_members", "core_group_delete_groups", "core_calendar_create_calendar_events",
    "core_calendar_get_calendar_events", "core_calendar_get_action_events_by_course",
    "core_calendar_get_action_events_by_courses", "core_calendar_get_action_events_by_timesort",
    "core_calendar_delete_calendar_events", "core_calendar_update_event_start_day",
    "core_calendar_submit_create_update_form", "core_calendar_get_calendar_event_by_id",
    "core_calendar_get_calendar_upcoming_view", "core_calendar_get_calendar_day_view",
    "core_calendar_get_calendar_monthly_view", "core_calendar_get_allowed_event_types",
    "core_calendar_get_calendar_access_information", "core_calendar_get_timestamps",
    "mod_bigbluebuttonbn_get_bigbluebuttonbns_by_courses", "mod_bigbluebuttonbn_meeting_info",
    "mod_bigbluebuttonbn_get_join_url", "mod_bigbluebuttonbn_can_join", "mod_bigbluebuttonbn_end_meeting",
    "mod_bigbluebuttonbn_get_recordings", "mod_bigbluebuttonbn_view_bigbluebuttonbn", "core_message_get_messages",
)
"""The functions of the recorded site's external service (``ilt_sdk``), in its order."""

OTHER_SITE_FUNCTIONS: frozenset[str] = frozenset(
    {"core_message_send_instant_messages", "core_group_get_course_user_groups"}
)
"""Functions that exist on the site but are not in that service (calling them is ``accessexception``)."""


class MoodleError(Refusal):
    """An exception Moodle turns into ``{"exception", "errorcode", "message"[, "debuginfo"]}`` in a 200 answer.

    A :class:`~lms_connectors.testing.refusal.Refusal` of status 200: the simulator renders it as Moodle does.
    """

    def __init__(self, exception: str, errorcode: str | None, message: str, debuginfo: str | None = None) -> None:
        super().__init__(200, message, errorcode)
        self.exception = exception
        self.errorcode = errorcode
        self.debuginfo = debuginfo

    @classmethod
    def invalid_parameter(cls, debuginfo: str) -> MoodleError:
        """``invalid_parameter_exception``."""
        return cls("core\\exception\\invalid_parameter_exception", "invalidparameter",
                   "Invalid parameter value detected", debuginfo)

    @classmethod
    def missing_record(cls, table: str, debuginfo: str | None = None) -> MoodleError:
        """``dml_missing_record_exception`` for ``table``."""
        return cls("dml_missing_record_exception", "invalidrecord",
                   f"Can't find data record in database table {table}.", debuginfo)

    @classmethod
    def invalid_user(cls, userid: int) -> MoodleError:
        """``dml_missing_record_exception`` / ``invaliduser``."""
        return cls("dml_missing_record_exception", "invaliduser", "Invalid user",
                   f"SELECT * FROM {{user}} WHERE id = ?\n[array (\n  0 => {userid},\n)]")  # noqa: S608

    @classmethod
    def no_permissions(cls, what: str, *, capability: bool = True) -> MoodleError:
        """``nopermissions`` (``required_capability_exception`` or a plain ``moodle_exception``)."""
        exception = (
            "core\\exception\\required_capability_exception" if capability
            else "core\\exception\\moodle_exception"
        )
        return cls(exception, "nopermissions",
                   f"Sorry, but you do not currently have permissions to do that ({what}).")

    @classmethod
    def sentence(cls, sentence: str) -> MoodleError:
        """A ``moodle_exception`` whose errorcode is an English sentence (``error/<sentence>``)."""
        return cls("core\\exception\\moodle_exception", sentence, f"error/{sentence}")


@dataclass
class SiteData:
    """Everything a transaction can roll back."""

    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    courses: dict[int, dict[str, Any]] = field(default_factory=dict)
    enrolments: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    activities: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Course modules by cmid: ``course``, ``modname``, ``instance``, ``tracking`` (0 none, 1 manual, 2 automatic)."""
    completions: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    """``(cmid, user id)`` -> ``state``, ``timecompleted``, ``overrideby`` (no row: incomplete, never set)."""


class SiteState:
    """The site: its data, sequences, tokens, settings and clock.

    Args:
        site_timezone: The site default zone (``99`` in a profile means this one).
        clock: Current Unix time (injected so recordings can be replayed at their own time).
    """

    def __init__(self, *, site_timezone: str = "Europe/London", clock: Callable[[], float] = time.time) -> None:
        self.data = SiteData()
        self.sequences: dict[str, int] = {}
        self.site_timezone = site_timezone
        self.clock = clock
        self.tokens: dict[str, str] = {}
        self.webservices_enabled = True
        self.rest_enabled = True
        self.debug_developer = False
        self.mail_broken = False
        self.max_input_vars = 5000
        self.sitename = "ILT Reference Moodle"
        self.siteurl = "http://127.0.0.1:8080"
        self.service_functions: list[str] = list(SERVICE_FUNCTIONS)
        self.allowaccountssameemail = False
        self.system_roles: dict[int, frozenset[str]] = {}
        self._seed()

    # -- set-up -------------------------------------------------------------------------------------------

    def _seed(self) -> None:
        now = int(self.clock())
        self.insert_user({"username": "guest", "firstname": "Guest user", "lastname": " ", "email": "root@localhost",
                          "auth": "manual", "timezone": "99"})
        self.insert_user({"username": "admin", "firstname": "Admin", "lastname": "User", "email": "admin@example.com",
                          "auth": "manual", "timezone": "99", "maildisplay": 1})
        self.data.users[ADMIN_ID]["preferences"] = [{"name": "last_time_enrolments_synced", "value": str(now)}]
        course_id = self.next_id("course")
        self.data.courses[course_id] = {
            "id": course_id, "fullname": self.sitename, "shortname": "iltref", "categoryid": 0, "idnumber": "",
            "summary": "Local reference Moodle for ILT SDK recordings", "summaryformat": 1, "format": "site",
            "showgrades": 1, "newsitems": 3, "startdate": 0, "enddate": 0, "visible": 1, "lang": "",
            "timecreated": now, "timemodified": now, "cacherev": now, "enablecompletion": 0,
            "contextid": _SITE_COURSE_CONTEXT,
        }
        # The install made ten contexts (system, front page, the two users, blocks...): the recorded site's
        # first new course got context 11.
        self.sequences["context"] = _INSTALLED_CONTEXTS

    def insert_course(self, fields: dict[str, Any]) -> int:
        """Add a course row with Moodle's defaults and its own context."""
        now = int(self.clock())
        course_id = self.next_id("course")
        record: dict[str, Any] = {
            "id": course_id, "fullname": "", "shortname": "", "categoryid": 1, "idnumber": "", "summary": "",
            "summaryformat": 1, "format": "topics", "showgrades": 1, "newsitems": 5, "startdate": now,
            "enddate": 0, "visible": 1, "lang": "", "timecreated": now, "timemodified": now,
            # Creating a course rebuilds its cache three times within the second, each time taking
            # max(now, cacherev + 1): the recorded course's cacherev is timecreated + 2.
            "cacherev": now + 2, "enablecompletion": 1, "contextid": self.next_id("context"),
        }
        record.update(fields)
        record["id"] = course_id
        self.data.courses[course_id] = record
        return course_id

    def add_course(self, shortname: str, fullname: str, *, startdate: int = 0) -> int:
        """Create a course with a manual enrolment instance (what an administrator sets up by hand)."""
        return self.insert_course({"fullname": fullname, "shortname": shortname, "idnumber": shortname,
                                   "startdate": startdate})

    def add_activity(self, course_id: int, *, tracking: int, modname: str = "page", cmid: int | None = None,
                     instance: int | None = None) -> int:
        """Add an activity (a course module) to a course; ``tracking`` 1 is manual completion, 0 none."""
        self.course(course_id)
        cmid = cmid if cmid is not None else self.next_id("course_modules")
        same_kind = sum(1 for a in self.data.activities.values() if a["modname"] == modname)
        self.data.activities[cmid] = {"course": course_id, "modname": modname, "tracking": tracking,
                                      "instance": instance if instance is not None else same_kind + 1}
        return cmid

    def add_token(self, token: str, username: str) -> None:
        """Issue ``token`` for ``username`` on the site's service (the user may be created later)."""
        self.tokens[token] = username

    # -- sequences and transactions -----------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        """Hand out the next id of ``table`` (never given back, as with database sequences)."""
        self.sequences[table] = self.sequences.get(table, 0) + 1
        return self.sequences[table]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a call's changes all-or-nothing (ids used inside stay used)."""
        snapshot = copy.deepcopy(self.data)
        try:
            yield
        except BaseException:
            self.data = snapshot
            raise

    # -- users ----------------------------------------------------------------------------------------------

    def insert_user(self, fields: dict[str, Any]) -> int:
        """Add a user row with Moodle's defaults."""
        user_id = self.next_id("user")
        record: dict[str, Any] = {
            "id": user_id, "username": "", "firstname": "", "lastname": "", "email": "", "department": "",
            "idnumber": "", "firstaccess": 0, "lastaccess": 0, "auth": "manual", "suspended": False,
            "confirmed": True, "lang": "en", "theme": "", "timezone": "99", "mailformat": 1, "trackforums": 0,
            "city": "", "country": "", "password": "", "maildisplay": 2,
        }
        record.update(fields)
        record["id"] = user_id
        self.data.users[user_id] = record
        self.next_id("context")  # every user has a context, so later courses' context ids move on
        return user_id

    def user(self, user_id: int) -> dict[str, Any]:
        """The user row, or ``invaliduser``."""
        found = self.data.users.get(user_id)
        if found is None or found.get("deleted"):
            raise MoodleError.invalid_user(user_id)
        return found

    def user_zone(self, user_id: int) -> ZoneInfo:
        """The zone a user's dates are shown in (``99`` and unknown names fall back to the site zone)."""
        name = str(self.data.users[user_id].get("timezone") or "99")
        if name == "99":
            name = self.site_timezone
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(self.site_timezone)

    # -- courses and roles ------------------------------------------------------------------------------------

    def course(self, course_id: int, *, table: str = "course") -> dict[str, Any]:
        """The course row, or ``invalidrecord`` on table ``course``."""
        found = self.data.courses.get(course_id)
        if found is None:
            raise MoodleError.missing_record(table)
        return found

    def is_admin(self, user_id: int) -> bool:
        """Whether the user is a site administrator (holds every capability)."""
        return user_id == ADMIN_ID

    def add_web_service_user(self, username: str, capabilities: Iterable[str]) -> int:
        """Create a user holding a custom role at system level with exactly ``capabilities`` (not an admin)."""
        user_id = self.insert_user({"username": username, "firstname": "Web", "lastname": "Service",
                                    "email": f"{username}@example.org", "auth": "manual", "timezone": "99"})
        self.assign_system_role(user_id, capabilities)
        return user_id

    def assign_system_role(self, user_id: int, capabilities: Iterable[str]) -> None:
        """Give the user a custom role at system level holding exactly ``capabilities`` (a web-service user)."""
        self.system_roles[user_id] = frozenset(capabilities)

    def has_capability(self, user_id: int, capability: str) -> bool:
        """Whether the user holds ``capability`` at system level (administrators hold every one)."""
        return self.is_admin(user_id) or capability in self.system_roles.get(user_id, frozenset())

    def require_course_context(self, user_id: int, course_id: int) -> None:
        """A course's ``validate_context``: enrolled, or ``moodle/course:view``, else ``errorcoursecontextnotvalid``."""
        if self.has_capability(user_id, "moodle/course:view") or self.is_enrolled(course_id, user_id):
            return
        raise MoodleError("core\\exception\\moodle_exception", "errorcoursecontextnotvalid",
                          f"You cannot execute functions in the course context (course id:{course_id}). The context "
                          "error message was: Course or activity not accessible.")

    def is_enrolled(self, course_id: int, user_id: int, *, only_active: bool = False) -> bool:
        """Whether the user has an enrolment in the course (active now, when asked)."""
        enrolment = self.data.enrolments.get((course_id, user_id))
        if enrolment is None:
            return False
        return not only_active or self.enrolment_active(enrolment)

    def enrolment_active(self, enrolment: dict[str, Any]) -> bool:
        """Whether an enrolment is active now (not suspended, inside its window)."""
        now = int(self.clock())
        if enrolment["status"] != 0:
            return False
        if enrolment["timestart"] and enrolment["timestart"] > now:
            return False
        return not (enrolment["timeend"] and enrolment["timeend"] < now)

    def can_manage_course(self, user_id: int, course_id: int) -> bool:
        """``moodle/calendar:manageentries`` / ``moodle/course:managegroups`` in the course."""
        if self.has_capability(user_id, "moodle/calendar:manageentries"):
            return True
        enrolment = self.data.enrolments.get((course_id, user_id))
        return enrolment is not None and bool(_TEACHING_ROLES & set(enrolment["roles"]))

    def can_edit_event(self, user_id: int, event: dict[str, Any]) -> bool:
        """``calendar_edit_event_allowed`` (deleting needs the same): own user events, managed courses' events."""
        if self.is_admin(user_id):
            return True
        if event["eventtype"] == "user" or (event["courseid"] == 0 and event["groupid"] == 0):
            return bool(event["userid"] == user_id)
        return event["courseid"] != SITE_COURSE_ID and self.can_manage_course(user_id, event["courseid"])

    def group_members(self, group_id: int) -> list[int]:
        """Member ids of a group, ordered like Moodle (by last name, then first name)."""
        members = self.data.groups[group_id]["members"]
        return sorted(members, key=lambda uid: (self.data.users[uid]["lastname"], self.data.users[uid]["firstname"]))
