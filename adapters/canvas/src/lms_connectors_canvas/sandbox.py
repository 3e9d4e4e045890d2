"""A simulator of Canvas LMS's REST API (courses, sections, enrolments, calendar events, appointment groups).

It keeps the behaviours of Canvas a client must get right (sources in the adapter's README):

* Auth: bearer tokens (an admin-issued token, or an OAuth 2 access token from ``POST /login/oauth2/token`` with
  ``grant_type=refresh_token``, living an hour). An unknown or expired token is ``401`` **with**
  ``WWW-Authenticate: Bearer realm="canvas-lms"`` and ``{"errors":[{"message":"Invalid access token."}]}``; a user
  who may not act in a course gets ``401`` **without** it, ``{"status":"unauthorized","errors":[{"message":"user
  not authorized to perform that action"}]}``. ``as_user_id`` acts for another user.
* Throttling: a leaky bucket per token (high-water mark 600 units, 10 units a second drained, each request
  charged its cost): every answer carries ``X-Request-Cost`` and ``X-Rate-Limit-Remaining``; past the mark the
  answer is ``403`` ``text/plain`` ``403 Forbidden (Rate Limit Exceeded)`` (or ``429`` for instances after
  2025-10-08) with ``X-Rate-Limit-Remaining: 0.0``, no ``X-Request-Cost`` and no ``Retry-After``.
* Listings: ``per_page`` (at most 100) and a ``Link`` header whose ``page`` values are opaque bookmarks
  (``bookmark:...``), with ``current``, ``next`` and ``first`` but no ``last``. ``context_codes[]`` takes 10
  codes (more are ignored), and one the user may not read fails the whole listing.
* Sections: ``sis_section_id`` and ``integration_id`` are unique in the account (a second one is ``400`` with the
  model's errors hash); without ``manage_sis`` they are ignored. A section holding enrolments cannot be deleted.
* Enrolments: enrolling a user already enrolled in the section with the same type answers that enrolment (a
  concluded one made active again); ``task=conclude|delete|inactivate`` ends one.
* Calendar events: course events with per-section child events (``child_event_data``: the parent's times are
  the span of its children), updated in place, deleted with a ``cancel_reason`` (still readable, as deleted).
* Assignments and grades (:mod:`lms_connectors_canvas.sim_grading`): ``POST /courses/:id/assignments`` (needs
  ``manage_assignments_add``), listed with ``search_term`` (part of the name, any case) and read by id;
  ``PUT /courses/:id/assignments/:id/submissions/:user_id`` with ``submission[posted_grade]`` (needs
  ``manage_grades``) grades a student of the course: an unknown user, or one without an active student
  enrolment in the course, is ``404``; an unpublished assignment is not assigned to anyone (``401``); a grade a
  pass/fail assignment cannot take is ``400 {"error": ...}``.
* Appointment groups: ``title`` and ``context_codes`` required; ``new_appointments`` make slots taking
  ``participants_per_appointment`` each; a participant enrolled in a sub-context reserves a slot, and a full slot
  is ``400`` with a reservation error.

Serve it with :class:`lms_connectors.testing.sandbox.SandboxServer`; paths work with or without ``/api/v1``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlencode

from lms_connectors.testing.limits import LimitState
from lms_connectors.testing.paging import PageCodec, PageTokenError
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator, route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock
from lms_connectors.testing.tokens import GrantRefused, TokenEndpoint
from lms_connectors_canvas.sim_grading import SimAssignment, SimSubmission, make_assignment, pass_fail_grade
from lms_connectors_canvas.sim_records import (
    SimAppointmentGroup,
    SimCourse,
    SimEnrollment,
    SimEvent,
    SimSection,
    SimUser,
)

__all__ = ["THROTTLED_BODY", "CanvasSimulator"]

THROTTLED_BODY = "403 Forbidden (Rate Limit Exceeded)"
"""The body of Canvas's throttling answer (``request_throttle.rb``)."""
_NOT_FOUND = "The specified resource does not exist."
_UNAUTHORIZED = "user not authorized to perform that action"
_MAX_PAGE = 100
_MAX_CONTEXT_CODES = 10
_ENDED = {"conclude": "completed", "delete": "deleted", "inactivate": "inactive", "deactivate": "inactive"}
_ALL_PERMISSIONS = frozenset({
    "manage_calendar", "manage_sections_add", "manage_sections_edit", "manage_sections_delete",
    "add_student_to_course", "remove_student_from_course", "manage_students", "manage_sis", "read_roster",
    "manage_assignments_add", "manage_grades",
})


def _not_found() -> Refusal:
    return Refusal(404, _NOT_FOUND, "not_found")


def _unauthorized() -> Refusal:
    return Refusal(401, _UNAUTHORIZED, "unauthorized", status_word="unauthorized")


def _invalid(attribute: str, kind: str, message: str) -> Refusal:
    """A model's validation errors: ``400 {"errors": {attribute: [{attribute, type, message}]}}``."""
    return Refusal(400, message, kind, model_errors={attribute: [{"attribute": attribute, "type": kind,
                                                                  "message": message}]})


