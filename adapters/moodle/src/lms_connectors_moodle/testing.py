"""The Moodle harness of the contract kit (:class:`MoodleHarness`), shipped with the adapter.

Recording against the sandbox serves :class:`~lms_connectors_moodle.sandbox.MoodleSimulator` (a site whose
default zone is Europe/London, course 2 ``ILT-101``, token user ``lmsc.ws``: not an administrator, a custom
system role holding exactly :data:`~lms_connectors_moodle.doctor.CAPABILITIES`, and a service holding exactly
:data:`~lms_connectors_moodle.doctor.REQUIRED_FUNCTIONS`). Recording against a live site reads
``LMS_CONNECTORS_MOODLE_URL``, ``LMS_CONNECTORS_MOODLE_TOKEN`` and ``LMS_CONNECTORS_MOODLE_COURSE_ID``; every
hook then acts in that course, and what the contract cases made (or an earlier run left) is removed before and
after each case, outside its cassette.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from lms_connectors.errors import ConfigurationError
from lms_connectors.markers import key_in
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_moodle.adapter import MoodleAdapter
from lms_connectors_moodle.doctor import CAPABILITIES, REQUIRED_FUNCTIONS
from lms_connectors_moodle.sandbox import MoodleSimulator

__all__ = ["SANDBOX_COURSE_ID", "SANDBOX_TOKEN", "MoodleHarness"]

SANDBOX_TOKEN = "sandbox-moodle-token-00000000000000"  # noqa: S105 - a placeholder, not a credential
"""Placeholder token of the sandbox's admin (cassettes are checked to be free of it)."""
SANDBOX_COURSE_ID = 2
SANDBOX_WS_USER = "lmsc.ws"
"""The sandbox's token user: a web-service account, not an administrator."""
CONTRACT_PREFIX = "contract-"
"""Session ids (so keys, markers and group ID numbers) of the contract cases start with it."""
CONFLICT_IDNUMBER = "contract-conflict"


def live_course_id() -> int:
    """The live site's contract course, ``LMS_CONNECTORS_MOODLE_COURSE_ID``.

    Raises:
        ConfigurationError: It is not set, or not a course id.
    """
    raw = os.environ.get("LMS_CONNECTORS_MOODLE_COURSE_ID", "")
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"set LMS_CONNECTORS_MOODLE_COURSE_ID to the contract course's id (got {raw!r})"
                                 ) from None


def _course(adapter: MoodleAdapter) -> int:
    # Every hook acts in the adapter's own course: the sandbox's, or the live one from the environment.
    return int(adapter.config.course_id or SANDBOX_COURSE_ID)


_Sandbox = SandboxServer[MoodleSimulator] | None


