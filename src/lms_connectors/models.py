"""Typed models of the scheduling domain: a training session is the unit, not the learner.

All datetimes are timezone-aware (a naive datetime is refused, never guessed from the host) and all zones
are IANA names checked against the tz database. Models are immutable; derive changed copies with
``model_copy(update=...)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from lms_connectors.errors import MalformedResponse, ValidationError
from lms_connectors.timezones import canonical_zone, wall_time_exists

__all__ = [
    "AwareDatetime",
    "Enrollment",
    "EnrollmentStatus",
    "IanaZone",
    "Meeting",
    "Modality",
    "Person",
    "ProviderRef",
    "ProviderSession",
    "Registrations",
    "Role",
    "Room",
    "RosterMember",
    "Session",
    "SessionStatus",
    "TimeSlot",
    "describe_pydantic_error",
    "room_key",
    "utc_now",
]


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _check_zone(name: str) -> str:
    # Any spelling a person or a provider uses (case, legacy alias, Windows name) is stored as one modern IANA
    # name, so that two spellings of a zone never compare different and invites never carry TZID:US/Eastern.
    return canonical_zone(name)


def _check_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValidationError(
            f"naive datetime {value.isoformat()} refused: attach a zone (the SDK never guesses one)"
        )
    if not wall_time_exists(value):
        # zoneinfo quietly reads a skipped wall time with the offset from before the jump; which instant was
        # meant is the caller's choice (lms_connectors.timezones.localize(..., gap_policy=...)), never a guess.
        raise ValidationError(
            f"{value.replace(tzinfo=None).isoformat()} does not exist in {value.tzinfo}: the clocks skip it "
            "(DST gap); pick the instant with lms_connectors.timezones.localize"
        )
    return value


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


def _check_session_id(value: str) -> str:
    # The id becomes part of idempotency keys, provider markers and file names: only characters that are safe
    # in all of them.
    if not _SESSION_ID.fullmatch(value):
        raise ValidationError(
            f"session id {value!r} is not usable: start with a letter or digit and use only letters, digits and "
            "'.', '_', ':', '-' (e.g. 'ilt-101.2027-03-16')"
        )
    return value


def _check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValidationError(f"invalid email address {value!r}")
    # Providers disagree on case (Moodle compares emails case-sensitively, Google does not): the SDK
    # keeps one canonical, lower-case form so that one learner is never two people.
    return value.lower()


IanaZone = Annotated[str, AfterValidator(_check_zone)]
"""A time zone, stored as its canonical modern IANA name (see :func:`lms_connectors.timezones.canonical_zone`)."""

AwareDatetime = Annotated[datetime, AfterValidator(_check_aware)]
"""A datetime with a zone; naive values are refused."""

Email = Annotated[str, AfterValidator(_check_email)]
"""An email address, normalised to lower case."""


def describe_pydantic_error(exc: PydanticValidationError) -> str:
    """Every failed field of a pydantic error as ``field.path: message``, the SDK's own messages unwrapped."""
    problems: list[str] = []
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        message = cause.message if isinstance(cause, ValidationError) else error["msg"]
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def _first_field(exc: PydanticValidationError) -> str | None:
    """Dotted path of the first failed field, down into the SDK's own errors (``slot.start``)."""
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        parts = [str(part) for part in error["loc"]]
        if isinstance(cause, ValidationError) and cause.field:
            parts.append(cause.field)
        return ".".join(parts) or None
    return None


def _sdk_error(exc: PydanticValidationError, model: str) -> ValidationError:
    """Pydantic's error as the SDK's, naming the field to blame."""
    return ValidationError(f"invalid {model}: {describe_pydantic_error(exc)}", field=_first_field(exc))


class _Model(BaseModel):
    """Immutable, strict models whose bad input raises :class:`lms_connectors.errors.ValidationError`."""

    # defer_build: a model's validator is built when it is first used, not when the SDK is imported.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except PydanticValidationError as exc:
            raise _sdk_error(exc, type(self).__name__) from exc

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate ``obj`` into this model; bad input raises the SDK's ``ValidationError``."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except PydanticValidationError as exc:
            raise _sdk_error(exc, cls.__name__) from exc

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Self:
        """Validate JSON into this model; bad input raises the SDK's ``ValidationError``."""
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except PydanticValidationError as exc:
            raise _sdk_error(exc, cls.__name__) from exc


class Modality(StrEnum):
    """How learners attend a session."""

    IN_PERSON = "in_person"
    VIRTUAL = "virtual"
    HYBRID = "hybrid"


class Role(StrEnum):
    """A person's part in a session."""

    LEARNER = "learner"
    INSTRUCTOR = "instructor"


