"""The REST entry point of the simulated site: ``/webservice/rest/server.php``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, Simulator
from lms_connectors_moodle.simulator.calendar import CALENDAR_FUNCTIONS
from lms_connectors_moodle.simulator.params import ParamError, Single
from lms_connectors_moodle.simulator.people import PEOPLE_FUNCTIONS, PEOPLE_OPTIONAL_RETURNS
from lms_connectors_moodle.simulator.php import fill_optional, parse_php_form, render_xml, render_xml_exception
from lms_connectors_moodle.simulator.site import OTHER_SITE_FUNCTIONS, MoodleError, SiteState

__all__ = ["FUNCTIONS", "MoodleSimulator"]

FUNCTIONS: dict[str, tuple[Single, Callable[[SiteState, int, dict[str, Any]], Any]]] = {
    **PEOPLE_FUNCTIONS,
    **CALENDAR_FUNCTIONS,
}
"""Every function the simulator implements."""

_PATH = "/webservice/rest/server.php"
_JSON = {"Content-type": "application/json"}
_XML = {"Content-Type": "application/xml; charset=utf-8"}


class MoodleSimulator(Simulator):
    """A Moodle 4.5 site behind its REST web-service server.

    Reproduces the recorded transport behaviour: errors in 200 bodies, HTTP 403 with an empty body when web
    services or REST are disabled, XML unless ``moodlewsrestformat=json``, JSON request bodies ignored, PHP
    bracket parsing with ``max_input_vars`` truncation, ``null`` successes, all-or-nothing batches.

    Args:
        tokens: Token -> username (the user may be created later through the API).
        site_timezone: The site's default zone.
        clock: Current Unix time.

    Attributes:
        site: The site's state and settings (``webservices_enabled``, ``rest_enabled``, ``debug_developer``,
            ``mail_broken``, ``max_input_vars``, ``service_functions``...).
    """

    def __init__(
        self,
        *,
        tokens: dict[str, str] | None = None,
        site_timezone: str = "Europe/London",
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        self.site = SiteState(site_timezone=site_timezone, **({"clock": clock} if clock is not None else {}))
        for token, username in (tokens or {}).items():
            self.site.add_token(token, username)

    # -- HTTP ---------------------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one HTTP request like Moodle's ``webservice/rest/server.php``."""
        if request.path != _PATH:
            return SandboxResponse(404, "Not found", {"Content-Type": "text/html; charset=utf-8"})
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
        as_json = params.pop("moodlewsrestformat", "xml") == "json"
        try:
            payload = self._run(token, function, params)
        except MoodleError as error:
            return self._error(error, as_json)
        if not as_json:
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

    def _error(self, error: MoodleError, as_json: bool) -> SandboxResponse:
        body: dict[str, Any] = {"exception": error.exception}
        if error.errorcode is not None:
            body["errorcode"] = error.errorcode
        body["message"] = error.message
        if self.site.debug_developer and error.debuginfo:
            body["debuginfo"] = error.debuginfo
        if not as_json:
            return SandboxResponse(200, render_xml_exception(body), dict(_XML))
        return SandboxResponse(200, json.dumps(body).encode("utf-8"), dict(_JSON))
