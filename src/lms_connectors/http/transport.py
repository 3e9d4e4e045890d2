"""The HTTP transport every adapter talks through.

One :class:`HttpTransport` per adapter instance owns one ``requests.Session`` and does, for every call, in
this order: wait for the rate limiter, apply the auth, send with a timeout, let observers read the answer's
headers, classify the answer into the error tree, and (in one tenacity loop, see :mod:`.retry`) retry what is
safe to retry. On an :class:`~lms_connectors.errors.AuthError` it refreshes the auth once and sends again. A
failure to obtain credentials (a token endpoint's, already retried by its own transport) ends the call as it is.
Every attempt is counted and reported to hooks as a :class:`CallEvent`, and logged at debug level on the
``lms_connectors.http`` logger, with secrets redacted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel

from lms_connectors.errors import (
    AuthError,
    ConnectorError,
    MalformedResponse,
    NotFound,
    RateLimited,
    ResponseLost,
    TransientError,
)
from lms_connectors.http.answers import ShapeT, checked
from lms_connectors.http.auth import Auth
from lms_connectors.http.classify import default_classifier, json_body
from lms_connectors.http.ratelimit import RateLimiter
from lms_connectors.http.redaction import redact_text, redact_url
from lms_connectors.http.retry import RetryPolicy, build_retrying, failed_before_sending, should_retry

if TYPE_CHECKING:  # tenacity is imported only when a call first needs a retry
    import requests
    from tenacity import RetryCallState

__all__ = ["CallCounter", "CallEvent", "HttpTransport", "RetryPolicy", "api_path", "new_session"]

logger = logging.getLogger("lms_connectors.http")

# RFC 9110 idempotent methods, plus WebDAV's read-only PROPFIND and REPORT (CalDAV).
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "REPORT"})

# After these, a non-idempotent request may have been acted on by the provider behind the gateway.
_AMBIGUOUS_GATEWAY_STATUSES = frozenset({502, 504})


def api_path(*segments: str | int) -> str:
    """A relative API path from its segments, each escaped whole: ``api_path("sessions", sid, "enrolments")``.

    Ids and e-mail addresses are data, not path syntax: a ``/``, ``?``, ``#``, ``@`` or ``+`` in one must not change
    which resource the request names, so every segment is percent-encoded with no safe characters.
    """
    return "/".join(quote(str(segment), safe="") for segment in segments)


@dataclass(frozen=True)
class CallEvent:
    """One attempt, as reported to hooks.

    Attributes:
        provider: The transport's provider name.
        operation: The operation label (``"GET /calendars/primary/events"`` by default).
        method: HTTP method.
        url: Full URL, redacted.
        status: HTTP status of the answer, None when no answer came.
        attempt: 1 for the first attempt of a call, 2 for the next one, ...
        elapsed: Seconds the attempt took, on the transport's clock.
        error: Name of the error type the attempt ended with, None on success.
        sent: False when the connection failed before the request was sent.
    """

    provider: str
    operation: str
    method: str
    url: str
    status: int | None
    attempt: int
    elapsed: float
    error: str | None
    sent: bool = True


class CallCounter:
    """Counts the HTTP requests actually sent, in total and per operation label. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_operation: Counter[str] = Counter()

    def record(self, operation: str) -> None:
        """Count one sent request for ``operation``."""
        with self._lock:
            self._by_operation[operation] += 1

    @property
    def total(self) -> int:
        """Requests sent so far."""
        with self._lock:
            return sum(self._by_operation.values())

    @property
    def by_operation(self) -> dict[str, int]:
        """Requests sent so far, per operation label (a copy)."""
        with self._lock:
            return dict(self._by_operation)

    def __getitem__(self, operation: str) -> int:
        with self._lock:
            return self._by_operation[operation]

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._by_operation.clear()


class _CredentialsFailed(Exception):
    """Obtaining credentials failed (a token endpoint refused, or kept failing after its own retries).

    Carried through the retry loop untouched: the token transport already retried what it could within its
    time bound, so this call must not retry it again (nested retries would multiply attempts and time).
    """

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(str(error))
        self.error = error


class _LazySecrets:
    """The transport's secrets as an iterable that asks the auth for them only when read: on an error path.

    A successful answer's body is decoded (and checked) with it in hand, and never reads it.
    """

    def __init__(self, read: Callable[[], list[str]]) -> None:
        self._read = read

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())


