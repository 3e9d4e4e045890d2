"""The contract cassettes of this adapter: on Google's hosts, and every request valid against the discovery document.

(That every case has a cassette and that none holds a secret is checked by the contract kit itself.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException

from lms_connectors.testing.contract import ContractRun
from lms_connectors.testing.sandbox import SandboxRequest
from lms_connectors.testing.vcr import make_vcr
from lms_connectors_google_calendar import adapter as adapter_module
from lms_connectors_google_calendar.testing import GoogleCalendarHarness

from .conftest import check_against_discovery

CASSETTES = Path(__file__).resolve().parent / "cassettes" / "google_calendar"
FILES = sorted(CASSETTES.glob("*.yaml"))
HOSTS = {"www.googleapis.com", "admin.googleapis.com", "oauth2.googleapis.com"}

pytestmark = pytest.mark.skipif(not FILES, reason="cassettes live in the source tree only")


def interactions(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_cassette_requests_fit_the_discovery_document(path: Path) -> None:
    requests = []
    for interaction in interactions(path):
        recorded = interaction["request"]
        url = urlsplit(recorded["uri"])
        assert url.scheme == "https" and url.hostname in HOSTS, recorded["uri"]
        body = recorded.get("body") or b""
        requests.append(
            SandboxRequest(
                method=recorded["method"],
                path=url.path,
                query=parse_qs(url.query, keep_blank_values=True),
                headers={},
                body=body.encode() if isinstance(body, str) else body,
            )
        )
    assert check_against_discovery(requests) >= 1


def test_throttling_is_recorded_as_google_sends_it() -> None:
    statuses = [i["response"]["status"]["code"] for i in interactions(CASSETTES / "rate_limited.yaml")]
    assert statuses.count(403) == 2
    bodies = [json.loads(i["response"]["body"]["string"]) for i in interactions(CASSETTES / "rate_limited.yaml")
              if i["response"]["status"]["code"] == 403]
    assert all(b["error"]["errors"][0]["reason"] == "rateLimitExceeded" for b in bodies)


def test_replay_refuses_a_create_whose_body_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay compares request bodies: a retitled event does not pass on the old cassette (the same create
    with the body as recorded does)."""
    harness = GoogleCalendarHarness()
    run = ContractRun(harness, "create", "none", None, lambda _s: None, CASSETTES / "create.yaml", None)  # type: ignore[arg-type]
    session = run.session(meeting=None)  # what the kit's create case sends
    replay = make_vcr(harness, CASSETTES.parent, record_mode="none")

    def create() -> None:
        offline = harness.build_adapter(harness.canonical_base_url, sleep=lambda _s: None)
        try:
            with replay.use_cassette("create"):
                offline.create_session(session, key=f"{session.id}.google_calendar.g1")
        finally:
            offline.close()

    create()  # as recorded: replays
    original = adapter_module.event_body

    def retitled(*args: Any, **kwargs: Any) -> dict[str, Any]:
        sent: dict[str, Any] = original(*args, **kwargs)
        sent["summary"] += " (moved)"
        return sent

    monkeypatch.setattr(adapter_module, "event_body", retitled)
    with pytest.raises(CannotOverwriteExistingCassetteException):
        create()


def test_the_pagination_cassette_holds_short_and_empty_pages_that_carry_a_token() -> None:
    """Recorded from the contract simulator (short pages beside the organizer's own meetings): the listing
    the contract checks went through pages Google may send, and still found every session once."""
    pages = [json.loads(i["response"]["body"]["string"]) for i in interactions(CASSETTES / "pagination.yaml")
             if i["request"]["method"] == "GET" and urlsplit(i["request"]["uri"]).path.endswith("/events")]
    asked = {int(parse_qs(urlsplit(i["request"]["uri"]).query)["maxResults"][0])
             for i in interactions(CASSETTES / "pagination.yaml")
             if i["request"]["method"] == "GET" and urlsplit(i["request"]["uri"]).path.endswith("/events")}
    with_token = [page for page in pages if page.get("nextPageToken")]
    assert any(len(page["items"]) == 0 for page in with_token), "an empty page that carries nextPageToken"
    assert any(0 < len(page["items"]) < max(asked) for page in with_token), "a short page that carries nextPageToken"


def test_meet_conference_solution_key_survives_the_scrubber() -> None:
    """conferenceData.conferenceSolution.key is the object {type: hangoutsMeet}, not a credential."""
    answers = [json.loads(i["response"]["body"]["string"]) for i in interactions(CASSETTES / "create.yaml")
               if i["response"]["body"]["string"].startswith("{")]
    events = [a for a in answers if "conferenceSolution" in a.get("conferenceData", {})]
    assert events and all(e["conferenceData"]["conferenceSolution"]["key"] == {"type": "hangoutsMeet"} for e in events)
