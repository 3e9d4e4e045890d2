"""Classify Google's error answers into the SDK's error tree, with a table of rules.

Google answers errors with a JSON body of this shape (Calendar v3, Admin SDK Directory)::

    {"error": {"code": 403, "message": "Rate Limit Exceeded", "status": "PERMISSION_DENIED",
               "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "..."}]}}

The status code alone is not enough: a 403 is throttling (retry with backoff), a long-lived quota (do not
retry for hours) or a real permission problem, depending on ``errors[].reason``. The first rule of
:data:`RULES` that matches decides; anything no rule matches falls back to the core's default classifier.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
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
    QuotaExceeded,
    RateLimited,
)
from lms_connectors.http.classify import default_classifier, is_html, parse_retry_after, response_evidence

__all__ = ["RULES", "GoogleError", "Rule", "classify_google_response", "parse_google_error"]

PROVIDER = "google_calendar"


@dataclass(frozen=True)
class GoogleError:
    """The parts of a Google error answer the rules look at.

    Attributes:
        status: HTTP status code.
        message: ``error.message`` (or the HTTP reason when the body is not Google's JSON).
        reasons: Every ``error.errors[].reason``.
        is_json: Whether the body was Google's JSON error shape.
        is_html: Whether the body is an HTML page (a front end or proxy answered, not the API).
    """

    status: int
    message: str
    reasons: tuple[str, ...]
    is_json: bool
    is_html: bool


def parse_google_error(response: requests.Response) -> GoogleError:
    """Extract status, message and reasons from a Google error answer, whatever its body."""
    text = response.text or ""
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        details = error.get("errors")
        reasons = tuple(
            str(item["reason"]) for item in details or () if isinstance(item, dict) and item.get("reason")
        )
        message = str(error.get("message") or response.reason or "")
        return GoogleError(response.status_code, message, reasons, is_json=True, is_html=False)
    return GoogleError(response.status_code, str(response.reason or ""), (), is_json=False, is_html=is_html(response))


ErrorFactory = Callable[[GoogleError, requests.Response, dict[str, Any]], ConnectorError]


@dataclass(frozen=True)
class Rule:
    """One row of the classification table.

    A rule matches when the status is one of ``statuses`` (any status when empty), and, if ``reasons`` or
    ``message_contains`` is given, when one of the reasons is listed or the message contains the text.

    Attributes:
        name: What the rule recognises (shown in tests and docs).
        statuses: HTTP statuses the rule applies to.
        reasons: ``errors[].reason`` values that select the rule.
        message_contains: Text of ``error.message`` that selects the rule (case-insensitive).
        html: Match only HTML bodies.
        make: Builds the error from the parsed answer, the response and the evidence.
    """

    name: str
    statuses: frozenset[int]
    make: ErrorFactory
    reasons: frozenset[str] = frozenset()
    message_contains: str | None = None
    html: bool = False

    def matches(self, error: GoogleError) -> bool:
        """Whether this rule applies to ``error``."""
        if self.statuses and error.status not in self.statuses:
            return False
        if self.html and not error.is_html:
            return False
        if not self.reasons and self.message_contains is None:
            return True
        if self.reasons and self.reasons.intersection(error.reasons):
            return True
        return self.message_contains is not None and self.message_contains.lower() in error.message.lower()


def _simple(cls: type[ConnectorError]) -> ErrorFactory:
    def make(error: GoogleError, response: requests.Response, evidence: dict[str, Any]) -> ConnectorError:
        return cls(error.message or f"HTTP {error.status}", **evidence)

    return make


def _rate_limited(error: GoogleError, response: requests.Response, evidence: dict[str, Any]) -> ConnectorError:
    # Google seldom sends Retry-After on a 403 usageLimits; the transport then backs off exponentially.
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return RateLimited(error.message or "rate limited", retry_after=retry_after, **evidence)


def _quota(error: GoogleError, response: requests.Response, evidence: dict[str, Any]) -> ConnectorError:
    # "Calendar usage limits exceeded" can last hours and Google does not say until when: resets_at unknown.
    return QuotaExceeded(error.message or "quota exceeded", resets_at=None, **evidence)


def _malformed(error: GoogleError, response: requests.Response, evidence: dict[str, Any]) -> ConnectorError:
    return MalformedResponse(f"HTTP {error.status} answered with an HTML page, not the API's JSON", **evidence)


_THROTTLE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"})

# An HTML page on a 4xx means something other than the API answered (a wrong base URL, a proxy): reading it
# as "not found" or "bad request" would mislead. Throttling (429) and 5xx keep their meaning whatever the body.
_HTML_STATUSES = frozenset(range(400, 500)) - {429}

RULES: tuple[Rule, ...] = (
    Rule("HTML error page", _HTML_STATUSES, _malformed, html=True),
    Rule("throttled (403 usageLimits)", frozenset({403}), _rate_limited, reasons=_THROTTLE_REASONS),
    Rule(
        "calendar usage limits (403 quota)",
        frozenset({403}),
        _quota,
        reasons=_QUOTA_REASONS,
        message_contains="Calendar usage limits exceeded",
    ),
    Rule("forbidden", frozenset({403}), _simple(PermissionDenied)),
    Rule("throttled (429)", frozenset({429}), _rate_limited),
    Rule("invalid or expired credentials", frozenset({401}), _simple(AuthError)),
    Rule("not found / deleted", frozenset({404, 410}), _simple(NotFound)),
    Rule("duplicate id / precondition failed", frozenset({409, 412}), _simple(Conflict)),
    Rule("bad request", frozenset({400}), _simple(InvalidRequest)),
    # 5xx are not listed: the core's default classifier makes them transient (retried).
)
"""The classification table, first match wins."""


def classify_google_response(response: requests.Response) -> ConnectorError | None:
    """Map a Google answer to an SDK error, or ``None`` when it succeeded.

    Args:
        response: Any answer of the Calendar or Directory API.

    Returns:
        The error to raise, or ``None`` for a 2xx answer.
    """
    if response.status_code < 400:
        return None
    error = parse_google_error(response)
    evidence = response_evidence(response)
    evidence["provider"] = PROVIDER
    if error.reasons:
        evidence["code"] = error.reasons[0]  # "rateLimitExceeded" says more than the numeric error.code
    for rule in RULES:
        if rule.matches(error):
            return rule.make(error, response, evidence)
    fallback = default_classifier(response)  # 5xx and unlisted statuses: transient or generic
    if fallback is not None:
        fallback.provider = PROVIDER
        fallback.code = evidence["code"]
    return fallback
