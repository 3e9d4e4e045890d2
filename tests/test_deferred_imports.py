"""What importing the SDK loads: libraries needed only on some paths wait until a call takes that path.

Each check runs in a fresh interpreter, so that modules other tests imported do not hide a regression.
"""

from __future__ import annotations

import ast
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

# requests and urllib3 under it: only when an adapter or a transport builds its HTTP session; msal (which imports
# requests, PyJWT and cryptography): only when a Microsoft Graph adapter is built; tenacity: only a call that needs
# a retry; icalendar: only writing or reading iCalendar; google-auth and cryptography: only Google's service-account
# flow.
DEFERRED = ("requests", "urllib3", "msal", "tenacity", "icalendar", "google.auth", "cryptography")


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
    assert _loaded_after(code) == ["requests", "urllib3", "tenacity", "icalendar"]


def test_an_adapter_loads_requests_when_it_is_built_and_the_call_is_sent_through_it() -> None:
    # responses imports requests itself: it is imported only after the check that building the adapter did.
    code = """
from lms_connectors_zoom import ZoomAdapter, ZoomConfig
assert "requests" not in sys.modules, "importing the adapter class loads no HTTP library"
adapter = ZoomAdapter(ZoomConfig(account_id="acct", client_id="id", client_secret="secret"))
assert "urllib3" in sys.modules, "building the adapter builds its session"
import responses
with responses.RequestsMock() as mocked:
    mocked.post("https://zoom.us/oauth/token", json={"access_token": "t", "expires_in": 3600})
    mocked.get("https://api.zoom.us/v2/users/me", json={"id": "u1", "email": "host@example.test"})
    adapter.transport.request_json("GET", "users/me")
    assert len(mocked.calls) == 2
"""
    assert _loaded_after(code) == ["requests", "urllib3"]


def test_building_a_microsoft_graph_adapter_loads_msal() -> None:
    code = """
from lms_connectors_microsoft_graph import MicrosoftGraphAdapter, MicrosoftGraphConfig
assert "msal" not in sys.modules
MicrosoftGraphAdapter(MicrosoftGraphConfig(tenant_id="contoso.onmicrosoft.com", client_id="id",
                                           client_secret="secret", organizer="trainer@contoso.example"))
"""
    assert "msal" in _loaded_after(code)


_BUILT_MODELS = """
from pydantic import BaseModel

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

built = sorted({f"{m.__module__}.{m.__qualname__}" for m in subclasses(BaseModel) if m.__pydantic_complete__})
print(built)
print("importlib.metadata" in sys.modules)
"""


def _built_after(code: str) -> tuple[list[str], bool]:
    """The pydantic models whose validators exist after ``code``, and whether pydantic's plugin scan ran."""
    out = subprocess.run([sys.executable, "-c", f"import sys\n{code}\n{_BUILT_MODELS}"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    built, scanned = out.stdout.strip().splitlines()
    return ast.literal_eval(built), scanned == "True"


@pytest.mark.parametrize("module", ADAPTERS)
def test_importing_builds_no_pydantic_model(module: str) -> None:
    # A model's validator (and, for the first one, pydantic's scan of every installed distribution for plugins,
    # through importlib.metadata) is built when the model is first used, not at import (defer_build).
    assert _built_after(f"import {module}") == ([], False)


def test_a_model_is_built_when_first_used() -> None:
    code = """
from lms_connectors_zoom import ZoomConfig
from lms_connectors.models import Person
Person(email="learner@example.test", name="Ada Learner")
"""
    built, scanned = _built_after(code)
    assert "lms_connectors.models.Person" in built and scanned
    assert "lms_connectors_zoom.config.ZoomConfig" not in built, "only what the call used"


def test_listing_the_installed_adapters_imports_none_of_them() -> None:
    code = """
from lms_connectors.registry import available_adapters
names = {info.name for info in available_adapters()}
assert {"zoom", "google_calendar", "moodle", "microsoft_graph"} <= names, names
loaded = sorted(m for m in sys.modules if m.startswith("lms_connectors_"))
assert not loaded, loaded
"""
    assert _loaded_after(code) == []
