"""The one adapter interface every provider implements.

An adapter maps a :class:`~lms_connectors.models.Session` onto the provider's native object (a calendar event, a
Zoom meeting, a Moodle course event with a group) and the session's roster onto the provider's roster
(attendees, registrants, enrolments). Required operations are abstract; optional ones raise
:class:`~lms_connectors.errors.NotSupported` carrying the capability, and each adapter declares what it
offers in :attr:`Adapter.capabilities` so that callers and the README's support matrix read it as data. A
capability that stands for standard methods (:data:`CAPABILITY_METHODS`) is derived from the methods the adapter
overrides; only the behavioural ones (in place, natively idempotent, with a link...) are declared.

Every adapter is built the same way, ``Adapter(config, *, session=None, sleep=time.sleep, clock=time.monotonic,
hooks=())`` or ``Adapter.from_config(mapping, **the same options)``: ``config`` extends
:class:`~lms_connectors.http.settings.TransportSettings` and is named once, as the class's type parameter
(``class AcmeLmsAdapter(Adapter[AcmeLmsConfig])``), which types ``self.config`` and sets
:attr:`Adapter.config_model`; the adapter builds its transports in :meth:`Adapter.setup`
with :meth:`Adapter.api_transport` and :meth:`Adapter.token_transport`, which apply those settings and options.

Provider-only extras live on the concrete adapter, after the standard API, and are prefixed ``ex_``; the
core never calls them.

Rules every adapter follows (the contract kit checks each one):

* ``create_session`` is idempotent for a given ``key``: called twice, or retried after a lost response,
  it leaves exactly one provider object. The base class owns that rule (:meth:`Adapter.create_traced`): it
  looks the object up by key before creating, unless the caller says the key is ``fresh`` (never sent: the
  ledger comes first, the provider's listing second) or the provider refuses duplicates itself
  (:attr:`Capability.NATIVE_IDEMPOTENCY`), sends the create (:meth:`Adapter.create_new`), and after a lost
  answer (:class:`~lms_connectors.errors.ResponseLost`) or a garbled one
  (:class:`~lms_connectors.errors.MalformedResponse`) looks up again before anything else. Adapters supply
  only :meth:`Adapter.create_new` and :meth:`Adapter.find_session` (or :meth:`Adapter.find_created`).
* ``reschedule_session`` updates the same object in place where the provider allows it.
* ``cancel_session`` of an object that is already gone succeeds (cancelling is idempotent).
* ``enrol`` pushes only the people it is given and is idempotent; ``unenrol`` removes only them.
* Every provider failure surfaces as an error of :mod:`lms_connectors.errors`.
"""

from __future__ import annotations

import abc
import inspect
import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, get_args, get_origin

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from typing_extensions import TypeVar

from lms_connectors.errors import ConfigurationError, ConnectorError, MalformedResponse, NotSupported, ResponseLost
from lms_connectors.http.auth import Auth, ClientCredentialsAuth, OAuthTokenAuth, oauth_token_classifier
from lms_connectors.http.classify import default_classifier
from lms_connectors.http.ratelimit import RateLimiter
from lms_connectors.http.settings import (
    OAuthClientSettings,
    TransportRuntime,
    TransportSettings,
    build_transport,
    rate_limiter_for,
)
from lms_connectors.http.transport import CallEvent, HttpTransport, new_session
from lms_connectors.models import (
    AwareDatetime,
    Person,
    ProviderRef,
    ProviderSession,
    Registrations,
    Room,
    RosterMember,
    Session,
    describe_pydantic_error,
)
from lms_connectors.shapes import guard_shapes

if TYPE_CHECKING:  # completion's models only for the signature of record_completion
    import requests

    from lms_connectors.completion import CompletionItem, CompletionState, CompletionWritten

__all__ = [
    "CAPABILITY_METHODS",
    "Adapter",
    "AdapterKind",
    "BusyInterval",
    "Capability",
    "ConfigT",
    "CreateTrace",
    "DiagnosticCheck",
    "Presence",
    "RoomResponse",
]

_OPERATIONS = frozenset({
    "create_session", "create_new", "find_session", "get_session", "reschedule_session", "cancel_session",
    "discard", "enrol", "unenrol", "list_roster", "list_sessions", "free_busy", "list_attendance", "diagnose",
    "list_rooms", "room_busy", "room_response", "book_room", "release_room", "record_completion",
})
"""The operations every adapter class gets wrapped by :func:`~lms_connectors.shapes.guard_shapes` (and ``ex_*``)."""

_UNBOUNDED_RATE = 1_000_000.0
"""Rate and burst of a limiter that only pauses (no proactive rate configured)."""


