"""Secrets sources (environment, files, keyring-style) and how a worker's runtime picks up a rotated secret."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from acme_lms_connector.adapter import AcmeLmsAdapter
from acme_lms_connector.simulator import AcmeLmsSimulator

from lms_connectors.adapter import Adapter
from lms_connectors.errors import AuthError, ConfigurationError
from lms_connectors.secrets import EnvSecrets, FileSecrets, KeyringSecrets
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors.workers.runtime import TenantRuntime, build_adapter, from_environment


def test_env_secrets_are_read_per_tenant_and_adapter_at_each_call() -> None:
    environ = {
        "LMS_CONNECTORS_SECRET__ACME_CORP__ZOOM__CLIENT_SECRET": "s1",
        "LMS_CONNECTORS_SECRET__ACME_CORP__ZOOM__ACCOUNT_ID": "a1",
        "LMS_CONNECTORS_SECRET__GLOBEX__ZOOM__CLIENT_SECRET": "other",
    }
    source = EnvSecrets(environ)
    assert source.secrets_for("acme-corp", "zoom") == {"client_secret": "s1", "account_id": "a1"}
    assert source.secrets_for("acme-corp", "moodle") == {}
    environ["LMS_CONNECTORS_SECRET__ACME_CORP__ZOOM__CLIENT_SECRET"] = "s2"
    assert source.secrets_for("acme-corp", "zoom")["client_secret"] == "s2"
    with pytest.raises(ConfigurationError, match="tenant"):
        source.secrets_for("../x", "zoom")


def test_file_secrets_are_read_again_when_the_file_changes(tmp_path: Path) -> None:
    folder = tmp_path / "acme"
    folder.mkdir()
    path = folder / "zoom.json"
    path.write_text(json.dumps({"client_secret": "first"}))
    source = FileSecrets(tmp_path)
    assert source.secrets_for("acme", "zoom") == {"client_secret": "first"}
    path.write_text(json.dumps({"client_secret": "second-longer"}))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert source.secrets_for("acme", "zoom") == {"client_secret": "second-longer"}
    assert source.secrets_for("acme", "moodle") == {}
    assert source.secrets_for("globex", "zoom") == {}


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"client_secret": 5}'])
def test_a_bad_secrets_file_is_a_configuration_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "zoom.json").write_text(content)
    with pytest.raises(ConfigurationError, match="secrets"):
        FileSecrets(tmp_path).secrets_for("acme", "zoom")


def test_file_secrets_refuse_an_adapter_name_that_leaves_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="adapter name"):
        FileSecrets(tmp_path).secrets_for("acme", "../../etc/passwd")


class DictKeyring:
    """A keyring backend holding its passwords in a dict (the interface of the keyring package)."""

    def __init__(self) -> None:
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service_name: str, username: str) -> str | None:
        return self.passwords.get((service_name, username))


def test_keyring_secrets_hold_a_json_object_per_tenant_service() -> None:
    backend = DictKeyring()
    backend.passwords[("lms-connectors/acme", "zoom")] = json.dumps({"client_secret": "k"})
    backend.passwords[("lms-connectors/globex", "zoom")] = "not json"
    source = KeyringSecrets(backend)
    assert source.secrets_for("acme", "zoom") == {"client_secret": "k"}
    assert source.secrets_for("acme", "moodle") == {}
    with pytest.raises(ConfigurationError, match="not JSON"):
        source.secrets_for("globex", "zoom")


# rotation through the runtime, against the Acme simulator


def test_a_rotated_secret_takes_effect_at_the_next_task_without_a_restart(tmp_path: Path) -> None:
    simulator = AcmeLmsSimulator(client_id="acme-client", client_secret="first-secret")
    built: list[Adapter] = []

    def factory(name: str, config: Mapping[str, Any], session: requests.Session | None) -> Adapter:
        assert session is None  # no shared limits configured
        adapter = build_adapter(name, config, session)
        built.append(adapter)
        return adapter

    with SandboxServer(simulator) as server:
        (tmp_path / "acme").mkdir()
        secret_file = tmp_path / "acme" / "acme_lms.json"
        secret_file.write_text(json.dumps({"client_secret": "first-secret"}))
        runtime = TenantRuntime(
            MemoryLedger(),
            {"acme": {"acme_lms": {"client_id": "acme-client", "base_url": server.url}}},
            FileSecrets(tmp_path),
            adapter_factory=factory,
        )
        (first,) = runtime.adapters_for("acme")
        assert isinstance(first, AcmeLmsAdapter)
        assert first.find_session("nothing") is None  # the first secret works
        assert runtime.adapters_for("acme") == [first]  # unchanged secret: the same adapter (and its token)

        # The tenant's admin rotates the secret in Acme, then in the secrets folder.
        simulator.rotate_client_secret("second-secret")
        simulator.revoke_tokens()
        secret_file.write_text(json.dumps({"client_secret": "second-secret"}))
        os.utime(secret_file, ns=(secret_file.stat().st_atime_ns, secret_file.stat().st_mtime_ns + 1_000_000))
        with pytest.raises(AuthError):
            first.find_session("nothing")  # the old adapter's credentials are dead
        (second,) = runtime.adapters_for("acme")
        assert second is not first
        assert second.find_session("nothing") is None  # the new secret works at once
        assert len(built) == 2
        # The secret is not part of what the runtime keeps to compare.
        assert "second-secret" not in repr(runtime.__dict__)


def test_runtime_refuses_an_unknown_tenant_and_binds_the_ledger_per_tenant(tmp_path: Path) -> None:
    ledger = MemoryLedger()
    runtime = TenantRuntime(ledger, {"acme": {"acme_lms": {}}, "globex": {"acme_lms": {}}}, FileSecrets(tmp_path))
    assert runtime.tenants == ["acme", "globex"]
    assert runtime.ledger_for("acme").tenant == "acme"
    assert runtime.ledger_for("globex").tenant == "globex"
    assert runtime.ledger_for("acme") is runtime.ledger_for("acme")
    with pytest.raises(ConfigurationError, match="not served"):
        runtime.ledger_for("initech")
    with pytest.raises(ConfigurationError, match="no adapter"):
        TenantRuntime(ledger, {"acme": {}}, FileSecrets(tmp_path))
    runtime.close()


def test_runtime_from_environment(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants.json"
    tenants.write_text(json.dumps({"acme": {"acme_lms": {"client_id": "c"}}}))
    env = {"LMS_CONNECTORS_LEDGER_URL": "memory:", "LMS_CONNECTORS_TENANTS_FILE": str(tenants)}
    runtime = from_environment(env)
    assert runtime.tenants == ["acme"]
    runtime.close()
    with pytest.raises(ConfigurationError, match="LMS_CONNECTORS_TENANTS_FILE"):
        from_environment({"LMS_CONNECTORS_LEDGER_URL": "memory:"})
    tenants.write_text("[]")
    with pytest.raises(ConfigurationError, match="must be a JSON object"):
        from_environment(env)
