"""Classify CalDAV servers' error answers into the SDK's error tree, with a table of rules.

A CalDAV server names a failed precondition in a ``DAV:error`` body (RFC 4918 16, RFC 4791 5.3.2.1): the status
alone is ambiguous (Radicale answers a UID already used by another resource with 409, SabreDAV with 403; a 403
may as well be a missing privilege or calendar data the server refuses). The first rule of :data:`RULES` whose
statuses and condition match decides; anything no rule matches falls back to the core's default classifier
(412 Conflict, 404 NotFound, 401 AuthError, 429 and 503 with Retry-After RateLimited, 5xx transient).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from lms_connectors.errors import (
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    PermissionDenied,
    QuotaExceeded,
)
from lms_connectors.http.classify import default_classifier, is_html, response_evidence
from lms_connectors_caldav.dav import error_conditions

__all__ = ["PROVIDER", "RULES", "Rule", "classify_caldav_response"]

PROVIDER = "caldav"


@dataclass(frozen=True)
class Rule:
    """One row of the table: answers with one of ``statuses`` (any when empty) naming ``condition`` (any when None).

    Attributes:
        name: What the rule recognises.
        statuses: HTTP statuses it applies to.
        error: The error type to raise.
        message: The error's message (the condition, when there is one, becomes its ``code``).
        condition: A ``DAV:error`` precondition element name (``no-uid-conflict``).
        html: Match only HTML bodies.
    """

    name: str
    statuses: frozenset[int]
    error: type[ConnectorError]
    message: str
    condition: str | None = None
    html: bool = False

    def matches(self, status: int, conditions: set[str], html: bool) -> bool:
        """Whether this rule applies to an answer."""
        if self.statuses and status not in self.statuses:
            return False
        if self.html and not html:
            return False
        return self.condition is None or self.condition in conditions


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

RULES: tuple[Rule, ...] = (
    # An HTML page on a 4xx means something else answered (a login page, a wrong base URL, a proxy).
    Rule("HTML error page", frozenset(range(400, 500)) - {429}, MalformedResponse,
         "an HTML page answered instead of the CalDAV server", html=True),
    Rule("UID used by another resource", _REFUSED, Conflict,
         "another resource of the calendar already has this UID", condition="no-uid-conflict"),
    *(
        Rule(f"refused calendar data ({name})", _REFUSED, InvalidRequest,
             "the server refuses this calendar data", condition=name)
        for name in _REFUSED_DATA
    ),
    Rule("missing privilege", frozenset({403}), PermissionDenied,
         "the account lacks a privilege on this resource", condition="need-privileges"),
    Rule("quota", frozenset({403, 507}), QuotaExceeded, "the account's storage quota is used up",
         condition="quota-not-exceeded"),
    Rule("insufficient storage", frozenset({507}), QuotaExceeded, "the server has no room to store the resource"),
    Rule("precondition failed (ETag)", frozenset({412}), Conflict,
         "the resource changed since it was read (or already exists)"),
    Rule("parent collection missing", frozenset({409}), Conflict,
         "the calendar collection does not exist (or the resource conflicts with its state)"),
    Rule("unsupported media type", frozenset({415}), InvalidRequest, "the server refuses this content type"),
)
"""The classification table, first match wins."""


def classify_caldav_response(response: requests.Response) -> ConnectorError | None:
    """Map a CalDAV server's answer to an SDK error, or ``None`` when it succeeded.

    Args:
        response: Any answer of the server.

    Returns:
        The error to raise, or ``None`` for a 2xx (207 Multi-Status included) or 3xx answer.
    """
    status = response.status_code
    if status < 400:
        return None
    conditions = error_conditions(response.content)
    html = is_html(response)
    evidence = response_evidence(response)
    evidence["provider"] = PROVIDER
    for rule in RULES:
        if rule.matches(status, conditions, html):
            if rule.condition is not None:
                evidence["code"] = rule.condition
            return rule.error(f"{rule.message} (HTTP {status})", **evidence)
    fallback = default_classifier(response)
    if fallback is not None:
        fallback.provider = PROVIDER
        if conditions:
            fallback.code = sorted(conditions)[0]
    return fallback
