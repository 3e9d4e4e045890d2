"""Provider limits shared by every worker process and host, kept in Redis (``pip install 'lms-connectors[workers]'``).

An adapter's own :class:`~lms_connectors.http.ratelimit.RateLimiter` paces one process; N workers with one
each would send N times the provider's allowance and be throttled. The pieces here keep one allowance for all:

- :class:`RedisRateLimiter`: the token bucket of :class:`~lms_connectors.http.ratelimit.RateLimiter`, same
  interface (``acquire``, ``pause_until``, ``pause_for``), its state in Redis and its clock Redis's own ``TIME``,
  updated atomically by a Lua script; a pause one worker sets (after a 429) holds every worker.
- :class:`RedisConcurrencyLimiter`: at most N requests in flight per key (Graph's 4 per mailbox), each slot a
  lease that expires, so a worker killed while holding one does not keep it.
- :class:`RedisDailyQuota`: a count per key and UTC day (Zoom's 100 meeting creates per host and day); the call
  past the quota is refused before it is sent, as :class:`~lms_connectors.errors.QuotaExceeded`.
- :class:`RedisTokenCache`: the :class:`~lms_connectors.http.token_cache.TokenCache` protocol, so workers of one
  OAuth client share one token.
- :class:`SharedLimitsSession`: a ``requests.Session`` that applies :class:`LimitRule` rows to every request it
  sends. It is the ``session`` runtime option every adapter takes, so no adapter changes to be limited this way.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import requests

try:
    import redis
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("shared limits need Redis: pip install 'lms-connectors[workers]'") from exc

from lms_connectors.errors import QuotaExceeded
from lms_connectors.http.ratelimit import RateLimiter
from lms_connectors.http.token_cache import CachedToken

__all__ = [
    "PROVIDER_RULES",
    "LimitRule",
    "RedisConcurrencyLimiter",
    "RedisDailyQuota",
    "RedisRateLimiter",
    "RedisTokenCache",
    "SharedLimitsSession",
]

RedisClient = redis.Redis

# Reserve one token (the bucket may go negative: each caller books its own future slot, as RateLimiter does)
# and answer how long the caller must wait, pauses included. Times are Redis's, so every host agrees.
_ACQUIRE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'paused_until')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
local paused = tonumber(state[3]) or 0
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate) - 1
local wait = 0
if tokens < 0 then wait = -tokens / rate end
if paused - now > wait then wait = paused - now end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate + wait) + 60)
return tostring(wait)
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_t = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'paused_until')) or 0
if until_t > current then redis.call('HSET', KEYS[1], 'paused_until', tostring(until_t)) end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 60)
return 1
"""

# Take a slot if fewer than ARGV[1] unexpired leases are held; a lease is a member scored by its expiry.
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
    redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
    return 1
