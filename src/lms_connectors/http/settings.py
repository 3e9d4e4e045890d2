"""Transport settings every adapter configuration carries, and the one way an adapter's transports are built.

:class:`TransportSettings` is the part of an adapter's configuration that says how to reach the provider (base URL,
timeouts, attempts, total time bound, proactive rate): every adapter's config model extends it, so these fields
have the same names, defaults and validation everywhere. :class:`TransportRuntime` is what the caller gives at run
time (the HTTP session, how to sleep, the clock, call hooks). :func:`build_transport` combines both into an
:class:`~lms_connectors.http.transport.HttpTransport`; the base :class:`~lms_connectors.adapter.Adapter` calls it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from lms_connectors.errors import ConnectorError
from lms_connectors.http.auth import Auth
from lms_connectors.http.classify import default_classifier
from lms_connectors.http.ratelimit import RateLimiter
from lms_connectors.http.retry import RetryPolicy
from lms_connectors.http.transport import CallEvent, HttpTransport, new_session

if TYPE_CHECKING:
    import requests

__all__ = ["OAuthClientSettings", "TransportRuntime", "TransportSettings", "build_transport", "rate_limiter_for"]


class TransportSettings(BaseModel):
    """How an adapter reaches its provider; the base of every adapter's configuration model.

    An adapter's config extends it (``class ZoomConfig(TransportSettings)``) and usually redeclares only
    ``base_url`` with the provider's real API root as default.

    Attributes:
        base_url: API root (``https://api.zoom.us/v2``); changed to point at a simulator or a private deployment.
        timeout: ``(connect, read)`` seconds of each HTTP request.
        max_attempts: Attempts per call, the first included (retries follow the transport's rules).
        total_timeout: Upper bound, in seconds, of one call including its retries and waits.
        requests_per_second: Proactive limit of this adapter's API calls (a token bucket); ``None`` relies on the
            provider's 429 and ``Retry-After`` alone.
        burst: Calls that may go at once after a quiet spell (the bucket's size).
        adaptive_rate: Slow the proactive rate down on throttling answers and let it climb back (see
            :class:`~lms_connectors.http.ratelimit.RateLimiter`); off, the rate stays at ``requests_per_second``.
        rate_decrease: Factor the rate is multiplied by on a throttling answer.
        rate_recovery_seconds: Seconds without throttling for the rate to climb back by one cut.
    """

    # defer_build: an adapter's config class is built when a config is first made, not when the adapter is imported.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    base_url: str = Field(min_length=1)
    timeout: tuple[float, float] = (5.0, 30.0)
    max_attempts: int = Field(default=5, ge=1)
    total_timeout: float = Field(default=60.0, gt=0)
    requests_per_second: float | None = Field(default=None, gt=0)
    burst: int = Field(default=1, ge=1)
    adaptive_rate: bool = True
    rate_decrease: float = Field(default=0.9, gt=0, lt=1)
    rate_recovery_seconds: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an http(s) URL with a host, got {value!r}")
        return value

    @field_validator("timeout")
    @classmethod
    def _positive_timeouts(cls, value: tuple[float, float]) -> tuple[float, float]:
        if min(value) <= 0:
            raise ValueError("connect and read timeouts must be positive")
        return value

    @property
    def retry_policy(self) -> RetryPolicy:
        """The transport's retry policy for these settings."""
        return RetryPolicy(max_attempts=self.max_attempts, total_timeout=self.total_timeout)


class OAuthClientSettings(TransportSettings):
    """Transport settings of an API that takes tokens from an OAuth client's credentials.

    The fields an OAuth client has everywhere, declared once: the adapter's config extends this instead of
    :class:`TransportSettings` and :meth:`~lms_connectors.adapter.Adapter.client_credentials_auth` builds the flow
    from them.

    Attributes:
        client_id: The client id of the integration registered at the provider.
        client_secret: Its secret (kept out of logs and reprs).
        token_url: The token endpoint; :attr:`token_path` under ``base_url`` when unset.
    """

    token_path: ClassVar[str] = "oauth/token"  # noqa: S105 - an endpoint, not a secret
    """Where the provider serves its token endpoint under ``base_url`` (a subclass says where its provider does)."""

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    token_url: str | None = None

    @property
    def resolved_token_url(self) -> str:
        """The token endpoint actually used."""
        return self.token_url or f"{self.base_url.rstrip('/')}/{self.token_path}"


@dataclass(frozen=True)
class TransportRuntime:
    """What the caller of an adapter decides at run time, shared by every transport of the adapter.

    Attributes:
        session: The ``requests.Session`` all the adapter's transports send through (one connection pool; the
            session a cassette recorder or a fault injector wraps).
        sleep: How transports wait between attempts and the rate limiter waits for a slot (tests inject one).
        clock: Monotonic clock of the total time bound and the rate limiter.
        hooks: Called with a :class:`~lms_connectors.http.transport.CallEvent` after every attempt.
    """

    session: requests.Session = field(default_factory=new_session)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    hooks: Sequence[Callable[[CallEvent], None]] = ()


def build_transport(
    settings: TransportSettings,
    runtime: TransportRuntime,
    *,
    provider: str,
    auth: Auth | None = None,
    classifier: Callable[[requests.Response], ConnectorError | None] = default_classifier,
    base_url: str | None = None,
    rate_limiter: RateLimiter | None = None,
    extra_secrets: Sequence[str] = (),
    response_observers: Sequence[Callable[[requests.Response], None]] = (),
) -> HttpTransport:
    """Build one transport from an adapter's settings and the runtime options.

    Args:
        settings: Timeouts, attempts and the time bound (and the base URL unless ``base_url`` is given).
        runtime: Session, sleep, clock and hooks.
        provider: Adapter name, written into errors, events and logs.
        auth: Credentials applied to every request.
        classifier: The provider's error table.
        base_url: Another root than ``settings.base_url`` (a token endpoint, a second API of the provider).
        rate_limiter: Limiter acquired before every attempt (share one between transports of one quota).
        extra_secrets: Secret values that do not come from ``auth``, to redact.
        response_observers: Read every answer before it is classified (rate-limit headers).
    """
    return HttpTransport(
        provider=provider,
        base_url=base_url if base_url is not None else settings.base_url,
        auth=auth,
        classifier=classifier,
        retry=settings.retry_policy,
        rate_limiter=rate_limiter,
        timeout=settings.timeout,
        session=runtime.session,
        hooks=runtime.hooks,
        sleep=runtime.sleep,
        clock=runtime.clock,
        extra_secrets=extra_secrets,
        response_observers=response_observers,
    )


def rate_limiter_for(settings: TransportSettings, runtime: TransportRuntime) -> RateLimiter | None:
    """The proactive limiter the settings ask for (``None`` when ``requests_per_second`` is unset)."""
    if settings.requests_per_second is None:
        return None
    return RateLimiter(
        settings.requests_per_second,
        settings.burst,
        clock=runtime.clock,
        sleep=runtime.sleep,
        adaptive=settings.adaptive_rate,
        decrease=settings.rate_decrease,
        recovery_seconds=settings.rate_recovery_seconds,
    )