def _parse_instant(raw: Any, name: str, *, zone_of_naive: str = "UTC") -> datetime:
    """An ISO 8601 instant as Canvas reads it: a naive one in the acting user's zone (UTC here)."""
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        raise _invalid(name, "invalid", f"{name} is not a valid date and time") from None
    if parsed.tzinfo is None:
        from zoneinfo import ZoneInfo

        parsed = parsed.replace(tzinfo=ZoneInfo(zone_of_naive))
    return parsed


def unflatten_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rails's reading of a form: ``a[b][c]=v`` nests, ``a[]=v`` appends (the way canvasapi sends requests)."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        head, _, rest = name.partition("[")
        keys = [head] + [part.rstrip("]") for part in rest.split("[")] if rest else [head]
        node: Any = root
        for index, key in enumerate(keys):
            last = index == len(keys) - 1
            following = keys[index + 1] if not last else None
            if key == "":
                node.append(value) if last else None
                continue
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, [] if following == "" else {})
    return root


class CanvasSimulator(RoutedSimulator):
    """One Canvas account with one service user, a course, and the learners it knows.

    Args:
        client_id: The developer key's id (OAuth 2).
        client_secret: The developer key's secret.
        refresh_token: The service user's refresh token for that key.
        access_tokens: Tokens issued to users directly: ``{token: user login id}``.
        service_login: Login id of the service user the adapter acts as (an account admin).
        learners: ``{login id: name}`` of the users that exist (their login id is their email).
        course_id: The one course's id.
        granted: Course permissions of the service user (all of Canvas's the adapter uses by default).
        throttle_status: 403 (Canvas until 2025-10-08, and instances that keep it) or 429 (since).
        high_water: The bucket's high-water mark; over it a request is refused.
        request_cost: What each request costs (``X-Request-Cost``).
        leak_per_second: What drains from the bucket each second of the simulator's clock.
        provisioned_domain: Logins of this email domain exist as soon as they are named (a sandbox standing for an
            instance whose accounts come from SIS); others must be added with :meth:`add_user`.
        clock: The simulator's clock.
    """

    path_prefixes = ("/api/v1",)

    def __init__(
        self,
        *,
        client_id: str = "170000000000001",
        client_secret: str = "sim-developer-key-secret",  # noqa: S107 - a fictional key's fixed secret
        refresh_token: str = "sim-refresh-token",  # noqa: S107
        access_tokens: Mapping[str, str] | None = None,
        service_login: str = "lms-service@canvas.example.edu",
        learners: Mapping[str, str] | None = None,
        course_id: int = 101,
        granted: Iterable[str] = _ALL_PERMISSIONS,
        throttle_status: int = 403,
        high_water: float = 600.0,
        request_cost: float = 0.25,
        leak_per_second: float = 10.0,
        provisioned_domain: str | None = None,
        clock: SimClock | None = None,
    ) -> None:
        super().__init__(clock)
        self._user_ids = itertools.count(1)
        self._ids = itertools.count(2001)
        self.users: dict[int, SimUser] = {}
        self.service_user = self.add_user(service_login, "LMS Connectors Service")
        for login, name in (learners or {}).items():
            self.add_user(login, name)
        self.tokens = TokenEndpoint(self.clock, clients={client_id: client_secret},
                                    refresh_tokens={refresh_token: client_id}, lifetime=3600,
                                    mint=lambda n: f"1~sim{n:04d}canvasaccesstoken")
        self.access_tokens = {token: self._login(login).id for token, login in (access_tokens or {}).items()}
        self.courses: dict[int, SimCourse] = {course_id: SimCourse(course_id, "Forklift Safety", "ILT-101")}
        self.granted = set(granted)
        self.sections: dict[int, SimSection] = {}
        self.enrollments: dict[int, SimEnrollment] = {}
        self.events: dict[int, SimEvent] = {}
        self.groups: dict[int, SimAppointmentGroup] = {}
        self.assignments: dict[int, SimAssignment] = {}
        self.submissions: dict[tuple[int, int], SimSubmission] = {}
        self.notified: list[tuple[str, int]] = []
        self.throttle_status = throttle_status
        self.high_water = high_water
        self.request_cost = request_cost
        self.leak_per_second = leak_per_second
        self._buckets: dict[str, tuple[float, float]] = {}
        self._acting: SimUser = self.service_user
        self._bucket_key = ""
        self.pages = PageCodec("")
        self.provisioned_domain = provisioned_domain.lower() if provisioned_domain else None

    # -- set-up and controls for tests -------------------------------------------------------------------

    def add_user(self, login_id: str, name: str, *, sis_user_id: str | None = None) -> SimUser:
        """Add a user whose login id (her email) is ``login_id``."""
        user = SimUser(next(self._user_ids), name, login_id.lower(), sis_user_id)
        self.users[user.id] = user
        return user

    def add_course(self, course_id: int, name: str, code: str) -> SimCourse:
        """Add a course (the service user manages it)."""
        with self.lock:
            course = self.courses[course_id] = SimCourse(course_id, name, code)
            return course

    def expire_tokens(self) -> None:
        """Every OAuth access token issued so far expires (the next call is a 401 with ``WWW-Authenticate``)."""
        with self.lock:
            self.tokens.expire()

    def revoke_refresh_token(self) -> None:
        """Delete the user's refresh tokens and access tokens: refreshing fails (``invalid_grant``)."""
        with self.lock:
            self.tokens.refresh_tokens.clear()
            self.tokens.revoke()

    def fill_bucket(self, level: float) -> None:
        """Set every token's bucket to ``level`` units now (throttling tests)."""
        with self.lock:
            now = self.clock.time()
            self._buckets = {key: (level, now) for key in self._buckets} or {"*": (level, now)}

    def slot_reservations(self, slot_id: int) -> list[str]:
        """Login ids of the live reservations of a slot."""
        with self.lock:
            return [r.user.login_id for r in self.events[slot_id].live_children() if r.user is not None]

    # -- Canvas's shapes ---------------------------------------------------------------------------------

    def error_response(self, refusal: Refusal) -> SandboxResponse:
        """Canvas's error bodies: its throttling text, a model's errors hash, a reservation error, an errors list."""
        if refusal.code == "throttled":
            return SandboxResponse(refusal.status, THROTTLED_BODY, headers={"Content-Type": "text/plain"})
        if "model_errors" in refusal.details:
            return SandboxResponse(refusal.status, {"errors": refusal.details["model_errors"]})
        if "grade_error" in refusal.details:
            return SandboxResponse(refusal.status, {"error": refusal.message})
        if "reservation" in refusal.details:
            return SandboxResponse(refusal.status, [{"attribute": "reservation", "type": "calendar_event",
                                                     "message": refusal.message}])
        body: dict[str, Any] = {"errors": [{"message": refusal.message}]}
        if "status_word" in refusal.details:
            body["status"] = refusal.details["status_word"]
        return SandboxResponse(refusal.status, body)

    def no_route(self, request: SandboxRequest) -> Refusal:
        """Canvas answers an unknown path like a missing object."""
        return _not_found()

    def authenticate(self, request: SandboxRequest) -> None:
        """A live token (admin-issued or OAuth), then the throttling bucket, then ``as_user_id``."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        value = value.strip()
        user_id = self.access_tokens.get(value) if scheme.lower() == "bearer" else None
        if user_id is None:
            issued = self.tokens.bearer(request)
            user_id = int(issued.principal) if issued is not None else None
        if user_id is None:
            raise Refusal(401, "Invalid access token.", "invalid_token",
                          headers={"WWW-Authenticate": 'Bearer realm="canvas-lms"'})
        self._bucket_key = value
        self._charge(value)
        acting = self.users[user_id]
        as_user = request.query_one("as_user_id")
        if as_user:
            acting = self._resolve_user(as_user)
        self._acting = acting

    def _charge(self, token: str) -> None:
        now = self.clock.time()
        level, then = self._buckets.get(token) or self._buckets.get("*") or (0.0, now)
        level = max(0.0, level - (now - then) * self.leak_per_second)
        if level > self.high_water:
            self._buckets[token] = (level, now)
            raise self.throttled()
        self._buckets[token] = (level + self.request_cost, now)

    def throttled(self, state: LimitState | None = None) -> Refusal:
        """Canvas's throttling answer, for its bucket and for a ``throttle()`` limit alike.

        ``throttle_status`` with the text body and ``X-Rate-Limit-Remaining: 0.0``, no ``Retry-After`` (the bucket
        drains as time passes).
        """
        return Refusal(self.throttle_status, THROTTLED_BODY, "throttled", headers={"X-Rate-Limit-Remaining": "0.0"})

    def finish(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        """Every identified answer carries its cost and what is left (a throttled one only what is left)."""
        if self._bucket_key and "X-Rate-Limit-Remaining" not in response.headers:
            level, _ = self._buckets.get(self._bucket_key, (0.0, 0.0))
            response.headers["X-Request-Cost"] = f"{self.request_cost:.4f}"
            response.headers["X-Rate-Limit-Remaining"] = f"{self.high_water - level:.4f}"
        self._bucket_key = ""
        return response

    # -- helpers ---------------------------------------------------------------------------------------------

    def _login(self, login: str) -> SimUser:
        found = next((u for u in self.users.values() if u.login_id == login.lower()), None)
        if found is None:
            raise KeyError(login)
        return found

    def _resolve_user(self, raw: str) -> SimUser:
        """A user by id, ``sis_login_id:``, ``sis_user_id:`` or ``self`` (404 otherwise)."""
        if raw == "self":
            return self._acting
        kind, _, value = raw.partition(":")
        if kind == "sis_login_id" and value:
            found = next((u for u in self.users.values() if u.login_id == value.lower()), None)
            if found is None and self.provisioned_domain and value.lower().endswith("@" + self.provisioned_domain):
                found = self.add_user(value, value.partition("@")[0].replace(".", " ").title())
        elif kind == "sis_user_id" and value:
            found = next((u for u in self.users.values() if u.sis_user_id == value), None)
        elif raw.isdigit():
            found = self.users.get(int(raw))
        else:
            found = None
        if found is None:
            raise _not_found()
        return found

    def _course(self, course_id: int) -> SimCourse:
        course = self.courses.get(course_id)
        if course is None:
            raise _not_found()
        if self._acting is not self.service_user:
            raise _unauthorized()
        return course

    def _section(self, raw: str | int) -> SimSection:
        text = str(raw)
        if text.startswith("sis_section_id:"):
            found = next((s for s in self.sections.values() if s.sis_section_id == text.partition(":")[2]
                          and s.workflow_state != "deleted"), None)
        else:
            found = self.sections.get(int(text)) if text.isdigit() else None
        if found is None or found.workflow_state == "deleted":
            raise _not_found()
        self._course(found.course_id)
        return found

    def _body(self, request: SandboxRequest) -> dict[str, Any]:
        if "json" in request.headers.get("content-type", ""):
            try:
                body = request.json()
            except ValueError:
                raise Refusal(400, "the JSON body could not be parsed", "bad_request") from None
            return body if isinstance(body, dict) else {}
        return unflatten_form(request.form()) if request.body else {}

    def _context_readable(self, code: str) -> bool:
        kind, _, number = code.rpartition("_")
        if kind == "course" and number.isdigit() and int(number) in self.courses:
            return self._acting is self.service_user
        if kind == "appointment_group" and number.isdigit():
            return int(number) in self.groups
        if kind == "user" and number.isdigit():
            return int(number) == self._acting.id or self._acting is self.service_user
        return False

    def _page(self, request: SandboxRequest, items: list[dict[str, Any]], scope: str) -> SandboxResponse:
        try:
            size = min(_MAX_PAGE, max(1, int(request.query_one("per_page") or "10")))
        except ValueError:
            size = 10
        page = request.query_one("page") or ""
        try:
            offset = self.pages.decode(page.removeprefix("bookmark:") or None, scope)
        except PageTokenError:
            raise Refusal(400, "invalid page bookmark", "bad_request") from None
        chunk, following = self.pages.page(items, offset, size, scope)
        host = request.headers.get("host", "127.0.0.1")
        kept = [(name, value) for name, values in request.query.items() if name not in ("page", "per_page")
                for value in values]

        def link(bookmark: str | None, rel: str) -> str:
            query = kept + ([("page", f"bookmark:{bookmark}")] if bookmark else []) + [("per_page", str(size))]
            return f'<http://{host}{request.path}?{urlencode(query)}>; rel="{rel}"'

        links = [link(page.removeprefix("bookmark:") or None, "current")]
        if following is not None:
            links.append(link(following, "next"))
        links.append(link(None, "first"))
        return SandboxResponse(200, chunk, headers={"Link": ",".join(links)})

    # -- OAuth 2 ---------------------------------------------------------------------------------------------

    @route("POST", "/login/oauth2/token", auth=False)
    def _token(self, request: SandboxRequest) -> SandboxResponse:
        form = dict(request.form())
        try:
            if form.get("grant_type") != "refresh_token":
                raise GrantRefused(400, "unsupported_grant_type", "only refresh_token is served here")
            token = self.tokens.refresh(form.get("client_id"), form.get("client_secret"), form.get("refresh_token"),
                                        principal=str(self.service_user.id))
        except GrantRefused as refused:
            return SandboxResponse(refused.status, {"error": refused.error, "error_description": refused.description})
        user = {"id": self.service_user.id, "name": self.service_user.name, "global_id": str(self.service_user.id)}
        return SandboxResponse(200, {"access_token": token.value, "token_type": "Bearer", "user": user,
                                     "canvas_region": "us-east-1", "expires_in": self.tokens.lifetime})

    # -- users and courses -----------------------------------------------------------------------------------

    @route("GET", "/users/self")
    def _me(self, request: SandboxRequest) -> SandboxResponse:
        user = self._acting
        return SandboxResponse(200, {"id": user.id, "name": user.name, "short_name": user.name,
                                     "sortable_name": user.brief()["sortable_name"], "login_id": user.login_id})

    @route("GET", "/courses/{course_id:int}")
    def _get_course(self, request: SandboxRequest, course_id: int) -> SandboxResponse:
        return SandboxResponse(200, self._course(course_id).view())

    @route("GET", "/courses/{course_id:int}/permissions")
    def _permissions(self, request: SandboxRequest, course_id: int) -> SandboxResponse:
        self._course(course_id)
        asked = request.query.get("permissions[]") or sorted(_ALL_PERMISSIONS)
        return SandboxResponse(200, {name: name in self.granted for name in asked})

    # -- sections --------------------------------------------------------------------------------------------

    @route("POST", "/courses/{course_id:int}/sections")
    def _create_section(self, request: SandboxRequest, course_id: int) -> SandboxResponse:
        self._course(course_id)
        if "manage_sections_add" not in self.granted:
            raise _unauthorized()
        fields = self._body(request).get("course_section") or {}
        sis_allowed = "manage_sis" in self.granted
        sis = str(fields.get("sis_section_id") or "") or None if sis_allowed else None
        integration = str(fields.get("integration_id") or "") or None if sis_allowed else None
        live = [s for s in self.sections.values() if s.workflow_state != "deleted"]
        if sis and any(s.sis_section_id == sis for s in live):
            raise _invalid("sis_source_id", "taken", f'SIS ID "{sis}" is already in use')
        if integration and any(s.integration_id == integration for s in live):
            raise _invalid("integration_id", "taken", "taken")
        section = SimSection(next(self._ids), course_id, str(fields.get("name") or "Section"), sis, integration,
                             _parse_instant(fields["start_at"], "start_at") if fields.get("start_at") else None,
                             _parse_instant(fields["end_at"], "end_at") if fields.get("end_at") else None)
        self.sections[section.id] = section
        return SandboxResponse(200, section.view())

    @route("GET", "/sections/{section_ref}")
    def _get_section(self, request: SandboxRequest, section_ref: str) -> SandboxResponse:
        return SandboxResponse(200, self._section(section_ref).view())

    @route("GET", "/courses/{course_id:int}/sections")
    def _list_sections(self, request: SandboxRequest, course_id: int) -> SandboxResponse:
        self._course(course_id)
        found = [s.view() for s in self.sections.values() if s.course_id == course_id and s.workflow_state == "active"]
        return self._page(request, found, f"sections:{course_id}")

    @route("DELETE", "/sections/{section_id:int}")
    def _delete_section(self, request: SandboxRequest, section_id: int) -> SandboxResponse:
        section = self._section(section_id)
        if any(e.section_id == section_id and e.enrollment_state != "deleted" for e in self.enrollments.values()):
            raise _invalid("workflow_state", "invalid", "Can't delete a section that has enrollments")
        section.workflow_state = "deleted"
        return SandboxResponse(200, section.view())

    # -- enrolments ------------------------------------------------------------------------------------------

    @route("POST", "/sections/{section_id:int}/enrollments")
    def _enrol(self, request: SandboxRequest, section_id: int) -> SandboxResponse:
        section = self._section(section_id)
        fields = self._body(request).get("enrollment") or {}
        if not fields.get("user_id"):
            raise Refusal(400, "No parameters given", "bad_request")
        user = self._resolve_user(str(fields["user_id"]))
        kind = str(fields.get("type") or "StudentEnrollment")
        state = str(fields.get("enrollment_state") or "invited")
        if state not in ("active", "invited", "inactive"):
            raise _invalid("enrollment_state", "invalid", f"invalid enrollment_state {state}")
        existing = next((e for e in self.enrollments.values() if e.user is user and e.section_id == section_id
                         and e.type == kind and e.enrollment_state != "deleted"), None)
        if existing is None:
            existing = SimEnrollment(next(self._ids), user, section.course_id, section_id, kind, state,
                                     self.clock.now())
            self.enrollments[existing.id] = existing
        else:
            existing.enrollment_state, existing.updated_at = state, self.clock.now()
        if str(fields.get("notify", "")).lower() == "true":
            self.notified.append((user.login_id, existing.id))
        return SandboxResponse(200, existing.view())

    @route("GET", "/sections/{section_id:int}/enrollments")
    def _section_enrollments(self, request: SandboxRequest, section_id: int) -> SandboxResponse:
        self._section(section_id)
        kinds = set(request.query.get("type[]") or [])
        states = set(request.query.get("state[]") or ["active", "invited"])
        found = [e.view() for e in sorted(self.enrollments.values(), key=lambda e: e.id)
                 if e.section_id == section_id and (not kinds or e.type in kinds) and e.enrollment_state in states]
        return self._page(request, found, f"enrollments:{section_id}:{sorted(kinds)}:{sorted(states)}")

    @route("GET", "/courses/{course_id:int}/enrollments")
    def _course_enrollments(self, request: SandboxRequest, course_id: int) -> SandboxResponse:
        # Canvas's "List enrollments" of a course: every section's, each with its course_section_id.
        self._course(course_id)
        kinds = set(request.query.get("type[]") or [])
        states = set(request.query.get("state[]") or ["active", "invited"])
        found = [e.view() for e in sorted(self.enrollments.values(), key=lambda e: e.id)
                 if e.course_id == course_id and (not kinds or e.type in kinds) and e.enrollment_state in states]
        return self._page(request, found, f"course-enrollments:{course_id}:{sorted(kinds)}:{sorted(states)}")

    @route("DELETE", "/courses/{course_id:int}/enrollments/{enrollment_id:int}")
    def _end_enrollment(self, request: SandboxRequest, course_id: int, enrollment_id: int) -> SandboxResponse:
        self._course(course_id)
        enrollment = self.enrollments.get(enrollment_id)
        if enrollment is None or enrollment.course_id != course_id or enrollment.enrollment_state == "deleted":
            raise _not_found()
        task = request.query_one("task") or "conclude"
        if task not in _ENDED:
            raise Refusal(400, f"{task} is not a valid task", "bad_request")
        enrollment.enrollment_state, enrollment.updated_at = _ENDED[task], self.clock.now()
        return SandboxResponse(200, enrollment.view())

    # -- assignments and grades -------------------------------------------------------------------------------

    def _assignment(self, course_id: int, assignment_id: int) -> SimAssignment:
        self._course(course_id)
        found = self.assignments.get(assignment_id)
        if found is None or found.course_id != course_id or found.workflow_state == "deleted":
            raise _not_found()
        return found

    def _require(self, permission: str) -> None:
        if permission not in self.granted:
            raise _unauthorized()

    @route("POST", "/courses/{course_id:int}/assignments")
    def _create_assignment(self, request: SandboxRequest, course_id: int) -> SandboxResponse:
        self._course(course_id)
        self._require("manage_assignments_add")
        fields = self._body(request).get("assignment")
        if not isinstance(fields, dict):
            raise Refusal(400, "No parameters given", "bad_request")
        position = 1 + sum(1 for a in self.assignments.values() if a.course_id == course_id)
        made = make_assignment(next(self._ids), course_id, fields, self.clock.now(), position, _parse_instant)
        self.assignments[made.id] = made
        return SandboxResponse(201, made.view())

    @route("GET", "/courses/{course_id:int}/assignments")
    def _list_assignments(self, request: SandboxRequest, course_id: int) -> SandboxResponse:
        self._course(course_id)
        term = (request.query_one("search_term") or "").lower()
        found = [a.view() for a in sorted(self.assignments.values(), key=lambda a: a.position)
                 if a.course_id == course_id and a.workflow_state != "deleted" and term in a.name.lower()]
        return self._page(request, found, f"assignments:{course_id}:{term}")

    @route("GET", "/courses/{course_id:int}/assignments/{assignment_id:int}")
    def _get_assignment(self, request: SandboxRequest, course_id: int, assignment_id: int) -> SandboxResponse:
        return SandboxResponse(200, self._assignment(course_id, assignment_id).view())

    def _student_of(self, course_id: int, raw_user: str) -> SimUser:
        """The user a grade is for: she must hold an active student enrolment in the course (else 404)."""
        user = self._resolve_user(raw_user)
        if not any(e.user is user and e.course_id == course_id and e.type == "StudentEnrollment"
                   and e.enrollment_state == "active" for e in self.enrollments.values()):
            raise _not_found()
        return user

    @route("GET", "/courses/{course_id:int}/assignments/{assignment_id:int}/submissions")
    def _list_submissions(self, request: SandboxRequest, course_id: int, assignment_id: int) -> SandboxResponse:
        assignment = self._assignment(course_id, assignment_id)
        self._require("manage_grades")
        students = {e.user.id: e.user for e in self.enrollments.values() if e.course_id == course_id
                    and e.type == "StudentEnrollment" and e.enrollment_state == "active"}
        with_user = "user" in (request.query.get("include[]") or [])
        found = []
        for user_id in sorted(students):
            submission = self._submission(assignment, students[user_id])
            view = submission.view()
            if with_user:
                view["user"] = students[user_id].brief()
            found.append(view)
        return self._page(request, found, f"submissions:{assignment_id}:{with_user}")

    def _submission(self, assignment: SimAssignment, user: SimUser) -> SimSubmission:
        found = self.submissions.get((assignment.id, user.id))
        if found is None:
            found = self.submissions[(assignment.id, user.id)] = SimSubmission(next(self._ids), assignment, user)
        return found

    @route("PUT", "/courses/{course_id:int}/assignments/{assignment_id:int}/submissions/{user_ref}")
    def _grade(self, request: SandboxRequest, course_id: int, assignment_id: int, user_ref: str) -> SandboxResponse:
        assignment = self._assignment(course_id, assignment_id)
        user = self._student_of(course_id, user_ref)
        if not assignment.published:
            raise _unauthorized()  # an unpublished assignment is assigned to nobody
        self._require("manage_grades")
        fields = self._body(request).get("submission")
        submission = self._submission(assignment, user)
        posted = fields.get("posted_grade") if isinstance(fields, dict) else None
        if posted is not None:
            if assignment.grading_type != "pass_fail":
                raise Refusal(400, "only pass/fail grades are simulated", "grade_error", grade_error=True)
            submission.grade, submission.score = pass_fail_grade(assignment, str(posted))
            submission.grader_id, submission.graded_at = self._acting.id, self.clock.now()
            submission.versions.append(submission.grade)
        view = submission.view()
        view["submission_comments"] = []
        view["all_submissions"] = [submission.view()]
        return SandboxResponse(200, view)

    # -- calendar events -------------------------------------------------------------------------------------

    def _event(self, event_id: int) -> SimEvent:
        event = self.events.get(event_id)
        if event is None:
            raise _not_found()
        if not self._context_readable(self._effective_context(event)):
            raise _unauthorized()
        return event

    def _effective_context(self, event: SimEvent) -> str:
        if event.parent_event_id is not None:
            return self._effective_context(self.events[event.parent_event_id])
        if event.appointment_group_id is not None:
            group = self.groups[event.appointment_group_id]
            return group.context_codes[0] if group.context_codes else event.context_code
        if event.context_code.startswith("course_section_"):
            section = self.sections.get(int(event.context_code.removeprefix("course_section_")))
            return f"course_{section.course_id}" if section else event.context_code
        return event.context_code

    def _apply_event_fields(self, event: SimEvent, fields: Mapping[str, Any]) -> None:
        for name in ("title", "description", "location_name", "location_address"):
            if name in fields:
                setattr(event, name, str(fields[name] or ""))
        if "start_at" in fields:
            event.start_at = _parse_instant(fields["start_at"], "start_at")
        if "end_at" in fields:
            event.end_at = _parse_instant(fields["end_at"], "end_at")
        if event.end_at < event.start_at:
            raise _invalid("end_at", "invalid", "end_at must not be before start_at")
        children = fields.get("child_event_data")
        if isinstance(children, Mapping):
            self._set_children(event, children)

    def _set_children(self, event: SimEvent, data: Mapping[str, Any]) -> None:
        course = event.context_code
        wanted: list[tuple[str, datetime, datetime]] = []
        for item in data.values():
            if not isinstance(item, Mapping):
                continue
            code = str(item.get("context_code") or "")
            section_id = code.removeprefix("course_section_")
            section = self.sections.get(int(section_id)) if section_id.isdigit() else None
            if section is None or f"course_{section.course_id}" != course or section.workflow_state == "deleted":
                raise _invalid("child_event_data", "invalid", f"Invalid child event context {code}")
            wanted.append((code, _parse_instant(item.get("start_at"), "start_at"),
                           _parse_instant(item.get("end_at"), "end_at")))
        live = {child.context_code: child for child in event.live_children()}
        for code, start, end in wanted:
            child = live.pop(code, None)
            if child is None:
                child = SimEvent(next(self._ids), code, event.title, start, end, parent_event_id=event.id)
                event.children.append(child)
                self.events[child.id] = child
            child.start_at, child.end_at = start, end
        for stale in live.values():
            stale.workflow_state = "deleted"
        current = event.live_children()
        if current:  # a parent spans its children
            event.start_at = min(child.start_at for child in current)
            event.end_at = max(child.end_at for child in current)
        for child in current:
            child.title, child.description = event.title, event.description
            child.location_name, child.location_address = event.location_name, event.location_address

    @route("POST", "/calendar_events")
    def _create_event(self, request: SandboxRequest) -> SandboxResponse:
        fields = self._body(request).get("calendar_event") or {}
        code = str(fields.get("context_code") or "")
        if not code:
            raise _invalid("context_code", "blank", "context_code is required")
        kind, _, number = code.rpartition("_")
        if kind != "course" or not number.isdigit():
            raise _not_found()
        self._course(int(number))
        if "manage_calendar" not in self.granted:
            raise _unauthorized()
        start = _parse_instant(fields.get("start_at") or self.clock.now().isoformat(), "start_at")
        event = SimEvent(next(self._ids), code, str(fields.get("title") or ""), start,
                         _parse_instant(fields.get("end_at") or start.isoformat(), "end_at"))
        self._apply_event_fields(event, fields)
        self.events[event.id] = event
        return SandboxResponse(201, event.view())

    @route("GET", "/calendar_events/{event_id:int}")
    def _get_event(self, request: SandboxRequest, event_id: int) -> SandboxResponse:
        event = self._event(event_id)
        return SandboxResponse(200, event.view(self._effective_context(event)))

    @route("PUT", "/calendar_events/{event_id:int}")
    def _update_event(self, request: SandboxRequest, event_id: int) -> SandboxResponse:
        event = self._event(event_id)
        if event.workflow_state == "deleted":
            raise _not_found()
        fields = self._body(request).get("calendar_event") or {}
        self._apply_event_fields(event, fields)
        if event.appointment_group_id is not None:  # reservations follow their slot
            for reservation in event.live_children():
                reservation.start_at, reservation.end_at = event.start_at, event.end_at
        return SandboxResponse(200, event.view(self._effective_context(event)))

    @route("DELETE", "/calendar_events/{event_id:int}")
    def _delete_event(self, request: SandboxRequest, event_id: int) -> SandboxResponse:
        event = self._event(event_id)
        if event.workflow_state == "deleted":
            raise _not_found()
        event.workflow_state = "deleted"
        event.cancel_reason = request.query_one("cancel_reason")
        for child in event.children:
            child.workflow_state = "deleted"
        return SandboxResponse(200, event.view(self._effective_context(event)))

    @route("GET", "/calendar_events")
    def _list_events(self, request: SandboxRequest) -> SandboxResponse:
        codes = (request.query.get("context_codes[]") or [f"user_{self._acting.id}"])[:_MAX_CONTEXT_CODES]
        if not all(self._context_readable(code) for code in codes):
            raise _unauthorized()  # one context the user may not read fails the whole listing
        kind = request.query_one("type") or "event"
        window = self._window(request)
        chosen = [
            e for e in sorted(self.events.values(), key=lambda e: (e.start_at, e.id))
            if e.workflow_state != "deleted" and e.context_code in codes and kind == "event"
            and e.parent_event_id is None and (window is None or (e.end_at >= window[0] and e.start_at <= window[1]))
        ]
        views = [e.view(self._effective_context(e)) for e in chosen]
        span = "all" if window is None else f"{window[0].isoformat()}/{window[1].isoformat()}"
        return self._page(request, views, f"events:{','.join(codes)}:{span}")

    def _window(self, request: SandboxRequest) -> tuple[datetime, datetime] | None:
        if (request.query_one("all_events") or "").lower() == "true":
            return None
        raw_start, raw_end = request.query_one("start_date"), request.query_one("end_date")

        def bound(raw: str, end: bool) -> datetime:
            if len(raw) == 10:  # a date: the whole day (inclusive), in the user's zone (UTC here)
                day = datetime.fromisoformat(raw).date()
                return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
            return _parse_instant(raw, "end_date" if end else "start_date")

        today = self.clock.now().date().isoformat()
        start = bound(raw_start or raw_end or today, False)
        return start, bound(raw_end or raw_start or today, True)

    # -- appointment groups ----------------------------------------------------------------------------------

    def _group(self, group_id: int) -> SimAppointmentGroup:
        group = self.groups.get(group_id)
        if group is None or group.workflow_state == "deleted":
            raise _not_found()
        return group

    @route("POST", "/appointment_groups")
    def _create_group(self, request: SandboxRequest) -> SandboxResponse:
        fields = self._body(request).get("appointment_group") or {}
        codes = [str(c) for c in fields.get("context_codes") or [] if self._context_readable(str(c))]
        if not codes:
            raise _not_found()
        if not fields.get("title"):
            raise _invalid("title", "blank", "can't be blank")
        limit = fields.get("participants_per_appointment")
        try:
            per_slot = int(limit) if limit not in (None, "") else None
        except (TypeError, ValueError):
            raise _invalid("participants_per_appointment", "invalid", "must be a number") from None
        if per_slot is not None and per_slot < 1:
            raise _invalid("participants_per_appointment", "greater_than", "must be greater than 0")
        group = SimAppointmentGroup(
            next(self._ids), str(fields["title"]), codes, [str(c) for c in fields.get("sub_context_codes") or []],
            str(fields.get("description") or ""), str(fields.get("location_name") or ""),
            str(fields.get("location_address") or ""), per_slot,
            participant_visibility=str(fields.get("participant_visibility") or "private"),
            workflow_state="active" if str(fields.get("publish", "")).lower() == "true" else "pending",
        )
        self.groups[group.id] = group
        for pair in (fields.get("new_appointments") or {}).values():
            if not isinstance(pair, list) or len(pair) != 2:
                raise _invalid("new_appointments", "invalid", "each appointment is a start and an end")
            slot = SimEvent(next(self._ids), f"appointment_group_{group.id}", group.title,
                            _parse_instant(pair[0], "start_at"), _parse_instant(pair[1], "end_at"),
                            description=group.description, location_name=group.location_name,
                            location_address=group.location_address, appointment_group_id=group.id,
                            participants_per_appointment=per_slot)
            group.slots.append(slot)
            self.events[slot.id] = slot
        return SandboxResponse(201, group.view())

    @route("GET", "/appointment_groups/{group_id:int}")
    def _get_group(self, request: SandboxRequest, group_id: int) -> SandboxResponse:
        included = set(request.query.get("include[]") or [])
        return SandboxResponse(200, self._group(group_id).view(appointments="appointments" in included))

    @route("GET", "/appointment_groups")
    def _list_groups(self, request: SandboxRequest) -> SandboxResponse:
        codes = set(request.query.get("context_codes[]") or [])
        included = set(request.query.get("include[]") or [])
        found = [g.view(appointments="appointments" in included) for g in self.groups.values()
                 if g.workflow_state != "deleted" and (not codes or codes & set(g.context_codes))]
        return self._page(request, found, f"groups:{sorted(codes)}")

    @route("DELETE", "/appointment_groups/{group_id:int}")
    def _delete_group(self, request: SandboxRequest, group_id: int) -> SandboxResponse:
        group = self._group(group_id)
        group.workflow_state = "deleted"
        for slot in group.slots:
            slot.workflow_state = "deleted"
            slot.cancel_reason = request.query_one("cancel_reason")
            for reservation in slot.children:
                reservation.workflow_state = "deleted"
        return SandboxResponse(200, group.view())

    @route("POST", "/calendar_events/{slot_id:int}/reservations/{participant}")
    def _reserve(self, request: SandboxRequest, slot_id: int, participant: str) -> SandboxResponse:
        slot = self._event(slot_id)
        group = self.groups.get(slot.appointment_group_id or 0)
        if group is None or slot.workflow_state == "deleted":
            raise Refusal(400, "not an appointment", "reservation", reservation=True)
        if group.workflow_state != "active":
            raise Refusal(400, "the appointment group is not published", "reservation", reservation=True)
        user = self._resolve_user(participant)
        if not self._eligible(group, user):
            raise Refusal(400, "ineligible participant", "reservation", reservation=True)
        fields = self._body(request)
        mine = [r for s in group.live_slots() for r in s.live_children() if r.user is user]
        if mine and str(fields.get("cancel_existing", "")).lower() == "true":
            for reservation in mine:
                reservation.workflow_state = "deleted"
            mine = []
        limit = group.max_appointments_per_participant
        if limit is not None and len(mine) >= limit:
            raise Refusal(400, "participant has met per-participant limit", "reservation", reservation=True)
        if slot.participants_per_appointment is not None and \
                len(slot.live_children()) >= slot.participants_per_appointment:
            raise Refusal(400, "this time slot is full", "reservation", reservation=True)
        reservation = SimEvent(next(self._ids), f"user_{user.id}", slot.title, slot.start_at, slot.end_at,
                               workflow_state="locked", parent_event_id=slot.id, user=user,
                               description=str(fields.get("comments") or ""))
        slot.children.append(reservation)
        self.events[reservation.id] = reservation
        return SandboxResponse(200, reservation.view(group.context_codes[0]))

    def _eligible(self, group: SimAppointmentGroup, user: SimUser) -> bool:
        """A participant is actively enrolled in one of the group's sections (or its course without any)."""
        sections = {int(c.removeprefix("course_section_")) for c in group.sub_context_codes
                    if c.startswith("course_section_")}
        courses = {int(c.removeprefix("course_")) for c in group.context_codes if c.startswith("course_")}
        return any(e.user is user and e.enrollment_state == "active"
                   and (e.section_id in sections if sections else e.course_id in courses)
                   for e in self.enrollments.values())

