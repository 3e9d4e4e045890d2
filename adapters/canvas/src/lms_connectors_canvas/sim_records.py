"""What the Canvas simulator stores, and each record as Canvas's JSON shows it (its REST API models).

Kept apart from the routes (:mod:`lms_connectors_canvas.sandbox`): these are the ``User``, ``Course``,
``Section``, ``Enrollment``, ``CalendarEvent`` and ``AppointmentGroup`` objects and their documented fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["SimAppointmentGroup", "SimCourse", "SimEnrollment", "SimEvent", "SimSection", "SimUser", "iso_z"]

_ORIGIN = "https://canvas.example.edu"


def iso_z(moment: datetime | None) -> str | None:
    """Canvas's way of writing an instant: UTC with ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


@dataclass
class SimUser:
    """A Canvas user with a login (pseudonym)."""

    id: int
    name: str
    login_id: str
    sis_user_id: str | None = None

    def brief(self) -> dict[str, Any]:
        """The user as embedded in an enrolment or a reservation."""
        parts = self.name.split()
        return {"id": self.id, "name": self.name, "short_name": self.name,
                "sortable_name": f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else self.name,
                "login_id": self.login_id, "sis_user_id": self.sis_user_id}


@dataclass
class SimCourse:
    """A course of the account."""

    id: int
    name: str
    course_code: str
    account_id: int = 1
    time_zone: str = "America/New_York"

    def view(self) -> dict[str, Any]:
        """``GET /courses/:id``."""
        return {"id": self.id, "name": self.name, "course_code": self.course_code, "account_id": self.account_id,
                "root_account_id": 1, "time_zone": self.time_zone, "workflow_state": "available",
                "uuid": f"sim-course-{self.id}", "default_view": "modules"}


@dataclass
class SimSection:
    """A course section."""

    id: int
    course_id: int
    name: str
    sis_section_id: str | None = None
    integration_id: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    workflow_state: str = "active"

    def view(self) -> dict[str, Any]:
        """The ``Section`` model."""
        return {"id": self.id, "name": self.name, "course_id": self.course_id, "sis_section_id": self.sis_section_id,
                "integration_id": self.integration_id, "sis_course_id": None, "sis_import_id": None,
                "start_at": iso_z(self.start_at), "end_at": iso_z(self.end_at), "nonxlist_course_id": None,
                "restrict_enrollments_to_section_dates": False, "created_at": "2027-01-04T12:00:00Z"}


@dataclass
class SimEnrollment:
    """A user's enrolment in a section."""

    id: int
    user: SimUser
    course_id: int
    section_id: int
    type: str
    enrollment_state: str
    updated_at: datetime

    def view(self) -> dict[str, Any]:
        """The ``Enrollment`` model."""
        return {"id": self.id, "user_id": self.user.id, "course_id": self.course_id,
                "course_section_id": self.section_id, "type": self.type, "role": self.type, "role_id": 3,
                "enrollment_state": self.enrollment_state, "limit_privileges_to_course_section": False,
                "root_account_id": 1, "associated_user_id": None, "created_at": iso_z(self.updated_at),
                "updated_at": iso_z(self.updated_at), "user": self.user.brief(),
                "html_url": f"{_ORIGIN}/courses/{self.course_id}/users/{self.user.id}"}


