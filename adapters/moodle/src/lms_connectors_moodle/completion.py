"""Completion in Moodle: a learner's completion of an existing activity, overridden through the web service.

Moodle keeps completion on activities (course modules), so a session names one of its course's activities with
completion tracking by its course-module id (``cmid``). For each learner the activity's state is read first
(``core_completion_get_activities_completion_status``, which lists only the course's tracked activities and says
whether the learner is tracked: enrolled as a learner) and overridden only when it differs
(``core_completion_override_activity_completion_status``, ``newstate`` 1 or 0).

Checked against a live Moodle 4.5.6 (``tests/recordings/completion``): the override takes any user id, enrolled
or not, existing or not, and an activity without tracking silently stores nothing, so both are refused here from
the read before any override; a missing ``moodle/course:overridecompletion`` comes back as the errorcode
``nopermission`` with the message ``error/nopermission``, and is reported naming the capability.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lms_connectors.adapter import DiagnosticCheck
from lms_connectors.completion import CompletionItem, CompletionState, CompletionWritten, require_item_kind
from lms_connectors.errors import ConnectorError, MalformedResponse, NotFound, PermissionDenied, ValidationError
from lms_connectors_moodle.answers import SiteInfo
from lms_connectors_moodle.client import MoodleClient
from lms_connectors_moodle.doctor import COMPLETION_CAPABILITIES, COMPLETION_FUNCTIONS
from lms_connectors_moodle.users import UserDirectory

__all__ = ["OVERRIDE", "READ", "check_item", "record_completion"]

OVERRIDE = "core_completion_override_activity_completion_status"
READ = "core_completion_get_activities_completion_status"
_CAPABILITY_OF = {OVERRIDE: COMPLETION_CAPABILITIES[0], READ: COMPLETION_CAPABILITIES[1]}
_DONE = {CompletionState.COMPLETE: (1, 2, 3), CompletionState.INCOMPLETE: (0,)}
"""Moodle states that already mean the SDK's state (complete, complete pass, complete fail; incomplete)."""


def _call(client: MoodleClient, function: str, params: dict[str, Any], provider: str) -> Any:
    """One completion call; a refusal for want of the function or the capability names what to grant."""
    try:
        return client.call(function, params, idempotent=True)  # setting the same state twice changes nothing
    except ConnectorError as exc:
        if exc.code == "accessexception":
            raise PermissionDenied(f"{function} is refused: add it to the token's external service (and give its "
                                   f"role {_CAPABILITY_OF[function]})", provider=provider, code=exc.code) from exc
        if exc.code in ("nopermission", "nopermissions"):
            raise PermissionDenied(f"{function} is refused: give the token's role {_CAPABILITY_OF[function]}",
                                   provider=provider, code=exc.code) from exc
        if exc.code == "invalidcoursemodule":
            raise NotFound(f"activity {params.get('cmid')} does not exist", provider=provider, code=exc.code) from exc
        raise


def _status_of(answer: Any, cmid: int, provider: str) -> dict[str, Any] | None:
    """The activity's status in a read's answer; ``None``: the course has no such activity with tracking."""
    statuses = answer.get("statuses") if isinstance(answer, dict) else None
    if not isinstance(statuses, list):
        raise MalformedResponse(f"{READ}: no statuses in the answer", provider=provider)
    return next((s for s in statuses if isinstance(s, dict) and s.get("cmid") == cmid), None)


def _untracked(cmid: int, course_id: int) -> str:
    return f"activity {cmid} is not an activity with completion tracking in course {course_id}"


def _tracked_status(answer: Any, cmid: int, course_id: int, email: str, provider: str) -> dict[str, Any]:
    status = _status_of(answer, cmid, provider)
    if status is None:
        raise ValidationError(_untracked(cmid, course_id), field=f"completion.{provider}", provider=provider)
    if not status.get("istrackeduser"):
        raise NotFound(f"{email} is not a learner of course {course_id} (Moodle does not track her completion)",
                       provider=provider)
    return status


