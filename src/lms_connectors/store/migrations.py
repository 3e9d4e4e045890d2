"""Versioned ledger schemas: each backend lists its steps, and opening a ledger applies the ones it lacks.

A ledger's schema version is the highest step applied. Opening one written by a newer lms-connectors is refused
(never half-read); opening an older one applies the missing steps in one transaction, so existing files and
databases keep working after an upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lms_connectors.errors import ConfigurationError

__all__ = ["Migration", "pending_migrations"]


@dataclass(frozen=True)
class Migration:
    """One step of a schema.

    Attributes:
        version: The schema version once the step is applied (1 for the first, one more for each next step).
        description: What the step changes, for logs and the version table.
        statements: SQL statements, run in order inside the migrating transaction.
    """

    version: int
    description: str
    statements: tuple[str, ...]


def pending_migrations(current: int, migrations: Sequence[Migration], where: str) -> list[Migration]:
    """The steps a ledger at schema ``current`` still needs, in order.

    Args:
        current: The ledger's schema version (0 when it has none yet).
        migrations: Every step of the backend, versions 1, 2, ... in order.
        where: The ledger's name in messages (a file path, a database and schema).

    Returns:
        The steps whose version is above ``current``.

    Raises:
        ConfigurationError: The ledger was written by a newer schema than this version of lms-connectors knows.
    """
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise ConfigurationError(
            f"ledger {where} has schema version {current}; this lms-connectors knows up to {latest}: "
            "upgrade lms-connectors"
        )
    return [migration for migration in migrations if migration.version > current]
