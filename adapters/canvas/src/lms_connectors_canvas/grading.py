"""Completion in Canvas: a pass/fail assignment per session, and each learner graded complete or incomplete.

Canvas keeps completion as a grade. A session's completion is recorded on a pass/fail assignment of its course:
one the course already has (its id), or one this module makes (``POST /courses/:id/assignments`` with
``grading_type=pass_fail``, ``submission_types[]=on_paper``, published, due at the session's end) and finds again
by the marker in its description before making another (as the adapter finds events). Each learner is graded with
``PUT /courses/:id/assignments/:id/submissions/sis_login_id:<email>`` and ``submission[posted_grade]=complete``
or ``incomplete`` (Canvas scores them ``points_possible`` and 0), after the assignment's submissions were read once
so that a learner already holding that grade is not graded again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lms_connectors.adapter import DiagnosticCheck
from lms_connectors.completion import CompletionItem, CompletionState, CompletionWritten, require_item_kind
from lms_connectors.errors import MalformedResponse, NotFound, ValidationError
from lms_connectors.markers import marker
from lms_connectors.models import Session
from lms_connectors_canvas.client import CanvasClient

__all__ = ["COMPLETION_PERMISSIONS", "check_item", "completion_marker", "record_completion"]

COMPLETION_PERMISSIONS: dict[str, str] = {
    "manage_assignments_add": "make a pass/fail assignment for a session (assignment: new)",
    "manage_grades": "grade learners complete or incomplete",
}
"""Course permissions completion needs beyond the adapter's own (names of Canvas's roles API)."""


def completion_marker(session: Session) -> str:
    """The marker of the assignment made for a session's completion (in its description)."""
    return marker(f"completion:{session.id}")


def _pass_fail_assignment(client: CanvasClient, course_id: int, assignment_id: str, provider: str) -> dict[str, Any]:
    """The named assignment; a ValidationError when it is not graded pass/fail."""
    found = client.call("GET", f"/courses/{course_id}/assignments/{assignment_id}", operation="get assignment")
    if found.get("grading_type") != "pass_fail":
        raise ValidationError(f"Canvas assignment {assignment_id} is graded {found.get('grading_type')!r}, not "
                              "pass/fail: complete/incomplete cannot be posted on it", field=f"completion.{provider}",
                              provider=provider)
    return found


def check_item(client: CanvasClient, course_id: int, item: CompletionItem, *, provider: str) -> list[DiagnosticCheck]:
    """Whether completion can be written on ``item`` in the course, by reads only.

    The token's user needs ``manage_grades`` in the course (and ``manage_assignments_add`` when the assignment is
    to be made); a named assignment must be in the course and graded pass/fail.

    :calls: ``GET /courses/:id/permissions`` and, for a named assignment, ``GET /courses/:id/assignments/:id``.
    """

    def assignment() -> tuple[bool, str]:
        given = require_item_kind(item, "assignment", provider, can_make=True)
        needed = {name: why for name, why in COMPLETION_PERMISSIONS.items()
                  if name != "manage_assignments_add" or given is None}
        missing = client.missing_permissions(course_id, needed)
        if missing:
            return False, f"give the token's role in course {course_id}: " + "; ".join(missing)
        if given is None:
            return True, f"a pass/fail assignment can be made and graded in course {course_id}"
        try:
            _pass_fail_assignment(client, course_id, given, provider)
        except NotFound:
            return False, f"assignment {given} is not in course {course_id}"
        except ValidationError as exc:
            return False, exc.message
        return True, f"assignment {given} is graded pass/fail and can be graded"

    return [DiagnosticCheck.probe("completion", assignment)]


def _assignment_for(
    client: CanvasClient, course_id: int, session: Session, item: CompletionItem, provider: str
) -> tuple[dict[str, Any], bool]:
    """The pass/fail assignment to grade on, and whether it was just made (so it holds no grade yet)."""
    given = require_item_kind(item, "assignment", provider, can_make=True)
    if given is not None:
        return _pass_fail_assignment(client, course_id, given, provider), False
    tag = completion_marker(session)
    for candidate in client.listing(f"/courses/{course_id}/assignments", params={"search_term": session.title},
                                    operation="find assignment"):
        if tag in str(candidate.get("description") or ""):
            return candidate, False
    made = client.call("POST", f"/courses/{course_id}/assignments", operation="make assignment", json={"assignment": {
        "name": session.title, "description": f"<p>Attendance of {session.title}.</p><p>{tag}</p>",
        "grading_type": "pass_fail", "submission_types": ["on_paper"], "points_possible": item.points,
        "due_at": session.slot.end.isoformat(timespec="seconds"), "published": True,
    }})
    return made, True


def _grades(client: CanvasClient, course_id: int, assignment_id: str) -> dict[str, str]:
    """Each student's current grade on the assignment, by lower-case login (email)."""
    grades: dict[str, str] = {}
    for submission in client.listing(f"/courses/{course_id}/assignments/{assignment_id}/submissions",
                                     params={"include[]": ["user"]}, operation="list submissions"):
        user = submission.get("user")
        login = str(user.get("login_id") or "").lower() if isinstance(user, dict) else ""
        if login and submission.get("grade") is not None:
            grades[login] = str(submission["grade"])
    return grades


def record_completion(
    client: CanvasClient, course_id: int, session: Session, item: CompletionItem,
    marks: Mapping[str, CompletionState], *, user_id_template: str, provider: str,
) -> Iterator[CompletionWritten]:
    """Grade each learner complete or incomplete on the session's pass/fail assignment (see the module).

    :calls: ``GET /courses/:id/assignments/:id`` (an existing one) or ``GET /courses/:id/assignments?search_term``
        [+ ``POST /courses/:id/assignments``] (one to make), ``GET .../submissions?include[]=user`` (paged; not
        for an assignment just made), ``PUT .../submissions/:user_id`` per learner whose grade differs.

    Raises:
        ValidationError: The item is not an assignment, or the assignment is not graded pass/fail.
        NotFound: The assignment is not in the course, or a learner is not a student of it (named).
    """
    assignment, made = _assignment_for(client, course_id, session, item, provider)
    assignment_id = str(assignment["id"])
    held = {} if made else _grades(client, course_id, assignment_id)
    for email, state in marks.items():
        if held.get(email) == state.value:
            yield CompletionWritten(email=email, state=state, item_id=assignment_id, changed=False)
            continue
        user = user_id_template.format(email=email)
        try:
            graded = client.call("PUT", f"/courses/{course_id}/assignments/{assignment_id}/submissions/{user}",
                                 operation="grade", json={"submission": {"posted_grade": state.value}},
                                 idempotent=True)  # the same grade posted twice leaves one grade
        except NotFound as exc:
            exc.message = f"{email} is not a student of course {course_id} (or assignment {assignment_id} is gone)"
            raise
        if graded.get("grade") != state.value:
            raise MalformedResponse(f"grade: Canvas answered {graded.get('grade')!r} for {email}, not "
                                    f"{state.value!r}", provider=provider)
        yield CompletionWritten(email=email, state=state, item_id=assignment_id, changed=True)