class AdapterKind(StrEnum):
    """What part a provider plays; the scheduler fans out in this order (room and meeting first)."""

    ROOM = "room"
    MEETING = "meeting"
    CALENDAR = "calendar"
    LMS = "lms"

    @property
    def order(self) -> int:
        """Position in the scheduler's fan-out."""
        return list(AdapterKind).index(self)


class Capability(StrEnum):
    """What an adapter can do beyond the required create / read / cancel."""

    RESCHEDULE_IN_PLACE = "reschedule_in_place"
    """Reschedule keeps the provider object (same id)."""
    ROSTER = "roster"
    """Learners are pushed to the provider object (enrol / unenrol / list)."""
    MEETING_LINK = "meeting_link"
    """The adapter creates a join link itself (Meet, Zoom)."""
    PUBLISHES_MEETING_LINK = "publishes_meeting_link"
    """The adapter can carry a meeting link made elsewhere."""
    ROOMS = "rooms"
    """Rooms can be listed (:meth:`Adapter.list_rooms`, with capacity and features), booked (a session's ``room``:
    a resource attendee of a calendar's event, or a room-booking system's reservation), their answer read
    (:meth:`Adapter.room_response`) and their busy times read (:meth:`Adapter.room_busy`). A calendar adapter
    also books and releases the room of an existing event (:meth:`Adapter.book_room`, :meth:`Adapter.release_room`)."""
    FREE_BUSY = "free_busy"
    """Busy intervals of people or rooms can be read."""
    NATIVE_IDEMPOTENCY = "native_idempotency"
    """The provider itself refuses a duplicate create (client-chosen id or key)."""
    NATIVE_CAPACITY = "native_capacity"
    """The provider enforces a seat limit or approval queue itself."""
    NOTIFIES_ATTENDEES = "notifies_attendees"
    """The provider emails attendees on create, reschedule and cancel."""
    LIST_SESSIONS = "list_sessions"
    """Sessions in a time window can be listed (paged)."""
    ATTENDANCE = "attendance"
    """Who joined a past session, and when, can be read (:meth:`Adapter.list_attendance`)."""
    ROSTER_AT_CREATE = "roster_at_create"
    """The create writes the learners already confirmed (``Session.learners``) with the object itself."""
    COMPLETION = "completion"
    """Learners' completion of a past session can be written to the LMS, on a gradeable object the session names
    (:meth:`Adapter.record_completion`: a Moodle activity, a Canvas pass/fail assignment)."""


CAPABILITY_METHODS: Mapping[Capability, tuple[str, ...]] = {
    Capability.ROSTER: ("enrol", "unenrol", "list_roster"),
    Capability.LIST_SESSIONS: ("list_sessions",),
    Capability.FREE_BUSY: ("free_busy",),
    Capability.ROOMS: ("list_rooms",),
    Capability.ATTENDANCE: ("list_attendance",),
    Capability.COMPLETION: ("record_completion",),
}
"""The standard :class:`Adapter` methods each capability stands for: an adapter class that overrides all of a
capability's methods has it, without declaring it (the base methods only raise ``NotSupported``). The other
capabilities describe how the required methods behave (in place, with a link, natively idempotent...); they are
declared, and the contract cases check them. A calendar with ``ROOMS`` also implements :meth:`Adapter.book_room`
and :meth:`Adapter.release_room` (the contract kit checks it); a room-booking system books with its create and
releases with its cancel."""

ConfigT = TypeVar("ConfigT", bound=TransportSettings, default=TransportSettings, covariant=True)
"""The configuration model of an adapter class: ``class AcmeLmsAdapter(Adapter[AcmeLmsConfig])``."""


def overrides(adapter_class: type[Adapter[Any]], method: str) -> bool:
    """Whether ``adapter_class`` (or a base below :class:`Adapter`) replaces the base's ``method``."""
    return getattr(adapter_class, method, None) is not getattr(Adapter, method)


def implemented_capabilities(adapter_class: type[Adapter[Any]]) -> frozenset[Capability]:
    """The capabilities of :data:`CAPABILITY_METHODS` whose every method ``adapter_class`` overrides."""
    return frozenset(
        capability for capability, methods in CAPABILITY_METHODS.items()
        if all(overrides(adapter_class, name) for name in methods)
    )


def _config_parameter(adapter_class: type[Adapter[Any]]) -> type[BaseModel] | None:
    """The configuration model the class names as its type parameter (``Adapter[AcmeLmsConfig]``), if any."""
    for base in vars(adapter_class).get("__orig_bases__", ()):
        origin, arguments = get_origin(base), get_args(base)
        if isinstance(origin, type) and issubclass(origin, Adapter) and arguments:
            model = arguments[0]
            if isinstance(model, type) and issubclass(model, BaseModel):
                return model
    return None


