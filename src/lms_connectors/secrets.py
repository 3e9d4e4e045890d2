"""Where provider credentials come from: a pluggable source, per tenant and adapter, read when needed.

Credentials are never kept in the ledger nor sent in task payloads: a worker asks its :class:`SecretsSource`
for ``(tenant, adapter)`` each time it builds (or checks) an adapter, so a rotated secret takes effect on the
next task without restarting anything (see :class:`lms_connectors.workers.runtime.TenantRuntime`).

Three sources ship:

- :class:`EnvSecrets`: environment variables ``LMS_CONNECTORS_SECRET__<TENANT>__<ADAPTER>__<FIELD>``
  (names upper-cased, ``-`` and ``.`` as ``_``), e.g. ``LMS_CONNECTORS_SECRET__ACME__ZOOM__CLIENT_SECRET``.
- :class:`FileSecrets`: one JSON object per tenant and adapter, ``<folder>/<tenant>/<adapter>.json``
  (a mounted secrets volume: rotating means replacing the file).
- :class:`KeyringSecrets`: any keyring-style store (an object with ``get_password(service, username)``, such
  as the ``keyring`` package or a vault client wrapped alike), holding the JSON object under service
  ``lms-connectors/<tenant>`` and username ``<adapter>``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from lms_connectors.errors import ConfigurationError
from lms_connectors.store.base import check_tenant

__all__ = ["EnvSecrets", "FileSecrets", "KeyringBackend", "KeyringSecrets", "SecretsSource"]


class SecretsSource(Protocol):
    """Gives the credentials of one tenant's adapter (the fields its configuration keeps secret)."""

    def secrets_for(self, tenant: str, adapter: str) -> dict[str, str]:
        """The secret configuration fields of ``adapter`` for ``tenant`` (empty when there are none).

        Raises:
            ConfigurationError: The stored secrets cannot be read or are not a JSON object of strings.
        """
        ...


def _checked(raw: object, where: str) -> dict[str, str]:
    """A JSON object of strings, or a :class:`ConfigurationError` naming ``where``."""
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ConfigurationError(f"secrets in {where} must be a JSON object of strings")
    return dict(raw)


def _name_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


class EnvSecrets:
    """Secrets from environment variables, read at each call (a changed variable is seen at once).

    Args:
        environ: The mapping to read (``os.environ`` by default; tests pass their own).
        prefix: The variables' common prefix.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, *, prefix: str = "LMS_CONNECTORS_SECRET") -> None:
        self._environ = os.environ if environ is None else environ
        self._prefix = prefix

    def secrets_for(self, tenant: str, adapter: str) -> dict[str, str]:
        """Fields from ``<prefix>__<TENANT>__<ADAPTER>__<FIELD>`` variables, field names in lower case."""
        head = f"{self._prefix}__{_name_part(check_tenant(tenant))}__{_name_part(adapter)}__"
        return {name[len(head) :].lower(): value for name, value in self._environ.items() if name.startswith(head)}


class FileSecrets:
    """Secrets from ``<folder>/<tenant>/<adapter>.json``, read again whenever the file changes.

    Args:
        folder: The secrets folder (often a mounted volume).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._cache: dict[Path, tuple[tuple[int, int], dict[str, str]]] = {}

    def secrets_for(self, tenant: str, adapter: str) -> dict[str, str]:
        """The file's fields; empty when there is no file for that tenant and adapter.

        Raises:
            ConfigurationError: The file is not a JSON object of strings, or the adapter name is not a plain name.
        """
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", adapter) or adapter.startswith("."):
            raise ConfigurationError(f"invalid adapter name {adapter!r} for a secrets file")
        path = self.folder / check_tenant(tenant) / f"{adapter}.json"
        try:
            stat = path.stat()
        except FileNotFoundError:
            return {}
        # Size and modification time in nanoseconds: a replaced file is read again, an unchanged one is not.
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return dict(cached[1])
        try:
            fields = _checked(json.loads(path.read_text(encoding="utf-8")), str(path))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read secrets file {path}: {exc}") from exc
        self._cache[path] = (stamp, fields)
        return dict(fields)


class KeyringBackend(Protocol):
    """The part of the ``keyring`` package's interface this source uses."""

    def get_password(self, service_name: str, username: str) -> str | None:
        """The stored secret, or None."""
        ...


class KeyringSecrets:
    """Secrets from a keyring-style store: a JSON object under ``lms-connectors/<tenant>`` / ``<adapter>``.

    Args:
        backend: The store (``keyring`` itself, or anything with the same ``get_password``).
        service_prefix: The services' common prefix.
    """

    def __init__(self, backend: KeyringBackend, *, service_prefix: str = "lms-connectors") -> None:
        self._backend = backend
        self._prefix = service_prefix

    def secrets_for(self, tenant: str, adapter: str) -> dict[str, str]:
        """The stored object's fields; empty when nothing is stored.

        Raises:
            ConfigurationError: The stored value is not a JSON object of strings.
        """
        service = f"{self._prefix}/{check_tenant(tenant)}"
        raw = self._backend.get_password(service, adapter)
        if raw is None:
            return {}
        try:
            return _checked(json.loads(raw), f"keyring {service}/{adapter}")
        except ValueError as exc:
            raise ConfigurationError(f"secrets in keyring {service}/{adapter} are not JSON") from exc