class SessionStatus(StrEnum):
    """Lifecycle of a session."""

    SCHEDULED = "scheduled"
    CANCELLING = "cancelling"
    """A cancel has started and may not have reached every provider: ``cancel()`` or ``sync()`` finishes it, and
    ``schedule()`` refuses to bring it back (it would re-create what the cancel already removed)."""
    CANCELLED = "cancelled"
    FAILED = "failed"
    """Scheduling failed and every provider object made for it was undone."""


class EnrollmentStatus(StrEnum):
    """Where a learner stands in a session's roster."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class TimeSlot(_Model):
    """When a session happens: two aware instants and the session's home zone.

    The instants are absolute; ``timezone`` says in which zone the session is *set* (how it is shown to its
    organiser, how providers that need a zone receive it, how recurrence would expand).

    ``start`` and ``end`` are kept in the slot's zone:

    * given in UTC or with a fixed offset (an instant, as APIs and the ledger's JSON give it), they are
      converted to ``timezone`` (same instant);
    * given in a named zone, it must be the slot's zone (any spelling of it): a start in ``Asia/Tokyo`` for a
      slot set in ``America/New_York`` is refused, since it is most often a New York wall time written with
      the wrong zone. Convert it first (``start.astimezone(ZoneInfo("America/New_York"))``) if the instant
      is what you mean.
    """

    start: AwareDatetime
    end: AwareDatetime
    timezone: IanaZone

    @model_validator(mode="after")
    def _instants_in_the_slots_zone(self) -> TimeSlot:
        zone = ZoneInfo(self.timezone)
        for name in ("start", "end"):
            value: datetime = getattr(self, name)
            key = getattr(value.tzinfo, "key", None)
            if key is not None and canonical_zone(key) != self.timezone:
                raise ValidationError(
                    f"{name} {value.isoformat()} is given in {key} but the slot is set in {self.timezone}: give it "
                    f"in {self.timezone}, or convert it first (.astimezone(ZoneInfo({self.timezone!r})))",
                    field=name,
                )
            if value.tzinfo is not zone:
                # The model is frozen; this runs while it is being built, before anyone can see it.
                object.__setattr__(self, name, value.astimezone(zone))
        return self

    @model_validator(mode="after")
    def _end_after_start(self) -> TimeSlot:
        # In UTC: Python compares datetimes that share a tzinfo by wall clock, which is wrong across a change.
        if self.end.astimezone(UTC) <= self.start.astimezone(UTC):
            raise ValidationError(
                f"session ends ({self.end.isoformat()}) before or when it starts ({self.start.isoformat()})"
            )
        return self

    @property
    def duration(self) -> timedelta:
        """Length of the slot in elapsed time (23 h for 10:00 to 10:00 across a spring-forward night)."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    @property
    def zone(self) -> ZoneInfo:
        """The home zone as a ``ZoneInfo``."""
        return ZoneInfo(self.timezone)

    def local_start(self, zone: str | None = None) -> datetime:
        """Start shown in ``zone`` (default: the home zone).

        Raises:
            ValidationError: ``zone`` is not an IANA zone name.
        """
        return self.start.astimezone(ZoneInfo(_check_zone(zone or self.timezone)))

    def local_end(self, zone: str | None = None) -> datetime:
        """End shown in ``zone`` (default: the home zone).

        Raises:
            ValidationError: ``zone`` is not an IANA zone name.
        """
        return self.end.astimezone(ZoneInfo(_check_zone(zone or self.timezone)))

    def start_utc(self) -> datetime:
        """Start as a UTC datetime."""
        return self.start.astimezone(UTC)

    def end_utc(self) -> datetime:
        """End as a UTC datetime."""
        return self.end.astimezone(UTC)

    def same_instants(self, other: TimeSlot) -> bool:
        """Whether both slots start and end at the same absolute instants."""
        return self.start_utc() == other.start_utc() and self.end_utc() == other.end_utc()


class Person(_Model):
    """A learner or instructor, with the zone they live in (used to render their invites)."""

    email: Email
    name: str = Field(min_length=1)
    timezone: IanaZone | None = None
    role: Role = Role.LEARNER

    @property
    def given_name(self) -> str:
        """First word of the name (providers that split names need one)."""
        return self.name.split()[0]

    @property
    def family_name(self) -> str:
        """Rest of the name, or the given name when the name is one word."""
        parts = self.name.split(maxsplit=1)
        return parts[1] if len(parts) > 1 else parts[0]


def room_key(email: str | None, provider: str | None, room_id: str) -> str:
    """The key of a room as a resource of the conflict checker (see :attr:`Room.key`).

    A function of the three fields so that a ledger can give it from its stored rows without building rooms.
    """
    return f"room:{email}" if email else f"room:{provider or '-'}/{room_id}"


class Room(_Model):
    """A physical room; ``email`` is its resource calendar where it has one.

    Attributes:
        id: The holding system's id of the room.
        name: Shown to people.
        email: Its resource mailbox or calendar (Google, Microsoft 365), what free/busy takes.
        capacity: Seats, as the holding system says.
        location: Building and floor, as one line.
        features: What the room offers (``"projector"``, ``"wheelchair accessible"``), lower case.
        provider: The adapter that holds the room's bookings (``"google_calendar"``, a room-booking system).
            ``None``: any calendar of the session books it as a resource attendee by its ``email``.
    """

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: Email | None = None
    capacity: int | None = Field(default=None, ge=1)
    location: str | None = None
    features: tuple[str, ...] = ()
    provider: str | None = None

    @property
    def key(self) -> str:
        """The room as a resource of the conflict checker: ``room:<email>``, or ``room:<provider>/<id>``."""
        return room_key(self.email, self.provider, self.id)

    def offers(self, *, capacity: int | None = None, features: tuple[str, ...] | list[str] = ()) -> bool:
        """Whether the room seats ``capacity`` (an unknown capacity does not) and has every one of ``features``."""
        if capacity is not None and (self.capacity is None or self.capacity < capacity):
            return False
        have = {feature.lower() for feature in self.features}
        return all(feature.lower() in have for feature in features)

    def held_by(self, adapter: str) -> bool:
        """Whether ``adapter`` books this room (it holds it, or no holder is named and it has an email)."""
        return self.provider == adapter if self.provider is not None else self.email is not None


class Meeting(_Model):
    """An online meeting that a virtual session takes place in."""

    provider: str
    join_url: str
    external_id: str | None = None
    passcode: str | None = None


class Session(_Model):
    """A training session: the unit the SDK schedules.

    Attributes:
        id: The caller's stable key for this session; every idempotency key derives from it.
        title: Shown to learners.
        slot: When it happens, in which home zone.
        modality: In person, virtual or hybrid.
        capacity: Confirmed seats; ``None`` means unlimited. Extra learners are waitlisted.
        instructors: Who teaches it.
        room: Where, for in-person and hybrid sessions.
        meeting: The online meeting, once one exists (set by the scheduler from a meeting adapter).
        course_id: The LMS course it belongs to, where a target needs one.
        description: Free text.
        sequence: iCalendar SEQUENCE, bumped on every reschedule.
        status: Scheduled or cancelled.
        targets: Narrow the session to these adapters (registry names). ``None``, the default, lets the
            scheduler route it by what it needs: a meeting provider only for a virtual or hybrid session, a
            room provider only when it asks for a room, calendars and LMSs always. Targets only narrow that
            choice: naming an adapter the session does not need (a meeting provider for an in-person session)
            is refused.
        learners: Learners already confirmed when a provider object is made. An adapter that declares
            :attr:`~lms_connectors.adapter.Capability.ROSTER_AT_CREATE` writes them with the create itself (one
            call instead of a create and a roster write). The scheduler fills it from the ledger for that
            create only; a stored session leaves it empty.
    """

    id: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_check_session_id)]
    title: str = Field(min_length=1, max_length=200)
    slot: TimeSlot
    modality: Modality = Modality.IN_PERSON
    capacity: int | None = Field(default=None, ge=1)
    instructors: tuple[Person, ...] = ()
    room: Room | None = None
    meeting: Meeting | None = None
    course_id: str | None = None
    description: str = ""
    sequence: int = Field(default=0, ge=0)
    status: SessionStatus = SessionStatus.SCHEDULED
    targets: tuple[str, ...] | None = None
    learners: tuple[Person, ...] = ()

    def resources(self) -> tuple[str, ...]:
        """What the session occupies while it runs: each instructor's email, then its room's :attr:`Room.key`."""
        held = tuple(person.email for person in self.instructors)
        return held if self.room is None else (*held, self.room.key)

    @property
    def is_virtual(self) -> bool:
        """Whether learners join online (virtual or hybrid)."""
        return self.modality in (Modality.VIRTUAL, Modality.HYBRID)

    def held_by(self, start: datetime, end: datetime, title: object) -> bool:
        """Whether a provider object with these instants and this title holds this session's slot as it is now.

        Instants compare in UTC: datetimes sharing a tzinfo compare by wall clock, blind to the repeated hour of
        a fall-back night.
        """
        return (
            start.astimezone(UTC) == self.slot.start_utc()
            and end.astimezone(UTC) == self.slot.end_utc()
            and title == self.title
        )

    def description_with_join_line(self) -> str:
        """The description followed by a ``Join: <url> (passcode ...)`` line when a meeting is attached.

        The text calendars that keep one free-text body (Google's ``description``, Outlook's ``body``) show.
        """
        parts = [self.description] if self.description else []
        if self.meeting is not None:
            line = f"Join: {self.meeting.join_url}"
            if self.meeting.passcode:
                line += f" (passcode {self.meeting.passcode})"
            parts.append(line)
        return "\n\n".join(parts)

    def rescheduled(self, slot: TimeSlot) -> Session:
        """Return a copy moved to ``slot`` with its iCalendar sequence bumped."""
        return self.model_copy(update={"slot": slot, "sequence": self.sequence + 1})