class RoomResponse(StrEnum):
    """A room's answer to a booking, in the terms of every system that holds rooms."""

    ACCEPTED = "accepted"
    """Booked."""
    TENTATIVE = "tentative"
    """Held, not confirmed (a room mailbox answering tentatively)."""
    PENDING = "pending"
    """No answer yet (a room calendar still processing, a reservation awaiting approval)."""
    DECLINED = "declined"
    """Refused: booked by someone else then (or outside its rules)."""


class BusyInterval(BaseModel):
    """One busy interval of a person or room (aware instants)."""

    model_config = ConfigDict(defer_build=True)  # built when first used, not at import

    start: AwareDatetime
    end: AwareDatetime


class Presence(BaseModel):
    """One presence record of a past session: someone joined at ``joined`` and left at ``left`` (if known).

    A provider reports a person once per join: someone who dropped out and came back has several records.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    email: str
    joined: AwareDatetime
    left: AwareDatetime | None = None


class DiagnosticCheck(BaseModel):
    """One check of ``lms-connectors doctor``: what was checked, whether it passed, and why."""

    model_config = ConfigDict(defer_build=True)

    name: str
    ok: bool
    detail: str = ""

    @classmethod
    def of(cls, name: str, ok: bool, detail: str = "") -> DiagnosticCheck:
        """The check ``name`` with its result and explanation (positional shorthand)."""
        return cls(name=name, ok=ok, detail=detail)

    @classmethod
    def probe(cls, name: str, check: Callable[[], str | tuple[bool, str]]) -> DiagnosticCheck:
        """Run ``check`` against the provider: its detail (and verdict) or, when it raises, the error it raised.

        Args:
            name: What is checked.
            check: Returns the detail of a passed check, or ``(ok, detail)``; a
                :class:`~lms_connectors.errors.ConnectorError` it raises is a failed check whose detail is the
                error (its type, message and evidence, secrets already redacted).
        """
        try:
            outcome = check()
        except ConnectorError as exc:
            return cls(name=name, ok=False, detail=f"{type(exc).__name__}: {exc}")
        if isinstance(outcome, tuple):
            return cls(name=name, ok=outcome[0], detail=outcome[1])
        return cls(name=name, ok=True, detail=outcome)


@dataclass
class CreateTrace:
    """What one idempotent create did, for the audit log (filled in as it goes, so it tells even on failure).

    Attributes:
        looked_up: Each look-up by key and why it ran: ``"before create"``, ``"after lost answer"`` or
            ``"after garbled answer"``.
        found: The external id each look-up found (``None``: nothing), in the same order.
        lost_answers: The message of each :class:`~lms_connectors.errors.ResponseLost` and of each garbled
            answer (:class:`~lms_connectors.errors.MalformedResponse`): both leave the create's outcome unknown.
        attempts: Creates sent (1, or 2 after a lost or garbled answer that the look-up proved uncommitted).
        rule: ``"base"`` when the base class's rule ran, ``"adapter"`` when the adapter overrides
            ``create_session`` with its own (the trace then says nothing more).
    """

    looked_up: list[str] = field(default_factory=list)
    found: list[str | None] = field(default_factory=list)
    lost_answers: list[str] = field(default_factory=list)
    attempts: int = 0
    rule: str = "base"

    def as_detail(self) -> dict[str, object]:
        """The trace as an audit entry's detail."""
        return {
            # A look-up that raised has a reason and no result: it is the last one, and says so.
            "lookups": [
                {"reason": reason, "found": found}
                for reason, found in itertools.zip_longest(self.looked_up, self.found, fillvalue="(look-up failed)")
            ],
            "lost_answers": list(self.lost_answers),
            "attempts": self.attempts,
            "rule": self.rule,
        }


