"""Courses of the LMS adapters: which course a session belongs to."""

from __future__ import annotations

from lms_connectors.errors import ValidationError
from lms_connectors.models import Session

__all__ = ["integer_course_id"]


def integer_course_id(session: Session | None, default: int | None, lms: str) -> int:
    """The LMS course a session belongs to, for an LMS whose course ids are integers (Moodle, Canvas).

    Args:
        session: The session (``None``: only the default counts).
        default: The adapter's configured course, used when the session names none.
        lms: The LMS's name, for the error.

    Raises:
        ValidationError: Neither names a course, or the session's course id is not an integer.
    """
    raw = session.course_id if session is not None and session.course_id else default
    if raw is None:
        raise ValidationError(f"a {lms} session needs a course: set Session.course_id or the course_id setting")
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"{lms} course ids are integers, got {raw!r}") from None
