"""Read the evidence of a provider's answer: its error shape, code, excerpt, request id, waits and resets.

The classifier (:mod:`lms_connectors.http.classify`) and the transport build errors from these; adapters use
them to read what their provider says (``Retry-After``, an HTML page where JSON was expected...).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lms_connectors.errors import MalformedResponse
from lms_connectors.http.redaction import redact_text

if TYPE_CHECKING:
    import requests

__all__ = [
    "ErrorBody",
    "body_excerpt",
    "common_error_body",
    "is_html",
    "json_body",
    "json_payload",
    "parse_reset_at",
    "parse_retry_after",
    "provider_code",
    "response_evidence",
]

_EXCERPT_CHARS = 300


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

@dataclass(frozen=True)
class ErrorBody:
    """The provider's own error shape found in a body.

    Attributes:
        codes: Its codes, most specific first (Google's ``errors[].reason`` values, Zoom's numeric ``code``,
            Moodle's ``errorcode`` then exception class); the first one is the evidence's ``code``.
        message: The provider's message, shown after the rule's meaning.
    """

    codes: tuple[str | int, ...] = ()
    message: str = ""

    @property
    def code(self) -> str | int | None:
        """The first code, or None."""
        return self.codes[0] if self.codes else None


def _scalar(value: Any) -> str | int | None:
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def common_error_body(payload: Any) -> ErrorBody | None:
    """Read the common error shapes of a JSON body.

    Shapes: ``{"errorcode"|"error_code"|"code": ..., "message": ...}`` (Moodle, Zoom), ``{"error": {"code"|
    "status": ..., "message": ...}}`` (Graph, Google, Acme) and OAuth's ``{"error": "...", "error_description"}``.

    Args:
        payload: The decoded JSON body.

    Returns:
        The error found, or None when the body has none of these shapes.
    """
    if not isinstance(payload, dict):
        return None
    message = _scalar(payload.get("message")) or _scalar(payload.get("error_description")) or ""
    for key in ("errorcode", "error_code", "code"):
        code = _scalar(payload.get(key))
        if code is not None:
            return ErrorBody((code,), str(message))
    error = payload.get("error")
    if isinstance(error, str):
        return ErrorBody((error,), str(message))
    if isinstance(error, dict):
        inner = str(_scalar(error.get("message")) or message)
        code = _scalar(error.get("code"))
        code = code if code is not None else _scalar(error.get("status"))
        return ErrorBody((code,) if code is not None else (), inner)
    return ErrorBody((), str(message)) if message else None


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
    from email.utils import parsedate_to_datetime  # an HTTP date is rare here; email.utils is costly to import

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
    found = common_error_body(json_payload(response))
    return found.code if found is not None else None


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


def parse_reset_at(value: str | None, now: datetime) -> datetime | None:
    """Read when a quota resets from a header: an ISO 8601 date-time, an HTTP date, or seconds from ``now``.

    Returns:
        The aware UTC instant, or None when absent or unreadable.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return now + timedelta(seconds=max(0.0, float(text)))
    except (ValueError, OverflowError):
        pass
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime  # an HTTP date is rare here; email.utils is costly to import

        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:  # providers keep their quota clocks in UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def json_payload(response: requests.Response) -> Any:
    """The decoded JSON body, or None when it is empty or not JSON."""
    try:
        return json.loads(response.content) if response.content.strip() else None
    except (ValueError, UnicodeDecodeError):
        return None
