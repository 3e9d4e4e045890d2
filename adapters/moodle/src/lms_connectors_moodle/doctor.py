"""Checks of a Moodle site for ``lms-connectors doctor``: :func:`check_site`."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lms_connectors.adapter import DiagnosticCheck
from lms_connectors.errors import AuthError, ConnectorError, PermissionDenied
from lms_connectors_moodle.answers import EnrolledUsers, SiteInfo, Timestamps, Users
from lms_connectors_moodle.client import MoodleClient
from lms_connectors_moodle.config import MoodleConfig
from lms_connectors_moodle.users import IDENTITY_CAPABILITY, identity_hidden

__all__ = [
    "CAPABILITIES", "COMPLETION_CAPABILITIES", "COMPLETION_FUNCTIONS", "COURSE_CAPABILITY", "REQUIRED_FUNCTIONS",
    "check_site",
]

REQUIRED_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_calendar_create_calendar_events",
    "core_calendar_get_calendar_events",
    "core_calendar_get_calendar_event_by_id",
    "core_calendar_submit_create_update_form",
    "core_calendar_delete_calendar_events",
    "core_calendar_get_timestamps",
    "core_group_create_groups",
    "core_group_get_course_groups",
    "core_group_get_group_members",
    "core_group_add_group_members",
    "core_group_delete_group_members",
    "core_group_delete_groups",
    "core_user_get_users_by_field",
    "core_user_get_users",
    "core_user_create_users",
    "core_user_update_users",
    "core_enrol_get_enrolled_users",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
)
"""Every function the adapter calls: the token's external service must hold them all."""

CAPABILITIES: tuple[str, ...] = (
    "webservice/rest:use", "moodle/course:view", "moodle/calendar:manageentries", "moodle/course:managegroups",
    "enrol/manual:enrol", "enrol/manual:unenrol", "moodle/course:enrolreview", "moodle/course:viewparticipants",
    "moodle/role:assign", "moodle/user:viewdetails", "moodle/user:viewhiddendetails", "moodle/site:viewuseridentity",
    "moodle/course:useremail", "moodle/site:accessallgroups", "moodle/user:create", "moodle/user:update",
)
"""Capabilities the token's user needs, given by one role at system level (``moodle/user:create`` only with
``create_missing_users``). Its role must also be allowed to assign the learners' role (Student), and the site's
*Show user identity* must keep ``email``."""

COMPLETION_FUNCTIONS: tuple[str, ...] = (
    "core_completion_override_activity_completion_status",
    "core_completion_get_activities_completion_status",
)
"""Functions only completion write-back calls (:meth:`MoodleAdapter.record_completion`): optional, so a service
without them passes the doctor, which says completion cannot be written until they are added."""

COMPLETION_CAPABILITIES: tuple[str, ...] = ("moodle/course:overridecompletion", "report/progress:view")
"""Capabilities only completion write-back needs: overriding a learner's activity completion, and reading it."""

COURSE_CAPABILITY = "moodle/course:view"
"""Without it (and without an enrolment) every call in a course fails ``errorcoursecontextnotvalid``."""


def _completion_check(available: set[str]) -> DiagnosticCheck:
    """Whether completion can be written back: optional, so it passes either way and says what it would need."""
    missing = [f for f in COMPLETION_FUNCTIONS if f not in available]
    roles = " and ".join(COMPLETION_CAPABILITIES)
    if missing:
        return DiagnosticCheck.of("completion (optional)", True, "completion cannot be written back: add to the "
                                  f"token's external service {', '.join(missing)} and give its role {roles}")
    return DiagnosticCheck.of("completion (optional)", True, f"service functions present; the role also needs {roles}")


def _zone_offsets(name: str, year: int) -> tuple[int, int]:
    zone = ZoneInfo(name)
    winter = datetime(year, 1, 15, 12, tzinfo=zone).utcoffset()
    summer = datetime(year, 7, 15, 12, tzinfo=zone).utcoffset()
    assert winter is not None
    assert summer is not None
    return int(winter.total_seconds()), int(summer.total_seconds())


def check_site(client: MoodleClient, config: MoodleConfig) -> list[DiagnosticCheck]:
    """Check a Moodle site and token: REST enabled, token valid, functions, permissions, the site zone.

    The site's default zone is not in ``core_webservice_get_site_info``; when the token's user follows the
    site default (profile zone ``99``), ``core_calendar_get_timestamps`` reveals its UTC offsets in winter and
    summer, which are compared with the configured ``site_timezone``.

    Args:
        client: The adapter's web-service client.
        config: The adapter's settings.

    Returns:
        The checks, in order; a failed early check (REST disabled, bad token) stops the rest.
    """
    checks: list[DiagnosticCheck] = []
    try:
        info = client.call("core_webservice_get_site_info", idempotent=True, shape=SiteInfo)
    except AuthError as exc:
        return [DiagnosticCheck.of("token", False, f"the token is refused ({exc.code}): issue a new one")]
    except PermissionDenied as exc:
        return [DiagnosticCheck.of("web services", False, exc.message)]
    except ConnectorError as exc:
        return [DiagnosticCheck.of("site reachable", False, str(exc))]
    checks.append(DiagnosticCheck.of("web services + REST", True, f"{info.get('sitename')} ({info.get('release')})"))
    checks.append(DiagnosticCheck.of("token", True, f"user {info.get('username')} (id {info.get('userid')})"
                              + (", site administrator" if info.get("userissiteadmin") else "")))
    available = {f["name"] for f in info.get("functions", [])}
    needed = [f for f in REQUIRED_FUNCTIONS if f != "core_user_create_users" or config.create_missing_users]
    missing = [f for f in needed if f not in available]
    checks.append(DiagnosticCheck.of("service functions", not missing,
                              "all present" if not missing else "add to the token's external service: "
                              + ", ".join(missing)))
    checks.append(_completion_check(available))
    user_id = int(info.get("userid", 0))
    checks.append(_zone_check(client, config, user_id))
    enrolled: list[int] = []
    if config.course_id is not None:
        course_check, enrolled = _course_check(client, config.course_id)
        checks.append(course_check)
    checks.append(_identity_check(client, user_id, enrolled))
    return checks


