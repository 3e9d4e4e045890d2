r"""Classify Moodle's answers into the SDK's error tree.

Moodle answers almost every failure with **HTTP 200** and a JSON body::

    {"exception": "core\\exception\\moodle_exception", "errorcode": "invalidtoken", "message": "..."}

so errors are classified by ``errorcode`` (and, where that is missing or is an English sentence, by the
exception class or the message), never by the HTTP status: the rows of :data:`RULES`, which the README lists,
come before the core's. The exceptions to the rule:

* web services or the REST protocol disabled on the site: HTTP 403 with an empty body;
* ``moodlewsrestformat`` missing or unknown: the answer is XML, even for errors;
* a PHP ``Error``: ``{"exception": "Error", "message": "..."}`` with no ``errorcode``.

Moodle has no 401: an expired or revoked token is ``invalidtoken`` in a 200 body, and a web-service token
cannot be refreshed, so it maps to :class:`~lms_connectors.errors.AuthError` at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

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
from lms_connectors.http.classify import SUCCESS, ErrorBody, ErrorRule, RuleClassifier

__all__ = ["RULES", "classify_moodle", "error_from_payload", "exception_payload", "raise_for_warnings"]


def _body_rule(error: type[ConnectorError], meaning: str, **selectors: Any) -> ErrorRule:
    # Moodle's own errors come in a 200 body; any other status keeps the core's meaning.
    return ErrorRule(error, meaning, status=SUCCESS, body="error", **selectors)


RULES: tuple[ErrorRule, ...] = (
    ErrorRule(PermissionDenied, "web services, or the REST protocol, are disabled on this site (Site administration "
              "> Server > Web services > Overview)", status={403}, body="empty"),
    ErrorRule(MalformedResponse, "Moodle answered in XML where JSON was expected (moodlewsrestformat=json missing "
              "or ignored)", status=SUCCESS, body="xml"),
    # Some errors carry an English sentence as their errorcode (the "error/<sentence>" message shows it).
    _body_rule(NotFound, "the calendar event does not exist", message="Unable to find event with id"),
    _body_rule(InvalidRequest, "Moodle refuses to move a course event before the course start date",
               message="Cannot set event before course start date"),
    _body_rule(ProviderError, "the change was committed, then sending its notification failed",
               message="Message was not sent"),
    _body_rule(InvalidRequest, "the web-service function does not exist on this site (a plug-in is missing?)",
               message="database table external_functions"),
    # authentication (no refresh exists for a web-service token)
    _body_rule(AuthError, "the web-service token is unknown, expired or revoked", codes={"invalidtoken"}),
    _body_rule(AuthError, "the web-service token's session is no longer valid", codes={"invalidtokensession"}),
    _body_rule(AuthError, "the token's user is not confirmed", codes={"usernotconfirmed"}),
    _body_rule(AuthError, "the token's user is suspended", codes={"suspended"}),
    _body_rule(AuthError, "the token may not be used from this IP address", codes={"invalidiptoken"}),
    # authorisation
    _body_rule(PermissionDenied, "the function is not in the token's external service (or the token user lacks a "
               "capability)", codes={"accessexception"}),
    _body_rule(PermissionDenied, "the token's user lacks a required capability",
               codes={"nopermissions", "required_capability_exception"}),
    _body_rule(PermissionDenied, "the token's user may not update this event", codes={"nopermissiontoupdatecalendar"}),
    _body_rule(PermissionDenied, "the token's user may not assign this role (or it is unknown): its role must be "
               "allowed to assign it (Define roles > Allow role assignments)",
               codes={"wsusercannotassign"}),
    _body_rule(PermissionDenied, "the token's user cannot access the course",
               codes={"requireloginerror", "require_login_exception"}),
    _body_rule(PermissionDenied, "the token's user is suspended", codes={"wsaccessusersuspended"}),
    _body_rule(PermissionDenied, "the token's user may not act in this course (its role lacks moodle/course:view and "
               "it is not enrolled)", codes={"errorcoursecontextnotvalid"}),
    # missing objects
    _body_rule(NotFound, "the object does not exist",
               codes={"invalidrecord", "invalidrecordunknown", "dml_missing_record_exception"}),
    _body_rule(NotFound, "the user does not exist", codes={"invaliduser"}),
    _body_rule(NotFound, "the course does not exist", codes={"invalidcourseid"}),
    _body_rule(NotFound, "the activity does not exist", codes={"nosuchinstance"}),
    # refused input
    _body_rule(InvalidRequest, "Moodle refused a parameter", codes={"invalidparameter", "invalid_parameter_exception"}),
    _body_rule(ProviderError, "Moodle built an answer its own schema rejects", codes={"invalidresponse"}),
    # duplicates of natural keys
    _body_rule(Conflict, "a course with this short name exists", codes={"shortnametaken"}),
    _body_rule(Conflict, "a course with this ID number exists", codes={"courseidnumbertaken"}),
    _body_rule(Conflict, "an object with this ID number exists", codes={"idnumbertaken"}),
    _body_rule(Conflict, "a group with this ID number exists", codes={"groupidnumbertaken"}),
    _body_rule(Conflict, "a group with this name exists", codes={"groupnameexists"}),
    _body_rule(Conflict, "a user with this username exists", codes={"usernameexists"}),
    _body_rule(Conflict, "a user with this email exists", codes={"emailexists"}),
    # exception classes that say enough when the errorcode is unknown
    _body_rule(PermissionDenied, "web-service access refused", codes={"webservice_access_exception"}),
    _body_rule(ProviderError, "Moodle failed with a PHP error", codes={"Error"}),
    _body_rule(ProviderError, "Moodle failed with an error code the SDK does not know"),
)
"""Moodle's rows, first match wins. The codes are the ``errorcode``, then the exception's class name."""


def exception_payload(payload: Any) -> Mapping[str, Any] | None:
    """Return ``payload`` when it is a Moodle exception body, else None."""
    if isinstance(payload, Mapping) and "exception" in payload and "message" in payload:
        return payload
    return None


def read_moodle_error(payload: Any) -> ErrorBody | None:
    """Read a Moodle exception body: codes ``errorcode`` then the exception's class, message with debuginfo."""
    body = exception_payload(payload)
    if body is None:
        return None
    exception_class = str(body.get("exception", "")).rsplit("\\", 1)[-1]
    code = body.get("errorcode")
    codes = tuple(c for c in (code if isinstance(code, str | int) else None, exception_class) if c)
    message = str(body.get("message", ""))
    debuginfo = body.get("debuginfo")
    return ErrorBody(codes, f"{message} [{debuginfo}]" if debuginfo else message)


classify_moodle = RuleClassifier(RULES, read_body=read_moodle_error)
"""The transport's classifier for Moodle's REST server."""


def error_from_payload(payload: Mapping[str, Any], **evidence: Any) -> ConnectorError:
    """Build the error for one Moodle exception body (an answer's, or one item of a batch).

    Args:
        payload: ``{"exception", "errorcode"?, "message", "debuginfo"?}``.
        **evidence: ``status``, ``body_excerpt``, ``request_id`` from the answer.

    Returns:
        The classified error, carrying the Moodle error code (or exception class when there is no code).
    """
    error = classify_moodle.classify_body(payload, **evidence)
    if error is None:  # not an exception body: the table's last row still names it
        return ProviderError("Moodle answered something that is neither a result nor an exception", **evidence)
    return error


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
