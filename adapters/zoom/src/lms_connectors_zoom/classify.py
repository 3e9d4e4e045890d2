"""Zoom's error answers mapped into the SDK's error tree, by a table of rules.

Zoom answers errors as ``{"code": <int>, "message": "..."}`` with an HTTP status. The provider code decides the
type where it is known (3001 meeting not found, 124 invalid token, 3043 meeting full...); anything else falls
back to :func:`lms_connectors.http.classify.default_classifier` (status based).

Two answers need more than a code:

* **Daily limit.** Zoom caps meeting create/update calls per host per day (100) and answers a 429 with
  ``X-RateLimit-Type: Daily-limit`` (or a message about the "daily rate limit") and a ``Retry-After`` that is a
  date-time. Waiting that out is not a retry but a quota: it becomes :class:`QuotaExceeded` with ``resets_at``
  (the next 00:00 UTC when Zoom gave no usable date). The per-second 429 stays a :class:`RateLimited`, which the
  transport waits out.
* **Registration not enabled.** Adding a registrant to a meeting whose ``approval_type`` is 2 answers
  "Registration has not been enabled for this meeting"; it is recognised by its message, whatever the code,
  because Zoom's code for it is not documented.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from lms_connectors.errors import (
    AuthError,
    CapacityFull,
    ConnectorError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
)
from lms_connectors.http.classify import CodeRule, default_classifier, response_evidence
from lms_connectors.models import utc_now

__all__ = [
    "CODE_RULES",
    "RegistrationNotEnabled",
    "ZoomClassifier",
    "next_utc_midnight",
    "parse_reset_time",
    "zoom_classifier",
]


class RegistrationNotEnabled(InvalidRequest):
    """The meeting takes no registrants (``approval_type`` 2): it has no roster to add people to."""


CODE_RULES: dict[int, CodeRule] = {
    124: CodeRule(AuthError, "Zoom refused the access token (invalid or expired)"),
    300: CodeRule(InvalidRequest, "Zoom refused the request as invalid"),
    1001: CodeRule(NotFound, "the Zoom user does not exist (or is not in this account)"),
    3000: CodeRule(PermissionDenied, "Zoom refused access to the meeting"),
    3001: CodeRule(NotFound, "the Zoom meeting does not exist"),
    3003: CodeRule(PermissionDenied, "the user is not the meeting's host"),
    3027: CodeRule(InvalidRequest, "the meeting's host cannot register for it"),
    3043: CodeRule(CapacityFull, "the Zoom meeting has reached its maximum attendee capacity"),
    3161: CodeRule(PermissionDenied, "the host is not allowed to schedule meetings"),
}
"""The provider codes the adapter knows; others fall back to the status."""

_REGISTRATION_NOT_ENABLED = "registration has not been enabled"
_DAILY_LIMIT_TYPE = "daily-limit"
_DAILY_LIMIT_TEXT = "daily rate limit"


def next_utc_midnight(now: datetime) -> datetime:
    """The next 00:00 UTC after ``now`` (when Zoom's daily limits reset)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def parse_reset_time(value: str | None, now: datetime) -> datetime | None:
    """Read a daily limit's ``Retry-After``: an ISO 8601 date-time (Zoom's form), an HTTP date, or seconds.

    Returns:
        The aware UTC instant, or None when absent or unreadable.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return now + timedelta(seconds=max(0.0, float(text)))
    except ValueError:
        pass
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:  # Zoom's limits are kept in UTC ("resume at GMT 00:00:00")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _payload(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _int_code(payload: dict[str, Any]) -> int | None:
    code = payload.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return None


class ZoomClassifier:
    """Classify Zoom answers (a callable for :class:`~lms_connectors.http.transport.HttpTransport`).

    Args:
        now: The current time, for the default reset of a daily limit (injected by tests).
    """

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self._now = now

    def __call__(self, response: requests.Response) -> ConnectorError | None:
        """Return the error an answer means, or None for a success."""
        if response.status_code < 400:
            return None
        payload = _payload(response)
        message = str(payload.get("message") or "")
        evidence = response_evidence(response)
        if response.status_code == 429 and self._is_daily_limit(response, message):
            now = self._now()
            resets_at = parse_reset_time(response.headers.get("Retry-After"), now) or next_utc_midnight(now)
            return QuotaExceeded(
                f"Zoom's daily limit of meeting create/update calls for this host is used up; it resets at "
                f"{resets_at.isoformat()}" + (f": {message}" if message else ""),
                resets_at=resets_at,
                **evidence,
            )
        if _REGISTRATION_NOT_ENABLED in message.lower():
            return RegistrationNotEnabled(
                "the Zoom meeting does not take registrants (approval_type 2); enable registration to keep a roster"
                + f": {message}",
                **evidence,
            )
        code = _int_code(payload)
        rule = CODE_RULES.get(code) if code is not None else None
        if rule is not None:
            return rule.build(message, **evidence)
        return default_classifier(response)

    @staticmethod
    def _is_daily_limit(response: requests.Response, message: str) -> bool:
        limit_type = response.headers.get("X-RateLimit-Type", "").lower()
        return limit_type == _DAILY_LIMIT_TYPE or _DAILY_LIMIT_TEXT in message.lower()


zoom_classifier = ZoomClassifier()
"""The classifier with the real clock."""
