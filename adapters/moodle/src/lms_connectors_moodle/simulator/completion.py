"""Activity completion of the simulated site, as a live Moodle 4.5.6 answered it.

``core_completion_get_activities_completion_status`` and ``core_completion_override_activity_completion_status``
follow the live transcript ``tests/recordings/completion/completion.json`` (replayed by
``tests/test_fidelity_completion.py``).

What the transcript showed, and this module does:

* the status lists only the course's activities **with** completion tracking; reading another user's needs
  ``report/progress:view`` (``nopermissions``, "View activity completion reports"); an unknown user is
  ``invaliduser``; a user who is not enrolled is listed with ``istrackeduser: false``;
* an override of an activity without tracking changes nothing and answers ``tracking: 0`` (before any
  capability check); otherwise it needs ``moodle/course:overridecompletion``, refused as
  ``required_capability_exception`` with the errorcode ``nopermission`` and the message ``error/nopermission``;
* an unknown cmid is ``invalidcoursemodule``; the override takes any user id, enrolled or not, existing or not;
* the same state again changes nothing (same ``timecompleted``); another state than 0 or 1 is ``err_system``;
  a change stamps ``timecompleted`` with the time and ``overrideby`` with the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lms_connectors_moodle.simulator.params import Single, Value
from lms_connectors_moodle.simulator.site import MoodleError, SiteState

__all__ = ["COMPLETION_FUNCTIONS"]

Function = Callable[[SiteState, int, dict[str, Any]], Any]

_OVERRIDE_CAPABILITY = "moodle/course:overridecompletion"
_REPORT_CAPABILITY = "report/progress:view"
_COMPLETE_STATES = (1, 2, 3)  # complete, complete pass, complete fail


def _record(site: SiteState, cmid: int, user_id: int) -> dict[str, Any]:
    return site.data.completions.get((cmid, user_id)) or {"state": 0, "timecompleted": 0, "overrideby": None}


def get_activities_completion_status(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """The course's tracked activities and the user's state of each."""
    course_id, user_id = params["courseid"], params["userid"]
    site.course(course_id)
    if user_id not in site.data.users:
        raise MoodleError("dml_missing_record_exception", "invaliduser", "Invalid user")
    site.require_course_context(caller, course_id)
    if user_id != caller and not site.has_capability(caller, _REPORT_CAPABILITY):
        raise MoodleError.no_permissions("View activity completion reports")
    tracked = site.is_enrolled(course_id, user_id, only_active=True)
    statuses = []
    for cmid, activity in sorted(site.data.activities.items()):
        if activity["course"] != course_id or not activity["tracking"]:
            continue
        record = _record(site, cmid, user_id)
        statuses.append({
            "cmid": cmid, "modname": activity["modname"], "instance": activity["instance"], "state": record["state"],
            "timecompleted": record["timecompleted"], "tracking": activity["tracking"],
            "overrideby": record["overrideby"], "valueused": False, "hascompletion": True,
            "isautomatic": activity["tracking"] == 2, "istrackeduser": tracked, "uservisible": True, "details": [],
            "isoverallcomplete": record["state"] in _COMPLETE_STATES,
        })
    return {"statuses": statuses, "warnings": []}


def override_activity_completion_status(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """Set a user's completion of an activity (Moodle's ``completion_info::update_state`` with override)."""
    cmid, user_id, new_state = params["cmid"], params["userid"], params["newstate"]
    activity = site.data.activities.get(cmid)
    if activity is None:
        raise MoodleError("dml_missing_record_exception", "invalidcoursemodule", "Invalid course module ID")
    site.require_course_context(caller, activity["course"])
    record = _record(site, cmid, user_id)
    if activity["tracking"]:
        if not site.has_capability(caller, _OVERRIDE_CAPABILITY):
            raise MoodleError("core\\exception\\required_capability_exception", "nopermission", "error/nopermission")
        unchanged = new_state == record["state"] or (new_state == 1 and record["state"] in (2, 3))
        if not unchanged:
            if new_state not in (0, 1):
                raise MoodleError("core\\exception\\moodle_exception", "err_system",
                                  "An internal error occurred in the completion system. (System administrators can "
                                  "enable debugging information to see more detail.)")
            record = {"state": new_state, "timecompleted": int(site.clock()), "overrideby": caller}
            site.data.completions[(cmid, user_id)] = record
    return {"cmid": cmid, "userid": user_id, "state": record["state"], "timecompleted": record["timecompleted"],
            "overrideby": record["overrideby"], "tracking": activity["tracking"]}


COMPLETION_FUNCTIONS: dict[str, tuple[Single, Function]] = {
    "core_completion_get_activities_completion_status": (
        Single({"courseid": Value("int"), "userid": Value("int")}), get_activities_completion_status),
    "core_completion_override_activity_completion_status": (
        Single({"userid": Value("int"), "cmid": Value("int"), "newstate": Value("int")}),
        override_activity_completion_status),
}
"""The completion functions the simulator implements."""
