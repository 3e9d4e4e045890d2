"""Turn a provider's HTTP answer into the SDK's error tree.

:func:`default_classifier` is a table of rules keyed on the status code. Adapters write their own classifier
for the shapes their provider uses (Moodle's errors in a 200 body, Google's 403 ``rateLimitExceeded``, Canvas'
401 without a ``WWW-Authenticate`` challenge, ...) and fall back to this one for everything else.

Every error built here carries its evidence (status, provider code, redacted body excerpt, request id); the
transport adds the provider name and redacts the secrets it knows about.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
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
    ProviderError,
    RateLimited,
    TransientError,
)
from lms_connectors.http.redaction import redact_text

__all__ = [
    "CodeRule",
    "GatewayErrorPage",
    "body_excerpt",
    "default_classifier",
    "is_html",
    "json_body",
    "parse_retry_after",
    "provider_code",
    "response_evidence",
]

_EXCERPT_CHARS = 300


@dataclass(frozen=True)
class CodeRule:
    """One row of a provider's error table: a provider error code becomes this error type of the tree.

    Providers that name their errors by code (Moodle's ``errorcode``, Zoom's numeric ``code``) keep a dict of
    these; the status alone would say too little (Moodle answers every error with HTTP 200).

    Attributes:
        error: The error type to raise.
        meaning: What the code means, in words a reader of the log can act on.
    """

    error: type[ConnectorError]
    meaning: str

    def build(self, detail: str | None = None, **evidence: Any) -> ConnectorError:
        """The error, its message being the meaning followed by the provider's own ``detail``."""
        return self.error(f"{self.meaning}: {detail}" if detail else self.meaning, **evidence)

# Headers in which providers (or their gateways) name the request, most specific first.
_REQUEST_ID_HEADERS = (
    "request-id",
    "x-request-id",
    "x-ms-request-id",
    "client-request-id",
    "x-zm-trackingid",
    "x-request-context-id",
    "x-amzn-requestid",
    "x-cloud-trace-context",
)

_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})

# status codes -> (error type, message). 429 and the 5xx family are handled by dedicated rules below because
# they carry more than a status (Retry-After, an HTML page from a gateway).
_STATUS_RULES: dict[int, tuple[type[ConnectorError], str]] = {
    400: (InvalidRequest, "the provider refused the request as invalid"),
    422: (InvalidRequest, "the provider refused the request as invalid"),
    401: (AuthError, "the provider refused the credentials"),
    403: (PermissionDenied, "the credentials are not allowed to do this"),
    404: (NotFound, "the provider object does not exist"),
    410: (NotFound, "the provider object no longer exists"),
    409: (Conflict, "the provider object already exists or changed"),
    412: (Conflict, "the provider object changed since it was read"),
}


class GatewayErrorPage(MalformedResponse, TransientError):
    """A gateway or proxy answered with an HTML error page (502/503/504 ...) instead of the provider's API.

    It is a :class:`~lms_connectors.errors.MalformedResponse` (the answer is not the API's) and a
    :class:`~lms_connectors.errors.TransientError` (the gateway may let the next call through), so the
    transport retries it like any 5xx.
    """


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header, given either as seconds or as an HTTP date.

    Args:
        value: The header value, or None when it is absent.
        now: The current time for the HTTP-date form (defaults to the current UTC time).

    Returns:
        Seconds to wait (never negative), or None when the header is absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # NaN and infinities are not waits a server can mean.
        return max(0.0, seconds) if seconds == seconds and seconds not in (float("inf"), float("-inf")) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a date without a zone is read as UTC
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def is_html(response: requests.Response) -> bool:
    """Tell whether an answer is an HTML page (by its content type, or by its first characters)."""
    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type:
        return True
    head = response.content[:64].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def body_excerpt(response: requests.Response, secrets: Iterable[str] = ()) -> str:
    """Return the first characters of an answer's body, whitespace collapsed and secrets redacted.

    Args:
        response: The provider's answer.
        secrets: Known secret values to redact, on top of the values of sensitive keys.

    Returns:
        At most 300 characters.
    """
    try:
        text = response.text
    except (UnicodeError, LookupError):  # an unknown or lying charset
        text = response.content.decode("utf-8", errors="replace")
    collapsed = " ".join(text.split())
    # Redact before cutting, so that no secret is ever shown in part.
    return redact_text(collapsed, secrets)[:_EXCERPT_CHARS]


