"""The error tree every adapter maps its provider's failures into.

Callers catch these, never ``requests`` or provider-specific exceptions::

    ConnectorError
    ├── ConfigurationError        the SDK was set up wrong (unknown adapter, missing setting)
    ├── ValidationError           bad input rejected before any call (naive datetime, unknown zone, ...)
    ├── NotSupported              the adapter does not offer this capability
    ├── AuthError                 credentials missing, invalid or expired (after one refresh); carries the
    │                             provider's reason (an OAuth ``error: error_description``)
    ├── PermissionDenied          authenticated, but not allowed
    ├── NotFound                  the provider object does not exist (any more)
    │   └── CursorExpired         a change feed's cursor (sync token, delta link) is no longer accepted:
    │                             read everything again (Google's and Graph's 410)
    ├── Conflict                  the object exists already / version mismatch
    │   └── DoubleBooked          an instructor or the room is busy at the session's time (before any write)
    ├── CapacityFull              the session (or the provider object) has no free seat
    ├── InvalidRequest            the provider refused the request as malformed
    │   └── SessionCancelled      (lms_connectors.scheduler) the session is cancelled: no enrolment, no move
    ├── QuotaExceeded             a long-lived quota is used up (do not retry before ``resets_at``)
    ├── SchedulingFailed          a multi-provider step failed; says what was undone and what was left
    ├── ResponseLost              a request that cannot be repeated safely was sent and its answer never
    │                             came: the provider may have acted on it. NOT transient: look the object up
    │                             (the base ``Adapter`` does, by key) before sending it again
    ├── ProviderError             anything else the provider answered (status, code, body excerpt)
    │   └── MalformedResponse     the answer could not be understood (HTML error page, bad JSON)
    │       └── GatewayErrorPage  (lms_connectors.http.classify) a gateway's HTML page instead of the
    │                             API's answer; also a TransientError (the next attempt may pass)
    └── TransientError            the call may succeed later (5xx, connection lost before sending, timeout
        │                         of a repeatable call); retrying it never duplicates anything
        ├── GatewayErrorPage      (see above: both malformed and transient)
        └── RateLimited           throttled; ``retry_after`` seconds when the provider said so

A caller may retry every :class:`TransientError` as it is; a :class:`ResponseLost` must not be resent
before the object was looked up, which is why it is not a :class:`TransientError`.

Every error carries the evidence that explains it (provider, status, provider code, a short, redacted
excerpt of the body, the request id) so that a log line is enough to act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "AuthError",
    "CapacityFull",
    "ConfigurationError",
    "Clash",
    "Conflict",
    "ConnectorError",
    "CursorExpired",
    "DoubleBooked",
    "InvalidRequest",
    "LedgerUnavailable",
    "MalformedResponse",
    "NotFound",
    "NotSupported",
    "PermissionDenied",
    "ProviderError",
    "QuotaExceeded",
    "RateLimited",
    "ResponseLost",
    "SchedulingFailed",
    "TransientError",
    "ValidationError",
]

_EXCERPT_LIMIT = 300


class ConnectorError(Exception):
    """Base of every error raised by lms-connectors.

    Attributes:
        message: Human-readable explanation.
        provider: Adapter name the error comes from, when it comes from one.
        status: HTTP status code of the provider's answer, if any.
        code: The provider's own error code (``"invalidtoken"``, ``3001``, ``"rateLimitExceeded"``...).
        body_excerpt: The first characters of the answer, already redacted.
        request_id: The provider's request id header, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        code: str | int | None = None,
        body_excerpt: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.code = code
        self.body_excerpt = body_excerpt[:_EXCERPT_LIMIT] if body_excerpt else body_excerpt
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        evidence = [
            f"{name}={value!r}"
            for name, value in (
                ("provider", self.provider),
                ("status", self.status),
                ("code", self.code),
                ("request_id", self.request_id),
            )
            if value is not None
        ]
        if evidence:
            parts.append("(" + ", ".join(evidence) + ")")
        return " ".join(parts)

    def evidence(self) -> dict[str, Any]:
        """Return the structured evidence of this error, e.g. for a log record."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "provider": self.provider,
            "status": self.status,
            "code": self.code,
            "body_excerpt": self.body_excerpt,
            "request_id": self.request_id,
        }


class ConfigurationError(ConnectorError):
    """The SDK was configured wrongly (unknown adapter name, missing setting, bad credentials file)."""


class ValidationError(ConnectorError, ValueError):
    """Input was rejected before any provider was called (naive datetime, unknown zone, end before start).

    Attributes:
        field: Where the bad value is, as a dotted path (``"slot.timezone"``, ``"id"``), when one field is to
            blame; ``None`` otherwise.
    """

    def __init__(self, message: str, *, field: str | None = None, **evidence: Any) -> None:
        super().__init__(message, **evidence)
        self.field = field

    def evidence(self) -> dict[str, Any]:
        """The structured evidence, with the field to blame."""
        return {**super().evidence(), "field": self.field}


class NotSupported(ConnectorError):
    """The adapter does not offer a capability.

    Attributes:
        capability: The capability that was asked for.
    """

    def __init__(self, message: str, *, capability: str, provider: str | None = None) -> None:
        super().__init__(message, provider=provider)
        self.capability = capability


class AuthError(ConnectorError):
    """Credentials are missing, invalid, or still refused after one refresh."""


class PermissionDenied(ConnectorError):
    """The credentials are valid but not allowed to do this."""


class NotFound(ConnectorError):
    """The provider object does not exist, or no longer exists."""


class CursorExpired(NotFound):
    """A change feed's cursor (a sync token, a delta link) is no longer accepted: a full read starts it again."""


