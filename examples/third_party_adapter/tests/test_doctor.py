"""``lms-connectors doctor`` for the example adapter: the base Adapter's checks (a token, a listing), no code of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from acme_lms_connector.simulator import AcmeLmsSimulator
from typer.testing import CliRunner

from lms_connectors.cli import app
from lms_connectors.testing.sandbox import SandboxServer

CLIENT_ID, CLIENT_SECRET = "doctor-client", "doctor-client-secret"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(AcmeLmsSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)) as running:
        yield running


def doctor(server: SandboxServer, tmp_path: Path) -> tuple[int, str]:
    config = tmp_path / "acme.json"
    config.write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "base_url": server.url}))
    result = CliRunner().invoke(app, ["doctor", "acme_lms", "--config", str(config)], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_doctor_passes_against_a_working_tenant(server: SandboxServer, tmp_path: Path) -> None:
    code, output = doctor(server, tmp_path)
    assert code == 0, output
    assert "credentials" in output and "the token endpoint issued an access token" in output
    assert "listing" in output and "sessions can be listed (none this week)" in output
    assert [r.path for r in server.requests] == ["/oauth/token", "/sessions"]


def test_doctor_fails_on_refused_credentials_and_says_why(server: SandboxServer, tmp_path: Path) -> None:
    server.simulator.rotate_client_secret()
    code, output = doctor(server, tmp_path)
    assert code == 1
    assert "FAIL" in output and "AuthError" in output and "invalid_client" in output
    assert "listing" not in output, "nothing more is tried without credentials"
    assert CLIENT_SECRET not in output
