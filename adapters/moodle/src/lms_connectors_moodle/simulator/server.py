"""The REST entry point of the simulated site: ``/webservice/rest/server.php``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import RoutedSimulator, route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock
from lms_connectors_moodle.simulator.calendar import CALENDAR_FUNCTIONS
from lms_connectors_moodle.simulator.completion import COMPLETION_FUNCTIONS
from lms_connectors_moodle.simulator.params import ParamError, Single
from lms_connectors_moodle.simulator.people import PEOPLE_FUNCTIONS, PEOPLE_OPTIONAL_RETURNS
from lms_connectors_moodle.simulator.php import fill_optional, parse_php_form, render_xml, render_xml_exception
from lms_connectors_moodle.simulator.site import OTHER_SITE_FUNCTIONS, MoodleError, SiteState

__all__ = ["FUNCTIONS", "MoodleSimulator"]

FUNCTIONS: dict[str, tuple[Single, Callable[[SiteState, int, dict[str, Any]], Any]]] = {
    **PEOPLE_FUNCTIONS,
    **CALENDAR_FUNCTIONS,
    **COMPLETION_FUNCTIONS,
}
"""Every function the simulator implements."""

_PATH = "/webservice/rest/server.php"
_JSON = {"Content-type": "application/json"}
_XML = {"Content-Type": "application/xml; charset=utf-8"}


class MoodleSimulator(RoutedSimulator):
    """A Moodle 4.5 site behind its REST web-service server.

    Reproduces the recorded transport behaviour: errors in 200 bodies, HTTP 403 with an empty body when web
    services or REST are disabled, XML unless ``moodlewsrestformat=json``, JSON request bodies ignored, PHP
    bracket parsing with ``max_input_vars`` truncation, ``null`` successes, all-or-nothing batches. Built on the
    kit's toolkit where it fits an RPC server: one route, :class:`MoodleError` refusals, the clock.

    Args:
        tokens: Token -> username (the user may be created later through the API).
        site_timezone: The site's default zone.
        clock: The site's clock.

    Attributes:
        site: The site's state and settings (``webservices_enabled``, ``rest_enabled``, ``debug_developer``,
            ``mail_broken``, ``max_input_vars``, ``service_functions``...).
    """

    def __init__(
        self,
        *,
        tokens: dict[str, str] | None = None,
        site_timezone: str = "Europe/London",
        clock: SimClock | None = None,
    ) -> None:
        super().__init__(clock)
        self.site = SiteState(site_timezone=site_timezone, clock=self.clock.time)
        for token, username in (tokens or {}).items():
            self.site.add_token(token, username)
        self._as_json = False  # the format of the answer being made (set per request, under the lock)

    # -- HTTP ---------------------------------------------------------------------------------------------

    def error_response(self, refusal: Refusal) -> SandboxResponse:
        """A :class:`MoodleError` in a 200 body, in the format asked for; any other refusal as an HTML page."""
        if not isinstance(refusal, MoodleError):
            return SandboxResponse(refusal.status, refusal.message, {"Content-Type": "text/html; charset=utf-8"})
        body: dict[str, Any] = {"exception": refusal.exception}
        if refusal.errorcode is not None:
            body["errorcode"] = refusal.errorcode
        body["message"] = refusal.message
        if self.site.debug_developer and refusal.debuginfo:
            body["debuginfo"] = refusal.debuginfo
        if not self._as_json:
            return SandboxResponse(200, render_xml_exception(body), dict(_XML))
        return SandboxResponse(200, json.dumps(body).encode("utf-8"), dict(_JSON))

    def no_route(self, request: SandboxRequest) -> Refusal:
        """Moodle's web server answers any other path with its 404 page."""
        return Refusal(404, "Not found")

    @route("GET", _PATH, auth=False)
    @route("POST", _PATH, auth=False)
    def _server(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one HTTP request like Moodle's ``webservice/rest/server.php``."""
        self._as_json = False  # Moodle's default format, until the request says otherwise
        if not (self.site.webservices_enabled and self.site.rest_enabled):
            return SandboxResponse(403, b"", {"Content-type": "text/html; charset=utf-8"})
        query = [(name, value) for name, values in request.query.items() for value in values]
        params: dict[Any, Any] = dict(parse_php_form(query, self.site.max_input_vars))
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", "") or (
            request.body and not request.headers.get("content-type")
        ):
            # PHP fills $_POST only from form bodies; a JSON body is ignored.
            fields = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
            params.update(parse_php_form(fields, self.site.max_input_vars))
        token = str(params.pop("wstoken", "") or "")
        function = params.pop("wsfunction", None)
        self._as_json = params.pop("moodlewsrestformat", "xml") == "json"
        payload = self._run(token, function, params)
        if not self._as_json:
            xml = render_xml(fill_optional(payload, PEOPLE_OPTIONAL_RETURNS.get(str(function))))
            return SandboxResponse(200, xml, dict(_XML))
        if payload is None:
            return SandboxResponse(200, b"null", dict(_JSON))
        return SandboxResponse(200, json.dumps(payload).encode("utf-8"), dict(_JSON))

    def _run(self, token: str, function: Any, params: dict[Any, Any]) -> Any:
        if not isinstance(function, str) or not function:
            raise MoodleError.invalid_parameter("Missing function name")
        username = self.site.tokens.get(token)
        caller = next((u["id"] for u in self.site.data.users.values() if u["username"] == username), None)
        if username is None or caller is None:
            raise MoodleError("core\\exception\\moodle_exception", "invalidtoken", "Invalid token - token not found")
        known = function in FUNCTIONS or function in self.site.service_functions or function in OTHER_SITE_FUNCTIONS
        if not known:
            raise MoodleError.missing_record("external_functions")
        if function not in self.site.service_functions:
            raise MoodleError("webservice_access_exception", "accessexception", "Access control exception")
        if function not in FUNCTIONS:
            raise MoodleError("coding_exception", "codingerror",
                              f"Coding error detected, it must be fixed by a programmer: {function} is not simulated")
        description, implementation = FUNCTIONS[function]
        try:
            cleaned = description.clean(params)
        except ParamError as exc:
            raise MoodleError.invalid_parameter(exc.debuginfo) from exc
        return implementation(self.site, caller, cleaned)
