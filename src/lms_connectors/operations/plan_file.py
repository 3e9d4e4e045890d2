"""The term's plan as a file: sessions, instructors, rooms and learners, validated with the line to blame.

A plan is YAML (PyYAML's safe loader), validated by the pydantic models below. An error names the file, the line
and the dotted field (``plan.yaml:14: sessions.1.start: ...``), because the people who write plans are training
coordinators, not Python programmers. Enrolments may come from a CSV file beside the plan, in the shape an HRIS
export has (one row per learner and session; see :func:`read_enrolments_csv`).

Times are wall times in the session's zone (``start: 2027-03-16 09:00`` with ``timezone: America/New_York``):
a time the clocks skip or repeat is refused, never guessed.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from lms_connectors.completion import CompletionItem
from lms_connectors.errors import ValidationError
from lms_connectors.models import Email, Modality, Person, Role, Room, Session, TimeSlot, describe_pydantic_error
from lms_connectors.timezones import canonical_zone, localize

__all__ = [
    "AvailabilityWindow",
    "CompletionSpec",
    "EnrolmentRow",
    "InstructorSpec",
    "LearnerSpec",
    "PlanFile",
    "RoomNeeds",
    "RoomSpec",
    "SessionSpec",
    "load_plan",
    "read_enrolments_csv",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Zone = Annotated[str, AfterValidator(canonical_zone)]
"""A zone in any spelling the SDK accepts (IANA in any case, legacy alias, Windows name), stored canonical."""


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AvailabilityWindow(_Spec):
    """A weekly window an instructor can teach in, as wall times in her own zone."""

    days: tuple[Weekday, ...] = Field(min_length=1)
    start: time = Field(alias="from")
    end: time = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> AvailabilityWindow:
        if self.end <= self.start:
            raise ValueError(f"'to' ({self.end}) must be after 'from' ({self.start})")
        return self


class InstructorSpec(_Spec):
    """Someone who teaches: skills, home zone, when she can teach, what an hour costs, who stands in."""

    email: Email
    name: str = Field(min_length=1)
    timezone: Zone
    skills: tuple[str, ...] = ()
    cost_per_hour: float = Field(default=0.0, ge=0)
    availability: tuple[AvailabilityWindow, ...] = ()
    """Empty: available at any time (the ledger and the providers' free/busy still apply)."""
    buffer_minutes: int = Field(default=0, ge=0)
    """Free time she needs between two sessions (travel, set-up)."""
    fallbacks: tuple[Email, ...] = ()
    """Who to ask, in order, when she declines or becomes unavailable."""
    max_hours_per_week: float | None = Field(default=None, gt=0)
    """The most she teaches in one week (Monday to Sunday in her own zone); ``None``: no limit."""

    def person(self) -> Person:
        """The instructor as the SDK's :class:`~lms_connectors.models.Person`."""
        return Person(email=self.email, name=self.name, timezone=canonical_zone(self.timezone), role=Role.INSTRUCTOR)


class RoomSpec(_Spec):
    """A bookable room."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: Email | None = None
    capacity: int | None = Field(default=None, ge=1)
    features: tuple[str, ...] = ()
    location: str | None = None

    def room(self) -> Room:
        """The room as the SDK's :class:`~lms_connectors.models.Room`."""
        return Room(id=self.id, name=self.name, email=self.email, capacity=self.capacity, location=self.location)


class RoomNeeds(_Spec):
    """What a session needs of a room when the plan names none."""

    capacity: int | None = Field(default=None, ge=1)
    features: tuple[str, ...] = ()


class LearnerSpec(_Spec):
    """A learner, with the zone her invites and reminders are shown in."""

    email: Email
    name: str = Field(min_length=1)
    timezone: Zone | None = None

    def person(self) -> Person:
        """The learner as the SDK's :class:`~lms_connectors.models.Person`."""
        zone = canonical_zone(self.timezone) if self.timezone else None
        return Person(email=self.email, name=self.name, timezone=zone)


def _assignment_ref(value: Any) -> int | str | None:
    """An assignment id (a positive number) or ``new``; anything else is refused with what is allowed."""
    if value is None or value == "new" or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return value  # type: ignore[no-any-return]
    raise ValueError(f"an assignment is its id (a positive number) or new, not {value!r}")


class CompletionSpec(_Spec):
    """What one LMS records a session's completion on: an existing activity or assignment, or one to make.

    ``activity`` is Moodle's course-module id of an activity with completion tracking (the ``id`` in its
    ``/mod/.../view.php?id=`` address). ``assignment`` is a Canvas assignment graded pass/fail: its id, or ``new``
    for one the adapter makes in the session's course (``points`` then sets its points; due at the session's end).
    """

    activity: int | None = Field(default=None, gt=0)
    assignment: Annotated[int | str | None, BeforeValidator(_assignment_ref)] = None
    points: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_object(self) -> CompletionSpec:
        if (self.activity is None) == (self.assignment is None):
            raise ValueError("name either an activity (its id) or an assignment (its id, or new)")
        if self.points is not None and self.assignment != "new":
            raise ValueError("points: only an assignment made by the SDK (assignment: new) takes points")
        return self

    def item(self) -> CompletionItem:
        """The object as the adapters take it."""
        if self.activity is not None:
            return CompletionItem(kind="activity", id=str(self.activity))
        made = self.assignment == "new"
        return CompletionItem(kind="assignment", id=None if made else str(self.assignment),
                              points=self.points if self.points is not None else 1.0)


class SessionSpec(_Spec):
    """One session of the plan."""

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)
    course: str | None = None
    """The LMS's course id (Moodle's is an integer); default: each LMS adapter's configured course."""
    start: datetime
    """Wall time in :attr:`timezone`, without an offset."""
    minutes: int = Field(gt=0, le=24 * 60)
    timezone: Zone
    modality: Modality = Modality.IN_PERSON
    capacity: int | None = Field(default=None, ge=1)
    skills: tuple[str, ...] = ()
    instructor: Email | None = None
    """Named instructor; ``None`` lets the plan assign one (:mod:`lms_connectors.operations.assignment`)."""
    room: str | None = None
    """A room id from the plan's ``rooms``."""
    room_needs: RoomNeeds | None = None
    learners: tuple[Email, ...] = ()
    providers: tuple[str, ...] | None = None
    """Narrow the session to these adapters (default: every adapter that serves its modality)."""
    cancelled: bool = False
    description: str = ""
    reminders: tuple[str, ...] | None = None
    """Reminder offsets before the start (``7d``, ``1d``, ``1h``); the plan's default when omitted."""
    completion: dict[str, CompletionSpec] = Field(default_factory=dict)
    """Per LMS adapter, what the learners' completion is written on (``moodle: {activity: 57}``,
    ``canvas: {assignment: new}``); an LMS not named here is not written to."""

    @model_validator(mode="after")
    def _naive_start(self) -> SessionSpec:
        if self.start.tzinfo is not None:
            raise ValueError("start is a wall time in the session's timezone: write it without an offset")
        return self

    def slot(self) -> TimeSlot:
        """The session's slot: the wall time localised in its zone (a skipped or repeated time is refused)."""
        zone = canonical_zone(self.timezone)
        start = localize(self.start, zone)
        # Add the length as elapsed time (through UTC), so a session across a DST change lasts what it says.
        end = (start.astimezone(UTC) + timedelta(minutes=self.minutes)).astimezone(start.tzinfo)
        return TimeSlot(start=start, end=end, timezone=zone)