def _zone_check(client: MoodleClient, config: MoodleConfig, user_id: int) -> DiagnosticCheck:
    try:
        me = client.call("core_user_get_users_by_field", {"field": "id", "values": [str(user_id)]}, idempotent=True,
                         shape=Users)
        zone = str(me[0].get("timezone", "99")) if me else "99"
        if zone != "99":
            return DiagnosticCheck.of("site time zone", True, f"token user's zone is {zone}; the site default "
                                      "cannot be read through this user (set it to 'Server time zone' (99) to check)")
        year = datetime.now(UTC).year + 1
        answer = client.call("core_calendar_get_timestamps", {"data": [
            {"key": "winter", "year": year, "month": 1, "day": 15, "hour": 12, "minute": 0},
            {"key": "summer", "year": year, "month": 7, "day": 15, "hour": 12, "minute": 0},
        ]}, idempotent=True, shape=Timestamps)
    except ConnectorError as exc:
        return DiagnosticCheck.of("site time zone", False, f"could not read it: {exc}")
    stamps = {row["key"]: int(row["timestamp"]) for row in answer["timestamps"]}
    offsets = (
        int(datetime(year, 1, 15, 12, tzinfo=UTC).timestamp()) - stamps["winter"],
        int(datetime(year, 7, 15, 12, tzinfo=UTC).timestamp()) - stamps["summer"],
    )
    shown = f"UTC offsets {offsets[0] / 3600:+g} h (January) / {offsets[1] / 3600:+g} h (July)"
    configured = config.site_timezone
    if configured is None:
        return DiagnosticCheck.of("site time zone", True, f"{shown}; set site_timezone to record it")
    agrees = _zone_offsets(configured, year) == offsets
    return DiagnosticCheck.of("site time zone", agrees, f"{shown}; configured {configured}"
                       + ("" if agrees else " does not match"))


def _course_check(client: MoodleClient, course_id: int) -> tuple[DiagnosticCheck, list[int]]:
    """Read the course's enrolments and groups; ``errorcoursecontextnotvalid`` means no ``course:view``."""
    try:
        rows = client.call("core_enrol_get_enrolled_users", {
            "courseid": course_id, "options": [{"name": "userfields", "value": "id"},
                                               {"name": "limitnumber", "value": "20"}]}, idempotent=True,
                           shape=EnrolledUsers)
        client.call("core_group_get_course_groups", {"courseid": course_id}, idempotent=True)
    except ConnectorError as exc:
        if exc.code == "errorcoursecontextnotvalid":
            return DiagnosticCheck.of("course access", False, f"course {course_id}: the token's user may not act in "
                                      f"it: give its role {COURSE_CAPABILITY}"), []
        return DiagnosticCheck.of("course access", False, f"course {course_id}: {exc}"), []
    enrolled = [int(r["id"]) for r in rows or [] if isinstance(r, dict) and "id" in r]
    return DiagnosticCheck.of("course access", True, f"course {course_id}: enrolments and groups readable"), enrolled


_PROBE_IDS = range(2, 12)
"""Accounts read to see whether emails are visible: the course's learners first, then the site's first ids."""


def _identity_check(client: MoodleClient, user_id: int, enrolled: list[int]) -> DiagnosticCheck:
    """Read a few other accounts by id: one answered without ``email`` means identity fields are hidden.

    A user always sees their own email and some people show theirs to everyone, so only a missing email is
    conclusive; when every account read shows one, the check passes and says how many it read.
    """
    ids = list(dict.fromkeys(i for i in [*enrolled, *_PROBE_IDS] if i != user_id))
    try:
        records = client.call("core_user_get_users_by_field", {"field": "id", "values": [str(i) for i in ids]},
                              idempotent=True, shape=Users)
    except ConnectorError as exc:
        return DiagnosticCheck.of("user identity", False, f"could not read accounts: {exc}")
    others = [r for r in records or [] if isinstance(r, dict) and int(r.get("id", 0)) not in (1, user_id)]
    if identity_hidden(others, token_user=user_id):
        return DiagnosticCheck.of("user identity", False, "accounts come back without email, so no learner can be "
                                  f"found by email: give the token's role {IDENTITY_CAPABILITY} and keep 'email' in "
                                  "Show user identity")
    return DiagnosticCheck.of("user identity", True, f"emails visible ({len(others)} other accounts read)")
