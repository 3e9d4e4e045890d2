"""The one adapter interface every provider implements.

An adapter maps a :class:`~lms_connectors.models.Session` onto the provider's native object (a calendar event, a
Zoom meeting, a Moodle course event with a group) and the session's roster onto the provider's roster
(attendees, registrants, enrolments). Required operations are abstract; optional ones raise
:class:`~lms_connectors.errors.NotSupported` carrying the capability, and each adapter declares what it
offers in :attr:`Adapter.capabilities` so that callers and the README's support matrix read it as data.

Provider-only extras live on the concrete adapter, after the standard API, and are prefixed ``ex_``; the
core never calls them.

Rules every adapter follows (the contract kit checks each one):

* ``create_session`` is idempotent for a given ``key``: called twice, or retried after a lost response,
  it leaves exactly one provider object. Where the provider has no native idempotency key the adapter
  looks the object up by a marker derived from the key before creating, unless the caller says the key is
  ``fresh`` (never sent: the ledger comes first, the provider's listing second), and after a lost answer.
* ``reschedule_session`` updates the same object in place where the provider allows it.
* ``cancel_session`` of an object that is already gone succeeds (cancelling is idempotent).
* ``enrol`` pushes only the people it is given and is idempotent; ``unenrol`` removes only them.
* Every provider failure surfaces as an error of :mod:`lms_connectors.errors`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from lms_connectors.errors import ConfigurationError, NotSupported
from lms_connectors.models import (
    AwareDatetime,
    Person,
    ProviderRef,
    ProviderSession,
    RosterMember,
    Session,
    describe_pydantic_error,
)

__all__ = ["Adapter", "AdapterKind", "BusyInterval", "Capability", "DiagnosticCheck"]


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
    """Rooms can be listed and booked."""
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


class BusyInterval(BaseModel):
    """One busy interval of a person or room (aware instants)."""

    start: AwareDatetime
    end: AwareDatetime


class DiagnosticCheck(BaseModel):
    """One check of ``lms-connectors doctor``: what was checked, whether it passed, and why."""

    name: str
    ok: bool
    detail: str = ""


class Adapter(abc.ABC):
    """Base class of every provider adapter.

    Subclasses set :attr:`name`, :attr:`kind`, :attr:`capabilities` and :attr:`config_model`, and
    implement the abstract methods. Construct adapters through :meth:`from_config` (the registry does).
    """

    name: ClassVar[str]
    """Registry name, also the entry-point name (``"google_calendar"``)."""
    display_name: ClassVar[str]
    """Name shown to people (``"Google Calendar"``)."""
    kind: ClassVar[AdapterKind]
    """Role in a multi-provider session."""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    """What this adapter offers beyond the required operations."""
    config_model: ClassVar[type[BaseModel]]
    """Pydantic model of this adapter's configuration."""

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: Mapping[str, Any]) -> Adapter:
        """Build an adapter from a configuration mapping validated by :attr:`config_model`."""

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

    # -- required -------------------------------------------------------------------------------

    @abc.abstractmethod
    def create_session(self, session: Session, *, key: str, fresh: bool = False) -> ProviderRef:
        """Create the provider object for ``session``; idempotent for ``key``.

        Args:
            session: What to create. ``session.meeting`` carries a link made by a meeting provider.
            key: Idempotency key, stable across retries of this create (the scheduler mints it once).
            fresh: The caller's ledger proves that no create was ever sent with ``key`` (the scheduler says so
                for a key it has just minted). An adapter that finds earlier creates by a marker may then skip
                that look-up; it must still look up after a lost answer. ``False`` (the default) means "maybe
                sent before": look up first.

        Returns:
            Where the session now lives in the provider.
        """

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
        self,
        ref: ProviderRef,
        session: Session,
        people: Sequence[Person],
        *,
        registrations: Mapping[str, RosterMember] | None = None,
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

    def free_busy(self, emails: Sequence[str], start: datetime, end: datetime) -> dict[str, list[BusyInterval]]:
        """Busy intervals of people or rooms in ``[start, end)``."""
        raise self._unsupported(Capability.FREE_BUSY)

    def diagnose(self) -> list[DiagnosticCheck]:
        """Check the configuration against the provider (reachability, permissions, settings)."""
        raise NotSupported(f"{self.name} has no doctor checks", capability="diagnose", provider=self.name)

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release the adapter's resources (its HTTP session)."""

    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
