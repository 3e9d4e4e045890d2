"""Replaying a Moodle cassette checks which web-service function was called, not only the URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from vcr.errors import CannotOverwriteExistingCassetteException

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors.testing.vcr import make_vcr
from lms_connectors_moodle.testing import MoodleHarness


def test_replay_refuses_another_function_on_the_same_url(tmp_path: Path) -> None:
    harness = MoodleHarness()
    with SandboxServer(harness.make_simulator()) as server:
        recorder = make_vcr(harness, tmp_path, record_mode="sandbox")
        with recorder.use_cassette("site_info"):
            adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
            adapter.ex_call("core_webservice_get_site_info")  # type: ignore[attr-defined]
            adapter.close()

    replay = make_vcr(harness, tmp_path, record_mode="none")
    offline = harness.build_adapter(harness.canonical_base_url, sleep=lambda _s: None)
    with replay.use_cassette("site_info"):
        assert offline.ex_call("core_webservice_get_site_info")["sitename"]  # type: ignore[attr-defined]
    with replay.use_cassette("site_info"), pytest.raises(CannotOverwriteExistingCassetteException):
        offline.ex_call("core_calendar_get_calendar_events", {"events": {"courseids": [2]}})  # type: ignore[attr-defined]
    offline.close()