def new_session() -> requests.Session:
    """A new ``requests.Session``.

    requests (and urllib3 under it) is imported here, when an adapter or a transport first needs a session, and
    not when the SDK is imported: an application that imports an adapter and never calls it does not pay for it.
    """
    import requests

    return requests.Session()


def _no_netrc(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """A ``requests`` auth that changes nothing, for a request the transport's own auth signs.

    Without one, ``requests`` looks for ``~/.netrc`` credentials on every call, which the transport's auth
    would replace anyway.
    """
    return request


@dataclass(frozen=True)
class _Call:
    """What one ``request()`` sends, attempt after attempt."""

    method: str
    url: str
    params: Any
    json: Any
    data: Any
    headers: Mapping[str, str] | None
    operation: str
    idempotent: bool


class HttpTransport:
    """Sends an adapter's requests: auth, timeouts, rate limiting, classification, retries, counting, redaction.

    Args:
        provider: Adapter name, written into errors, events and logs.
        base_url: Prefix of relative URLs.
        auth: Credentials; None for a provider that takes them elsewhere (e.g. in the form).
        classifier: Maps an answer to an error of the tree, or None for success.
        retry: Retry policy (defaults to ``RetryPolicy()``).
        rate_limiter: Proactive limiter acquired before every attempt.
        timeout: ``requests`` timeout, ``(connect, read)`` seconds; always set.
        session: The ``requests.Session`` to use (one per transport; a new one by default).
        hooks: Called with a :class:`CallEvent` after every attempt.
        sleep: How to wait between attempts (injected by tests and the contract kit).
        clock: Monotonic clock for elapsed times and the total retry bound.
        extra_secrets: Secret values that do not come from ``auth`` (a form token, a password), to redact.
        response_observers: Called with every answer before it is classified, e.g. to read rate-limit headers
            and call ``rate_limiter.pause_until``.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        auth: Auth | None = None,
        classifier: Callable[[requests.Response], ConnectorError | None] = default_classifier,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        session: requests.Session | None = None,
        hooks: Sequence[Callable[[CallEvent], None]] = (),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        extra_secrets: Sequence[str] = (),
        response_observers: Sequence[Callable[[requests.Response], None]] = (),
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.classifier = classifier
        self.retry_policy = retry if retry is not None else RetryPolicy()
        self.rate_limiter = rate_limiter
        self.timeout = timeout
        self.session = session if session is not None else new_session()
        self.counter = CallCounter()
        self.hooks: list[Callable[[CallEvent], None]] = list(hooks)
        self.response_observers: list[Callable[[requests.Response], None]] = list(response_observers)
        self._sleep = sleep
        self._clock = clock
        self._extra_secrets = tuple(secret for secret in extra_secrets if secret)
        self._lazy_secrets = _LazySecrets(self.secrets)
        # What requests reads from the environment for a host (proxies, CA bundle), read once per host and
        # session settings instead of on every call: see _send_settings.
        self._environment: dict[tuple[object, ...], dict[str, Any]] = {}

    # -- public API ------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        operation: str | None = None,
    ) -> requests.Response:
        """Send a request and return its successful answer.

        Args:
            method: HTTP method.
            url: Relative to ``base_url``, or absolute (a pagination link).
            params: Query parameters.
            json: JSON body.
            data: Form body (dict or list of pairs) or raw bytes.
            headers: Extra headers.
            idempotent: Whether the request may be sent twice safely. Defaults to True for GET, HEAD, PUT,
                DELETE and OPTIONS, False for POST and PATCH; pass True when the request carries an
                idempotency guarantee (a client-chosen id, an idempotency key).
            operation: Label for counting (default ``"METHOD /path"``).

        Returns:
            The answer, classified as a success.

        Raises:
            ConnectorError: The classified failure, after retries where they are safe; ``ResponseLost`` when a
                non-idempotent request was sent and its answer was lost.
        """
        verb = method.upper()
        full_url = self.url_for(url)
        call = _Call(
            method=verb,
            url=full_url,
            params=params,
            json=json,
            data=data,
            headers=headers,
            operation=operation or f"{verb} {urlsplit(full_url).path or '/'}",
            idempotent=verb in _IDEMPOTENT_METHODS if idempotent is None else idempotent,
        )
        import requests  # loaded with the session (new_session); bound here for the except clause below

        attempts = 0
        refreshed = False

        def attempt() -> requests.Response:
            nonlocal attempts, refreshed
            attempts += 1
            try:
                return self._exchange(call, attempts)
            except AuthError:
                if refreshed or self.auth is None or not self.auth.can_refresh:
                    raise
                refreshed = True
                logger.debug(
                    "%s: %s %s refused the credentials; refreshing once",
                    self.provider,
                    call.method,
                    self._redacted_url(call.url),
                )
                try:
                    self.auth.refresh()
                except ConnectorError as error:
                    raise _CredentialsFailed(error) from error
                attempts += 1
                return self._exchange(call, attempts)

        try:
            return self._with_retries(call, attempt)
        except _CredentialsFailed as failed:
            raise failed.error from failed.error.__cause__
        except requests.exceptions.RequestException as exc:
            # ``from None``: the requests exception's message holds the raw URL, secrets included.
            raise self._connection_failure(call, exc) from None
        except TransientError as error:
            if (
                not call.idempotent
                and not isinstance(error, RateLimited)
                and (error.status in _AMBIGUOUS_GATEWAY_STATUSES)
            ):
                raise ResponseLost(
                    f"{call.operation} answered HTTP {error.status} by a gateway: the provider may have acted on it",
                    provider=error.provider,
                    status=error.status,
                    code=error.code,
                    body_excerpt=error.body_excerpt,
                    request_id=error.request_id,
                ) from error
            raise

    def _with_retries(self, call: _Call, attempt: Callable[[], requests.Response]) -> requests.Response:
        """Run the first attempt bare, and build the retry controller only when a retry is due.

        Most calls succeed at once: they pay for no controller. A failure the policy retries is handed to the
        controller as its first attempt (with the time bound counted from that attempt's start), so the waits,
        the bounds and the logging are exactly those of a controller that ran from the start.
        """
        started = self._clock()
        try:
            return attempt()
        except Exception as error:
            if self.retry_policy.max_attempts <= 1 or not should_retry(error, idempotent=call.idempotent):
                raise
            first: Exception | None = error
        retrying = build_retrying(
            self.retry_policy,
            idempotent=call.idempotent,
            sleep=self._sleep,
            clock=self._clock,
            before_sleep=lambda state: self._log_retry(call, state),
            started=started,
        )

        def again() -> requests.Response:
            nonlocal first
            if first is not None:
                failed, first = first, None
                raise failed  # the controller's attempt 1: the one already made
            return attempt()

        return retrying(again)

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        operation: str | None = None,
        shape: type[BaseModel] | None = None,
    ) -> Any:
        """Like :meth:`request`, and return the answer's decoded JSON (None for an empty body).

        An answer that is not the provider's JSON (truncated, an HTML page with a 2xx status) to a request that
        may be sent twice is asked for again, up to the retry policy's attempts: a garbled read is not a
        failed read. A request that may not be sent twice raises at once: it may have been carried out.

        Args:
            method: As :meth:`request`.
            url: As :meth:`request`.
            params: As :meth:`request`.
            json: As :meth:`request`.
            data: As :meth:`request`.
            headers: As :meth:`request`.
            idempotent: As :meth:`request`.
            operation: As :meth:`request`; it also names the endpoint in an error about the answer.
            shape: The answer's checked shape: the JSON is checked against it (as :meth:`request_checked`) and
                returned as it came, for code that maps the JSON itself.

        Raises:
            MalformedResponse: The answer is an HTML page or not valid JSON (every time, for a safe request), or
                JSON of another shape than ``shape``.
            ConnectorError: As :meth:`request`.
        """
        response, payload = self._answer(
            method, url, params=params, json=json, data=data, headers=headers, idempotent=idempotent,
            operation=operation,
        )
        if shape is not None:
            self._check(shape, response, payload, method, url, operation)
        return payload

    def request_checked(
        self,
        method: str,
        url: str,
        shape: type[ShapeT],
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        operation: str | None = None,
    ) -> ShapeT:
        """Like :meth:`request_json`, and return the answer read as ``shape`` (see :func:`.answers.checked`).

        Args:
            method: As :meth:`request`.
            url: As :meth:`request`.
            shape: The checked shape of the answer: the fields the adapter reads, typed.
            params: As :meth:`request`.
            json: As :meth:`request`.
            data: As :meth:`request`.
            headers: As :meth:`request`.
            idempotent: As :meth:`request`.
            operation: As :meth:`request`; it also names the endpoint in a shape error.

        Raises:
            MalformedResponse: The answer is not JSON (as :meth:`request_json`), or JSON of another shape: the
                error names the provider, the endpoint and the wrong field, with the status, the request id and
                a redacted excerpt of the body.
            ConnectorError: As :meth:`request`.
        """
        response, payload = self._answer(
            method, url, params=params, json=json, data=data, headers=headers, idempotent=idempotent,
            operation=operation,
        )
        return self._check(shape, response, payload, method, url, operation)

    def _check(
        self,
        shape: type[ShapeT],
        response: requests.Response,
        payload: Any,
        method: str,
        url: str,
        operation: str | None,
    ) -> ShapeT:
        return checked(
            shape,
            payload,
            provider=self.provider,
            endpoint=self._endpoint(method, url, operation),
            response=response,
            secrets=self._lazy_secrets,
        )

    def _endpoint(self, method: str, url: str, operation: str | None) -> str:
        """The call as an error names it: ``"get meeting (GET /meetings/1)"``."""
        call = f"{method.upper()} {urlsplit(self.url_for(url)).path or '/'}"
        return f"{operation} ({call})" if operation else call

    def _answer(
        self,
        method: str,
        url: str,
        *,
        params: Any,
        json: Any,
        data: Any,
        headers: Mapping[str, str] | None,
        idempotent: bool | None,
        operation: str | None,
    ) -> tuple[requests.Response, Any]:
        """The answer and its decoded JSON; a garbled answer to a safe request is asked for again."""
        safe = method.upper() in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        attempts = self.retry_policy.max_attempts if safe else 1
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    idempotent=idempotent,
                    operation=operation,
                )
                return response, json_body(response, self._lazy_secrets)
            except MalformedResponse as error:
                error.provider = error.provider or self.provider
                if error.endpoint is None:
                    error.endpoint = self._endpoint(method, url, operation)
                # A gateway page was retried by request() already; anything else garbled is retried here.
                if attempt >= attempts or isinstance(error, TransientError):
                    raise
                logger.debug(
                    "%s: %s answered something that is not its JSON (%s); asking again",
                    self.provider,
                    operation or method,
                    error.message,
                )

    def delete_if_present(
        self,
        url: str,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        operation: str | None = None,
    ) -> bool:
        """Send a ``DELETE`` whose goal is an object that no longer exists, so one already gone is a success.

        A provider answers a second delete (a retry, a cancel already made elsewhere) with 404 or 410; for the
        caller that is the outcome it wanted, not an error. The answer must still be the provider's (empty or
        JSON): anything else raises as :meth:`request_json` does.

        Args:
            url: As :meth:`request`.
            params: Query parameters.
            headers: Extra headers.
            operation: Label for counting.

        Returns:
            True when this call deleted the object, False when it was already gone (the provider said
            :class:`~lms_connectors.errors.NotFound`, 410 Gone included).

        Raises:
            ConnectorError: Any other failure, as :meth:`request`.
        """
        try:
            self.request_json("DELETE", url, params=params, headers=headers, operation=operation)
        except NotFound:
            return False
        return True

    def url_for(self, url: str) -> str:
        """Return the absolute URL of ``url`` (kept as is when already absolute, else appended to ``base_url``)."""
        if urlsplit(url).scheme in ("http", "https"):
            return url
        return f"{self.base_url}/{url.lstrip('/')}"

    def secrets(self) -> list[str]:
        """Return every secret value to redact: the auth's and the extra ones."""
        auth_secrets = self.auth.secrets() if self.auth is not None else []
        return [*auth_secrets, *self._extra_secrets]

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()

    # -- one attempt -----------------------------------------------------------------------------------

    def _exchange(self, call: _Call, attempt: int) -> requests.Response:
        """Send the request once and classify the answer; raise the classified error."""
        import requests  # loaded with the session (new_session)

        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        prepared = self.session.prepare_request(
            requests.Request(
                call.method,
                call.url,
                params=call.params,
                json=call.json,
                data=call.data,
                headers=dict(call.headers) if call.headers else None,
                auth=_no_netrc if self.auth is not None and self.session.auth is None else None,
            )
        )
        if self.auth is not None:
            try:
                self.auth.apply(prepared)
            except ConnectorError as refused:
                raise _CredentialsFailed(refused) from refused
        settings = self._send_settings(prepared.url or call.url)
        started = self._clock()
        try:
            response = self.session.send(prepared, timeout=self.timeout, allow_redirects=True, **settings)
        except requests.exceptions.RequestException as exc:
            sent = not failed_before_sending(exc)
            self._report(call, prepared, attempt, started, status=None, error=type(exc).__name__, sent=sent)
            raise
        for observe in self.response_observers:
            observe(response)
        error = self.classifier(response)
        if error is not None:
            self._finish_error(error)
            if isinstance(error, MalformedResponse) and error.endpoint is None:
                label = f"{call.method} {urlsplit(call.url).path or '/'}"
                error.endpoint = label if call.operation == label else f"{call.operation} ({label})"
            if isinstance(error, RateLimited) and self.rate_limiter is not None:
                self._slow_down(error)
        elif self.rate_limiter is not None:
            self.rate_limiter.accepted()
        self._report(
            call,
            prepared,
            attempt,
            started,
            status=response.status_code,
            error=type(error).__name__ if error is not None else None,
            sent=True,
        )
        if error is not None:
            raise error
        return response

    def _send_settings(self, url: str) -> dict[str, Any]:
        """Proxies, TLS verification and certificate for ``url``, as ``requests.Session.request`` would pass them.

        ``requests`` reads them from the environment (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``...)
        on every call; the transport reads them once per scheme and host, and again whenever the session's own
        settings change. An environment changed while the process runs is seen by a new transport.
        """
        session = self.session
        split = urlsplit(url)
        key = (
            split.scheme,
            split.netloc,
            session.trust_env,
            session.verify,
            session.cert,
            session.stream,
            tuple(session.proxies.items()),
        )
        settings = self._environment.get(key)
        if settings is None:
            settings = dict(session.merge_environment_settings(url, {}, None, None, None))
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}

    def _slow_down(self, error: RateLimited) -> None:
        """Tell the limiter the provider throttled; a quota refusal (a wait longer than the policy's) is not a rate."""
        assert self.rate_limiter is not None
        if error.retry_after is not None and error.retry_after > self.retry_policy.max_retry_after:
            return
        self.rate_limiter.throttled(error.retry_after)

    def _finish_error(self, error: ConnectorError) -> None:
        """Add the provider name, and redact the secrets only the transport knows about."""
        secrets = self.secrets()
        error.provider = error.provider or self.provider
        error.message = redact_text(error.message, secrets)
        error.args = (error.message,)
        if error.body_excerpt:
            error.body_excerpt = redact_text(error.body_excerpt, secrets)

    def _report(
        self,
        call: _Call,
        prepared: requests.PreparedRequest,
        attempt: int,
        started: float,
        *,
        status: int | None,
        error: str | None,
        sent: bool,
    ) -> None:
        elapsed = self._clock() - started
        if sent:
            self.counter.record(call.operation)
        if not self.hooks and not logger.isEnabledFor(logging.DEBUG):
            return  # nobody reads the event: no redacted URL to build
        event = CallEvent(
            provider=self.provider,
            operation=call.operation,
            method=call.method,
            url=self._redacted_url(prepared.url or call.url),
            status=status,
            attempt=attempt,
            elapsed=elapsed,
            error=error,
            sent=sent,
        )
        logger.debug(
            "%s: %s %s -> %s in %.3fs (attempt %d, %s)%s",
            self.provider,
            event.method,
            event.url,
            status if status is not None else "no answer",
            elapsed,
            attempt,
            call.operation,
            f" {error}" if error else "",
        )
        for hook in self.hooks:
            # A failing metrics hook must not fail (or, worse, retry) the provider call it observes.
            try:
                hook(event)
            except Exception:
                logger.exception("%s: call hook %r failed", self.provider, hook)

    # -- failures --------------------------------------------------------------------------------------

    def _connection_failure(self, call: _Call, exc: requests.exceptions.RequestException) -> ConnectorError:
        """Turn a ``requests`` exception that ended the call into the error tree."""
        import requests  # loaded with the session (new_session)

        detail = redact_text(f"{type(exc).__name__}: {exc}", self.secrets())
        if not call.idempotent and not failed_before_sending(exc):
            return ResponseLost(
                f"{call.operation} was sent but its answer was lost ({detail}); the provider may have acted on it",
                provider=self.provider,
            )
        if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
            return TransientError(f"{call.operation} failed: {detail}", provider=self.provider)
        return ConnectorError(f"{call.operation} could not be sent: {detail}", provider=self.provider)

    def _log_retry(self, call: _Call, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.debug(
            "%s: retrying %s in %.2fs after attempt %d: %s",
            self.provider,
            call.operation,
            state.next_action.sleep if state.next_action is not None else 0.0,
            state.attempt_number,
            redact_text(f"{type(error).__name__}: {error}", self.secrets()),
        )

    def _redacted_url(self, url: str) -> str:
        return redact_url(url, self.secrets())