class ProviderRef(_Model):
    """Where a session lives in one provider.

    Attributes:
        provider: Adapter name (``"google_calendar"``).
        external_id: The provider's id of its native object.
        version: An etag or sequence for optimistic concurrency, where the provider has one.
        join_url: The meeting link the provider made, if it made one.
        extra: Provider-specific ids the adapter needs later (a Moodle group id, a calendar id).
    """

    provider: str
    external_id: str
    version: str | None = None
    join_url: str | None = None
    extra: dict[str, str] = Field(default_factory=dict)
    uncertain: str | None = None
    """Ledger state, set by the scheduler before it sends a write to this object (``"reschedule"``) and cleared
    when the provider's answer to it arrives and is understood. While set, the object may or may not reflect
    that write, so it is read back before the next decision on it. Adapters neither set nor read it."""

    @classmethod
    def of_versioned(
        cls,
        provider: str,
        external_id: object,
        version: object,
        *,
        owned: str,
        key: str | None = None,
        join_url: str | None = None,
        **extra: str,
    ) -> ProviderRef:
        """The ref of an object the provider versions (an etag, a change key), as read from its answer.

        ``extra`` gets ``owned`` (the fingerprint of the fields the SDK owns, which settles a write refused on a
        stale version: :mod:`lms_connectors.stale_writes`) and the idempotency ``key`` the object carries, if any.

        Raises:
            MalformedResponse: ``external_id`` is not a non-empty string (a version that is not a string is
                dropped: the object is then written without one).
        """
        if not isinstance(external_id, str) or not external_id:
            raise MalformedResponse("the provider answered an object without an id", provider=provider)
        kept = {**extra, "owned": owned}
        if key is not None:
            kept["key"] = key  # lets a reschedule rewrite the object's own copy of the key
        return cls(
            provider=provider,
            external_id=external_id,
            version=version if isinstance(version, str) else None,
            join_url=join_url,
            extra=kept,
        )