def provider_code(response: requests.Response) -> str | int | None:
    """Find the provider's own error code in a JSON body, for the common shapes.

    Shapes: ``{"errorcode": ...}`` (Moodle), ``{"code": ...}`` (Zoom), ``{"error": {"code": ...}}`` (Graph,
    Google), ``{"error": "invalid_grant"}`` (OAuth).

    Returns:
        The code, or None when the body is not JSON or has none.
    """
    try:
        payload = response.json()
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    for key in ("errorcode", "error_code", "code"):
        value = payload.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
    error = payload.get("error")
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        for key in ("code", "status"):
            value = error.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return value
    return None


def response_evidence(response: requests.Response, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """Collect the evidence an error carries from an answer: status, provider code, body excerpt, request id.

    Adapters' classifiers pass it on as keyword arguments: ``NotFound("...", **response_evidence(response))``.
    """
    request_id = next(
        (response.headers[name] for name in _REQUEST_ID_HEADERS if response.headers.get(name)),
        None,
    )
    return {
        "status": response.status_code,
        "code": provider_code(response),
        "body_excerpt": body_excerpt(response, secrets),
        "request_id": request_id,
    }


def default_classifier(response: requests.Response) -> ConnectorError | None:
    """Map an answer to an error by its status code, or to None when it is a success (2xx).

    Rules: 401 AuthError; 403 PermissionDenied; 404/410 NotFound; 409/412 Conflict; 400/422 InvalidRequest;
    429 RateLimited (``retry_after`` from the header); 503 with ``Retry-After`` RateLimited too (the provider
    is asking to back off); 500/502/503/504 TransientError, or :class:`GatewayErrorPage` when the body is an
    HTML page; any other status ProviderError (MalformedResponse when the body is an HTML page).

    Args:
        response: The provider's answer.

    Returns:
        The error to raise, or None.
    """
    status = response.status_code
    if 200 <= status < 300:
        return None
    evidence = response_evidence(response)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429 or (status == 503 and retry_after is not None):
        return RateLimited("the provider throttled the call", retry_after=retry_after, **evidence)
    rule = _STATUS_RULES.get(status)
    if rule is not None:
        error_type, message = rule
        return error_type(message, **evidence)
    html = is_html(response)
    if status in _TRANSIENT_STATUSES:
        if html:
            return GatewayErrorPage(f"HTTP {status}: an HTML error page instead of the API's answer", **evidence)
        return TransientError(f"the provider failed with HTTP {status}", **evidence)
    if html:
        return MalformedResponse(f"HTTP {status}: an HTML page instead of the API's answer", **evidence)
    return ProviderError(f"the provider answered HTTP {status}", **evidence)


def json_body(response: requests.Response, secrets: Iterable[str] = ()) -> Any:
    """Parse a successful answer's JSON body.

    Args:
        response: The provider's answer.
        secrets: Known secret values to redact from the excerpt of an error.

    Returns:
        The decoded JSON value, or None for an empty body (204 No Content).

    Raises:
        MalformedResponse: The body is an HTML page, or not valid JSON.
    """
    if not response.content.strip():
        return None
    if is_html(response):
        raise MalformedResponse("an HTML page where JSON was expected", **response_evidence(response, secrets))
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        # The decoder's message says where the JSON broke; it holds no body text.
        raise MalformedResponse(
            f"invalid JSON in the answer ({exc.__class__.__name__}: {exc})", **response_evidence(response, secrets)
        ) from None
