"""The Graph simulator's Teams meetings: ``onlineMeetings`` found by join link, and their attendance reports.

An online event's Teams meeting is made when Outlook attaches its link (:meth:`TeamsMeetings.open_meeting`). A
test declares who joined and left (:meth:`TeamsMeetings.record_join`) and when the meeting ended
(:meth:`TeamsMeetings.end_meeting`): as Teams does, each end writes one ``meetingAttendanceReport`` derived from
the joins since the last end (start: the first join; end: the last leave; one ``attendanceRecord`` per person,
her stays as ``attendanceIntervals``, their seconds summed in ``totalAttendanceInSeconds``).

Routes, in the shapes of Graph's v1.0 reference (``onlinemeeting-get``, ``meetingattendancereport-list``,
``meetingattendancereport-get``, ``attendancerecord-list``):

* ``GET /users/{userId}/onlineMeetings?$filter=JoinWebUrl eq '{joinWebUrl}'``: a collection of the one meeting
  (empty for an unknown link); the link inside the quotes is URL-encoded, as documented;
* ``GET /users/{userId}/onlineMeetings/{meetingId}``;
* ``GET .../attendanceReports`` (``attendanceRecords`` empty, as documented), ``GET .../attendanceReports/{id}``
  (``$expand=attendanceRecords``), ``GET .../attendanceReports/{id}/attendanceRecords`` (``@odata.nextLink``
  pages of :attr:`TeamsMeetings.attendance_page_size`).

Refusals: ``userId`` is the organizer's object id (the documentation says so; this simulator answers another id,
her UPN included, 404); 403 ``Forbidden`` without ``OnlineMeetings.Read.All``/``ReadWrite.All`` (the meeting) or
``OnlineMeetingArtifact.Read.All`` (reports) in the token's roles, and 403 "No application access policy found
for this app" (the wording the documentation gives) when no policy grants the app the organizer
(:attr:`TeamsMeetings.policy_granted`); 404 for a meeting or report that does not exist (the code is this
simulator's reading).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator, route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors_microsoft_graph.sandbox_login import SimulatedLogin

__all__ = ["ORGANIZER_OBJECT_ID", "Join", "TeamsMeetings"]

ORGANIZER_OBJECT_ID = "5f8c1b2e-0000-4000-8000-00000000d35c"
"""The organizer mailbox's user object id in the simulated tenant."""

_MEETING_ROLES = frozenset({"OnlineMeetings.Read.All", "OnlineMeetings.ReadWrite.All"})
_ARTIFACT_ROLE = "OnlineMeetingArtifact.Read.All"
_JOIN_FILTER = "JoinWebUrl eq '"


@dataclass(frozen=True)
class Join:
    """One stay of a person in a Teams meeting, as a test declares it.

    Attributes:
        email: Her address (``None``: an anonymous guest, reported without one).
        joined: When she joined (``None``: Teams lacks the data).
        left: When she left (``None``: Teams lacks the data).
        name: Her display name.
        role: ``Attendee``, ``Presenter`` or ``Organizer``.
    """

    email: str | None
    joined: datetime | None
    left: datetime | None
    name: str = ""
    role: str = "Attendee"


@dataclass
class _Meeting:
    id: str
    join_url: str
    event_id: str
    created: str
    start: str
    end: str
    joins: list[Join] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)


