"""Classify Microsoft Graph's error answers into the SDK's error tree, with a table of rules.

Graph answers errors with a JSON body of this shape (Outlook puts ``request-id`` in ``innerError``; the generic
errors page documents ``requestId``: both are read)::

    {"error": {"code": "ErrorItemNotFound", "message": "The specified object was not found in the store.",
               "innerError": {"date": "...", "request-id": "...", "client-request-id": "..."}}}

The first row of :data:`RULES` whose status and code (or message text) match decides. Facts behind the rows:
``ErrorIrresolvableConflict`` comes with 412 (a stale ``changeKey`` in ``If-Match``; reported on creates too);
``ApplicationThrottled`` with "MailboxConcurrency" in its message is the 4-concurrent-requests-per-mailbox
limit (429); ``ConcurrentItemSave`` is a 503 after which a create may or may not have been saved;
``Retry-After`` may be fractional (``2.128``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from lms_connectors.errors import (
    AuthError,
    ConfigurationError,
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from lms_connectors.http.classify import default_classifier, is_html, parse_retry_after, response_evidence

__all__ = ["RULES", "GraphError", "GraphRule", "classify_graph_response", "parse_graph_error"]

PROVIDER = "microsoft_graph"


@dataclass(frozen=True)
class GraphError:
    """The parts of a Graph error answer the rules look at.

    Attributes:
        status: HTTP status code.
        code: ``error.code`` (``""`` when the body is not Graph's JSON).
        message: ``error.message`` (or the HTTP reason).
        request_id: ``innerError.request-id`` or ``innerError.requestId``, when given.
        is_html: Whether the body is an HTML page (a front end or proxy answered, not Graph).
    """

    status: int
    code: str
    message: str
    request_id: str | None
    is_html: bool


def parse_graph_error(status: int, body: Any, *, reason: str = "", html: bool = False) -> GraphError:
    """Extract code, message and request id from a Graph error body (a decoded JSON value, or anything)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(status, "", reason, None, html)
    inner = error.get("innerError") or error.get("innererror")
    request_id = None
    if isinstance(inner, dict):
        found = inner.get("request-id") or inner.get("requestId")
        request_id = str(found) if found else None
    return GraphError(status, str(error.get("code") or ""), str(error.get("message") or reason), request_id, False)


def _decode(response: requests.Response) -> Any:
    try:
        return json.loads(response.text) if response.text else None
    except ValueError:
        return None


ErrorFactory = Callable[[GraphError, float | None, dict[str, Any]], ConnectorError]


def _plain(cls: type[ConnectorError], meaning: str) -> ErrorFactory:
    def make(error: GraphError, retry_after: float | None, evidence: dict[str, Any]) -> ConnectorError:
        return cls(f"{meaning}: {error.message}" if error.message else meaning, **evidence)

    return make


def _throttled(meaning: str) -> ErrorFactory:
    def make(error: GraphError, retry_after: float | None, evidence: dict[str, Any]) -> ConnectorError:
        return RateLimited(f"{meaning}: {error.message}", retry_after=retry_after, **evidence)

    return make


@dataclass(frozen=True)
class GraphRule:
    """One row of the table.

    It matches when the status is one of ``statuses`` (any when empty) and, if ``codes`` or
    ``message_contains`` is given, the code is listed or the message contains the text (case-insensitive).

    Attributes:
        name: What the row recognises (tests and docs list it).
        statuses: HTTP statuses.
        make: Builds the error from the parsed answer, its ``Retry-After`` and the evidence.
        codes: Graph ``error.code`` values.
        message_contains: Text of ``error.message``.
        needs_retry_after: Match only answers that carry ``Retry-After``.
        html: Match only HTML bodies.
    """

    name: str
    statuses: frozenset[int]
    make: ErrorFactory
    codes: frozenset[str] = frozenset()
    message_contains: str | None = None
    needs_retry_after: bool = False
    html: bool = False

    def matches(self, error: GraphError, retry_after: float | None) -> bool:
        """Whether this row applies."""
        if self.statuses and error.status not in self.statuses:
            return False
        if self.html and not error.is_html:
            return False
        if self.needs_retry_after and retry_after is None:
            return False
        if not self.codes and self.message_contains is None:
            return True
        if error.code in self.codes:
            return True
        return self.message_contains is not None and self.message_contains.lower() in error.message.lower()


def _s(*statuses: int) -> frozenset[int]:
    return frozenset(statuses)


def _c(*codes: str) -> frozenset[str]:
    return frozenset(codes)


RULES: tuple[GraphRule, ...] = (
    GraphRule("HTML page instead of Graph", frozenset(range(400, 500)) - {429},
              _plain(MalformedResponse, "an HTML page answered instead of Graph"), html=True),
    GraphRule("mailbox concurrency (4 requests per mailbox)", _s(429, 503),
              _throttled("too many concurrent requests to this mailbox"), message_contains="MailboxConcurrency"),
    GraphRule("throttled", _s(429), _throttled("Graph throttled the call"),
              codes=_c("TooManyRequests", "ApplicationThrottled", "activityLimitReached")),
    GraphRule("throttled (any 429)", _s(429), _throttled("Graph throttled the call")),
    GraphRule("unavailable with Retry-After", _s(503, 504), _throttled("Graph asked to back off"),
              needs_retry_after=True),
    GraphRule("concurrent save of the item", _s(503, 409),
              _plain(TransientError, "Outlook was saving the item concurrently; it may have been saved"),
              codes=_c("ConcurrentItemSave")),
    GraphRule("stale changeKey", _s(409, 412),
              _plain(Conflict, "the event changed since it was read"), codes=_c("ErrorIrresolvableConflict")),
    GraphRule("precondition failed", _s(412), _plain(Conflict, "the event changed since it was read")),
    GraphRule("invalid or expired token", _s(401), _plain(AuthError, "Graph refused the access token")),
    GraphRule("unknown mailbox", _s(400, 404),
              _plain(ConfigurationError, "the organizer mailbox is not a user of this tenant"),
              codes=_c("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ErrorMailboxNotFound")),
    GraphRule("access denied", _s(403),
              _plain(PermissionDenied, "the application may not do this (permissions or access policy)"),
              codes=_c("ErrorAccessDenied", "Authorization_RequestDenied", "AccessDenied", "Forbidden")),
    GraphRule("forbidden", _s(403), _plain(PermissionDenied, "the application may not do this")),
    GraphRule("not found", _s(404, 410), _plain(NotFound, "the object does not exist"),
              codes=_c("ErrorItemNotFound", "ResourceNotFound", "itemNotFound", "ErrorItemNotFoundInStore")),
    GraphRule("malformed id", _s(400), _plain(InvalidRequest, "the id is not one Graph issues"),
              codes=_c("ErrorInvalidIdMalformed")),
    GraphRule("not found (any 404)", _s(404, 410), _plain(NotFound, "the object does not exist")),
    GraphRule("duplicate", _s(409), _plain(Conflict, "the object already exists or changed")),
    GraphRule("bad request", _s(400, 422), _plain(InvalidRequest, "Graph refused the request as invalid")),
    # 5xx without Retry-After are not listed: the core's default classifier makes them transient.
)
"""The classification table; first match wins."""


def classify_graph_response(response: requests.Response) -> ConnectorError | None:
    """Map a Graph answer to an SDK error, or ``None`` when it succeeded.

    Args:
        response: Any Graph answer.

    Returns:
        The error to raise, or ``None`` for a 2xx answer.
    """
    if response.status_code < 400:
        return None
    error = parse_graph_error(
        response.status_code, _decode(response), reason=str(response.reason or ""), html=is_html(response)
    )
    return classify_graph_error(error, response.headers.get("Retry-After"), response_evidence(response),
                                fallback=lambda: default_classifier(response))


def classify_graph_error(
    error: GraphError,
    retry_after_header: str | None,
    evidence: dict[str, Any],
    *,
    fallback: Callable[[], ConnectorError | None] | None = None,
) -> ConnectorError | None:
    """Apply :data:`RULES` to a parsed error (an HTTP answer, or one item of a ``$batch`` answer).

    Args:
        error: The parsed error.
        retry_after_header: Its ``Retry-After`` value, if any.
        evidence: Status, excerpt and request id for the error (the code is set here).
        fallback: What to answer when no rule matches (default: a transient error for a 5xx, else a generic one).
    """
    if error.status < 400:
        return None
    evidence = dict(evidence, provider=PROVIDER, code=error.code or evidence.get("code"))
    if error.request_id and not evidence.get("request_id"):
        evidence["request_id"] = error.request_id
    retry_after = parse_retry_after(retry_after_header)
    for rule in RULES:
        if rule.matches(error, retry_after):
            return rule.make(error, retry_after, evidence)
    found = fallback() if fallback is not None else None
    if found is None:
        kind = TransientError if error.status >= 500 else InvalidRequest
        found = kind(f"Graph answered HTTP {error.status}: {error.message}", **evidence)
    found.provider = PROVIDER
    found.code = evidence["code"]
    return found
