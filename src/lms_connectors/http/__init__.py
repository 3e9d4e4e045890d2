"""The HTTP layer every adapter uses: one transport with auth, retries, rate limiting, pagination and redaction.

Typical use in an adapter::

    class AcmeAdapter(Adapter):            # the base Adapter applies the config's TransportSettings
        def setup(self) -> None:
            self.auth = ClientCredentialsAuth(self.token_transport(self.config.token_url), client_id=..., ...)
            self.api_transport(auth=self.auth, classifier=acme_classifier)

    session = adapter.transport.request_json("GET", f"sessions/{session_id}")
"""

from lms_connectors.http.answers import AnswerShape, JsonPage
from lms_connectors.http.auth import (
    Auth,
    BasicAuth,
    BearerTokenAuth,
    ClientCredentialsAuth,
    JwtBearerAuth,
    OAuthTokenAuth,
    RefreshTokenAuth,
    StaticTokenAuth,
    oauth_token_classifier,
)
from lms_connectors.http.budget import LeakyBucketObserver
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
    paginate_json_by_token,
)
from lms_connectors.http.ratelimit import RateLimiter
from lms_connectors.http.redaction import REDACTED, SENSITIVE_KEYS, redact_mapping, redact_text, redact_url
from lms_connectors.http.retry import RetryPolicy, failed_before_sending, should_retry
from lms_connectors.http.settings import OAuthClientSettings, TransportRuntime, TransportSettings, build_transport
from lms_connectors.http.transport import CallCounter, CallEvent, HttpTransport, api_path

__all__ = [
    "api_path",
    "AnswerShape",
    "JsonPage",
    "REDACTED",
    "SENSITIVE_KEYS",
    "Auth",
    "BasicAuth",
    "BearerTokenAuth",
    "CallCounter",
    "CallEvent",
    "ClientCredentialsAuth",
    "GatewayErrorPage",
    "HttpTransport",
    "JwtBearerAuth",
    "LeakyBucketObserver",
    "LoopGuard",
    "OAuthTokenAuth",
    "RateLimiter",
    "RefreshTokenAuth",
    "RetryPolicy",
    "StaticTokenAuth",
    "TransportRuntime",
    "OAuthClientSettings",
    "TransportSettings",
    "body_excerpt",
    "build_transport",
    "default_classifier",
    "failed_before_sending",
    "is_html",
    "json_body",
    "oauth_token_classifier",
    "paginate_by_link_header",
    "paginate_by_next_url",
    "paginate_by_offset",
    "paginate_by_token",
    "paginate_json_by_token",
    "parse_retry_after",
    "provider_code",
    "redact_mapping",
    "redact_text",
    "redact_url",
    "response_evidence",
    "should_retry",
]