class Conflict(ConnectorError):
    """The object already exists, or it changed since it was read (version mismatch)."""


@dataclass(frozen=True)
class Clash:
    """One double booking: who or what is busy, when, and with what.

    Attributes:
        resource: The person's email (an instructor) or the room (``room:<email or id>``).
        start: Start of the overlap (aware).
        end: End of the overlap (aware).
        session_id: The other session of this ledger holding the resource then, when it is one.
        provider: The provider whose free/busy says the resource is busy, when the clash comes from there.
    """

    resource: str
    start: datetime
    end: datetime
    session_id: str | None = None
    provider: str | None = None

    def describe(self) -> str:
        """One line: ``priya@example.org is busy 2027-03-16T09:00-05:00 to ...: session 'x'``."""
        holder = f"session {self.session_id!r}" if self.session_id else f"busy in {self.provider}"
        return f"{self.resource} is busy {self.start.isoformat()} to {self.end.isoformat()} ({holder})"


class DoubleBooked(Conflict):
    """A create or reschedule would double-book an instructor or the room; nothing was sent to any provider.

    Attributes:
        session_id: The session that was refused.
        clashes: Every clash found, each naming the resource, the overlap and what holds it.
    """

    def __init__(self, session_id: str, clashes: Sequence[Clash]) -> None:
        lines = "; ".join(clash.describe() for clash in clashes)
        super().__init__(
            f"session {session_id!r} would double-book: {lines} (pass allow_conflicts=True to book anyway)",
            code="doubleBooked",
        )
        self.session_id = session_id
        self.clashes = tuple(clashes)


class CapacityFull(ConnectorError):
    """No free seat: the session's capacity (or the provider's own limit) is reached."""


class InvalidRequest(ConnectorError):
    """The provider refused the request as malformed or invalid."""


class QuotaExceeded(ConnectorError):
    """A long-lived quota is exhausted; retrying before ``resets_at`` is pointless.

    Attributes:
        resets_at: When the provider said the quota resets, if it said.
    """

    def __init__(self, message: str, *, resets_at: datetime | None = None, **evidence: Any) -> None:
        super().__init__(message, **evidence)
        self.resets_at = resets_at


class ProviderError(ConnectorError):
    """The provider answered with an error the SDK has no more precise type for."""


class MalformedResponse(ProviderError):
    """The provider's answer could not be understood (HTML error page, invalid JSON, missing fields).

    Attributes:
        endpoint: The call whose answer it was (``"get meeting (GET /meetings/{id})"``), when known.
        field: Where in the answer the unexpected value is, as a dotted path (``"registrants.0.email"``;
            ``""`` for the answer as a whole), when the answer was valid JSON of another shape.
    """

    def __init__(
        self, message: str, *, endpoint: str | None = None, field: str | None = None, **evidence: Any
    ) -> None:
        super().__init__(message, **evidence)
        self.endpoint = endpoint
        self.field = field

    def evidence(self) -> dict[str, Any]:
        """The structured evidence, with the endpoint and the field when known."""
        found = super().evidence()
        if self.endpoint is not None:
            found["endpoint"] = self.endpoint
        if self.field is not None:
            found["field"] = self.field
        return found


class TransientError(ConnectorError):
    """The call failed in a way that may succeed later (5xx, connection lost, timeout)."""


class RateLimited(TransientError):
    """The provider throttled the call.

    Attributes:
        retry_after: Seconds the provider asked to wait, if it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **evidence: Any) -> None:
        super().__init__(message, **evidence)
        self.retry_after = retry_after


class LedgerUnavailable(TransientError):
    """The ledger's database could not be reached, or a session lock was not granted in time; retry later."""


class ResponseLost(ConnectorError):
    """A request that cannot be safely repeated was sent, and its answer was lost.

    The provider may have committed it. The transport never resends such a request by itself; the base
    :class:`~lms_connectors.adapter.Adapter` looks the object up by its key before creating again. It is
    deliberately not a :class:`TransientError`: a caller that retries every transient failure must not
    resend a create that may have been made.
    """


class SchedulingFailed(ConnectorError):
    """A step of a multi-provider operation failed; earlier steps were compensated.

    Attributes:
        step: The adapter whose call failed.
        cause: The error it raised.
        compensated: Adapters whose objects were undone.
        leftovers: Adapters whose undo failed too; their refs stay in the ledger for a later retry.
    """

    def __init__(
        self,
        message: str,
        *,
        step: str,
        cause: ConnectorError,
        compensated: list[str] | None = None,
        leftovers: list[str] | None = None,
    ) -> None:
        super().__init__(message, provider=step, status=cause.status, code=cause.code)
        self.step = step
        self.cause = cause
        self.compensated = compensated or []
        self.leftovers = leftovers or []
