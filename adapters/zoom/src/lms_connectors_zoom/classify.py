"""Zoom's error answers mapped into the SDK's error tree: a table of rows before the core's.

Zoom answers errors as ``{"code": <int>, "message": "..."}`` with an HTTP status. The provider code decides the
type where it is known (3001 meeting not found, 124 invalid token, 3043 meeting full...); anything else falls
back to the core's rows (status based). The README lists the table.

Two answers need more than a code:

* **Daily limit.** Zoom caps meeting create/update calls per host per day (100) and answers a 429 with
  ``X-RateLimit-Type: Daily-limit`` (or a message about the "daily rate limit") and a ``Retry-After`` that is a
  date-time. Waiting that out is not a retry but a quota: it becomes :class:`QuotaExceeded` with ``resets_at``
  (the next 00:00 UTC when Zoom gave no usable date). The per-second 429 stays a :class:`RateLimited`, which the
  transport waits out.
* **Daily limit without its headers.** Zoom has been seen answering the daily limit with neither
  ``X-RateLimit-Type`` nor ``Retry-After``: the message alone ("daily rate limit") then makes it a quota, which
  resets at the next 00:00 UTC. A per-second 429 documents no ``Retry-After``: the transport backs off
  exponentially, within its attempts and time bound.
* **Repeated registration.** Registering the same email on a meeting more than a few times answers code 3000
  "You have reached the limit for the number of attendees you can add"; 3000 otherwise means "cannot access",
  so the message decides: :class:`RegistrationRepeatLimit`, which the adapter resolves by reading the existing
  registration back.
* **Registration not enabled.** Adding a registrant to a meeting whose ``approval_type`` is 2 answers
  "Registration has not been enabled for this meeting"; it is recognised by its message, whatever the code,
  because Zoom's code for it is not documented.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from lms_connectors.errors import (
    AuthError,
    CapacityFull,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
)
from lms_connectors.http.auth import oauth_token_classifier
from lms_connectors.http.classify import ErrorRule, RuleClassifier, parse_reset_at
from lms_connectors.models import utc_now

if TYPE_CHECKING:
    import requests

__all__ = [
    "RULES",
    "TOKEN_ENDPOINT_RULES",
    "RegistrationNotEnabled",
    "RegistrationRepeatLimit",
    "ZoomClassifier",
    "next_utc_midnight",
    "parse_reset_time",
    "token_endpoint_classifier",
    "zoom_classifier",
]


class RegistrationNotEnabled(InvalidRequest):
    """The meeting takes no registrants (``approval_type`` 2): it has no roster to add people to."""


class RegistrationRepeatLimit(Conflict):
    """Zoom refuses to register an email again: it was registered on this meeting several times already (3000)."""


RULES: tuple[ErrorRule, ...] = (
    ErrorRule(QuotaExceeded, "Zoom's daily limit of meeting create/update calls for this host is used up",
              status={429}, header=("X-RateLimit-Type", r"^daily-limit$"), message="daily rate limit"),
    ErrorRule(RegistrationNotEnabled,
              "the Zoom meeting does not take registrants (approval_type 2); enable registration to keep a roster",
              message="registration has not been enabled"),
    ErrorRule(RegistrationRepeatLimit,
              "Zoom refuses to register this email on the meeting again (registered several times already)",
              message="limit for the number of attendees you can add"),
    ErrorRule(AuthError, "Zoom refused the access token (invalid or expired)", codes={124}, refresh=True),
    ErrorRule(InvalidRequest, "Zoom refused the request as invalid", codes={300}),
    ErrorRule(NotFound, "the Zoom user does not exist (or is not in this account)", codes={1001}),
    ErrorRule(PermissionDenied, "Zoom refused access to the meeting", codes={3000}),
    ErrorRule(NotFound, "the Zoom meeting does not exist", codes={3001}),
    ErrorRule(PermissionDenied, "the user is not the meeting's host", codes={3003}),
    ErrorRule(InvalidRequest, "the meeting's host cannot register for it", codes={3027}),
    ErrorRule(CapacityFull, "the Zoom meeting has reached its maximum attendee capacity", codes={3043}),
    ErrorRule(PermissionDenied, "the host is not allowed to schedule meetings", codes={3161}),
)
"""Zoom's rows, first match wins; codes not listed fall back to the status."""

TOKEN_ENDPOINT_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(AuthError, "Zoom refused the app's credentials (account_id, client_id, client_secret)",
              status=frozenset(range(400, 500)) - {429}),
)
"""The token endpoint's row: every refusal (400 ``invalid_client``, 401) is an AuthError; 429 and 5xx are not."""


def next_utc_midnight(now: datetime) -> datetime:
    """The next 00:00 UTC after ``now`` (when Zoom's daily limits reset)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


parse_reset_time = parse_reset_at
"""Read a daily limit's ``Retry-After``: an ISO 8601 date-time (Zoom's form), an HTTP date, or seconds."""


def _daily_reset(response: requests.Response, now: datetime) -> datetime:
    # Zoom's limits are kept in UTC ("resume at GMT 00:00:00"); without a usable date, the next midnight.
    return parse_reset_at(response.headers.get("Retry-After"), now) or next_utc_midnight(now)


class ZoomClassifier(RuleClassifier):
    """Classify Zoom answers with :data:`RULES` (a callable for the transport).

    Args:
        now: The current time, for the default reset of a daily limit (injected by tests).
    """

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        super().__init__(RULES, quota_reset=_daily_reset, now=now)


zoom_classifier = ZoomClassifier()
"""The classifier with the real clock."""

token_endpoint_classifier = oauth_token_classifier.with_rules(TOKEN_ENDPOINT_RULES)
"""The token endpoint's classifier."""