@dataclass
class SimEvent:
    """A calendar event: a course event, a section's child event, an appointment slot or a reservation."""

    id: int
    context_code: str
    title: str
    start_at: datetime
    end_at: datetime
    description: str = ""
    location_name: str = ""
    location_address: str = ""
    workflow_state: str = "active"
    parent_event_id: int | None = None
    appointment_group_id: int | None = None
    participants_per_appointment: int | None = None
    user: SimUser | None = None
    cancel_reason: str | None = None
    created_at: str = "2027-01-04T12:00:00Z"
    children: list[SimEvent] = field(default_factory=list)

    def live_children(self) -> list[SimEvent]:
        """Child events not deleted."""
        return [child for child in self.children if child.workflow_state != "deleted"]

    def view(self, effective_context: str | None = None, *, with_children: bool = True) -> dict[str, Any]:
        """The ``CalendarEvent`` model."""
        children = self.live_children()
        body: dict[str, Any] = {
            "id": self.id, "title": self.title, "start_at": iso_z(self.start_at), "end_at": iso_z(self.end_at),
            "description": self.description, "location_name": self.location_name,
            "location_address": self.location_address, "context_code": self.context_code,
            "effective_context_code": effective_context or self.context_code,
            "all_context_codes": effective_context or self.context_code, "workflow_state": self.workflow_state,
            "hidden": bool(children) and self.parent_event_id is None and self.appointment_group_id is None,
            "parent_event_id": self.parent_event_id, "child_events_count": len(children),
            "url": f"{_ORIGIN}/api/v1/calendar_events/{self.id}",
            "html_url": f"{_ORIGIN}/calendar?event_id={self.id}", "all_day": False, "all_day_date": None,
            "created_at": self.created_at, "updated_at": self.created_at,
            "appointment_group_id": self.appointment_group_id,
            "appointment_group_url": (f"{_ORIGIN}/api/v1/appointment_groups/{self.appointment_group_id}"
                                      if self.appointment_group_id else None),
            "own_reservation": False, "reserved": False, "user": self.user.brief() if self.user else None,
            "group": None,
        }
        if self.participants_per_appointment is not None or self.appointment_group_id is not None:
            body["participants_per_appointment"] = self.participants_per_appointment
            limit = self.participants_per_appointment
            body["available_slots"] = None if limit is None else max(0, limit - len(children))
            body["reserve_url"] = f"{_ORIGIN}/api/v1/calendar_events/{self.id}/reservations/%7B%7B%20id%20%7D%7D"
        if self.cancel_reason is not None:
            body["cancel_reason"] = self.cancel_reason
        if with_children:
            body["child_events"] = [child.view(with_children=False) for child in children]
        return body


@dataclass
class SimAppointmentGroup:
    """An appointment group and its slots."""

    id: int
    title: str
    context_codes: list[str]
    sub_context_codes: list[str]
    description: str = ""
    location_name: str = ""
    location_address: str = ""
    participants_per_appointment: int | None = None
    max_appointments_per_participant: int | None = 1
    participant_visibility: str = "private"
    workflow_state: str = "pending"
    slots: list[SimEvent] = field(default_factory=list)

    def live_slots(self) -> list[SimEvent]:
        """Slots not deleted."""
        return [slot for slot in self.slots if slot.workflow_state != "deleted"]

    def view(self, *, appointments: bool = False) -> dict[str, Any]:
        """The ``AppointmentGroup`` model (``appointments`` only when included)."""
        slots = self.live_slots()
        reservations = [r for slot in slots for r in slot.live_children()]
        body: dict[str, Any] = {
            "id": self.id, "title": self.title, "description": self.description,
            "start_at": iso_z(min((s.start_at for s in slots), default=None)),
            "end_at": iso_z(max((s.end_at for s in slots), default=None)),
            "location_name": self.location_name, "location_address": self.location_address,
            "participant_count": len(reservations), "context_codes": list(self.context_codes),
            "sub_context_codes": list(self.sub_context_codes), "workflow_state": self.workflow_state,
            "requiring_action": False, "appointments_count": len(slots),
            "max_appointments_per_participant": self.max_appointments_per_participant,
            "min_appointments_per_participant": None,
            "participants_per_appointment": self.participants_per_appointment,
            "participant_visibility": self.participant_visibility,
            "participant_type": "User", "url": f"{_ORIGIN}/api/v1/appointment_groups/{self.id}",
            "html_url": f"{_ORIGIN}/appointment_groups/{self.id}",
            "created_at": "2027-01-04T12:00:00Z", "updated_at": "2027-01-04T12:00:00Z",
        }
        if appointments:
            body["appointments"] = [slot.view(self.context_codes[0] if self.context_codes else None)
                                    for slot in slots]
        return body
