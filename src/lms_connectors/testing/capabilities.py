"""Declared capabilities checked against the code: a capability is a promise that a standard method works.

The support matrix and the scheduler read :attr:`Adapter.capabilities` as data, so a capability declared
without the method behind it (or a standard method written but not declared) makes both lie. The contract kit
runs :func:`capability_mismatches` for every adapter under contract.
"""

from __future__ import annotations

from collections.abc import Mapping

from lms_connectors.adapter import Adapter, AdapterKind, Capability

__all__ = ["CAPABILITY_METHODS", "capability_mismatches"]

CAPABILITY_METHODS: Mapping[Capability, tuple[str, ...]] = {
    Capability.ROSTER: ("enrol", "unenrol", "list_roster"),
    Capability.LIST_SESSIONS: ("list_sessions",),
    Capability.FREE_BUSY: ("free_busy",),
    Capability.ROOMS: ("list_rooms",),
    Capability.ATTENDANCE: ("list_attendance",),
}
"""The standard :class:`Adapter` methods each capability stands for. The other capabilities describe how the
required methods behave (in place, with a link, natively idempotent...); the contract cases check those.
A calendar that declares ``ROOMS`` also implements :meth:`Adapter.book_room` and :meth:`Adapter.release_room`
(checked by :func:`capability_mismatches`); a room-booking system books with its create and releases with its cancel."""


def _overrides(adapter_class: type[Adapter], method: str) -> bool:
    return getattr(adapter_class, method, None) is not getattr(Adapter, method)


def capability_mismatches(adapter_class: type[Adapter]) -> list[str]:
    """What ``adapter_class`` declares without implementing, or implements without declaring.

    A capability counts as implemented when the class (or a base below :class:`Adapter`) overrides every
    standard method it stands for; the base methods only raise ``NotSupported``.

    Args:
        adapter_class: The adapter class to check.

    Returns:
        One sentence per mismatch, empty when declarations and code agree.
    """
    problems: list[str] = []
    if Capability.ROOMS in adapter_class.capabilities and adapter_class.kind is not AdapterKind.ROOM:
        problems.extend(
            f"{adapter_class.__name__} books rooms on a {adapter_class.kind.value}'s objects but does not implement "
            f"{name}()"
            for name in ("book_room", "release_room")
            if not _overrides(adapter_class, name)
        )
    for capability, methods in CAPABILITY_METHODS.items():
        missing = [name for name in methods if not _overrides(adapter_class, name)]
        declared = capability in adapter_class.capabilities
        if declared and missing:
            problems.append(
                f"{adapter_class.__name__} declares Capability.{capability.name} but does not implement "
                + ", ".join(f"{name}()" for name in missing)
            )
        elif not declared and len(missing) < len(methods):
            written = [name for name in methods if name not in missing]
            problems.append(
                f"{adapter_class.__name__} implements {', '.join(f'{name}()' for name in written)} but does not "
                f"declare Capability.{capability.name} (callers and the support matrix will never use it)"
            )
    return problems
