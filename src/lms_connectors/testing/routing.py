"""Routes declared once, refusals turned into the provider's error body, call limits: a simulator's base.

A REST simulator subclasses :class:`RoutedSimulator`, declares each endpoint with :func:`route` and raises
:class:`~lms_connectors.testing.refusal.Refusal` to refuse; it supplies, where they differ from the defaults, the
shape of its provider's error body (:meth:`RoutedSimulator.error_response`; ``{"error": {"code", "message"}}`` by
default) and its bearer check (:meth:`RoutedSimulator.authenticate`; see also
:class:`~lms_connectors.testing.bearer.BearerSimulator`)::

    class AcmeSimulator(RoutedSimulator):
        @route("GET", "/sessions/{sid}")
        def get_session(self, request: SandboxRequest, sid: str) -> SandboxResponse:
            if sid not in self.sessions:
                raise Refusal(404, f"no session {sid}", "not_found")
            return SandboxResponse(200, self.sessions[sid])

Path parameters are ``{name}`` (any text but ``/``) or ``{name:int}`` (digits, passed as an ``int``).
:meth:`RoutedSimulator.throttle` and :meth:`RoutedSimulator.quota` make the simulator answer the provider's
throttling or quota refusal by itself once a configured number of calls per window is spent (a provider with
several such answers passes the one it wants as ``refuse``); :meth:`RoutedSimulator.failures` makes it fail a
share of the calls with the provider's transient error (:meth:`RoutedSimulator.server_error`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from lms_connectors.testing.limits import CallLimit, FailureRate, LimitKind, LimitState
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, Simulator
from lms_connectors.testing.simclock import SimClock

__all__ = ["Route", "RoutedSimulator", "route"]

Handler = TypeVar("Handler", bound=Callable[..., SandboxResponse])

_PARAMETER = re.compile(r"\{(?P<name>[A-Za-z_]\w*)(?::(?P<kind>int|str))?\}")
_ROUTES_ATTRIBUTE = "__simulator_routes__"


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path pattern, handler.

    Attributes:
        method: Upper-case HTTP method.
        pattern: The declared path (``/meetings/{mid:int}/registrants``).
        handler: Name of the simulator method that answers.
        auth: Whether :meth:`RoutedSimulator.authenticate` runs (and call limits count) before the handler.
    """

    method: str
    pattern: str
    handler: str
    auth: bool = True

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled path pattern."""
        return _compile(self.pattern)

    def match(self, path: str) -> dict[str, Any] | None:
        """The typed path parameters when ``path`` is this route's, else None."""
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        kinds = {m["name"]: m["kind"] for m in _PARAMETER.finditer(self.pattern)}
        return {name: int(value) if kinds[name] == "int" else value for name, value in found.groupdict().items()}


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        parts, position = [], 0
        for parameter in _PARAMETER.finditer(pattern):
            parts.append(re.escape(pattern[position : parameter.start()]))
            body = r"\d+" if parameter["kind"] == "int" else r"[^/]+"
            parts.append(f"(?P<{parameter['name']}>{body})")
            position = parameter.end()
        parts.append(re.escape(pattern[position:]))
        compiled = _COMPILED[pattern] = re.compile("".join(parts))
    return compiled


def route(method: str, pattern: str, *, auth: bool = True) -> Callable[[Handler], Handler]:
    """Declare the decorated method as the handler of ``method pattern``.

    Args:
        method: HTTP method.
        pattern: Path, with ``{name}`` or ``{name:int}`` parameters passed to the handler by name.
        auth: Run the simulator's bearer check (and count its call limits) first; False for a token endpoint.
    """

    def declare(handler: Handler) -> Handler:
        routes = getattr(handler, _ROUTES_ATTRIBUTE, ())
        setattr(handler, _ROUTES_ATTRIBUTE, (*routes, Route(method.upper(), pattern, handler.__name__, auth)))
        return handler

    return declare


def _matcher(method: str | None, path: str | None) -> Callable[[SandboxRequest], bool]:
    """Which requests a limit or a failure rate applies to: one method, paths a pattern finds, or all."""
    pattern = re.compile(path) if path is not None else None
    verb = method.upper() if method is not None else None

    def applies(request: SandboxRequest) -> bool:
        return (verb is None or request.method == verb) and (pattern is None or bool(pattern.search(request.path)))

    return applies


