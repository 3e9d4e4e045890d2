"""Configuration of the Moodle adapter."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from lms_connectors.http.settings import TransportSettings

__all__ = ["MoodleConfig"]


class MoodleConfig(TransportSettings):
    """Settings of one Moodle site (plus the transport settings every adapter has: timeouts, attempts, rate).

    Attributes:
        base_url: The site's root URL (``https://moodle.example.edu``).
        token: Web-service token of a user holding the capabilities listed in the README.
        course_id: Course used when a session carries no ``course_id``.
        student_role_id: Role given to learners on enrolment (5 = student on a default site).
        event_type: ``course`` (everyone in the course sees the session) or ``group`` (only its roster).
        create_missing_users: Create Moodle accounts for learners not found by email.
        max_input_vars: The site's PHP ``max_input_vars``; batches are split to stay under it.
        site_timezone: The site's default zone, when known (checked by ``doctor``).
    """

    base_url: str = Field(min_length=1)
    token: SecretStr
    course_id: int | None = Field(default=None, ge=1)
    student_role_id: int = Field(default=5, ge=1)
    event_type: Literal["course", "group"] = "course"
    create_missing_users: bool = False
    max_input_vars: int = Field(default=5000, ge=50)
    site_timezone: str | None = None
