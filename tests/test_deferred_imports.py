"""What importing the SDK loads: libraries needed only on some paths wait until a call takes that path.

Each check runs in a fresh interpreter, so that modules other tests imported do not hide a regression.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ADAPTERS = [
    "lms_connectors.scheduler",
    "lms_connectors_google_calendar.adapter",
    "lms_connectors_zoom.adapter",
    "lms_connectors_moodle.adapter",
    "lms_connectors_canvas.adapter",
    "lms_connectors_microsoft_graph.adapter",
    "lms_connectors_caldav.adapter",
    "lms_connectors_librebooking.adapter",
]

# tenacity: only a call that needs a retry; icalendar: only writing or reading iCalendar; google-auth and
# cryptography: only Google's service-account flow.
DEFERRED = ("tenacity", "icalendar", "google.auth", "cryptography")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {DEFERRED!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return [name for name in out.stdout.strip().split(",") if name]


@pytest.mark.parametrize("module", ADAPTERS)
def test_importing_loads_no_deferred_library(module: str) -> None:
    assert _loaded_after(f"import {module}") == []


def test_a_retry_loads_tenacity_and_an_invite_loads_icalendar() -> None:
    code = """
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
import responses
from lms_connectors.http import HttpTransport, RetryPolicy
from lms_connectors.invites import build_invite
from lms_connectors.models import Session, TimeSlot

transport = HttpTransport(provider="example", base_url="https://lms.example.test", sleep=lambda s: None,
                          retry=RetryPolicy(jitter=False))
with responses.RequestsMock() as mocked:
    mocked.get("https://lms.example.test/ok", json={})
    transport.request("GET", "ok")
    assert "tenacity" not in sys.modules, "a call that succeeds at once loads no retry loop"
    mocked.get("https://lms.example.test/flaky", status=503)
    mocked.get("https://lms.example.test/flaky", json={})
    transport.request("GET", "flaky")
start = datetime(2027, 5, 3, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
session = Session(id="s1", title="T", slot=TimeSlot(start=start, end=start + timedelta(hours=1),
                                                       timezone="Europe/Berlin"))
build_invite(session, organizer=None, attendees=[])
"""
    assert _loaded_after(code) == ["tenacity", "icalendar"]
