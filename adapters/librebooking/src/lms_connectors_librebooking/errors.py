"""Classify LibreBooking's answers into the SDK's error tree, with the core's rule table.

LibreBooking's API has four error shapes (each seen on a live site, see the adapter's README):

* a JSON ``{"message": ..., "errors": [...]}`` with HTTP 400 (validation and the room's rules, in English
  sentences) or 404 (``The requested resource was not found``);
* a ``text/html`` 401 (``You must be authenticated in order to access this service.``) for a missing, unknown,
  signed-out or expired session token, and for an ordinary user calling an administrator's route;
* an HTML 500 page ("Slim Application Error") whenever PHP raised a warning or a deprecation inside the API,
  which may come *after* the change was written;
* an **empty 200 answer** when PHP died of a fatal error: not a success, and the change may be saved too.

:class:`LibreBookingClassifier` reads the first as the provider's message, the Slim page's PHP message as code
``php_error`` and an empty 2xx body as code ``empty_answer``, so that :data:`RULES` can select on them; what no
row matches falls to the core's rows.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from lms_connectors.errors import (
    AuthError,
    CapacityFull,
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    ProviderError,
)
from lms_connectors.http.classify import SUCCESS, ErrorBody, ErrorFacts, ErrorRule, RuleClassifier

if TYPE_CHECKING:
    import requests

__all__ = [
    "EMPTY_ANSWER",
    "PHP_ERROR",
    "PROVIDER",
    "RULES",
    "LibreBookingClassifier",
    "classify_librebooking_response",
    "may_have_written",
    "read_error_body",
]

PROVIDER = "librebooking"
PHP_ERROR = "php_error"
"""Code of an HTML 500 "Slim Application Error" page (PHP raised a warning, a deprecation or an exception)."""
EMPTY_ANSWER = "empty_answer"
"""Code of a 2xx answer with an empty body (PHP died of a fatal error; nothing says what was saved)."""

_SLIM_PAGE = re.compile(r"<title>\s*Slim Application Error\s*</title>", re.IGNORECASE)
_SLIM_FIELD = re.compile(r"<strong>(?P<name>Type|Code|Message|File|Line):</strong>\s*(?P<value>[^<]*)</div>")

_RULE_REFUSALS = (
    r"requires advance notice|cannot be made this far in the future|must last at least|cannot last longer"
    r"|cannot be in the past|date and time requested is not valid|must be before the end"
)

RULES: tuple[ErrorRule, ...] = (
    ErrorRule(AuthError, "LibreBooking refused the session token (unknown, signed out or expired), or the account "
              "may not call this route", status={401}, refresh=True),
    ErrorRule(Conflict, "the room is taken at that time (a reservation, a blackout or a buffer around one)",
              status={400}, message=r"conflicting reservations"),
    ErrorRule(CapacityFull, "the room holds fewer participants than were sent", status={400},
              message=r"can only support \d+ participants"),
    ErrorRule(InvalidRequest, "the room's rules refuse this slot (its length, notice, schedule slots or a past start)",
              status={400}, message=_RULE_REFUSALS),
    ErrorRule(MalformedResponse, "an HTML page instead of the API's answer: base_url is not a LibreBooking site "
              "(or its API is disabled)", status={404}, body="html"),
    ErrorRule(NotFound, "the reservation, room or user does not exist", status={404}),
    ErrorRule(ProviderError, "LibreBooking raised a PHP error (the change may have been saved before it)",
              status={500}, codes={PHP_ERROR}),
    ErrorRule(ProviderError, "LibreBooking died of a fatal PHP error and answered an empty body (the change may "
              "have been saved before it)", status=SUCCESS, codes={EMPTY_ANSWER}),
    ErrorRule(InvalidRequest, "LibreBooking has no such method on this route", status={405}),
)
"""LibreBooking's rows, consulted before the core's; first match wins."""


def read_error_body(payload: Any) -> ErrorBody | None:
    """LibreBooking's JSON error: ``errors[]`` joined (or ``message``) as the message; ``None`` for other JSON."""
    if not isinstance(payload, dict) or "message" not in payload:
        return None
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        # A missing key gives a PHP stack trace as one of the "errors": keep its first line only.
        lines = [str(error).strip().splitlines()[0] if str(error).strip() else "" for error in errors]
        return ErrorBody((), " ".join(line for line in lines if line))
    message = payload.get("message")
    if isinstance(message, str) and message and set(payload) <= {"message", "links", "errors"}:
        return ErrorBody((), message)
    return None


def slim_error(text: str) -> str | None:
    """The PHP message of a Slim error page (``Message: ... (File:Line)``), or ``None`` for another page."""
    if not _SLIM_PAGE.search(text):
        return None
    fields = {m["name"]: html.unescape(m["value"]).strip() for m in _SLIM_FIELD.finditer(text)}
    where = f" ({fields['File'].rsplit('/', 1)[-1]}:{fields['Line']})" if "File" in fields and "Line" in fields else ""
    return (fields.get("Message") or "PHP error") + where


class LibreBookingClassifier(RuleClassifier):
    """The core's rule classifier, reading Slim error pages and empty 2xx answers as LibreBooking's codes."""

    def facts(self, response: requests.Response) -> ErrorFacts:
        """The core's facts, plus code ``php_error`` for a Slim page and ``empty_answer`` for an empty 2xx."""
        facts = super().facts(response)
        if 200 <= response.status_code < 300 and not response.content.strip():
            return ErrorFacts(facts.status, facts.kinds, ErrorBody((EMPTY_ANSWER,), ""), facts.headers)
        if "html" in facts.kinds:
            message = slim_error(response.text)
            if message is not None:
                found = ErrorBody((PHP_ERROR,), message)
                return ErrorFacts(facts.status, facts.kinds | {"error"}, found, facts.headers)
        return facts


def may_have_written(error: ConnectorError) -> bool:
    """Whether a failed write may have been saved all the same (a PHP error page, an empty answer)."""
    return error.code in (PHP_ERROR, EMPTY_ANSWER)


classify_librebooking_response = LibreBookingClassifier(RULES, provider=PROVIDER, read_body=read_error_body)
"""Map a LibreBooking answer to an SDK error, or ``None`` when it succeeded."""
