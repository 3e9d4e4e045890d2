"""The checked shapes of the Zoom answers the adapter reads: only the fields it uses, with their types.

Each answer is read through :meth:`~lms_connectors.http.transport.HttpTransport.request_checked`, so an answer of
another shape (a meeting without an id, a page token that is an object, a registrant that is a string) is a
:class:`~lms_connectors.errors.MalformedResponse` naming the endpoint and the field, with a redacted excerpt of
the body, before the adapter uses any of it. Fields follow Zoom's API reference (Meetings: ``meetingCreate``,
``meeting``, ``meetings``, ``meetingRegistrants``, ``addBatchRegistrants``; Users: ``user``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, StrictStr

from lms_connectors.shapes import AnswerShape

__all__ = ["AddedRegistrant", "AddedRegistrants", "HostUser", "Meeting", "MeetingPage", "Participant",
           "ParticipantPage", "Registrant", "RegistrantPage", "ScheduledMeeting"]

_Id = Annotated[StrictInt, Field(ge=0)] | Annotated[StrictStr, Field(min_length=1)]
"""A meeting id: Zoom's int64 (a string is taken too, as some answers and webhooks give it)."""


class Meeting(AnswerShape):
    """A meeting as listed (``GET /users/{userId}/meetings``): a recurring one may have no start time."""

    id: _Id
    uuid: StrictStr | None = None
    topic: StrictStr = ""
    start_time: StrictStr | None = None
    duration: StrictInt | None = None
    timezone: StrictStr | None = None
    agenda: StrictStr | None = None
    join_url: StrictStr | None = None


class ScheduledMeeting(Meeting):
    """A meeting read or created (``GET /meetings/{id}``, ``POST /users/{userId}/meetings``): it has its time."""

    start_time: StrictStr
    duration: StrictInt


class MeetingPage(AnswerShape):
    """One page of ``GET /users/{userId}/meetings``."""

    meetings: list[Meeting] | None = None
    next_page_token: StrictStr | None = None


class Registrant(AnswerShape):
    """A registrant as listed (``GET /meetings/{id}/registrants``)."""

    id: StrictStr | StrictInt | None = None
    email: StrictStr
    status: StrictStr | None = None
    join_url: StrictStr | None = None


class RegistrantPage(AnswerShape):
    """One page of ``GET /meetings/{id}/registrants``."""

    registrants: list[Registrant] | None = None
    next_page_token: StrictStr | None = None


class AddedRegistrant(AnswerShape):
    """A registration made by ``POST /meetings/{id}/batch_registrants`` (no status: a join link means approved)."""

    email: StrictStr
    registrant_id: StrictStr | None = None
    join_url: StrictStr | None = None


class AddedRegistrants(AnswerShape):
    """The answer of ``POST /meetings/{id}/batch_registrants``."""

    registrants: list[AddedRegistrant] | None = None


class Participant(AnswerShape):
    """One join of a participants report (``GET /report/meetings/{id}/participants``); a guest has no email."""

    user_email: StrictStr | None = None
    join_time: StrictStr
    leave_time: StrictStr | None = None


class ParticipantPage(AnswerShape):
    """One page of the participants report."""

    participants: list[Participant] | None = None
    next_page_token: StrictStr | None = None


class HostUser(AnswerShape):
    """The host user (``GET /users/{userId}``), for the doctor."""

    email: StrictStr | None = None
    type: StrictInt | None = None
    status: StrictStr | None = None