def _cmid(item: CompletionItem, provider: str) -> int:
    """The activity's course-module id, or a ValidationError before any call."""
    given = require_item_kind(item, "activity", provider, can_make=False)
    if given is None or not given.isdigit():
        raise ValidationError(f"a Moodle activity is its course-module id (a number), not {given!r}",
                              field=f"completion.{provider}", provider=provider)
    return int(given)


def check_item(client: MoodleClient, course_id: int, item: CompletionItem, *, provider: str) -> list[DiagnosticCheck]:
    """Whether completion can be written on ``item`` in the course, by reads only.

    The service must hold both completion functions; the activity must be listed by
    ``core_completion_get_activities_completion_status`` for the token's own user (Moodle lists a course's tracked
    activities for any existing user, enrolled or not, and a user may read her own status without
    ``report/progress:view``). ``moodle/course:overridecompletion`` and ``report/progress:view`` cannot be read
    without a write or a learner, so a passed check names them still.

    :calls: ``core_webservice_get_site_info`` and, when the functions are there,
        ``core_completion_get_activities_completion_status``.
    """
    roles = " and ".join(COMPLETION_CAPABILITIES)

    def activity() -> tuple[bool, str]:
        cmid = _cmid(item, provider)
        info = client.call("core_webservice_get_site_info", idempotent=True, shape=SiteInfo)
        available = {f["name"] for f in info.get("functions", [])}
        missing = [f for f in COMPLETION_FUNCTIONS if f not in available]
        if missing:
            return False, f"add to the token's external service {', '.join(missing)} and give its role {roles}"
        answer = _call(client, READ, {"courseid": course_id, "userid": int(info.get("userid", 0))}, provider)
        if _status_of(answer, cmid, provider) is None:
            return False, _untracked(cmid, course_id) + ": turn it on in the activity's settings, or name another"
        return True, f"activity {cmid} tracks completion; the token's role also needs {roles}"

    return [DiagnosticCheck.probe("completion", activity)]


def record_completion(
    client: MoodleClient, users: UserDirectory, course_id: int, item: CompletionItem,
    marks: Mapping[str, CompletionState], *, provider: str,
) -> Iterator[CompletionWritten]:
    """Set each learner's completion of the session's activity (see the module).

    :calls: ``core_user_get_users_by_field`` (+ a search per email domain for those it misses), then per learner
        ``core_completion_get_activities_completion_status`` and, when the state differs,
        ``core_completion_override_activity_completion_status``.

    Raises:
        ValidationError: The item is not an activity id, or the activity has no completion tracking in the course.
        NotFound: A learner has no account, or is not a learner of the course (named), or the activity is gone.
        PermissionDenied: A function is missing from the service, or a capability from the role (named).
    """
    cmid = _cmid(item, provider)
    given = str(cmid)
    accounts = users.find_records(marks) if marks else {}
    for email, state in marks.items():
        record = accounts.get(email)
        if record is None:
            raise NotFound(f"{email} has no Moodle account", provider=provider)
        user_id = int(record["id"])
        status = _tracked_status(_call(client, READ, {"courseid": course_id, "userid": user_id}, provider), cmid,
                                 course_id, email, provider)
        if status.get("state") in _DONE[state]:
            yield CompletionWritten(email=email, state=state, item_id=given, changed=False)
            continue
        newstate = 1 if state is CompletionState.COMPLETE else 0
        answer = _call(client, OVERRIDE, {"userid": user_id, "cmid": cmid, "newstate": newstate}, provider)
        if not isinstance(answer, dict) or answer.get("state") != newstate:
            raise MalformedResponse(f"{OVERRIDE}: Moodle answered {answer!r:.200} for {email}", provider=provider)
        yield CompletionWritten(email=email, state=state, item_id=given, changed=True)
