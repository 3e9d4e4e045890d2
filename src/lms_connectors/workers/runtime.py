"""What a worker needs to serve a tenant: its ledger handle and its adapters, built with fresh credentials.

A :class:`TenantRuntime` is shared by every task a worker process runs. It keeps one ledger (one connection
pool) and binds it per tenant, and keeps the adapters it built, keyed by their configuration *including the
credentials' fingerprint*: before each task it asks the :class:`~lms_connectors.secrets.SecretsSource` again,
so a rotated secret makes the next task build a new adapter, and no worker needs a restart. Credentials are
never written to the ledger or to a task's payload.

Given a Redis connection, every adapter sends through a
:class:`~lms_connectors.shared_limits.SharedLimitsSession` scoped to its tenant, so the provider's limits
(:data:`~lms_connectors.shared_limits.PROVIDER_RULES`, or the rules given) hold across all workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from lms_connectors.adapter import Adapter
from lms_connectors.errors import ConfigurationError
from lms_connectors.registry import load_adapter_class
from lms_connectors.scheduler import Scheduler
from lms_connectors.secrets import EnvSecrets, FileSecrets, SecretsSource
from lms_connectors.store import open_ledger
from lms_connectors.store.base import LedgerStore, check_tenant

if TYPE_CHECKING:
    import redis

    from lms_connectors.shared_limits import LimitRule

__all__ = ["AdapterFactory", "TenantRuntime", "build_adapter", "from_environment"]

AdapterFactory = Callable[[str, Mapping[str, Any], requests.Session | None], Adapter]
"""Builds the adapter registered under a name from its whole configuration (settings and secrets), sending
through the given session (``None``: the adapter's own)."""


def build_adapter(name: str, config: Mapping[str, Any], session: requests.Session | None) -> Adapter:
    """The registry's adapter ``name`` built from ``config`` with ``session`` as its runtime option.

    Raises:
        ConfigurationError: No adapter has that name, or the configuration is invalid.
    """
    return load_adapter_class(name).from_config(config, session=session)


def _fingerprint(config: Mapping[str, Any]) -> str:
    # A digest, so the cache key does not keep the secret text itself.
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


class TenantRuntime:
    """Ledger handles and adapters of every tenant a worker serves.

    Args:
        ledger: The shared ledger (bound to any tenant; :meth:`scheduler_for` binds it to each).
        tenants: Tenant id -> adapter name -> the adapter's settings without secrets.
        secrets: Where each tenant's adapter credentials come from (read before every task).
        adapter_factory: Builds an adapter (:func:`build_adapter` by default).
        limits_client: A Redis connection for the limits shared by every worker (none: each adapter paces
            itself alone).
        limit_rules: Adapter name -> its shared limits (:data:`~lms_connectors.shared_limits.PROVIDER_RULES` for
            the names it lacks).

    Raises:
        ConfigurationError: A tenant id is invalid or a tenant has no adapter.
    """

    def __init__(
        self,
        ledger: LedgerStore,
        tenants: Mapping[str, Mapping[str, Mapping[str, Any]]],
        secrets: SecretsSource,
        *,
        adapter_factory: AdapterFactory = build_adapter,
        limits_client: redis.Redis | None = None,
        limit_rules: Mapping[str, Sequence[LimitRule]] | None = None,
    ) -> None:
        for tenant, adapters in tenants.items():
            check_tenant(tenant)
            if not adapters:
                raise ConfigurationError(f"tenant {tenant!r} has no adapter configured")
        self._ledger = ledger
        self._tenants = {
            tenant: {name: dict(cfg) for name, cfg in adapters.items()} for tenant, adapters in tenants.items()
        }
        self._secrets = secrets
        self._factory = adapter_factory
        self._limits_client = limits_client
        self._limit_rules = dict(limit_rules or {})
        self._lock = threading.Lock()
        self._ledgers: dict[str, LedgerStore] = {}
        self._adapters: dict[tuple[str, str], tuple[str, Adapter]] = {}

    @property
    def tenants(self) -> list[str]:
        """The tenants this runtime serves."""
        return sorted(self._tenants)

    def ledger_for(self, tenant: str) -> LedgerStore:
        """The ledger bound to ``tenant`` (one handle per tenant, sharing the storage).

        Raises:
            ConfigurationError: The tenant is not served here.
        """
        self._require(tenant)
        with self._lock:
            if tenant not in self._ledgers:
                self._ledgers[tenant] = self._ledger if self._ledger.tenant == tenant else self._ledger.bind(tenant)
            return self._ledgers[tenant]

    def adapters_for(self, tenant: str) -> list[Adapter]:
        """The tenant's adapters, rebuilt for any whose settings or credentials changed since the last task.

        Raises:
            ConfigurationError: The tenant is not served here, or an adapter's configuration is invalid.
        """
        built: list[Adapter] = []
        for name, settings in self._require(tenant).items():
            config = {**settings, **self._secrets.secrets_for(tenant, name)}
            fingerprint = _fingerprint(config)
            with self._lock:
                cached = self._adapters.get((tenant, name))
            if cached is not None and cached[0] == fingerprint:
                built.append(cached[1])
                continue
            adapter = self._factory(name, config, self._shared_session(tenant, name))
            with self._lock:
                self._adapters[(tenant, name)] = (fingerprint, adapter)
            built.append(adapter)
        return built

    def _shared_session(self, tenant: str, name: str) -> requests.Session | None:
        if self._limits_client is None:
            return None
        from lms_connectors.shared_limits import PROVIDER_RULES, SharedLimitsSession

        rules = self._limit_rules.get(name, PROVIDER_RULES.get(name, ()))
        return SharedLimitsSession(self._limits_client, f"{tenant}/{name}", rules)

    def scheduler_for(self, tenant: str) -> Scheduler:
        """A scheduler over the tenant's ledger and adapters, for one task."""
        return Scheduler(self.adapters_for(tenant), self.ledger_for(tenant))

    def close(self) -> None:
        """Close the ledger handles."""
        with self._lock:
            handles = [h for h in self._ledgers.values() if h is not self._ledger]
            self._ledgers.clear()
        for handle in handles:
            handle.close()
        self._ledger.close()

    def _require(self, tenant: str) -> Mapping[str, Mapping[str, Any]]:
        adapters = self._tenants.get(check_tenant(tenant))
        if adapters is None:
            raise ConfigurationError(
                f"tenant {tenant!r} is not served by this worker (known: {', '.join(self.tenants)})"
            )
        return adapters


def from_environment(environ: Mapping[str, str] | None = None) -> TenantRuntime:
    """The runtime a worker builds from its environment.

    Variables:
        ``LMS_CONNECTORS_LEDGER_URL``: the ledger (``postgresql://...`` for several workers).
        ``LMS_CONNECTORS_LEDGER_SCHEMA``: the PostgreSQL schema (optional).
        ``LMS_CONNECTORS_TENANTS_FILE``: a JSON file ``{tenant: {adapter: {setting: value}}}`` without secrets.
        ``LMS_CONNECTORS_SECRETS_DIR``: a :class:`~lms_connectors.secrets.FileSecrets` folder; without it the
        secrets come from ``LMS_CONNECTORS_SECRET__<TENANT>__<ADAPTER>__<FIELD>`` variables.
        ``LMS_CONNECTORS_LIMITS_REDIS_URL``: the Redis holding the limits shared by every worker (optional).
        ``LMS_CONNECTORS_LIMITS_FILE``: a JSON file ``{adapter: [{"name", "kind", "limit", ...}]}`` of
        :class:`~lms_connectors.shared_limits.LimitRule` rows replacing the defaults (optional).

    Raises:
        ConfigurationError: A variable is missing, or the tenants file cannot be read.
    """
    env = os.environ if environ is None else environ
    missing = [name for name in ("LMS_CONNECTORS_LEDGER_URL", "LMS_CONNECTORS_TENANTS_FILE") if not env.get(name)]
    if missing:
        raise ConfigurationError(f"worker environment lacks {', '.join(missing)}")
    path = Path(env["LMS_CONNECTORS_TENANTS_FILE"])
    try:
        tenants = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read tenants file {path}: {exc}") from exc
    if not isinstance(tenants, dict) or not all(
        isinstance(adapters, dict) and all(isinstance(cfg, dict) for cfg in adapters.values())
        for adapters in tenants.values()
    ):
        raise ConfigurationError(f"tenants file {path} must be a JSON object {{tenant: {{adapter: {{...}}}}}}")
    secrets: SecretsSource = (
        FileSecrets(env["LMS_CONNECTORS_SECRETS_DIR"]) if env.get("LMS_CONNECTORS_SECRETS_DIR") else EnvSecrets(env)
    )
    url = env["LMS_CONNECTORS_LEDGER_URL"]
    schema = env.get("LMS_CONNECTORS_LEDGER_SCHEMA")
    if schema and url.startswith(("postgresql://", "postgres://")):
        from lms_connectors.store.postgres import PostgresLedger

        ledger: LedgerStore = PostgresLedger(url, schema=schema)
    else:
        ledger = open_ledger(url)
    client = None
    rules: dict[str, list[LimitRule]] = {}
    if env.get("LMS_CONNECTORS_LIMITS_REDIS_URL"):
        import redis

        from lms_connectors.shared_limits import LimitRule

        client = redis.Redis.from_url(env["LMS_CONNECTORS_LIMITS_REDIS_URL"])
        if env.get("LMS_CONNECTORS_LIMITS_FILE"):
            limits_path = Path(env["LMS_CONNECTORS_LIMITS_FILE"])
            try:
                raw = json.loads(limits_path.read_text(encoding="utf-8"))
                rules = {name: [LimitRule(**row) for row in rows] for name, rows in raw.items()}
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                raise ConfigurationError(f"cannot read limits file {limits_path}: {exc}") from exc
    return TenantRuntime(ledger, tenants, secrets, limits_client=client, limit_rules=rules)
