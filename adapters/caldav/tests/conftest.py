from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from lms_connectors_caldav.adapter import CalDavAdapter
from lms_connectors_caldav.config import CalDavConfig
from lms_connectors_caldav.testing import (
    CALENDAR,
    ORGANIZER_EMAIL,
    PLACEHOLDER_PASSWORD,
    USERNAME,
    RadicaleServer,
    radicale_installed,
)


@pytest.fixture(scope="module")
def radicale() -> Iterator[RadicaleServer]:
    """A real Radicale on 127.0.0.1 for the module (skipped without it, except in CI)."""
    if not radicale_installed():
        message = "Radicale is not installed (pip install -e 'adapters/caldav[test]')"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with RadicaleServer() as server:
        yield server


def make_adapter(base_url: str, **overrides: Any) -> CalDavAdapter:
    values: dict[str, Any] = {
        "base_url": base_url,
        "calendar": CALENDAR,
        "username": USERNAME,
        "password": PLACEHOLDER_PASSWORD,
        "organizer_email": ORGANIZER_EMAIL,
        **overrides,
    }
    return CalDavAdapter(CalDavConfig.model_validate(values), sleep=lambda _s: None)


@pytest.fixture
def adapter(radicale: RadicaleServer) -> Iterator[CalDavAdapter]:
    """The adapter straight on Radicale, its calendar emptied."""
    radicale.reset_calendar()
    built = make_adapter(radicale.url)
    yield built
    built.close()
