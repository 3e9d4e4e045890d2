"""The HTTP layer every adapter uses: one transport with auth, retries, rate limiting, pagination and redaction.

Typical use in an adapter::

    transport = HttpTransport(
        provider="zoom",
        base_url="https://api.zoom.us/v2",
        auth=BearerTokenAuth(fetch_token),
        classifier=zoom_classifier,          # falls back to default_classifier
        rate_limiter=RateLimiter(rate=10, burst=10),
    )
    meeting = transport.request_json("GET", f"meetings/{meeting_id}")
"""

from lms_connectors.http.auth import Auth, BearerTokenAuth, StaticTokenAuth
from lms_connectors.http.classify import (
    GatewayErrorPage,
    body_excerpt,
    default_classifier,
    is_html,
    json_body,
    parse_retry_after,
    provider_code,
    response_evidence,
)
from lms_connectors.http.pagination import (
    LoopGuard,
    paginate_by_link_header,
    paginate_by_next_url,
    paginate_by_offset,
    paginate_by_token,
)
from lms_connectors.http.ratelimit import RateLimiter
from lms_connectors.http.redaction import REDACTED, SENSITIVE_KEYS, redact_mapping, redact_text, redact_url
from lms_connectors.http.retry import RetryPolicy, failed_before_sending, should_retry
from lms_connectors.http.transport import CallCounter, CallEvent, HttpTransport

__all__ = [
    "REDACTED",
    "SENSITIVE_KEYS",
    "Auth",
    "BearerTokenAuth",
    "CallCounter",
    "CallEvent",
    "GatewayErrorPage",
    "HttpTransport",
    "LoopGuard",
    "RateLimiter",
    "RetryPolicy",
    "StaticTokenAuth",
    "body_excerpt",
    "default_classifier",
    "failed_before_sending",
    "is_html",
    "json_body",
    "paginate_by_link_header",
    "paginate_by_next_url",
    "paginate_by_offset",
    "paginate_by_token",
    "parse_retry_after",
    "provider_code",
    "redact_mapping",
    "redact_text",
    "redact_url",
    "response_evidence",
    "should_retry",
]
