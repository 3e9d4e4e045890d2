"""Servers some tests need (PostgreSQL, Redis), found through the environment variables ``.ci/run`` exports.

Outside CI a test whose server is absent is skipped with the variable to set; in CI (``CI`` set) it fails,
so a server that did not come up can never pass as a green run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_DSN = "LMS_CONNECTORS_TEST_POSTGRES_DSN"
POSTGRES_ADMIN_DSN = "LMS_CONNECTORS_TEST_POSTGRES_ADMIN_DSN"
REDIS_URL = "LMS_CONNECTORS_TEST_REDIS_URL"


def server_url(variable: str, what: str) -> str:
    """The URL in ``variable``; skip (outside CI) or fail (in CI) when it is not set."""
    url = os.environ.get(variable, "")
    if url:
        return url
    message = f"{what} is not available: set {variable} (.ci/run starts one on 127.0.0.1 and sets it)"
    if os.environ.get("CI"):
        pytest.fail(f"in CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """DSN of an ordinary PostgreSQL role (no superuser, no BYPASSRLS) owning a test database."""
    return server_url(POSTGRES_DSN, "PostgreSQL")


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> str:
    """DSN of a PostgreSQL superuser on the same database."""
    return server_url(POSTGRES_ADMIN_DSN, "PostgreSQL (superuser)")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a Redis database the tests may empty."""
    return server_url(REDIS_URL, "Redis")


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A schema name of this test's own, dropped afterwards, so tests never see each other's tables."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
