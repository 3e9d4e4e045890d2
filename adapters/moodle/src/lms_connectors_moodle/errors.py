r"""Classify Moodle's answers into the SDK's error tree.

Moodle answers almost every failure with **HTTP 200** and a JSON body::

    {"exception": "core\\exception\\moodle_exception", "errorcode": "invalidtoken", "message": "..."}

so errors are classified by ``errorcode`` (and, where that is missing or is an English sentence, by the
exception class or the message), never by the HTTP status. The exceptions to the rule:

* web services or the REST protocol disabled on the site: HTTP 403 with an empty body;
* ``moodlewsrestformat`` missing or unknown: the answer is XML, even for errors;
* a PHP ``Error``: ``{"exception": "Error", "message": "..."}`` with no ``errorcode``.

Moodle has no 401: an expired or revoked token is ``invalidtoken`` in a 200 body, and a web-service token
cannot be refreshed, so it maps to :class:`~lms_connectors.errors.AuthError` at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from lms_connectors.errors import (
    AuthError,
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ProviderError,
)
from lms_connectors.http.classify import CodeRule, default_classifier, response_evidence

__all__ = [
    "ERROR_RULES",
    "MESSAGE_RULES",
    "ErrorRule",
    "classify_moodle",
    "error_from_payload",
    "exception_payload",
    "raise_for_warnings",
]


# The rows are the core's CodeRule; the name says which table they belong to.
ErrorRule = CodeRule


ERROR_RULES: dict[str, ErrorRule] = {
    # authentication (no refresh exists for a web-service token)
    "invalidtoken": ErrorRule(AuthError, "the web-service token is unknown, expired or revoked"),
    "invalidtokensession": ErrorRule(AuthError, "the web-service token's session is no longer valid"),
    "usernotconfirmed": ErrorRule(AuthError, "the token's user is not confirmed"),
    "suspended": ErrorRule(AuthError, "the token's user is suspended"),
    "invalidiptoken": ErrorRule(AuthError, "the token may not be used from this IP address"),
    # authorisation
    "accessexception": ErrorRule(
        PermissionDenied, "the function is not in the token's external service (or the token user lacks a capability)"
    ),
    "nopermissions": ErrorRule(PermissionDenied, "the token's user lacks a required capability"),
    "nopermissiontoupdatecalendar": ErrorRule(PermissionDenied, "the token's user may not update this event"),
    "wsusercannotassign": ErrorRule(PermissionDenied, "the token's user may not assign this role (or it is unknown)"),
    "requireloginerror": ErrorRule(PermissionDenied, "the token's user cannot access the course"),
    "wsaccessusersuspended": ErrorRule(PermissionDenied, "the token's user is suspended"),
    # missing objects
    "invalidrecord": ErrorRule(NotFound, "the object does not exist"),
    "invalidrecordunknown": ErrorRule(NotFound, "the object does not exist"),
    "invaliduser": ErrorRule(NotFound, "the user does not exist"),
    "invalidcourseid": ErrorRule(NotFound, "the course does not exist"),
    "nosuchinstance": ErrorRule(NotFound, "the activity does not exist"),
    # refused input
    "invalidparameter": ErrorRule(InvalidRequest, "Moodle refused a parameter"),
    "invalidresponse": ErrorRule(ProviderError, "Moodle built an answer its own schema rejects"),
    # duplicates of natural keys
    "shortnametaken": ErrorRule(Conflict, "a course with this short name exists"),
    "courseidnumbertaken": ErrorRule(Conflict, "a course with this ID number exists"),
    "idnumbertaken": ErrorRule(Conflict, "an object with this ID number exists"),
    "groupidnumbertaken": ErrorRule(Conflict, "a group with this ID number exists"),
    "groupnameexists": ErrorRule(Conflict, "a group with this name exists"),
    "usernameexists": ErrorRule(Conflict, "a user with this username exists"),
    "emailexists": ErrorRule(Conflict, "a user with this email exists"),
}
"""``errorcode`` -> error type. Codes not listed become :class:`ProviderError` with the evidence."""

# Exception classes that say enough on their own (used when the code is unknown or missing).
_EXCEPTION_RULES: dict[str, ErrorRule] = {
    "webservice_access_exception": ErrorRule(PermissionDenied, "web-service access refused"),
    "required_capability_exception": ErrorRule(PermissionDenied, "the token's user lacks a required capability"),
    "invalid_parameter_exception": ErrorRule(InvalidRequest, "Moodle refused a parameter"),
    "dml_missing_record_exception": ErrorRule(NotFound, "the object does not exist"),
    "require_login_exception": ErrorRule(PermissionDenied, "the token's user cannot access the course"),
}

MESSAGE_RULES: tuple[tuple[re.Pattern[str], ErrorRule], ...] = (
    # Some errors carry an English sentence as their errorcode (the "error/<sentence>" message shows it).
    (re.compile(r"Unable to find event with id", re.I), ErrorRule(NotFound, "the calendar event does not exist")),
    (re.compile(r"Cannot set event before course start date", re.I),
     ErrorRule(InvalidRequest, "Moodle refuses to move a course event before the course start date")),
    (re.compile(r"Message was not sent", re.I),
     ErrorRule(ProviderError, "the change was committed, then sending its notification failed")),
    (re.compile(r"database table external_functions", re.I),
     ErrorRule(InvalidRequest, "the web-service function does not exist on this site (a plug-in is missing?)")),
)
"""Patterns on ``errorcode`` or ``message`` for errors whose code is a sentence, checked before the table."""


def exception_payload(payload: Any) -> Mapping[str, Any] | None:
    """Return ``payload`` when it is a Moodle exception body, else None."""
    if isinstance(payload, Mapping) and "exception" in payload and "message" in payload:
        return payload
    return None


def _short_class(exception: str) -> str:
    return exception.rsplit("\\", 1)[-1]


def error_from_payload(payload: Mapping[str, Any], **evidence: Any) -> ConnectorError:
    """Build the error for one Moodle exception body.

    Args:
        payload: ``{"exception", "errorcode"?, "message", "debuginfo"?}``.
        **evidence: ``status``, ``body_excerpt``, ``request_id`` from the answer.

    Returns:
        The classified error, carrying the Moodle error code (or exception class when there is no code).
    """
    exception = str(payload.get("exception", ""))
    code = payload.get("errorcode")
    message = str(payload.get("message", ""))
    debuginfo = payload.get("debuginfo")
    evidence.pop("code", None)
    text = f"{code or ''} {message}"
    rule: ErrorRule | None = next((r for pattern, r in MESSAGE_RULES if pattern.search(text)), None)
    if rule is None and isinstance(code, str):
        rule = ERROR_RULES.get(code)
    if rule is None:
        rule = _EXCEPTION_RULES.get(_short_class(exception))
    if rule is None:
        kind = "a PHP error" if code is None else f"an unknown error code {code!r}"
        rule = ErrorRule(ProviderError, f"Moodle failed with {kind}")
    detail = f"{rule.meaning}: {message}" if message else rule.meaning
    if debuginfo:
        detail += f" [{debuginfo}]"
    return rule.error(f"Moodle: {detail}", code=code if code is not None else _short_class(exception), **evidence)


def _is_xml(response: requests.Response) -> bool:
    if "xml" in response.headers.get("Content-Type", "").lower():
        return True
    return response.content[:64].lstrip().startswith(b"<?xml")


def classify_moodle(response: requests.Response) -> ConnectorError | None:
    """The transport's classifier for Moodle's REST server.

    Rules, in order: HTTP 403 with an empty body means web services or the REST protocol are disabled; a
    200 in XML means the request lacked ``moodlewsrestformat=json``; a 200 JSON exception body is
    classified by :func:`error_from_payload`; any other status falls back to the default classifier.
    """
    status = response.status_code
    if status == 403 and not response.content.strip():
        return PermissionDenied(
            "Moodle refused the call with HTTP 403 and an empty body: web services, or the REST protocol, are "
            "disabled on this site (Site administration > Server > Web services > Overview)",
            **response_evidence(response),
        )
    if not 200 <= status < 300:
        return default_classifier(response)
    if _is_xml(response):
        return MalformedResponse(
            "Moodle answered in XML where JSON was expected (moodlewsrestformat=json missing or ignored)",
            **response_evidence(response),
        )
    try:
        payload = json.loads(response.content) if response.content.strip() else None
    except ValueError:
        return None  # the transport's JSON parsing reports it as MalformedResponse with the evidence
    body = exception_payload(payload)
    if body is None:
        return None
    return error_from_payload(body, **response_evidence(response))


def raise_for_warnings(
    warnings: Sequence[Mapping[str, Any]] | None, *, items: Sequence[str | int] = (), what: str
) -> None:
    """Raise when a successful answer's ``warnings`` say the thing we asked for was not done.

    Moodle skips an item it may not act on with a warning instead of an exception (a student's course
    event comes back as ``{"events": [], "warnings": [{"warningcode": "nopermissions", ...}]}``). A warning
    with ``nopermissions``, or about one of ``items``, is a failure.

    Args:
        warnings: The answer's ``warnings`` list.
        items: Names or ids of what was asked for.
        what: Short description of the call, for the message.
    """
    wanted = {str(item) for item in items}
    for warning in warnings or ():
        code = str(warning.get("warningcode", ""))
        about = {str(warning.get("item", "")), str(warning.get("itemid", ""))}
        if code == "nopermissions" or "nopermission" in code or about & wanted:
            message = f"Moodle skipped {what}: {warning.get('message', code)}"
            error_type: type[ConnectorError] = PermissionDenied if "permission" in code else ProviderError
            raise error_type(message, code=code, body_excerpt=json.dumps(dict(warning))[:300])