class PlanFile(_Spec):
    """A whole plan: what should exist, as the ledger and the providers will hold it."""

    version: Literal[1] = 1
    name: str = ""
    reminders: tuple[str, ...] = ("7d", "1d", "1h")
    """Default reminder offsets for every session."""
    instructors: tuple[InstructorSpec, ...] = ()
    rooms: tuple[RoomSpec, ...] = ()
    learners: tuple[LearnerSpec, ...] = ()
    enrolments_csv: str | None = None
    """A CSV of enrolments beside the plan (see :func:`read_enrolments_csv`)."""
    sessions: tuple[SessionSpec, ...] = Field(min_length=1)
    assign_with: Literal["auto", "cp-sat", "greedy"] = "auto"
    """How instructors are assigned: ``cp-sat`` (the ``planning`` extra), ``greedy``, or ``auto``: CP-SAT when
    it is installed, else the greedy pass (:func:`lms_connectors.operations.assignment.assign_instructors`)."""

    @model_validator(mode="after")
    def _references(self) -> PlanFile:
        instructors = {i.email for i in self.instructors}
        rooms = {r.id for r in self.rooms}
        learners = {learner.email for learner in self.learners}
        seen: set[str] = set()
        for index, spec in enumerate(self.sessions):
            if spec.id in seen:
                raise ValueError(f"sessions.{index}.id: {spec.id!r} appears twice")
            seen.add(spec.id)
            if spec.instructor is not None and spec.instructor not in instructors:
                raise ValueError(f"sessions.{index}.instructor: {spec.instructor} is not in instructors")
            if spec.room is not None and spec.room not in rooms:
                raise ValueError(f"sessions.{index}.room: {spec.room!r} is not in rooms")
            outside = [name for name in spec.completion if spec.providers is not None and name not in spec.providers]
            if outside:
                raise ValueError(f"sessions.{index}.completion.{outside[0]}: not among the session's providers")
            unknown = [email for email in spec.learners if email not in learners]
            if unknown:
                raise ValueError(f"sessions.{index}.learners: {', '.join(unknown)} not in learners")
        for index, instructor in enumerate(self.instructors):
            missing = [email for email in instructor.fallbacks if email not in instructors]
            if missing:
                raise ValueError(f"instructors.{index}.fallbacks: {', '.join(missing)} not in instructors")
        return self

    def completion_items(self, session_id: str) -> dict[str, CompletionItem]:
        """What each LMS records the session's completion on, by adapter name (empty: nothing to write)."""
        spec = next((s for s in self.sessions if s.id == session_id), None)
        return {name: item.item() for name, item in spec.completion.items()} if spec is not None else {}

    def instructor(self, email: str) -> InstructorSpec:
        """The instructor with this email (the plan was checked to name only known ones)."""
        return next(i for i in self.instructors if i.email == email)

    def room(self, room_id: str) -> RoomSpec:
        """The room with this id."""
        return next(r for r in self.rooms if r.id == room_id)

    def learner(self, email: str) -> LearnerSpec:
        """The learner with this email."""
        return next(learner for learner in self.learners if learner.email == email)

    def to_session(self, spec: SessionSpec, instructor: str | None = None) -> Session:
        """The SDK session for ``spec``, taught by ``instructor`` (default: the one the plan names)."""
        who = instructor or spec.instructor
        return Session(
            id=spec.id,
            title=spec.title,
            slot=spec.slot(),
            modality=spec.modality,
            capacity=spec.capacity,
            instructors=(self.instructor(who).person(),) if who else (),
            room=self.room(spec.room).room() if spec.room else None,
            course_id=spec.course,
            description=spec.description,
            targets=spec.providers,
        )