class RoutedSimulator(Simulator):
    """A simulator whose endpoints are :func:`route` declarations.

    Args:
        clock: The simulator's clock (a wall clock by default).

    Attributes:
        clock: The clock every time-dependent behaviour reads (tokens, limits, timestamps).
        limits: Call limits checked before every authenticated call, in order.
        failure_rates: Shares of calls failed with :meth:`server_error`, drawn after the limits let a call through.
    """

    routes: ClassVar[tuple[Route, ...]] = ()
    """Every route of the class, in declaration order (base classes' first)."""

    path_prefixes: ClassVar[tuple[str, ...]] = ()
    """Prefixes removed from a path before routing (an API version some clients put in the base URL)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = [r for attribute in vars(cls).values() for r in getattr(attribute, _ROUTES_ATTRIBUTE, ())]
        cls.routes = (*cls.routes, *declared)

    def __init__(self, clock: SimClock | None = None) -> None:
        super().__init__()
        self.clock = clock if clock is not None else SimClock()
        self.limits: list[CallLimit] = []
        self.failure_rates: list[FailureRate] = []

    # -- what a provider supplies --------------------------------------------------------------------------------

    def error_response(self, refusal: Refusal) -> SandboxResponse:
        """The provider's error answer for ``refusal`` (its headers are added by the base).

        The default is the most common JSON error shape (Microsoft Graph's, OData's, many REST APIs'):
        ``{"error": {"code": ..., "message": ..., **details}}``. A provider with another shape overrides it.
        """
        return SandboxResponse(
            refusal.status, {"error": {"code": refusal.code, "message": refusal.message, **refusal.details}}
        )

    def authenticate(self, request: SandboxRequest) -> None:
        """Check the request's credentials before an ``auth`` route (nothing by default).

        Raises:
            Refusal: The provider's answer to missing, unknown or expired credentials.
        """

    def no_route(self, request: SandboxRequest) -> Refusal:
        """The refusal of a request no route takes."""
        return Refusal(404, f"{request.method} {request.path} is not an endpoint of this API", "not_found")

    def throttled(self, state: LimitState) -> Refusal:
        """The provider's answer to a call over a throttling limit (a 429 with ``Retry-After`` by default)."""
        return Refusal(429, "Too many requests", "rate_limited", headers={"Retry-After": str(state.retry_after)})

    def quota_exhausted(self, state: LimitState) -> Refusal:
        """The provider's answer to a call over a quota (a 429 until the window ends by default)."""
        return Refusal(429, f"Quota exhausted until {state.resets_at.isoformat()}", "quota_exceeded",
                       headers={"Retry-After": str(state.retry_after)})

    def server_error(self) -> Refusal:
        """The provider's transient failure, for :meth:`failures` (a 503 by default)."""
        return Refusal(503, "The service is temporarily unavailable", "unavailable")

    def finish(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        """Last touch on every answer (a provider's tracking header, say); unchanged by default."""
        return response

    def refusal_response(self, refusal: Refusal) -> SandboxResponse:
        """The provider's whole answer to ``refusal``: :meth:`error_response` with the refusal's own headers."""
        response = self.error_response(refusal)
        response.headers.update(refusal.headers)
        return response

    def throttling_answer(self) -> SandboxResponse:
        """What the simulator answers a call over a throttling limit of one call a second (:meth:`throttled`).

        The contract kit serves it as its throttling fault, so a provider's throttling answer is written once,
        in its simulator, and the same answer meets the adapter whether a limit or a fault produces it.
        """
        return self.refusal_response(self.throttled(LimitState(limit=1, used=1, window_end=1.0, now=0.0)))

    # -- configuration for tests ---------------------------------------------------------------------------------

    def throttle(
        self,
        calls: int,
        seconds: float = 1.0,
        *,
        method: str | None = None,
        path: str | None = None,
        refuse: Callable[[LimitState], Refusal] | None = None,
    ) -> CallLimit:
        """Answer a throttling refusal once ``calls`` calls were made in a window of ``seconds``.

        Args:
            calls: Calls allowed per window.
            seconds: Window length.
            method: Count only this HTTP method.
            path: Count only paths this regular expression finds.
            refuse: The answer over the limit (default :meth:`throttled`), for a provider with several.
        """
        return self._limit("throttle", calls, seconds, method, path, refuse or self.throttled)

    def quota(
        self,
        calls: int,
        seconds: float = 86_400.0,
        *,
        method: str | None = None,
        path: str | None = None,
        refuse: Callable[[LimitState], Refusal] | None = None,
    ) -> CallLimit:
        """Answer a quota refusal once ``calls`` calls were made in a window of ``seconds``.

        Args:
            calls: Calls allowed per window.
            seconds: Window length.
            method: Count only this HTTP method.
            path: Count only paths this regular expression finds.
            refuse: The answer over the quota (default :meth:`quota_exhausted`).
        """
        return self._limit("quota", calls, seconds, method, path, refuse or self.quota_exhausted)

    def failures(
        self,
        rate: float,
        *,
        seed: int = 0,
        method: str | None = None,
        path: str | None = None,
        refuse: Callable[[], Refusal] | None = None,
    ) -> FailureRate:
        """Fail a share ``rate`` of the calls with the provider's transient error, before they are acted on.

        Args:
            rate: Share of the matching calls that fail (0 to 1).
            seed: Seed of the draws (the same seed fails the same calls).
            method: Fail only this HTTP method.
            path: Fail only paths this regular expression finds.
            refuse: The failure (default :meth:`server_error`).
        """
        failing = FailureRate(rate, refuse=refuse or self.server_error, seed=seed, applies=_matcher(method, path))
        with self.lock:
            self.failure_rates.append(failing)
        return failing

    def _limit(
        self,
        kind: LimitKind,
        calls: int,
        seconds: float,
        method: str | None,
        path: str | None,
        refuse: Callable[[LimitState], Refusal],
    ) -> CallLimit:
        limit = CallLimit(calls, seconds, clock=self.clock, refuse=refuse, kind=kind, applies=_matcher(method, path))
        with self.lock:
            self.limits.append(limit)
        return limit

    # -- dispatch ------------------------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Route ``request``; a :class:`Refusal` becomes the provider's error answer."""
        with self.lock:
            try:
                response = self._dispatch(request)
            except Refusal as refusal:
                response = self.refusal_response(refusal)
            return self.finish(request, response)

    def _dispatch(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path
        for prefix in self.path_prefixes:
            if path.startswith(prefix + "/"):
                path = path[len(prefix) :]
                break
        for candidate in self.routes:
            if candidate.method != request.method:
                continue
            parameters = candidate.match(path)
            if parameters is None:
                continue
            if candidate.auth:
                self.authenticate(request)
                for limit in self.limits:
                    if limit.applies(request):
                        limit.take()
                for failing in self.failure_rates:
                    if failing.applies(request):
                        failing.check()
            handler: Callable[..., SandboxResponse] = getattr(self, candidate.handler)
            return handler(request, **parameters)
        raise self.no_route(request)
