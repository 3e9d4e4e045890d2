"""Capabilities of standard methods are derived from the methods an adapter overrides; declared ones are checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lms_connectors.adapter import Adapter, AdapterKind, Capability, RoomResponse
from lms_connectors.http.settings import TransportSettings
from lms_connectors.models import ProviderRef, ProviderSession, Room, RosterMember
from lms_connectors.testing.capabilities import CAPABILITY_METHODS, capability_mismatches
from lms_connectors.testing.contract import AdapterContract
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import Simulator


class Minimal(Adapter):
    """The required methods only."""

    name = "minimal"
    kind = AdapterKind.LMS
    config_model = TransportSettings

    def find_session(self, key: str) -> ProviderRef | None:
        return None

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        raise NotImplementedError

    def reschedule_session(self, ref: ProviderRef, session: Any) -> ProviderRef:
        return ref

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        return None


class DeclaresRoomsOnly(Minimal):
    """Declares ROOMS (as Google once did with only a provider extra) but has no list_rooms()."""

    capabilities = frozenset({Capability.ROOMS})

    def ex_list_rooms(self) -> Iterator[Room]:
        return iter(())


class HalfARoster(Minimal):
    """Declares ROSTER, implements enrol and list_roster, forgets unenrol."""

    capabilities = frozenset({Capability.ROSTER})

    def enrol(self, ref: ProviderRef, session: Any, people: Any, *, seated: bool = False) -> list[RosterMember]:
        return []

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        return iter(())


class ListsRooms(Minimal):
    """A room-booking system that lists rooms and declares nothing: ROOMS comes from list_rooms()."""

    kind = AdapterKind.ROOM

    def list_rooms(self, *, page_size: int | None = None) -> Iterator[Room]:
        return iter(())


class FullRoster(Minimal):
    """Writes the three roster methods and declares nothing: ROSTER comes from them."""

    def enrol(self, ref: ProviderRef, session: Any, people: Any, *, seated: bool = False) -> list[RosterMember]:
        return []

    def unenrol(self, ref: ProviderRef, session: Any, people: Any, *, registrations: Any = None) -> None:
        return None

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        return iter(())


class EnrolOnly(Minimal):
    """Writes enrol() alone: no ROSTER, and the kit says what is missing (callers would never enrol)."""

    def enrol(self, ref: ProviderRef, session: Any, people: Any, *, seated: bool = False) -> list[RosterMember]:
        return []


class Honest(Minimal):
    """A room-booking system: it books with its create, so it needs no book_room()/release_room()."""

    kind = AdapterKind.ROOM
    capabilities = frozenset({Capability.ROOMS, Capability.RESCHEDULE_IN_PLACE})

    def list_rooms(self, *, page_size: int | None = None) -> Iterator[Room]:
        return iter(())

    def room_response(self, ref: ProviderRef, room: Room) -> RoomResponse:
        return RoomResponse.ACCEPTED


class CalendarListingRooms(Honest):
    """A calendar that lists rooms and reads their answer but cannot add one to an existing event."""

    kind = AdapterKind.CALENDAR


def test_every_method_named_is_a_standard_optional_method() -> None:
    for methods in CAPABILITY_METHODS.values():
        for name in methods:
            assert callable(getattr(Adapter, name)), name
            assert name not in Adapter.__abstractmethods__


def test_a_declared_capability_without_its_method_is_reported() -> None:
    assert capability_mismatches(DeclaresRoomsOnly) == [
        "DeclaresRoomsOnly books rooms on a lms's objects but does not implement book_room()",
        "DeclaresRoomsOnly books rooms on a lms's objects but does not implement release_room()",
        "DeclaresRoomsOnly declares Capability.ROOMS but does not implement list_rooms()",
    ]
    assert capability_mismatches(CalendarListingRooms) == [
        "CalendarListingRooms books rooms on a calendar's objects but does not implement book_room()",
        "CalendarListingRooms books rooms on a calendar's objects but does not implement release_room()",
    ]
    assert capability_mismatches(HalfARoster) == ["HalfARoster declares Capability.ROSTER but does not implement unenrol()"]


def test_the_capabilities_of_standard_methods_come_from_the_methods() -> None:
    assert ListsRooms.capabilities == {Capability.ROOMS}
    assert FullRoster.capabilities == {Capability.ROSTER}
    assert Minimal.capabilities == frozenset()
    assert Honest.capabilities == {Capability.ROOMS, Capability.RESCHEDULE_IN_PLACE}  # declared and derived agree
    assert capability_mismatches(ListsRooms) == []
    assert capability_mismatches(FullRoster) == []


def test_a_capability_written_in_part_is_reported() -> None:
    assert EnrolOnly.capabilities == frozenset()
    assert capability_mismatches(EnrolOnly) == [
        "EnrolOnly implements enrol() but not unenrol(), list_roster(), so it lacks Capability.ROSTER (callers and "
        "the support matrix will never use it)"
    ]


def test_a_subclass_keeps_the_capabilities_of_its_base_and_adds_its_own() -> None:
    class RosterAndRooms(FullRoster):
        kind = AdapterKind.ROOM
        capabilities = frozenset({Capability.NATIVE_CAPACITY})

        def list_rooms(self, *, page_size: int | None = None) -> Iterator[Room]:
            return iter(())

    assert RosterAndRooms.capabilities == {Capability.NATIVE_CAPACITY, Capability.ROSTER, Capability.ROOMS}


def test_behavioural_capabilities_need_no_method() -> None:
    assert capability_mismatches(Honest) == []
    assert capability_mismatches(Minimal) == []


def test_the_base_list_rooms_refuses_with_the_capability() -> None:
    from lms_connectors.errors import NotSupported

    with pytest.raises(NotSupported) as refused:
        list(Minimal(TransportSettings(base_url="https://minimal.example")).list_rooms())
    assert refused.value.capability == "rooms"


def _harness_for(adapter_class: type[Adapter]) -> ContractHarness[Adapter, Simulator]:
    class Harness(ContractHarness[Adapter, Simulator]):
        adapter_name = "minimal"
        canonical_base_url = "https://minimal.example"

        def make_simulator(self) -> Simulator:
            raise AssertionError("not reached")

    Harness.adapter_class = adapter_class
    return Harness()


@pytest.mark.parametrize("adapter_class", [DeclaresRoomsOnly, HalfARoster, EnrolOnly])
def test_the_contract_fails_an_adapter_whose_capabilities_lie(adapter_class: type[Adapter]) -> None:
    class Contract(AdapterContract):
        harness = _harness_for(adapter_class)

    with pytest.raises(AssertionError, match="Capability"):
        Contract().test_capabilities_match_the_code()


def test_the_contract_passes_an_honest_adapter() -> None:
    class Contract(AdapterContract):
        harness = _harness_for(Honest)

    Contract().test_capabilities_match_the_code()