class MoodleHarness(ContractHarness[MoodleAdapter, MoodleSimulator]):
    """How the acceptance matrix drives the Moodle adapter."""

    canonical_base_url: ClassVar[str] = "https://moodle.example.edu"
    keeps: ClassVar[frozenset[str]] = frozenset({"timezone", "location"})
    missing_external_id: ClassVar[str] = "999999"
    unsupported: ClassVar[dict[str, str]] = {
        "expired_auth": "Moodle web-service tokens cannot be refreshed: an expired or revoked token is answered "
                        "'invalidtoken' in an HTTP 200 body (there is no 401), which is an AuthError at once",
        "pagination": "core_calendar_get_calendar_events has no paging: a course's events in a window come back in "
                      "one answer, so a listing cannot be split into pages",
    }

    def request_signature(self, body: bytes | None) -> str | None:
        """The web-service call's form fields, ``wsfunction`` included (every call goes to the same URL).

        The token is already the cassette's placeholder; field order does not count.
        """
        if not body:
            return None
        return repr(sorted(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)))

    def make_simulator(self) -> MoodleSimulator:
        """A fresh site set up as the README says: course 2 ``ILT-101`` starting 2027-01-01, a web-service user."""
        simulator = MoodleSimulator(tokens={SANDBOX_TOKEN: SANDBOX_WS_USER}, site_timezone="Europe/London")
        simulator.site.add_web_service_user(SANDBOX_WS_USER, CAPABILITIES)
        simulator.site.service_functions = list(REQUIRED_FUNCTIONS)
        added = simulator.site.add_course("ILT-101", "Instructor-led Safety Fundamentals", startdate=1798761600)
        assert added == SANDBOX_COURSE_ID
        return simulator

    def adapter_settings(self, base_url: str) -> dict[str, Any]:
        """The site with the placeholder token, its course, and accounts made for new learners."""
        return {"base_url": base_url, "token": SANDBOX_TOKEN, "course_id": SANDBOX_COURSE_ID,
                "create_missing_users": True}

    def live_adapter(self, *, sleep: Callable[[float], None]) -> MoodleAdapter:
        """The adapter for a live Moodle, from environment variables."""
        try:
            url = os.environ["LMS_CONNECTORS_MOODLE_URL"]
            token = os.environ["LMS_CONNECTORS_MOODLE_TOKEN"]
        except KeyError as exc:
            raise ConfigurationError(
                "set LMS_CONNECTORS_MOODLE_URL, LMS_CONNECTORS_MOODLE_TOKEN and LMS_CONNECTORS_MOODLE_COURSE_ID"
            ) from exc
        settings = {"base_url": url, "token": token, "course_id": live_course_id(),
                    "create_missing_users": True}
        return MoodleAdapter.from_config(settings, sleep=sleep)

    def clean_live(self, adapter: MoodleAdapter) -> None:
        """Remove what contract cases made in the course: their events, their groups, the conflict groups.

        Called before and after each live case, outside its cassette, so that a run tolerates what an earlier
        (interrupted) run left and leaves nothing behind. Only objects carrying a contract key are touched.
        """
        course = _course(adapter)
        answer = adapter.ex_call("core_calendar_get_calendar_events", {
            "events": {"courseids": [course]},
            "options": {"userevents": False, "siteevents": False, "ignorehidden": False}})
        tagged = [e for e in answer.get("events", [])
                  if (key_in(str(e.get("description") or "")) or "").startswith(CONTRACT_PREFIX)]
        if tagged:
            adapter.ex_call("core_calendar_delete_calendar_events",
                            {"events": [{"eventid": int(e["id"]), "repeat": False} for e in tagged]})
        groups = adapter.ex_call("core_group_get_course_groups", {"courseid": course})
        ours = [int(g["id"]) for g in groups if str(g.get("idnumber", "")).startswith(("lmsc:" + CONTRACT_PREFIX,
                                                                                          CONFLICT_IDNUMBER))]
        if ours:
            adapter.ex_call("core_group_delete_groups", {"groupids": ours})

    def session_extras(self) -> dict[str, Any]:
        """Sessions belong to ``LMS_CONNECTORS_MOODLE_COURSE_ID`` when it is set (a live run), else to the sandbox's.

        Raises:
            ConfigurationError: The variable is set but is not a course id.
        """
        set_course = os.environ.get("LMS_CONNECTORS_MOODLE_COURSE_ID")
        return {"course_id": str(live_course_id() if set_course else SANDBOX_COURSE_ID)}

    def secret_values(self) -> list[str]:
        """The placeholder token."""
        token = os.environ.get("LMS_CONNECTORS_MOODLE_TOKEN")
        return [SANDBOX_TOKEN, *([token] if token else [])]

    def provoke_invalid_request(self, adapter: MoodleAdapter, sandbox: _Sandbox) -> None:
        """An event name with HTML tags: PARAM_TEXT refuses it (``invalidparameter``)."""
        adapter.ex_call("core_calendar_create_calendar_events", {"events": [
            {"name": "<b>Contract</b> invalid", "courseid": _course(adapter), "eventtype": "course",
             "timestart": 1802000000},
        ]})

    def provoke_conflict(self, adapter: MoodleAdapter, sandbox: _Sandbox) -> None:
        """A second group with the same ID number (``idnumbertaken``)."""
        for name in ("Contract conflict A", "Contract conflict B"):
            adapter.ex_call("core_group_create_groups", {"groups": [
                {"courseid": _course(adapter), "name": name, "description": "", "idnumber": CONFLICT_IDNUMBER},
            ]})
