"""The checked shapes of the Google Calendar and Directory answers the adapter reads: the fields it uses, typed.

Every answer goes through :meth:`~lms_connectors.http.transport.HttpTransport.request_json` with one of these
shapes, so an answer of another shape (an event without an id, attendees that are not a list, a page token that
is an object) is a :class:`~lms_connectors.errors.MalformedResponse` naming the endpoint and the field, with a
redacted excerpt of the body, before :mod:`lms_connectors_google_calendar.mapping` reads it. Field names and
types follow Google's reference (Calendar API v3: ``Events``, ``Events: list``, ``Freebusy: query``; Admin SDK
Directory: ``resources.calendars``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StrictStr

from lms_connectors.shapes import AnswerShape

__all__ = ["Attendee", "ConferenceData", "Event", "EventPage", "FreeBusy", "ResourcePage"]


class EventTime(AnswerShape):
    """``start`` / ``end``: an instant (``dateTime`` with an offset) or an all-day ``date``."""

    dateTime: StrictStr | None = None  # noqa: N815 - Google's field names
    date: StrictStr | None = None
    timeZone: StrictStr | None = None  # noqa: N815


class Attendee(AnswerShape):
    """One attendee: a learner, an instructor, or a room (``resource``)."""

    email: StrictStr
    responseStatus: StrictStr | None = None  # noqa: N815
    resource: StrictBool | None = None
    organizer: StrictBool | None = None


class EntryPoint(AnswerShape):
    """One way to join the conference (``video``: the Meet link)."""

    entryPointType: StrictStr | None = None  # noqa: N815
    uri: StrictStr | None = None


class ConferenceData(AnswerShape):
    """The Meet conference: its entry points, and the create request's status while it is being made."""

    entryPoints: list[EntryPoint] | None = None  # noqa: N815
    createRequest: dict[str, object] | None = None  # noqa: N815


class ExtendedProperties(AnswerShape):
    """Private properties: the SDK's marker and key."""

    private: dict[str, StrictStr] | None = None


class Event(AnswerShape):
    """An event (``events.get``, ``insert``, ``patch``, and each item of ``events.list``)."""

    id: Annotated[StrictStr, Field(min_length=1)]
    etag: StrictStr | None = None
    status: StrictStr | None = None
    summary: StrictStr | None = None
    description: StrictStr | None = None
    location: StrictStr | None = None
    start: EventTime | None = None
    end: EventTime | None = None
    attendees: list[Attendee] | None = None
    conferenceData: ConferenceData | None = None  # noqa: N815
    hangoutLink: StrictStr | None = None  # noqa: N815
    extendedProperties: ExtendedProperties | None = None  # noqa: N815


class EventPage(AnswerShape):
    """One page of ``events.list`` (``accessRole`` is the caller's role on the calendar)."""

    items: list[Event] | None = None
    nextPageToken: StrictStr | None = None  # noqa: N815
    nextSyncToken: StrictStr | None = None  # noqa: N815
    accessRole: StrictStr | None = None  # noqa: N815


class Interval(AnswerShape):
    """One busy interval."""

    start: StrictStr
    end: StrictStr


class CalendarBusy(AnswerShape):
    """One calendar of a ``freeBusy`` answer: its busy intervals, or why it could not be read."""

    busy: list[Interval] | None = None
    errors: list[dict[str, object]] | None = None


class FreeBusy(AnswerShape):
    """The answer of ``freeBusy``."""

    calendars: dict[str, CalendarBusy]


class Resource(AnswerShape):
    """A room resource of the Directory."""

    resourceId: Annotated[StrictStr, Field(min_length=1)]  # noqa: N815
    resourceName: StrictStr | None = None  # noqa: N815
    generatedResourceName: StrictStr | None = None  # noqa: N815
    resourceEmail: StrictStr | None = None  # noqa: N815
    capacity: StrictInt | None = None


class ResourcePage(AnswerShape):
    """One page of ``resources.calendars.list``."""

    items: list[Resource] | None = None
    nextPageToken: StrictStr | None = None  # noqa: N815


class Channel(AnswerShape):
    """A push channel, as ``events.watch`` answers it (``expiration`` in Unix milliseconds, as a string)."""

    id: Annotated[StrictStr, Field(min_length=1)]
    resourceId: Annotated[StrictStr, Field(min_length=1)]  # noqa: N815
    expiration: StrictStr | None = None
    token: StrictStr | None = None
