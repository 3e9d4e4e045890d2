"""Classify Google's error answers into the SDK's error tree: a table of rows before the core's.

Google answers errors with a JSON body of this shape (Calendar v3, Admin SDK Directory)::

    {"error": {"code": 403, "message": "Rate Limit Exceeded", "status": "PERMISSION_DENIED",
               "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "..."}]}}

The status code alone is not enough: a 403 is throttling (retry with backoff), a long-lived quota (do not
retry for hours) or a real permission problem, depending on ``errors[].reason``. The first row of
:data:`RULES` that matches decides; the core's rows (401, 404, 409, 429, 5xx...) come after them. The README
lists the table.
"""

from __future__ import annotations

from typing import Any

from lms_connectors.errors import CursorExpired, MalformedResponse, PermissionDenied, QuotaExceeded, RateLimited
from lms_connectors.http.classify import ErrorBody, ErrorRule, RuleClassifier, common_error_body

__all__ = ["RULES", "classify_google_response", "read_google_error"]

PROVIDER = "google_calendar"

RULES: tuple[ErrorRule, ...] = (
    # An HTML page on a 4xx means something other than the API answered (a wrong base URL, a proxy): reading
    # it as "not found" or "bad request" would mislead. 429 and 5xx keep their meaning whatever the body.
    ErrorRule(MalformedResponse, "a 4xx answered with an HTML page, not the API's JSON",
              status=frozenset(range(400, 500)) - {429}, body="html"),
    # Google seldom sends Retry-After on a 403 usageLimits; the transport then backs off exponentially.
    ErrorRule(RateLimited, "Google throttled the calls (403 usageLimits)", status={403},
              codes={"rateLimitExceeded", "userRateLimitExceeded"}),
    # "Calendar usage limits exceeded" can last hours and Google does not say until when: resets_at unknown. Google
    # answers usage limits with 403 or 429 (quota guide), so a quota reason decides whichever status carries it.
    ErrorRule(QuotaExceeded, "a Calendar usage limit is used up (quota); retrying soon will not help",
              status={403, 429}, codes={"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"},
              message="Calendar usage limits exceeded"),
    ErrorRule(PermissionDenied, "the credentials are not allowed to do this", status={403}),
    # An expired sync token: the feed starts over with a full read (a 410 on a deleted event stays NotFound).
    ErrorRule(CursorExpired, "the sync token is no longer valid: a full sync is required", status={410},
              codes={"fullSyncRequired"}),
)
"""Google's rows, first match wins."""


def read_google_error(payload: Any) -> ErrorBody | None:
    """Read Google's error shape: the codes are every ``error.errors[].reason``, else ``error.code``."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return common_error_body(payload)
    reasons = tuple(
        str(item["reason"]) for item in error.get("errors") or () if isinstance(item, dict) and item.get("reason")
    )
    code = error.get("code")
    codes: tuple[str | int, ...] = reasons or ((code,) if isinstance(code, int | str) else ())
    return ErrorBody(codes, str(error.get("message") or ""))


classify_google_response = RuleClassifier(RULES, provider=PROVIDER, read_body=read_google_error)
"""The transport's classifier for the Calendar and Directory APIs."""
