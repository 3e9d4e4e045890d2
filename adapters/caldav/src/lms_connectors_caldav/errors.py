"""Classify CalDAV servers' error answers into the SDK's error tree, with the core's rule table.

A CalDAV server names a failed precondition in a ``DAV:error`` XML body (RFC 4918 16, RFC 4791 5.3.2.1): the
status alone is ambiguous (Radicale answers a UID already used by another resource with 409, other servers with
403; a 403 may as well be a missing privilege or calendar data the server refuses). :class:`CalDavClassifier`
reads those precondition names as the provider's codes, so the rows of :data:`RULES` select on them; anything
no row matches falls to the core's rows (412 Conflict, 404 NotFound, 401 AuthError, 429 and 503 with
Retry-After RateLimited, 5xx transient, HTML pages malformed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lms_connectors.errors import Conflict, InvalidRequest, MalformedResponse, PermissionDenied, QuotaExceeded
from lms_connectors.http.classify import ErrorBody, ErrorFacts, ErrorRule, RuleClassifier
from lms_connectors_caldav.dav import error_conditions

if TYPE_CHECKING:
    import requests

__all__ = ["PROVIDER", "RULES", "CalDavClassifier", "classify_caldav_response"]

PROVIDER = "caldav"

_REFUSED = frozenset({400, 403, 409, 415, 422})
_REFUSED_DATA = (
    # RFC 4791 5.3.2.1 preconditions of a PUT: the server will not store what was sent.
    "valid-calendar-data",
    "valid-calendar-object-resource",
    "supported-calendar-data",
    "supported-calendar-component",
    "calendar-collection-location-ok",
    "max-resource-size",
    "min-date-time",
    "max-date-time",
    "max-attendees-per-instance",
)

RULES: tuple[ErrorRule, ...] = (
    # An HTML page on a 4xx means something else answered (a login page, a wrong base URL, a proxy).
    ErrorRule(MalformedResponse, "an HTML page answered instead of the CalDAV server",
              status=frozenset(range(400, 500)) - {429}, body="html"),
    ErrorRule(Conflict, "another resource of the calendar already has this UID", status=_REFUSED,
              codes={"no-uid-conflict"}),
    ErrorRule(InvalidRequest, "the server refuses this calendar data", status=_REFUSED, codes=set(_REFUSED_DATA)),
    ErrorRule(PermissionDenied, "the account lacks a privilege on this resource", status={403},
              codes={"need-privileges"}),
    ErrorRule(QuotaExceeded, "the account's storage quota is used up", status={403, 507},
              codes={"quota-not-exceeded"}),
    ErrorRule(QuotaExceeded, "the server has no room to store the resource", status={507}),
    ErrorRule(Conflict, "the resource changed since it was read (or already exists)", status={412}),
    ErrorRule(Conflict, "the calendar collection does not exist, or the resource conflicts with its state",
              status={409}),
    ErrorRule(InvalidRequest, "the server refuses this content type", status={415}),
)
"""CalDAV's rows, consulted before the core's; first match wins."""


class CalDavClassifier(RuleClassifier):
    """The core's rule classifier, reading a ``DAV:error`` body's precondition names as the provider's codes."""

    def facts(self, response: requests.Response) -> ErrorFacts:
        """The core's facts, plus the preconditions a ``DAV:error`` body names (``no-uid-conflict``...)."""
        facts = super().facts(response)
        conditions = sorted(error_conditions(response.content)) if response.status_code >= 400 else []
        if not conditions:
            return facts
        return ErrorFacts(facts.status, facts.kinds | {"error"}, ErrorBody(tuple(conditions), ""), facts.headers)


classify_caldav_response = CalDavClassifier(RULES, provider=PROVIDER)
"""Map a CalDAV server's answer to an SDK error, or ``None`` when it succeeded (2xx, 207 included)."""
