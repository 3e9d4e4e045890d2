"""What the Canvas simulator keeps of assignments and submissions, and how it grades one.

The shapes follow Canvas's ``Assignment`` and ``Submission`` API models (the fields and example values its API
documentation gives, copied with their source in the adapter's ``tests/data/canvas-grading-shapes.json``);
the rules follow the documentation of "Create an assignment" and "Grade or comment on a submission":

* ``grading_type`` is one of ``pass_fail``, ``percent``, ``letter_grade``, ``gpa_scale``, ``points`` (default
  ``points``), ``submission_types`` defaults to ``none``;
* on a pass/fail assignment ``posted_grade`` ``complete`` or ``pass`` scores ``points_possible`` and
  ``incomplete`` or ``fail`` scores 0; a number is taken only when it is one of those two scores, and anything
  else is refused (``400 {"error": ...}``, Canvas's ``Assignment::GradeError`` answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lms_connectors.testing.refusal import Refusal
from lms_connectors_canvas.sim_records import SimUser, iso_z

__all__ = ["GRADING_TYPES", "SUBMISSION_TYPES", "SimAssignment", "SimSubmission", "make_assignment", "pass_fail_grade"]

_ORIGIN = "https://canvas.example.edu"

GRADING_TYPES = frozenset({"pass_fail", "percent", "letter_grade", "gpa_scale", "points", "not_graded"})
SUBMISSION_TYPES = frozenset({
    "discussion_topic", "online_quiz", "on_paper", "not_graded", "none", "external_tool", "online_text_entry",
    "online_url", "online_upload", "media_recording", "student_annotation",
})
_PASSED = {"complete", "pass"}
_FAILED = {"incomplete", "fail"}


@dataclass
class SimAssignment:
    """An assignment of a course."""

    id: int
    course_id: int
    name: str
    description: str
    grading_type: str
    submission_types: list[str]
    points_possible: float
    published: bool
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    position: int
    workflow_state: str = "published"

    def view(self) -> dict[str, Any]:
        """The ``Assignment`` model (the fields every answer carries)."""
        return {
            "id": self.id, "name": self.name, "description": self.description,
            "created_at": iso_z(self.created_at), "updated_at": iso_z(self.updated_at), "due_at": iso_z(self.due_at),
            "lock_at": None, "unlock_at": None, "has_overrides": False, "course_id": self.course_id,
            "html_url": f"{_ORIGIN}/courses/{self.course_id}/assignments/{self.id}",
            "submissions_download_url": f"{_ORIGIN}/courses/{self.course_id}/assignments/{self.id}/submissions?zip=1",
            "assignment_group_id": 1, "due_date_required": False, "max_name_length": 255,
            "peer_reviews": False, "automatic_peer_reviews": False, "position": self.position,
            "grade_group_students_individually": False, "points_possible": self.points_possible,
            "submission_types": list(self.submission_types), "has_submitted_submissions": False,
            "grading_type": self.grading_type, "grading_standard_id": None, "published": self.published,
            "unpublishable": True, "only_visible_to_overrides": False, "locked_for_user": False,
            "moderated_grading": False, "omit_from_final_grade": False, "hide_in_gradebook": False,
            "workflow_state": "published" if self.published else "unpublished",
        }


@dataclass
class SimSubmission:
    """A student's submission of an assignment (made when she is first graded)."""

    id: int
    assignment: SimAssignment
    user: SimUser
    grade: str | None = None
    score: float | None = None
    grader_id: int | None = None
    graded_at: datetime | None = None
    versions: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        """The ``Submission`` model as the grading answer shows it."""
        course, assignment = self.assignment.course_id, self.assignment.id
        graded = self.grade is not None
        return {
            "id": self.id, "assignment_id": assignment, "user_id": self.user.id, "attempt": None, "body": None,
            "grade": self.grade, "score": self.score, "entered_grade": self.grade, "entered_score": self.score,
            "grade_matches_current_submission": True,
            "html_url": f"{_ORIGIN}/courses/{course}/assignments/{assignment}/submissions/{self.user.id}",
            "preview_url": f"{_ORIGIN}/courses/{course}/assignments/{assignment}/submissions/{self.user.id}?preview=1",
            "submission_type": None, "submitted_at": None, "url": None, "grader_id": self.grader_id,
            "graded_at": iso_z(self.graded_at), "late": False, "assignment_visible": True, "excused": False,
            "missing": False, "late_policy_status": None, "points_deducted": None, "seconds_late": 0,
            "workflow_state": "graded" if graded else "unsubmitted", "extra_attempts": None,
            "posted_at": iso_z(self.graded_at), "redo_request": False,
        }


def pass_fail_grade(assignment: SimAssignment, posted: str) -> tuple[str, float]:
    """The grade and score a posted grade gives on a pass/fail assignment.

    Raises:
        Refusal: A grade that is neither complete/pass, incomplete/fail nor one of the two scores.
    """
    text = posted.strip().lower()
    if text in _PASSED:
        return "complete", assignment.points_possible
    if text in _FAILED:
        return "incomplete", 0.0
    try:
        number = float(text.removesuffix("%"))
    except ValueError:
        number = -1.0
    if text.endswith("%"):
        number = number / 100 * assignment.points_possible
    if number == assignment.points_possible:
        return "complete", number
    if number == 0:
        return "incomplete", 0.0
    raise Refusal(400, f"Grade {posted!r} is not a valid pass/fail grade", "grade_error", grade_error=True)


def make_assignment(
    assignment_id: int, course_id: int, fields: dict[str, Any], now: datetime, position: int,
    parse_instant: Any,
) -> SimAssignment:
    """An assignment from the form of "Create an assignment".

    Raises:
        Refusal: No name, an unknown grading or submission type, points that are not a number.
    """
    name = str(fields.get("name") or "").strip()
    if not name:
        raise Refusal(400, "name is required", "blank", model_errors={"name": [
            {"attribute": "name", "type": "blank", "message": "blank"}]})
    grading_type = str(fields.get("grading_type") or "points")
    if grading_type not in GRADING_TYPES:
        raise Refusal(400, f"{grading_type} is not a grading type", "invalid", model_errors={"grading_type": [
            {"attribute": "grading_type", "type": "inclusion", "message": "inclusion"}]})
    raw_types = fields.get("submission_types") or ["none"]
    types = [str(t) for t in (raw_types if isinstance(raw_types, list) else [raw_types])]
    if any(t not in SUBMISSION_TYPES for t in types):
        raise Refusal(400, "invalid submission types", "invalid", model_errors={"submission_types": [
            {"attribute": "submission_types", "type": "invalid", "message": "Invalid submission types"}]})
    try:
        points = float(fields.get("points_possible") or 0)
    except (TypeError, ValueError):
        raise Refusal(400, "points_possible is not a number", "invalid", model_errors={"points_possible": [
            {"attribute": "points_possible", "type": "not_a_number", "message": "is not a number"}]}) from None
    due = fields.get("due_at")
    published = str(fields.get("published", "false")).lower() in ("true", "1")
    return SimAssignment(
        id=assignment_id, course_id=course_id, name=name, description=str(fields.get("description") or ""),
        grading_type=grading_type, submission_types=types, points_possible=points, published=published,
        due_at=parse_instant(due, "due_at") if due else None, created_at=now, updated_at=now, position=position,
    )
