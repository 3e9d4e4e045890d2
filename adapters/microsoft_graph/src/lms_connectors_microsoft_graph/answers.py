"""The checked shapes of the Microsoft Graph answers the adapter reads: the fields it uses, typed.

Every call goes through :meth:`~lms_connectors_microsoft_graph.adapter.GraphAdapter.call` with one of these
shapes, so an answer of another shape (an event without an id, a ``start`` that is a string, a collection without
``value``, a next link that is an object) is a :class:`~lms_connectors.errors.MalformedResponse` naming the
endpoint and the field, with a redacted excerpt of the body, before the adapter reads it. Fields follow the
Microsoft Graph v1.0 reference (``event``, ``dateTimeTimeZone``, ``attendee``, ``scheduleInformation``,
``room``, ``user``, ``calendar``, JSON batching, ``onlineMeeting``, ``meetingAttendanceReport``,
``attendanceRecord``, ``attendanceInterval``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StrictStr

from lms_connectors.shapes import AnswerShape

__all__ = [
    "AttendanceRecordPage", "AttendanceReportPage", "Batch", "Calendar", "Event", "EventPage", "Mailbox",
    "OnlineMeetingPage", "RoomListPage", "RoomPage", "Schedules",
]


class DateTimeTimeZone(AnswerShape):
    """A wall time and the zone it is in (Graph's ``dateTimeTimeZone``)."""

    dateTime: StrictStr  # noqa: N815 - Graph's field names
    timeZone: StrictStr | None = None  # noqa: N815


class EmailAddress(AnswerShape):
    """An attendee's or a room's address."""

    address: StrictStr | None = None
    name: StrictStr | None = None


class ResponseStatus(AnswerShape):
    """An attendee's answer to the invitation."""

    response: StrictStr | None = None


class Attendee(AnswerShape):
    """One attendee: a learner, an instructor (``required``) or a room (``resource``)."""

    emailAddress: EmailAddress  # noqa: N815
    type: StrictStr | None = None
    status: ResponseStatus | None = None


class ExtendedProperty(AnswerShape):
    """A single-value extended property (the SDK's key and marker)."""

    id: StrictStr
    value: StrictStr | None = None


class OnlineMeeting(AnswerShape):
    """The Teams meeting of an online event."""

    joinUrl: StrictStr | None = None  # noqa: N815


class Location(AnswerShape):
    """Where the event takes place."""

    displayName: StrictStr | None = None  # noqa: N815


class Event(AnswerShape):
    """An event (create, get, update, and each item of a listing or a delta page; a removed one has only its id)."""

    id: Annotated[StrictStr, Field(min_length=1)]
    etag: StrictStr | None = Field(default=None, alias="@odata.etag")
    subject: StrictStr | None = None
    start: DateTimeTimeZone | None = None
    end: DateTimeTimeZone | None = None
    attendees: list[Attendee] | None = None
    isCancelled: StrictBool | None = None  # noqa: N815
    isOnlineMeeting: StrictBool | None = None  # noqa: N815
    onlineMeeting: OnlineMeeting | None = None  # noqa: N815
    location: Location | None = None
    singleValueExtendedProperties: list[ExtendedProperty] | None = None  # noqa: N815


class EventPage(AnswerShape):
    """A page of events (``events``, ``calendarView``, ``calendarView/delta``)."""

    value: list[Event]
    next_link: StrictStr | None = Field(default=None, alias="@odata.nextLink")
    delta_link: StrictStr | None = Field(default=None, alias="@odata.deltaLink")


class ScheduleItem(AnswerShape):
    """One busy item of a schedule."""

    status: StrictStr | None = None
    start: DateTimeTimeZone
    end: DateTimeTimeZone


class Schedule(AnswerShape):
    """The schedule of one person or room (``scheduleInformation``)."""

    scheduleId: StrictStr  # noqa: N815
    scheduleItems: list[ScheduleItem] | None = None  # noqa: N815
    error: dict[str, object] | None = None


class Schedules(AnswerShape):
    """The answer of ``calendar/getSchedule``."""

    value: list[Schedule]


class Room(AnswerShape):
    """A room of ``places/microsoft.graph.room``."""

    id: StrictStr | None = None
    emailAddress: StrictStr | None = None  # noqa: N815
    displayName: StrictStr | None = None  # noqa: N815
    capacity: StrictInt | None = None
    building: StrictStr | None = None
    floorLabel: StrictStr | None = None  # noqa: N815
    floorNumber: StrictInt | None = None  # noqa: N815
    isWheelChairAccessible: StrictBool | None = None  # noqa: N815
    tags: list[StrictStr | None] | None = None
    audioDeviceName: StrictStr | None = None  # noqa: N815
    videoDeviceName: StrictStr | None = None  # noqa: N815
    displayDeviceName: StrictStr | None = None  # noqa: N815


class RoomPage(AnswerShape):
    """A page of rooms."""

    value: list[Room]
    next_link: StrictStr | None = Field(default=None, alias="@odata.nextLink")


class RoomList(AnswerShape):
    """A room list of ``places/microsoft.graph.roomlist``."""

    id: StrictStr | None = None
    emailAddress: StrictStr  # noqa: N815
    displayName: StrictStr | None = None  # noqa: N815


class RoomListPage(AnswerShape):
    """A page of room lists."""

    value: list[RoomList]
    next_link: StrictStr | None = Field(default=None, alias="@odata.nextLink")


class Mailbox(AnswerShape):
    """The organizer's mailbox user (the doctor)."""

    id: StrictStr | None = None
    mail: StrictStr | None = None
    userPrincipalName: StrictStr | None = None  # noqa: N815


class Calendar(AnswerShape):
    """The organizer's calendar (the doctor)."""

    canEdit: StrictBool | None = None  # noqa: N815
    allowedOnlineMeetingProviders: list[StrictStr] | None = None  # noqa: N815


class BatchResponse(AnswerShape):
    """One answer inside a ``$batch`` answer."""

    id: StrictStr
    status: StrictInt
    body: object = None


class Batch(AnswerShape):
    """The answer of ``$batch``."""

    responses: list[BatchResponse]


class OnlineMeetingItem(AnswerShape):
    """An ``onlineMeeting`` found by its join link (only its id is read)."""

    id: Annotated[StrictStr, Field(min_length=1)]
    joinWebUrl: StrictStr | None = None  # noqa: N815


class OnlineMeetingPage(AnswerShape):
    """The answer of ``onlineMeetings?$filter=JoinWebUrl eq '...'``: a collection of (at most) one meeting."""

    value: list[OnlineMeetingItem]


class AttendanceReport(AnswerShape):
    """A ``meetingAttendanceReport``: one per time the meeting ended."""

    id: Annotated[StrictStr, Field(min_length=1)]
    meetingStartDateTime: StrictStr  # noqa: N815
    meetingEndDateTime: StrictStr | None = None  # noqa: N815
    totalParticipantCount: StrictInt | None = None  # noqa: N815


class AttendanceReportPage(AnswerShape):
    """A page of attendance reports."""

    value: list[AttendanceReport]
    next_link: StrictStr | None = Field(default=None, alias="@odata.nextLink")


class AttendanceInterval(AnswerShape):
    """One stay in the meeting (join and leave are ``null`` when Teams lacks the data)."""

    joinDateTime: StrictStr | None = None  # noqa: N815
    leaveDateTime: StrictStr | None = None  # noqa: N815
    durationInSeconds: StrictInt | None = None  # noqa: N815


class AttendanceRecord(AnswerShape):
    """An ``attendanceRecord``: one person (``emailAddress`` may be missing for an anonymous guest)."""

    emailAddress: StrictStr | None = None  # noqa: N815
    role: StrictStr | None = None
    totalAttendanceInSeconds: StrictInt | None = None  # noqa: N815
    attendanceIntervals: list[AttendanceInterval] | None = None  # noqa: N815


class AttendanceRecordPage(AnswerShape):
    """A page of attendance records."""

    value: list[AttendanceRecord]
    next_link: StrictStr | None = Field(default=None, alias="@odata.nextLink")