class ProviderSession(_Model):
    """A session as read back from a provider, in SDK terms.

    Used to check that what the provider holds equals what was scheduled.
    """

    ref: ProviderRef
    title: str
    start: AwareDatetime
    end: AwareDatetime
    timezone: str | None = None
    location: str | None = None
    join_url: str | None = None
    cancelled: bool = False
    attendees: tuple[str, ...] = ()
    capacity: int | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


class RosterMember(_Model):
    """A person as the provider holds them on a session's roster.

    Attributes:
        email: The person's email, lower case.
        external_id: The provider's id of the registration, where it has one (Zoom registrant id).
        join_url: A personal join link, where the provider makes one.
        status: Provider-side status (``"approved"``, ``"pending"``, ``"needsAction"``...).
    """

    email: Email
    external_id: str | None = None
    join_url: str | None = None
    status: str | None = None


Registrations = Mapping[str, RosterMember]
"""What :meth:`~lms_connectors.adapter.Adapter.enrol` answered for some learners, by email (the ledger keeps it)."""


class Enrollment(_Model):
    """A learner's place in a session, as the ledger keeps it.

    Attributes:
        session_id: The session.
        person: The learner.
        status: Confirmed, waitlisted or cancelled.
        position: Order of arrival; the waitlist is promoted in this order.
        pushed_to: Adapters whose provider roster holds this learner now. The ledger is the source of
            truth; the scheduler reconciles providers with it, so a failed push is retried, never lost.
        uncertain_at: Adapters to which a push or a removal of this learner was sent without an answer the
            scheduler understood (written before sending): their roster may or may not hold her. A removal
            includes them; a push re-sends to them (pushes are idempotent).
        registrations: Adapter -> the learner's registration there, as the provider answered the enrolment
            (a Zoom registrant's id and personal join link). Kept so that her invite carries her own link and
            unenrolling her needs no look-up.
        updated_at: Last change.
    """

    session_id: str
    person: Person
    status: EnrollmentStatus
    position: int = Field(ge=0)
    pushed_to: tuple[str, ...] = ()
    uncertain_at: tuple[str, ...] = ()
    registrations: dict[str, RosterMember] = Field(default_factory=dict)
    updated_at: AwareDatetime = Field(default_factory=utc_now)

    def join_url(self, session: Session) -> str | None:
        """The link this learner joins ``session`` with.

        Her personal one where the meeting provider made one (a registration), else the meeting's; ``None`` for
        a session without a meeting.
        """
        if session.meeting is None:
            return None
        registration = self.registrations.get(session.meeting.provider)
        return (registration.join_url if registration else None) or session.meeting.join_url
