"""Names a package exports without importing the modules that define them until one is first used (PEP 562).

An adapter package exports its adapter and config classes (``from lms_connectors_zoom import ZoomAdapter``), and
entry-point discovery and ``import lms_connectors_zoom`` must stay cheap: the package's ``__init__`` declares the
names with :func:`lazy_exports`, and the defining module is imported when a name is first read.

    from typing import TYPE_CHECKING

    from lms_connectors.lazy import lazy_exports

    if TYPE_CHECKING:  # what type checkers and IDEs see
        from lms_connectors_acme.adapter import AcmeAdapter

    __all__ = ["AcmeAdapter"]
    __getattr__, __dir__ = lazy_exports(__name__, {"AcmeAdapter": ".adapter"})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that import each exported name from its module on first use.

    Args:
        package: The exporting package's ``__name__``.
        exports: Exported name to the module that defines it, absolute or relative to ``package`` (``".adapter"``).

    Returns:
        ``(__getattr__, __dir__)`` for the package's namespace; a name read once is then set on the package, so
        later reads are plain attribute reads.
    """

    def __getattr__(name: str) -> object:  # noqa: N807 - the module hook's required name
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807 - the module hook's required name
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
