"""Capabilities checked against the code: a capability is a promise that a standard method works.

The support matrix and the scheduler read :attr:`Adapter.capabilities` as data. The capabilities that stand for
standard methods are derived from the methods an adapter overrides (:data:`~lms_connectors.adapter.CAPABILITY_METHODS`),
so what is left to check is a capability declared by hand without the methods behind it, a capability only half
written (``enrol`` without ``unenrol``), and a calendar that lists rooms but cannot book one. The contract kit
runs :func:`capability_mismatches` for every adapter under contract.
"""

from __future__ import annotations

from lms_connectors.adapter import CAPABILITY_METHODS, Adapter, AdapterKind, Capability, overrides

__all__ = ["CAPABILITY_METHODS", "capability_mismatches"]  # the table lives in the core; named here as before


def capability_mismatches(adapter_class: type[Adapter]) -> list[str]:
    """What ``adapter_class`` declares without implementing, or implements only in part.

    A capability counts as implemented when the class (or a base below :class:`Adapter`) overrides every
    standard method it stands for; the base methods only raise ``NotSupported``. Such a capability is the
    class's without being declared; one declared by hand (or inherited) without its methods is a lie.

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
            if not overrides(adapter_class, name)
        )
    for capability, methods in CAPABILITY_METHODS.items():
        missing = [name for name in methods if not overrides(adapter_class, name)]
        declared = capability in adapter_class.capabilities
        if declared and missing:
            problems.append(
                f"{adapter_class.__name__} declares Capability.{capability.name} but does not implement "
                + ", ".join(f"{name}()" for name in missing)
            )
        elif missing and len(missing) < len(methods):
            written = [name for name in methods if name not in missing]
            problems.append(
                f"{adapter_class.__name__} implements {', '.join(f'{name}()' for name in written)} but not "
                + ", ".join(f"{name}()" for name in missing)
                + f", so it lacks Capability.{capability.name} (callers and the support matrix will never use it)"
            )
    return problems