class EnrolmentRow(_Spec):
    """One row of an enrolments CSV."""

    session_id: str
    learner: LearnerSpec


# Column names as HRIS exports spell them, folded to lower case without spaces or underscores.
_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "session": ("session", "sessionid", "session_id", "class", "classid", "offering"),
    "email": ("email", "emailaddress", "workemail", "employeeemail", "learneremail"),
    "name": ("name", "fullname", "employeename", "learnername", "displayname"),
    "timezone": ("timezone", "tz", "timezonename", "zone"),
}


def _fold(header: str) -> str:
    return "".join(ch for ch in header.lower() if ch.isalnum())


def read_enrolments_csv(path: Path) -> list[EnrolmentRow]:
    """Read enrolments from a CSV: one row per learner and session, with a header row.

    Columns are found by name, whatever their order and spelling (``Session ID``, ``Work Email``, ``Full
    Name``, ``Time Zone``); the time zone column is optional. A row that fails names its line.

    Raises:
        ValidationError: A required column is missing, or a row is invalid (its line is in the message).
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        headers = {_fold(h): h for h in reader.fieldnames or ()}
        found: dict[str, str] = {}
        for column, spellings in _COLUMNS.items():
            for spelling in spellings:
                if _fold(spelling) in headers:
                    found[column] = headers[_fold(spelling)]
                    break
        missing = [c for c in ("session", "email", "name") if c not in found]
        if missing:
            raise ValidationError(f"{path.name}: no column for {', '.join(missing)} (header: {reader.fieldnames})")
        rows: list[EnrolmentRow] = []
        for row in reader:
            line = reader.line_num
            zone = (row.get(found["timezone"]) or "").strip() if "timezone" in found else ""
            try:
                learner = LearnerSpec(
                    email=(row[found["email"]] or "").strip(),
                    name=(row[found["name"]] or "").strip(),
                    timezone=zone or None,
                )
                if learner.timezone:
                    canonical_zone(learner.timezone)
                rows.append(EnrolmentRow(session_id=(row[found["session"]] or "").strip(), learner=learner))
            except PydanticValidationError as exc:
                raise ValidationError(f"{path.name}:{line}: {describe_pydantic_error(exc)}") from exc
            except ValidationError as exc:
                raise ValidationError(f"{path.name}:{line}: {exc.message}", field=exc.field) from exc
        return rows


def _line_of(node: yaml.Node, location: Sequence[str | int]) -> int:
    """The 1-based line of the YAML node at ``location`` (or of its nearest existing parent)."""
    current = node
    for part in location:
        if isinstance(current, yaml.MappingNode):
            match = next((v for k, v in current.value if getattr(k, "value", None) == str(part)), None)
            if match is None:
                # An alias spelled differently ('from'/'to') or a missing key: blame the mapping itself.
                break
            current = match
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            current = current.value[part]
        else:
            break
    return current.start_mark.line + 1


def _location(error: Mapping[str, Any]) -> tuple[str | int, ...]:
    """Where a pydantic error points, with validator messages that name their own path (``sessions.2.room``)."""
    location = tuple(error["loc"])
    message = str(error.get("msg", ""))
    head = message.removeprefix("Value error, ").split(":", 1)[0]
    if not location and "." in head and " " not in head:
        return tuple(int(p) if p.isdigit() else p for p in head.split("."))
    return location


def load_plan(path: str | Path) -> tuple[PlanFile, list[EnrolmentRow]]:
    """Read and validate a plan file, and the enrolments CSV it names.

    Returns:
        The plan, and the enrolment rows (from the CSV, plus one per learner a session lists).

    Raises:
        ValidationError: The file is missing or not YAML, or a field is wrong; the message starts with
            ``file:line:`` and names the field, which is also in :attr:`ValidationError.field`.
    """
    plan_path = Path(path)
    try:
        text = plan_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"{plan_path}: cannot read the plan ({exc.strerror})") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        raise ValidationError(f"{plan_path.name}{at}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(data, dict) or node is None:
        raise ValidationError(f"{plan_path.name}:1: a plan is a mapping with at least 'sessions'")
    try:
        plan = PlanFile.model_validate(_wall_times(data))
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = _location(first)
        field = ".".join(str(p) for p in where)
        message = str(first["msg"]).removeprefix("Value error, ")
        if message.startswith(f"{field}: "):
            message = message[len(field) + 2 :]
        raise ValidationError(
            f"{plan_path.name}:{_line_of(node, where)}: {field}: {message}", field=field or None
        ) from exc
    except ValidationError as exc:
        raise ValidationError(f"{plan_path.name}: {exc.message}", field=exc.field) from exc
    for index, spec in enumerate(plan.sessions):
        try:
            spec.slot()
        except ValidationError as exc:
            line = _line_of(node, ("sessions", index, "start"))
            raise ValidationError(
                f"{plan_path.name}:{line}: sessions.{index}: {exc.message}", field=f"sessions.{index}.start"
            ) from exc
    rows = [
        EnrolmentRow(session_id=spec.id, learner=plan.learner(email))
        for spec in plan.sessions
        for email in spec.learners
    ]
    if plan.enrolments_csv:
        rows.extend(read_enrolments_csv(plan_path.parent / plan.enrolments_csv))
    known = {spec.id for spec in plan.sessions}
    stray = sorted({row.session_id for row in rows} - known)
    if stray:
        raise ValidationError(f"{plan.enrolments_csv}: sessions not in the plan: {', '.join(stray)}")
    return plan, rows


def _wall_times(data: dict[str, Any]) -> dict[str, Any]:
    """YAML reads ``2027-03-16 09:00`` as a datetime and ``2027-03-16`` as a date; keep wall times naive."""
    sessions = data.get("sessions")
    if isinstance(sessions, list):
        for spec in sessions:
            if isinstance(spec, dict) and isinstance(spec.get("start"), date) and not isinstance(
                spec.get("start"), datetime
            ):
                spec["start"] = datetime.combine(spec["start"], time())
    return data


WEEKDAY_INDEX = {name: index for index, name in enumerate(WEEKDAYS)}
"""Monday is 0, as :meth:`datetime.weekday` counts."""