end
return 0
"""


class RedisRateLimiter(RateLimiter):
    """A token bucket shared through Redis by every process using the same ``key``.

    Args:
        client: The Redis connection.
        key: The bucket's key (one per provider quota: account, user, app).
        rate: Tokens added per second, for all processes together.
        burst: Bucket size.
        clock: Local monotonic clock, for :meth:`pause_until` (the bucket itself runs on Redis's clock).
        sleep: Sleep function (injected by tests).

    Raises:
        ValueError: ``rate`` is not positive or ``burst`` is below 1.
    """

    def __init__(
        self,
        client: RedisClient,
        key: str,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rate, burst, clock=clock, sleep=sleep)
        self.key = key
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)

    def acquire(self) -> float:
        """Take one token, sleeping until it is due (and until any pause is over).

        Returns:
            The seconds this call slept.
        """
        wait = float(self._acquire(keys=[self.key], args=[self.rate, self.burst]))
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def pause_until(self, monotonic_t: float) -> None:
        """Hold every caller, in every process, until the given instant of this process's clock."""
        self.pause_for(monotonic_t - self._clock())

    def pause_for(self, seconds: float) -> None:
        """Hold every caller, in every process, for ``seconds`` from now (never shortens a pause)."""
        if seconds > 0:
            self._pause(keys=[self.key], args=[seconds])


class RedisConcurrencyLimiter:
    """At most ``limit`` holders at once per key, across processes; slots are leases that expire.

    Args:
        client: The Redis connection.
        key: The limited resource's key (a mailbox of an app).
        limit: Holders at once.
        lease_seconds: How long a slot is held at most (a holder that died frees it after this).
        timeout: Seconds to wait for a slot before :class:`TimeoutError`.
        sleep: Sleep between tries (injected by tests).
    """

    def __init__(
        self,
        client: RedisClient,
        key: str,
        limit: int,
        *,
        lease_seconds: float = 120.0,
        timeout: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("a concurrency limiter lets at least one holder through")
        self.key = key
        self.limit = limit
        self._client = client
        self._lease = lease_seconds
        self._timeout = timeout
        self._sleep = sleep
        self._take = client.register_script(_TAKE_SLOT)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the duration of the block.

        Raises:
            TimeoutError: No slot freed up within ``timeout`` seconds.
        """
        lease = uuid.uuid4().hex
        deadline = time.monotonic() + self._timeout
        delay = 0.005
        while not int(self._take(keys=[self.key], args=[self.limit, self._lease, lease])):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no slot of {self.key} freed up within {self._timeout} s")
            self._sleep(delay)
            delay = min(0.1, delay * 2)
        try:
            yield
        finally:
            self._client.zrem(self.key, lease)

    def held(self) -> int:
        """Slots held now (expired leases excluded)."""
        return int(self._client.zcount(self.key, time.time(), "+inf"))


class RedisDailyQuota:
    """At most ``limit`` calls per key and UTC day, counted across processes.

    Args:
        client: The Redis connection.
        key: The quota's key (a Zoom host).
        limit: Calls per UTC day.
        now: Wall clock (injected by tests).
    """

    def __init__(
        self, client: RedisClient, key: str, limit: int, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.key = key
        self.limit = limit
        self._client = client
        self._now = now

    def take(self) -> int:
        """Count one call.

        Returns:
            The calls counted today, this one included.

        Raises:
            QuotaExceeded: Today's quota is spent (the call was not counted); ``resets_at`` is next midnight UTC.
        """
        today = self._now().astimezone(UTC)
        resets_at = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
        day_key = f"{self.key}:{today:%Y-%m-%d}"
        pipe = self._client.pipeline()
        pipe.incr(day_key)
        pipe.expireat(day_key, int(resets_at.timestamp()) + 3600)
        used = int(pipe.execute()[0])
        if used > self.limit:
            self._client.decr(day_key)
            raise QuotaExceeded(
                f"daily quota {self.key} of {self.limit} calls is spent until {resets_at.isoformat()}",
                resets_at=resets_at,
            )
        return used


class RedisTokenCache:
    """A :class:`~lms_connectors.http.token_cache.TokenCache` in Redis, for the workers of every host.

    Args:
        client: The Redis connection.
        prefix: Prefix of the keys (tokens are kept under ``<prefix>:<cache key>``).
        lock_timeout: Seconds the lock is held at most (a minter that died frees it after this).
    """

    def __init__(self, client: RedisClient, *, prefix: str = "lmsc:token", lock_timeout: float = 30.0) -> None:
        self._client = client
        self._prefix = prefix
        self._lock_timeout = lock_timeout

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "lmsc:token") -> RedisTokenCache:
        """A cache on the Redis at ``url`` (``redis://host:6379/0``)."""
        return cls(redis.Redis.from_url(url), prefix=prefix)

    def lock(self) -> AbstractContextManager[Any]:
        """Hold the cache exclusively while reading, minting and storing (one minter at a time, every host)."""
        held: AbstractContextManager[Any] = self._client.lock(
            f"{self._prefix}:lock", timeout=self._lock_timeout, blocking_timeout=self._lock_timeout
        )
        return held

    def load(self, key: str) -> CachedToken | None:
        """The token stored for ``key``, or None."""
        raw = self._client.get(f"{self._prefix}:{key}")
        if raw is None:
            return None
        data = json.loads(raw)
        return CachedToken(access_token=str(data["access_token"]), expires_at=float(data["expires_at"]))

    def store(self, key: str, token: CachedToken) -> None:
        """Keep ``token`` for ``key`` until it expires."""
        ttl = max(1, int(token.expires_at - time.time()))
        payload = json.dumps({"access_token": token.access_token, "expires_at": token.expires_at})
        self._client.set(f"{self._prefix}:{key}", payload, ex=ttl)


@dataclass(frozen=True)
class LimitRule:
    """One limit of a provider, applied to the requests it matches.

    Attributes:
        name: The rule's name (part of its Redis key).
        kind: ``rate`` (``limit`` requests per second, ``burst`` at once), ``concurrency`` (``limit`` in flight)
            or ``daily`` (``limit`` per UTC day).
        limit: The allowance.
        burst: Bucket size of a ``rate`` rule.
        method: Only requests of this method (any when None).
        path: Only requests whose URL path this regular expression matches (any when None); its first group,
            if it has one, scopes the limit (one allowance per mailbox, per host user, per calendar).
    """

    name: str
    kind: Literal["rate", "concurrency", "daily"]
    limit: float
    burst: int = 1
    method: str | None = None
    path: str | None = None

    def scope(self, method: str, path: str) -> str | None:
        """The scope this request counts against, or None when the rule does not apply to it."""
        if self.method is not None and method.upper() != self.method.upper():
            return None
        if self.path is None:
            return "*"
        match = re.search(self.path, path)
        if match is None:
            return None
        return unquote(match.group(1)).lower() if match.groups() else "*"


PROVIDER_RULES: Mapping[str, tuple[LimitRule, ...]] = {
    # Outlook: 4 concurrent requests per app and mailbox ("MailboxConcurrency"), then 429.
    "microsoft_graph": (LimitRule("mailbox", "concurrency", 4, path=r"/users/([^/]+)/"),),
    # Zoom: 100 meeting creates per host user and day (then 429 until midnight UTC).
    "zoom": (LimitRule("meeting-creates", "daily", 100, method="POST", path=r"/users/([^/]+)/meetings$"),),
    # Google Calendar: per-user queries; 10 per second (600 per minute) with bursts of 50, per calendar.
    "google_calendar": (LimitRule("per-user", "rate", 10, burst=50, path=r"/calendars/([^/]+)/"),),
}
"""The shared limits applied to each provider by default, from its published quotas."""


class SharedLimitsSession(requests.Session):
    """A ``requests.Session`` whose every request waits for the shared limits it falls under.

    Give it to an adapter as its ``session`` runtime option. Daily quotas are counted first (a spent one refuses
    the request without sending it), then rate limits are acquired, then concurrency slots are held for the
    request's duration. A ``429`` with ``Retry-After`` pauses the rate limits it matched, for every worker.

    Args:
        client: The Redis connection.
        scope: What the allowance belongs to (a tenant and adapter: ``"acme/zoom"``); part of every key.
        rules: The limits.
        prefix: Prefix of the Redis keys.
        sleep: Sleep function (injected by tests).
    """

    def __init__(
        self,
        client: RedisClient,
        scope: str,
        rules: Sequence[LimitRule],
        *,
        prefix: str = "lmsc:limit",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.client = client
        self.rules = tuple(rules)
        self._prefix = f"{prefix}:{scope}"
        self._sleep = sleep
        self.waited = 0.0
        """Seconds this session's requests waited for rate limits."""

    def rate_limiter(self, rule: LimitRule, scope: str) -> RedisRateLimiter:
        """The shared bucket of ``rule`` for ``scope``."""
        return RedisRateLimiter(self.client, self._key(rule, scope), rule.limit, rule.burst, sleep=self._sleep)

    def _key(self, rule: LimitRule, scope: str) -> str:
        return f"{self._prefix}:{rule.name}:{scope}"

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send ``request`` once the limits it falls under allow it.

        Raises:
            QuotaExceeded: A daily quota it counts against is spent.
        """
        method = request.method or "GET"
        path = urlsplit(request.url or "").path
        matched = [(rule, scope) for rule in self.rules if (scope := rule.scope(method, path)) is not None]
        for rule, scope in matched:
            if rule.kind == "daily":
                RedisDailyQuota(self.client, self._key(rule, scope), int(rule.limit)).take()
        buckets = [self.rate_limiter(rule, scope) for rule, scope in matched if rule.kind == "rate"]
        for bucket in buckets:
            self.waited += bucket.acquire()
        with contextlib.ExitStack() as stack:
            for rule, scope in matched:
                if rule.kind == "concurrency":
                    limiter = RedisConcurrencyLimiter(self.client, self._key(rule, scope), int(rule.limit))
                    stack.enter_context(limiter.slot())
            response = super().send(request, **kwargs)
        retry_after = response.headers.get("Retry-After", "") if response.status_code == 429 else ""
        if retry_after.strip().isdigit():
            for bucket in buckets:
                bucket.pause_for(float(retry_after))
        return response
