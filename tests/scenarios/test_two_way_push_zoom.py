"""Two-way sync by push: Zoom's webhook, served on 127.0.0.1 by the WSGI example, brings a person's change back.

The test plays the person (it changes the meeting at the Zoom simulator through the API) and Zoom (it signs and
posts the delivery Zoom would send). The receiver refuses a forged and a replayed delivery.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.simple_server import make_server
from zoneinfo import ZoneInfo

import pytest
import requests
from webhook_examples import QuietHandler, load_example  # registered by this folder's conftest

from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import SandboxedAdapters, sandboxed_adapters
from lms_connectors_zoom.webhooks import ZoomWebhookReceiver, sign

SECRET = "webhook-secret-for-tests"
START = datetime(2027, 3, 16, 9, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def world() -> Iterator[tuple[SandboxedAdapters, Scheduler, str]]:
    with sandboxed_adapters(["zoom", "google_calendar"]) as served:
        scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
        session = Session(
            id="push.onboarding", title="Onboarding", modality=Modality.VIRTUAL, capacity=1,
            slot=TimeSlot(start=START, end=START + timedelta(hours=1), timezone="America/New_York"),
        )
        scheduler.schedule(session)
        scheduler.enrol_many(session.id, [Person(email="ana@example.org", name="Ana"),
                                          Person(email="ben@example.org", name="Ben")])
        app = load_example("zoom_wsgi.py").webhook_app(ZoomWebhookReceiver(SECRET), scheduler)
        server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield served, scheduler, f"http://127.0.0.1:{server.server_port}/zoom/webhook"
        finally:
            server.shutdown()
            server.server_close()


def _deliver(url: str, payload: dict[str, Any], *, secret: str = SECRET, body: bytes | None = None) -> requests.Response:
    raw = body if body is not None else json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    headers = {"x-zm-request-timestamp": timestamp, "x-zm-signature": sign(secret, timestamp, raw),
               "content-type": "application/json"}
    return requests.post(url, data=raw, headers=headers, timeout=10)


def test_a_moved_meeting_is_put_back_and_replays_and_forgeries_are_refused(
    world: tuple[SandboxedAdapters, Scheduler, str],
) -> None:
    served, scheduler, url = world
    zoom = served.adapters["zoom"]
    ref = scheduler.ledger.get_ref("push.onboarding", "zoom")
    session = scheduler.ledger.get_session("push.onboarding")
    assert ref is not None and session is not None
    later = START + timedelta(hours=2)
    zoom.reschedule_session(ref, session.rescheduled(
        TimeSlot(start=later, end=later + timedelta(hours=1), timezone="America/New_York")))
    payload = {"event": "meeting.updated", "event_ts": 1, "payload": {
        "account_id": "sim-account",
        "object": {"id": int(ref.external_id), "start_time": later.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
        "old_object": {"id": int(ref.external_id), "start_time": START.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }}
    sent = time.perf_counter()
    answer = _deliver(url, payload)
    delay = time.perf_counter() - sent
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"session": "push.onboarding", "kind": "moved", "decision": "reassert",
                              "outcome": "ledger reasserted"}]
    assert zoom.get_session(ref).start == START
    assert delay < 5  # the end-to-end delay of a push here: receipt, decision, provider put back
    replay = requests.post(url, data=json.dumps(payload).encode(), headers=answer.request.headers, timeout=10)
    assert replay.status_code == 401 and "replayed" in replay.text
    forged = _deliver(url, payload, secret="not-the-secret")
    assert forged.status_code == 401 and "signature" in forged.text
    unsigned = requests.post(url, json=payload, timeout=10)
    assert unsigned.status_code == 401


def test_a_cancelled_registration_unenrols_and_promotes(world: tuple[SandboxedAdapters, Scheduler, str]) -> None:
    served, scheduler, url = world
    ref = scheduler.ledger.get_ref("push.onboarding", "zoom")
    session = scheduler.ledger.get_session("push.onboarding")
    assert ref is not None and session is not None
    served.adapters["zoom"].unenrol(ref, session, [Person(email="ana@example.org", name="Ana")])  # she cancels
    answer = _deliver(url, {"event": "meeting.registration_cancelled", "event_ts": 2, "payload": {
        "account_id": "sim-account",
        "object": {"id": int(ref.external_id), "registrant": {"email": "Ana@Example.org"}},
    }})
    assert answer.status_code == 200, answer.text
    assert answer.json()[0]["decision"] == "accept"
    statuses = {e.person.email: e.status.value for e in scheduler.roster("push.onboarding")}
    assert statuses == {"ana@example.org": "cancelled", "ben@example.org": "confirmed"}
    google = scheduler.ledger.get_ref("push.onboarding", "google_calendar")
    assert google is not None
    assert {m.email for m in served.adapters["google_calendar"].list_roster(google)} >= {"ben@example.org"}


def test_the_url_validation_challenge_is_answered(world: tuple[SandboxedAdapters, Scheduler, str]) -> None:
    _, _, url = world
    answer = _deliver(url, {"event": "endpoint.url_validation", "payload": {"plainToken": "abc"}})
    assert answer.status_code == 200
    assert set(answer.json()) == {"plainToken", "encryptedToken"}
