from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_moodle.adapter import MoodleAdapter
from lms_connectors_moodle.config import MoodleConfig
from lms_connectors_moodle.sandbox import MoodleSimulator

TOKEN = "sandbox-token-0123456789"


@dataclass
class Site:
    simulator: MoodleSimulator
    server: SandboxServer
    adapter: MoodleAdapter
    course_id: int


def make_site(serve: SandboxStarter, **settings: object) -> Iterator[Site]:
    """A site served by ``serve`` (the kit's ``sandbox_server`` fixture), with an adapter on it."""
    simulator = MoodleSimulator(tokens={TOKEN: "admin"}, site_timezone="Europe/London")
    course_id = simulator.site.add_course("ILT-101", "Instructor-led training")
    server = serve(simulator)
    config = MoodleConfig.model_validate({"base_url": server.url, "token": TOKEN, "course_id": course_id, **settings})
    adapter = MoodleAdapter(config, sleep=lambda _s: None)
    try:
        yield Site(simulator, server, adapter, course_id)
    finally:
        adapter.close()


@pytest.fixture
def site(sandbox_server: SandboxStarter) -> Iterator[Site]:
    yield from make_site(sandbox_server)


@pytest.fixture
def creating_site(sandbox_server: SandboxStarter) -> Iterator[Site]:
    yield from make_site(sandbox_server, create_missing_users=True)