def _utc(instant: datetime | None) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class TeamsMeetings(RoutedSimulator):
    """Online meetings and their attendance reports; the Graph simulator's base.

    Attributes:
        organizer_id: The organizer's user object id (``/users/{organizer_id}/onlineMeetings``).
        policy_granted: Whether an application access policy grants the app the organizer's meetings.
        attendance_page_size: Attendance records per page.
    """

    organizer: str
    login: SimulatedLogin

    def __init__(self, clock: Any = None) -> None:
        super().__init__(clock)
        self.organizer_id = ORGANIZER_OBJECT_ID
        self.policy_granted = True
        self.attendance_page_size = 100
        self.meetings: dict[str, _Meeting] = {}  # meeting id -> meeting
        self._by_event: dict[str, str] = {}  # event id -> meeting id

    # -- test controls ---------------------------------------------------------------------------------

    def open_meeting(self, event_id: str, join_url: str, start: datetime, end: datetime) -> None:
        """The Teams meeting behind an online event's link (called when Outlook attaches the link)."""
        if event_id in self._by_event:
            return
        thread = join_url.split("19%3ameeting_", 1)[-1].split("%40", 1)[0]
        raw = f"1*{self.organizer_id}*0**19:meeting_{thread}@thread.v2"
        meeting_id = base64.b64encode(raw.encode()).decode().rstrip("=")
        self.meetings[meeting_id] = _Meeting(meeting_id, join_url, event_id, _utc(self.clock.now()) or "",
                                             _utc(start) or "", _utc(end) or "")
        self._by_event[event_id] = meeting_id

    def record_join(self, event_id: str, join: Join) -> None:
        """Someone stayed in the event's Teams meeting (reported once the meeting ends)."""
        with self.lock:
            self.meetings[self._by_event[event_id]].joins.append(join)

    def end_meeting(self, event_id: str) -> str:
        """The event's meeting ends: Teams writes a report of the joins since it last ended; returns its id."""
        with self.lock:
            meeting = self.meetings[self._by_event[event_id]]
            joins, meeting.joins = meeting.joins, []
            report_id = _uuid(f"{meeting.id}-{len(meeting.reports)}")
            records: dict[str, dict[str, Any]] = {}
            for join in sorted(joins, key=lambda j: j.joined or datetime.min.replace(tzinfo=UTC)):
                who = (join.email or "").lower() or f"anonymous:{join.name}"
                record = records.setdefault(who, {
                    "emailAddress": join.email, "totalAttendanceInSeconds": 0, "role": join.role,
                    "identity": {"id": _uuid(who), "displayName": join.name or join.email, "tenantId": None},
                    "attendanceIntervals": [],
                })
                seconds = int((join.left - join.joined).total_seconds()) if join.joined and join.left else 0
                record["attendanceIntervals"].append(
                    {"joinDateTime": _utc(join.joined), "leaveDateTime": _utc(join.left), "durationInSeconds": seconds}
                )
                record["totalAttendanceInSeconds"] += seconds
            starts = [j.joined for j in joins if j.joined is not None]
            ends = [j.left for j in joins if j.left is not None]
            meeting.reports.append({
                "id": report_id,
                "totalParticipantCount": len(records),
                "meetingStartDateTime": _utc(min(starts) if starts else self.clock.now()),
                "meetingEndDateTime": _utc(max(ends) if ends else self.clock.now()),
                "_records": list(records.values()),
            })
            return report_id

    # -- routes ----------------------------------------------------------------------------------------

    @route("GET", "/v1.0/users/{user}/onlineMeetings")
    def _find_meeting_route(self, request: SandboxRequest, user: str) -> SandboxResponse:
        self._may_read(request, user, _MEETING_ROLES)
        wanted = (request.query.get("$filter") or [""])[0].strip()
        if not wanted.startswith(_JOIN_FILTER) or not wanted.endswith("'"):
            raise Refusal(400, "Filter on JoinWebUrl (or another documented property) is required.", "BadRequest")
        join_url = unquote(wanted[len(_JOIN_FILTER):-1])
        found = [self._meeting_answer(m) for m in self.meetings.values() if m.join_url == join_url]
        return SandboxResponse(200, {"value": found})

    @route("GET", "/v1.0/users/{user}/onlineMeetings/{meeting_id}")
    def _get_meeting_route(self, request: SandboxRequest, user: str, meeting_id: str) -> SandboxResponse:
        self._may_read(request, user, _MEETING_ROLES)
        return SandboxResponse(200, self._meeting_answer(self._meeting(meeting_id)))

    @route("GET", "/v1.0/users/{user}/onlineMeetings/{meeting_id}/attendanceReports")
    def _reports_route(self, request: SandboxRequest, user: str, meeting_id: str) -> SandboxResponse:
        self._may_read(request, user, frozenset({_ARTIFACT_ROLE}))
        meeting = self._meeting(meeting_id)
        reports = [{**_public(report), "attendanceRecords": []} for report in meeting.reports]
        return SandboxResponse(200, {"@odata.context": self._context(meeting, "/attendanceReports"),
                                     "value": reports})

    @route("GET", "/v1.0/users/{user}/onlineMeetings/{meeting_id}/attendanceReports/{report_id}")
    def _report_route(self, request: SandboxRequest, user: str, meeting_id: str, report_id: str) -> SandboxResponse:
        self._may_read(request, user, frozenset({_ARTIFACT_ROLE}))
        meeting = self._meeting(meeting_id)
        report = self._report(meeting, report_id)
        answer = {"@odata.context": self._context(meeting, f"/attendanceReports('{report_id}')"), **_public(report)}
        if (request.query.get("$expand") or [""])[0] == "attendanceRecords":
            answer["attendanceRecords"] = report["_records"]
        return SandboxResponse(200, answer)

    @route("GET", "/v1.0/users/{user}/onlineMeetings/{meeting_id}/attendanceReports/{report_id}/attendanceRecords")
    def _records_route(self, request: SandboxRequest, user: str, meeting_id: str, report_id: str) -> SandboxResponse:
        self._may_read(request, user, frozenset({_ARTIFACT_ROLE}))
        records = self._report(self._meeting(meeting_id), report_id)["_records"]
        skip = int((request.query.get("$skip") or ["0"])[0] or 0)
        size = self.attendance_page_size
        page: dict[str, Any] = {"value": records[skip : skip + size]}
        if skip + size < len(records):
            host = request.headers.get("host", "127.0.0.1")
            page["@odata.nextLink"] = f"http://{host}{request.path}?$skip={skip + size}"
        return SandboxResponse(200, page)

    # -- helpers ---------------------------------------------------------------------------------------

    def _may_read(self, request: SandboxRequest, user: str, roles: frozenset[str]) -> None:
        if user != self.organizer_id:
            raise Refusal(404, f"The user '{user}' was not found: online meetings are addressed by the user's "
                          "object id.", "NotFound")
        header = request.headers.get("authorization", "")
        if not roles & self.login.roles_of(header.removeprefix("Bearer ")):
            raise Refusal(403, f"Forbidden: the application needs {' or '.join(sorted(roles))}.", "Forbidden")
        if not self.policy_granted:
            raise Refusal(403, "No application access policy found for this app", "Forbidden")

    def _meeting(self, meeting_id: str) -> _Meeting:
        meeting = self.meetings.get(meeting_id)
        if meeting is None:
            raise Refusal(404, "The online meeting was not found.", "NotFound")
        return meeting

    @staticmethod
    def _report(meeting: _Meeting, report_id: str) -> dict[str, Any]:
        for report in meeting.reports:
            if report["id"] == report_id:
                return report
        raise Refusal(404, "The attendance report was not found.", "NotFound")

    def _context(self, meeting: _Meeting, rest: str) -> str:
        return (f"https://graph.microsoft.com/v1.0/$metadata#users('{self.organizer_id}')/onlineMeetings"
                f"('{meeting.id}'){rest}")

    def _meeting_answer(self, meeting: _Meeting) -> dict[str, Any]:
        return {
            "id": meeting.id,
            "creationDateTime": meeting.created,
            "startDateTime": meeting.start,
            "endDateTime": meeting.end,
            "joinWebUrl": meeting.join_url,
            "subject": None,
            "isEntryExitAnnounced": True,
            "allowedPresenters": "everyone",
            "participants": {
                "organizer": {"upn": self.organizer, "role": "presenter", "identity": {"user": {
                    "id": self.organizer_id, "displayName": None, "tenantId": self.login.tenant_id,
                    "identityProvider": "AAD"}}},
                "attendees": [], "producers": [], "contributors": [],
            },
            "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": False},
            "joinMeetingIdSettings": {"isPasscodeRequired": False, "passcode": None,
                                      "joinMeetingId": str(int(_uuid(meeting.id).replace("-", ""), 16))[:12]},
        }


def _public(report: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in report.items() if not name.startswith("_")}


def _uuid(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
