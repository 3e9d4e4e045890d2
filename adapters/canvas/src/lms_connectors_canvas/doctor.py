"""Checks of a Canvas configuration for ``lms-connectors doctor`` (see ``CanvasAdapter.diagnose``).

Each check reads only: who the token acts as, the course and its account, and whether the token's user may do
what the adapter does there (calendar events, sections, enrolments, and SIS ids: without ``manage_sis`` Canvas
ignores a section's ``sis_section_id``, and the section loses its natural key).
"""

from __future__ import annotations

from lms_connectors.adapter import DiagnosticCheck
from lms_connectors_canvas.client import CanvasClient
from lms_connectors_canvas.config import CanvasConfig
from lms_connectors_canvas.grading import COMPLETION_PERMISSIONS

__all__ = ["NEEDED_PERMISSIONS", "check_instance"]

NEEDED_PERMISSIONS: dict[str, str] = {
    "manage_calendar": "create, move and delete course calendar events",
    "manage_sections_add": "make a section per session",
    "manage_sections_delete": "delete a cancelled session's section",
    "add_student_to_course": "enrol learners",
    "remove_student_from_course": "unenrol learners",
    "manage_sis": "set sis_section_id (the section's natural key, which makes its create idempotent)",
}
"""Course permissions the adapter uses (names of Canvas's roles API), and what each is for."""


def check_instance(client: CanvasClient, config: CanvasConfig) -> list[DiagnosticCheck]:
    """The token's user, the course and its account, and the course permissions the adapter needs.

    :calls: ``GET /users/self``, ``GET /courses/:id``, ``GET /courses/:id/permissions?permissions[]=...``
    """

    def user() -> str:
        me = client.call("GET", "/users/self", operation="get user")
        acting = f" (acting as {config.as_user_id})" if config.as_user_id else ""
        return f"the token acts as {me.get('name', '?')} (user {me.get('id', '?')}){acting}"

    checks = [DiagnosticCheck.probe("token", user)]
    if config.course_id is None:
        checks.append(DiagnosticCheck.of("course", False, "set course_id (sessions without one name no course)"))
        return checks
    course_id = config.course_id

    def course() -> str:
        found = client.call("GET", f"/courses/{course_id}", operation="get course")
        return (f"course {found.get('id')} {found.get('course_code') or found.get('name') or ''} in account "
                f"{found.get('account_id', '?')}, zone {found.get('time_zone') or 'the account default'}")

    def permissions() -> tuple[bool, str]:
        missing = client.missing_permissions(course_id, NEEDED_PERMISSIONS)
        if missing:
            return False, "missing: " + "; ".join(missing)
        return True, "all granted: " + ", ".join(NEEDED_PERMISSIONS)

    def completion() -> tuple[bool, str]:
        missing = client.missing_permissions(course_id, COMPLETION_PERMISSIONS)
        # Optional: a site that does not write completion back works without these, so the check passes and says
        # what writing completion would need.
        if missing:
            return True, "completion cannot be written back; it needs " + "; ".join(missing)
        return True, "completion can be written back: " + ", ".join(COMPLETION_PERMISSIONS)

    checks.append(DiagnosticCheck.probe("course", course))
    if checks[-1].ok:
        checks.append(DiagnosticCheck.probe("permissions", permissions))
        checks.append(DiagnosticCheck.probe("completion (optional)", completion))
    return checks