class Adapter(abc.ABC, Generic[ConfigT]):
    """Base class of every provider adapter.

    Subclasses name their configuration model as the type parameter (``Adapter[AcmeLmsConfig]``), set
    :attr:`name`, :attr:`display_name`, :attr:`kind` and the behavioural :attr:`capabilities`, build their
    transports in :meth:`setup`, and implement the abstract methods plus :meth:`create_new`.

    Args:
        config: The adapter's validated configuration (an instance of :attr:`config_model`, which extends
            :class:`~lms_connectors.http.settings.TransportSettings`).
        session: The ``requests.Session`` every transport of the adapter sends through (a new one by default).
        sleep: How transports and the rate limiter wait (tests and the contract kit inject a recorder).
        clock: Monotonic clock of the total time bound and the rate limiter.
        hooks: Called with a :class:`~lms_connectors.http.transport.CallEvent` after every HTTP attempt.
    """

    name: ClassVar[str]
    """Registry name, also the entry-point name (``"google_calendar"``)."""
    display_name: ClassVar[str]
    """Name shown to people (``"Google Calendar"``)."""
    kind: ClassVar[AdapterKind]
    """Role in a multi-provider session."""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    """What this adapter offers beyond the required operations: the capabilities the class declares, plus those
    of :data:`CAPABILITY_METHODS` whose methods it overrides (added when the class is defined)."""
    config_model: ClassVar[type[BaseModel]]
    """Pydantic model of this adapter's configuration (a :class:`TransportSettings` subclass): the class's type
    parameter (``Adapter[AcmeLmsConfig]``), unless set explicitly."""
    lookup_before_create: ClassVar[bool | None] = None
    """Whether a create that may have been sent before is looked up by key first; ``None`` (the default) means
    "unless the adapter declares :attr:`Capability.NATIVE_IDEMPOTENCY`" (the provider refuses the duplicate)."""

    config: ConfigT
    """The validated configuration (an instance of :attr:`config_model`)."""
    runtime: TransportRuntime
    """Session, sleep, clock and hooks, shared by the adapter's transports."""
    transport: HttpTransport
    """The transport of the provider's API (the one :meth:`api_transport` built first)."""

    def __init__(
        self,
        config: ConfigT,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        hooks: Sequence[Callable[[CallEvent], None]] = (),
    ) -> None:
        if not hasattr(self, "config_model"):
            raise TypeError(f"{type(self).__name__} names no configuration model: declare it as Adapter[TheConfig]")
        if not isinstance(config, self.config_model):
            raise ConfigurationError(
                f"{type(self).__name__} takes a {self.config_model.__name__}, got {type(config).__name__}; "
                "use from_config() for a mapping",
                provider=self.name,
            )
        self.config = config
        self.runtime = TransportRuntime(
            session=session if session is not None else new_session(), sleep=sleep, clock=clock, hooks=tuple(hooks)
        )
        self._transports: dict[str, HttpTransport] = {}
        self._rate_limiter: RateLimiter | None = rate_limiter_for(config, self.runtime)
        self.setup()

    def setup(self) -> None:  # optional hook: an adapter without transports of its own is valid
        """Build the adapter's transports and helpers; called once by ``__init__`` (``config`` and ``runtime`` set)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Complete the class from what it wrote once.

        * ``config_model`` is the type parameter (``Adapter[AcmeLmsConfig]``), where the class names one;
        * ``capabilities`` gain those whose standard methods the class overrides (:data:`CAPABILITY_METHODS`);
        * the operations are wrapped so that a provider answer of an unexpected shape is a MalformedResponse.

        Raises:
            TypeError: The class sets ``config_model`` to another model than its type parameter.
        """
        super().__init_subclass__(**kwargs)
        model = _config_parameter(cls)
        if model is not None:
            declared = vars(cls).get("config_model", model)
            if declared is not model:
                raise TypeError(f"{cls.__name__} is an Adapter[{model.__name__}] but sets config_model to {declared}")
            cls.config_model = model
        cls.capabilities = frozenset(cls.capabilities) | implemented_capabilities(cls)
        for attribute, value in list(vars(cls).items()):
            if (attribute in _OPERATIONS or attribute.startswith("ex_")) and inspect.isfunction(value):
                setattr(cls, attribute, guard_shapes(value))

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        hooks: Sequence[Callable[[CallEvent], None]] = (),
    ) -> Self:
        """Build an adapter from a configuration mapping validated by :attr:`config_model`.

        Args:
            config: The configuration's fields.
            session: As the constructor.
            sleep: As the constructor.
            clock: As the constructor.
            hooks: As the constructor.

        Raises:
            ConfigurationError: The mapping is not a valid configuration (every wrong field is named).
        """
        return cls(cls.validated_config(config), session=session, sleep=sleep, clock=clock, hooks=hooks)

    @classmethod
    def validated_config(cls, config: Mapping[str, Any]) -> Any:
        """``config`` validated by :attr:`config_model`, for :meth:`from_config`.

        Raises:
            ConfigurationError: The mapping is not a valid configuration (every wrong field is named).
        """
        try:
            return cls.config_model.model_validate(dict(config))
        except PydanticValidationError as exc:
            raise ConfigurationError(
                f"invalid {cls.name} configuration: {describe_pydantic_error(exc)}", provider=cls.name
            ) from exc

    # -- transports ---------------------------------------------------------------------------------------

    def api_transport(
        self,
        *,
        auth: Auth | None = None,
        classifier: Callable[[requests.Response], ConnectorError | None] = default_classifier,
        name: str = "api",
        base_url: str | None = None,
        extra_secrets: Sequence[str] = (),
        response_observers: Sequence[Callable[[requests.Response], None]] = (),
    ) -> HttpTransport:
        """Build (and keep) a transport to the provider's API from the configuration and runtime options.

        Every API transport of the adapter shares one rate limiter (the configured ``requests_per_second``). The
        first one built becomes :attr:`transport`.

        Args:
            auth: Credentials applied to every request.
            classifier: The provider's error table.
            name: Key in :meth:`transports` (``"api"``; another name for a second API of the provider).
            base_url: Another root than ``config.base_url``.
            extra_secrets: Secret values that do not come from ``auth`` (a token sent in the form), to redact.
            response_observers: Read every answer before it is classified (rate-limit headers).
        """
        transport = build_transport(
            self.config,
            self.runtime,
            provider=self.name,
            auth=auth,
            classifier=classifier,
            base_url=base_url,
            rate_limiter=self._rate_limiter,
            extra_secrets=extra_secrets,
            response_observers=response_observers,
        )
        self._keep_transport(name, transport)
        return transport

    def token_transport(
        self,
        token_url: str,
        *,
        name: str = "token",
        classifier: Callable[[requests.Response], ConnectorError | None] = oauth_token_classifier,
        extra_secrets: Sequence[str] = (),
    ) -> HttpTransport:
        """Build (and keep) the transport of an OAuth token endpoint, for a flow of :mod:`lms_connectors.http.auth`.

        It has the adapter's retry settings, sleep, clock, hooks and session, no rate limiter (the API's quota
        does not count token requests), and :data:`~lms_connectors.http.auth.oauth_token_classifier` unless the
        provider has a table of its own for its token endpoint.
        """
        transport = build_transport(
            self.config,
            self.runtime,
            provider=self.name,
            base_url=token_url,
            classifier=classifier,
            extra_secrets=extra_secrets,
        )
        self._keep_transport(name, transport)
        return transport

    def pausable_rate_limiter(self) -> RateLimiter:
        """The limiter every API transport of the adapter shares, made now if the settings set no rate.

        A provider that reports its remaining budget in headers (Canvas's ``X-Rate-Limit-Remaining``) needs a
        limiter to pause even when no proactive rate is configured: the one made here lets every call through
        at once except while paused (:meth:`RateLimiter.pause_for`). Call it in :meth:`setup` before
        :meth:`api_transport`, so that the transports are built with it.
        """
        if self._rate_limiter is None:
            self._rate_limiter = RateLimiter(
                _UNBOUNDED_RATE, int(_UNBOUNDED_RATE), clock=self.runtime.clock, sleep=self.runtime.sleep
            )
        return self._rate_limiter

    def client_credentials_auth(self, **options: Any) -> ClientCredentialsAuth:
        """The OAuth client-credentials flow of a config that extends :class:`OAuthClientSettings`.

        Builds the token transport (:meth:`token_transport`, on the config's ``resolved_token_url``) and the
        flow with the config's client id and secret, so that an API of this kind is set up in one line::

            def setup(self) -> None:
                self.auth = self.client_credentials_auth()
                self.api_transport(auth=self.auth, classifier=acme_classifier)

        Args:
            **options: More options of :class:`~lms_connectors.http.auth.ClientCredentialsAuth` (``scope``,
                ``client_auth``, ``cache``...).

        Raises:
            ConfigurationError: The adapter's config does not extend :class:`OAuthClientSettings`.
        """
        config = self.config
        if not isinstance(config, OAuthClientSettings):
            raise ConfigurationError(
                f"{self.name}: client_credentials_auth() needs a config extending OAuthClientSettings",
                provider=self.name,
            )
        return ClientCredentialsAuth(
            self.token_transport(config.resolved_token_url),
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            **options,
        )

    def _keep_transport(self, name: str, transport: HttpTransport) -> None:
        if not hasattr(self, "_transports"):  # an adapter whose __init__ does not call Adapter.__init__
            self._transports = {}
        if name in self._transports:
            raise ConfigurationError(f"{self.name} already has a transport named {name!r}", provider=self.name)
        self._transports[name] = transport
        if len(self._transports) == 1 or name == "api":
            self.transport = transport

    def transports(self) -> dict[str, HttpTransport]:
        """Every transport of the adapter by name (``"api"``, ``"token"``...), the auth flows' included."""
        found = dict(getattr(self, "_transports", {}))
        if not found and isinstance(getattr(self, "transport", None), HttpTransport):
            found["api"] = self.transport
        for transport in list(found.values()):
            if isinstance(transport.auth, OAuthTokenAuth) and transport.auth.token_transport not in found.values():
                found.setdefault("token", transport.auth.token_transport)
        return found

    @property
    def call_count(self) -> int:
        """HTTP requests this adapter has sent, through all its transports."""
        return sum(transport.counter.total for transport in self.transports().values())

    def secrets(self) -> list[str]:
        """Every secret value the adapter's transports redact (tokens handed out, client secrets, ...)."""
        values: list[str] = []
        for transport in self.transports().values():
            values.extend(value for value in transport.secrets() if value not in values)
        return values

    # -- required -------------------------------------------------------------------------------

    def create_session(self, session: Session, *, key: str, fresh: bool = False) -> ProviderRef:
        """Create the provider object for ``session``; idempotent for ``key``.

        The base class's rule (see :meth:`create_traced`); adapters implement :meth:`create_new` and
        :meth:`find_session` rather than overriding this.

        Args:
            session: What to create. ``session.meeting`` carries a link made by a meeting provider.
            key: Idempotency key, stable across retries of this create (the scheduler mints it once).
            fresh: The caller's ledger proves that no create was ever sent with ``key`` (the scheduler says so
                for a key it has just minted): the look-up before the create is skipped; the look-up after a lost
                answer never is. ``False`` (the default) means "maybe sent before": look up first.

        Returns:
            Where the session now lives in the provider.

        Raises:
            ResponseLost: The create was sent twice and both answers were lost (the caller looks it up later).
        """
        return self._create_by_rule(session, key, fresh, CreateTrace())

    def create_traced(
        self, session: Session, *, key: str, fresh: bool = False, trace: CreateTrace | None = None
    ) -> ProviderRef:
        """The idempotent-create rule, recording what it did in ``trace`` (the scheduler audits it).

        1. Unless ``fresh``, or the provider refuses duplicates itself (:attr:`Capability.NATIVE_IDEMPOTENCY`,
           see :attr:`lookup_before_create`), look the object up by key (:meth:`find_created`) and return it.
        2. Send the create (:meth:`create_new`).
        3. If its answer was lost (:class:`~lms_connectors.errors.ResponseLost`), look up before anything else;
           return what is found, else send the create once more (the first never committed). An answer that is
           not the provider's (an HTML page or cut JSON with a 2xx status:
           :class:`~lms_connectors.errors.MalformedResponse`) is handled the same way: it says nothing about
           whether the create was made.

        An adapter that overrides :meth:`create_session` with its own rule is called as it is (``trace.rule`` is
        then ``"adapter"``).
        """
        trace = trace if trace is not None else CreateTrace()
        if type(self).create_session is not Adapter.create_session:
            trace.rule = "adapter"
            return self.create_session(session, key=key, fresh=fresh)
        return self._create_by_rule(session, key, fresh, trace)

    def _create_by_rule(self, session: Session, key: str, fresh: bool, trace: CreateTrace) -> ProviderRef:
        looks_up = self.lookup_before_create
        if looks_up is None:
            looks_up = not self.supports(Capability.NATIVE_IDEMPOTENCY)
        if not fresh and looks_up:
            found = self._look_up(session, key, "before create", trace)
            if found is not None:
                return found
        trace.attempts += 1
        try:
            return self.create_new(session, key)
        except (ResponseLost, MalformedResponse) as unknown:
            # A garbled answer (an HTML page or cut JSON with a 2xx status, JSON of another shape) says no more
            # than a lost one: the create may have been made. Its outcome is read from the provider, never
            # guessed: the object found by key is the one to keep, and only when none is found is it sent again.
            trace.lost_answers.append(unknown.message)
            reason = "after lost answer" if isinstance(unknown, ResponseLost) else "after garbled answer"
        found = self._look_up(session, key, reason, trace)
        if found is not None:
            return found
        trace.attempts += 1
        try:
            return self.create_new(session, key)
        except (ResponseLost, MalformedResponse) as unknown:
            trace.lost_answers.append(unknown.message)
            raise

    def _look_up(self, session: Session, key: str, reason: str, trace: CreateTrace) -> ProviderRef | None:
        trace.looked_up.append(reason)
        found = self.find_created(session, key)
        trace.found.append(found.external_id if found is not None else None)
        return found

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """Send the provider's create once, carrying ``key`` (as a marker, a client-chosen id or a header).

        Called only by the base class's rule; it raises :class:`~lms_connectors.errors.ResponseLost` when the
        answer was lost (the transport does that for a non-repeatable request) and never looks anything up.
        A create that makes several objects (Moodle's group and event) undoes its own part on any other failure.

        Raises:
            NotImplementedError: The adapter neither implements this nor overrides :meth:`create_session`.
        """
        raise NotImplementedError(f"{type(self).__name__} implements neither create_new nor create_session")

    def find_created(self, session: Session, key: str) -> ProviderRef | None:
        """Find the object an earlier create of ``session`` with ``key`` made (default: :meth:`find_session`).

        Override it when the session tells where to look (Moodle looks in the session's course), or when a
        found object needs finishing (an earlier attempt may have stopped half-way).
        """
        return self.find_session(key)

    @abc.abstractmethod
    def find_session(self, key: str) -> ProviderRef | None:
        """Look up the object a previous ``create_session(key=key)`` made, or ``None``."""

    def discard(self, key: str) -> bool:
        """Remove whatever a ``create_session(key=key)`` may have left behind; idempotent.

        The scheduler calls it for a create that was sent but whose object no ref names (its answer was lost,
        the process died, the session was then cancelled). The default finds the object by key and cancels it;
        an adapter whose create makes more than one object (Moodle's group and event) removes each part.

        Returns:
            Whether something was found and removed.
        """
        ref = self.find_session(key)
        if ref is None:
            return False
        self.cancel_session(ref, notify=False)
        return True

    @abc.abstractmethod
    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """Read the provider object back in SDK terms.

        Raises:
            NotFound: The object does not exist.
        """

    @abc.abstractmethod
    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """Move the provider object to ``session.slot`` (and carry any other changed field)."""

    @abc.abstractmethod
    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """Cancel or remove the provider object; succeed if it is already gone."""

    # -- optional -------------------------------------------------------------------------------

    def supports(self, capability: Capability) -> bool:
        """Whether this adapter declares ``capability``."""
        return capability in self.capabilities

    def _unsupported(self, capability: Capability) -> NotSupported:
        return NotSupported(
            f"{self.name} does not support {capability.value}", capability=capability.value, provider=self.name
        )

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """Add ``people`` to the provider object's roster in as few calls as the provider allows.

        Args:
            ref: The provider object.
            session: The session it stands for.
            people: Who joins.
            seated: The caller has given each of them a seat already (the scheduler keeps capacity and the
                waitlist in its ledger and pushes only confirmed learners). A provider with its own waitlist
                must then admit them, not queue them; ``False`` lets the provider's capacity decide.
        """
        raise self._unsupported(Capability.ROSTER)

    def unenrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *,
        registrations: Registrations | None = None,
    ) -> None:
        """Remove ``people`` (and only them) from the provider object's roster.

        Args:
            ref: The provider object.
            session: The session it stands for.
            people: Who leaves.
            registrations: What :meth:`enrol` answered for some of them, by email (the scheduler keeps it in
                the ledger). An adapter may use it to skip looking the registrations up; it must still work
                for people missing from it.
        """
        raise self._unsupported(Capability.ROSTER)

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """Everyone on the provider object's roster (lazily paged)."""
        raise self._unsupported(Capability.ROSTER)

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """Every session object that starts in ``[start, end)``, across all pages."""
        raise self._unsupported(Capability.LIST_SESSIONS)

    def list_rooms(self, *, page_size: int | None = None) -> Iterator[Room]:
        """Every room the provider can book, across all pages (``Room.email`` is what ``free_busy`` takes)."""
        raise self._unsupported(Capability.ROOMS)

    def free_busy(self, emails: Sequence[str], start: datetime, end: datetime) -> dict[str, list[BusyInterval]]:
        """Busy intervals of people or rooms in ``[start, end)``."""
        raise self._unsupported(Capability.FREE_BUSY)

    def list_attendance(self, ref: ProviderRef) -> Iterator[Presence]:
        """Who joined the provider object's past session, one record per join (lazily paged)."""
        raise self._unsupported(Capability.ATTENDANCE)

    def record_completion(
        self, ref: ProviderRef, session: Session, item: CompletionItem, marks: Mapping[str, CompletionState]
    ) -> Iterator[CompletionWritten]:
        """Write each learner's completion of the session on ``item``, yielding each write as it is done.

        An adapter reads what the LMS holds first where it can, and writes only what differs
        (:attr:`CompletionWritten.changed` is then ``False``); an item to make (no id) is found by the session's
        marker before it is made, so a repeated call makes no second one. The yielded records let the caller keep
        each write the moment it is done, even when a later learner fails.

        Args:
            ref: The session's object in this LMS (its course is where the item lives).
            session: The session (its slot dates an assignment the adapter makes).
            item: What the completion is recorded on.
            marks: Each learner's state, by lower-case email.

        Raises:
            ValidationError: ``item`` is of a kind the LMS does not record completion on (field
                ``completion.<provider>``), before any call.
            NotFound: The item, or a learner, is not in the course.
            PermissionDenied: The credentials may not write completion (the missing permission is named).
        """
        raise self._unsupported(Capability.COMPLETION)

    def check_completion(self, session: Session, item: CompletionItem) -> list[DiagnosticCheck]:
        """What writing ``session``'s completion on ``item`` needs, checked by reads only (``plan`` runs it).

        An adapter with :attr:`Capability.COMPLETION` checks the permissions the write needs (what ``doctor``
        reports as optional) and, where a read shows it, that ``item`` exists and can take completion. A failed
        check says what to grant or change. The default checks nothing.

        Args:
            session: The session whose completion the plan asks for (its course is where the item lives).
            item: What the plan names for this LMS.

        Returns:
            The checks, each passed or failed with its reason.
        """
        return []

    # -- rooms (Capability.ROOMS): the one interface the scheduler books rooms through -----------------

    def room_busy(self, rooms: Sequence[Room], start: datetime, end: datetime) -> dict[str, list[BusyInterval]]:
        """Busy intervals of ``rooms`` in ``[start, end)``, by :attr:`Room.id`.

        The default asks :meth:`free_busy` for the rooms' resource calendars (one call for all of them); a room
        booking system answers from its own availability instead.
        """
        if not self.supports(Capability.ROOMS):
            raise self._unsupported(Capability.ROOMS)
        by_email = {room.email: room.id for room in rooms if room.email}
        if not by_email:
            return {room.id: [] for room in rooms}
        busy = self.free_busy(list(by_email), start, end)
        found: dict[str, list[BusyInterval]] = {room.id: [] for room in rooms}
        found.update({room_id: busy.get(email, []) for email, room_id in by_email.items()})
        return found

    def room_response(self, ref: ProviderRef, room: Room) -> RoomResponse:
        """The room's current answer to the booking that the object ``ref`` carries.

        Raises:
            NotFound: The object does not exist, or does not book ``room``.
        """
        raise self._unsupported(Capability.ROOMS)

    def book_room(self, ref: ProviderRef, session: Session) -> tuple[ProviderRef, RoomResponse]:
        """Add ``session.room`` to the existing object ``ref`` (a calendar's event) and wait for its answer.

        Room-booking systems (:attr:`AdapterKind.ROOM`) book by creating their object instead: the scheduler
        calls :meth:`create_session` for them.

        Returns:
            The object's ref after the change, and the room's answer (accepted, tentative or still pending).

        Raises:
            Conflict: The room declined (it is booked then); the object is left as it was, without the room.
        """
        raise self._unsupported(Capability.ROOMS)

    def release_room(self, ref: ProviderRef, session: Session, room: Room) -> ProviderRef:
        """Remove ``room`` from the object ``ref`` (the event stays, showing ``session``); done already: success.

        Room-booking systems release by cancelling their object (:meth:`cancel_session`).

        Args:
            ref: The object that books the room.
            session: The session as it is to be shown afterwards (its ``room`` is ``None`` or another room).
            room: The room to release.

        Returns:
            The object's ref after the change.
        """
        raise self._unsupported(Capability.ROOMS)

    def diagnose(self) -> list[DiagnosticCheck]:
        """Check the configuration against the provider, for ``lms-connectors doctor``.

        The default runs :meth:`check_credentials` and then, for an adapter that lists sessions,
        :meth:`check_listing`; adapters add the checks their provider needs (permissions, settings, quotas).
        """
        credentials = self.check_credentials()
        if credentials.ok and self.supports(Capability.LIST_SESSIONS):
            return [credentials, self.check_listing()]
        return [credentials]

    def check_credentials(self) -> DiagnosticCheck:
        """Obtain new credentials now (a token from the provider's token endpoint), when the auth can.

        :calls: the auth flow's token endpoint.
        """
        transport = getattr(self, "transport", None)
        auth = transport.auth if isinstance(transport, HttpTransport) else None
        if auth is None or not auth.can_refresh:
            return DiagnosticCheck.of("credentials", True, "nothing to obtain: the credentials are sent as configured")

        def obtain() -> str:
            assert auth is not None
            auth.refresh()
            granted = auth.granted_scopes if isinstance(auth, OAuthTokenAuth) else None
            scopes = f"; granted scopes: {' '.join(granted)}" if granted else ""
            return f"the token endpoint issued an access token{scopes}"

        return DiagnosticCheck.probe("credentials", obtain)

    def check_listing(self) -> DiagnosticCheck:
        """Read the first page of sessions of the coming week (proves the credentials may read them).

        :calls: the adapter's :meth:`list_sessions` (one page of one item).
        """

        def first_page() -> str:
            start = datetime.now(UTC).replace(microsecond=0)
            found = next(self.list_sessions(start, start + timedelta(days=7), page_size=1), None)
            return "sessions can be listed" + (f" (first: {found.ref.external_id})" if found else " (none this week)")

        return DiagnosticCheck.probe("listing", first_page)

    def close(self) -> None:
        """Release the adapter's resources (its transports' connections)."""
        for transport in self.transports().values():
            transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
