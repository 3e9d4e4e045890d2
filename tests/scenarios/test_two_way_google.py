"""Two-way sync with Google Calendar: the sync-token feed (poll) and push channels, against the simulator.

The simulator runs on 127.0.0.1 and behaves as Google does: sync tokens, 410 ``fullSyncRequired``, deleted events
with their id only, ``events.watch`` channels that post notifications to the push example served here by the test
(WSGI), ``channels.stop``. The test plays the people: an instructor moving or renaming the event in her calendar,
a learner declining.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.simple_server import make_server
from zoneinfo import ZoneInfo

import pytest
import requests
from webhook_examples import QuietHandler, load_example  # registered by this folder's conftest

from lms_connectors.changes import ChangeKind
from lms_connectors.feeds import follow_feed, read_feed
from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.push import ChannelKeeper
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import SandboxedAdapters, sandboxed_adapters

NY = ZoneInfo("America/New_York")
START = datetime(2027, 3, 16, 9, 0, tzinfo=NY)
SID = "google.onboarding"
LEARNERS = [Person(email=f"{n}@example.org", name=n) for n in ("ana", "ben", "cy")]


@dataclass
class World:
    served: SandboxedAdapters
    scheduler: Scheduler

    @property
    def google(self) -> Any:
        return self.served.adapters["google_calendar"]

    @property
    def simulator(self) -> Any:
        return self.served.simulators["google_calendar"]

    @property
    def event_id(self) -> str:
        ref = self.scheduler.ledger.get_ref(SID, "google_calendar")
        assert ref is not None
        return ref.external_id

    def event(self) -> dict[str, Any]:
        return dict(self.simulator.event("primary", self.event_id))

    def move_in_calendar(self, hours: int) -> None:
        start = START + timedelta(hours=hours)
        self.simulator.edit_event("primary", self.event_id, {
            "start": {"dateTime": start.isoformat(), "timeZone": "America/New_York"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "America/New_York"},
        })

    def event_start(self) -> datetime:
        return datetime.fromisoformat(self.event()["start"]["dateTime"]).astimezone(UTC)


@pytest.fixture
def world() -> Iterator[World]:
    with sandboxed_adapters(["zoom", "google_calendar"]) as served:
        scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
        scheduler.schedule(Session(
            id=SID, title="Onboarding", modality=Modality.VIRTUAL, capacity=2,
            slot=TimeSlot(start=START, end=START + timedelta(hours=1), timezone="America/New_York"),
        ))
        scheduler.enrol_many(SID, LEARNERS)  # ana and ben seated, cy waitlisted
        yield World(served, scheduler)


def test_the_feed_starts_with_a_full_sync_then_reads_only_changes_from_the_ledgers_token(world: World) -> None:
    first, applied = follow_feed(world.scheduler, world.google)
    assert (first.full, first.calls, applied) == (True, 1, [])
    token = world.scheduler.ledger.get_cursor("google_calendar", "primary")
    assert token == first.cursor and token
    world.move_in_calendar(2)
    read, applied = follow_feed(world.scheduler, world.google)
    assert (read.full, read.calls, read.seen) == (False, 1, (world.event_id,))
    assert [(a.change.kind, a.change.source, a.decision.value) for a in applied] == [
        (ChangeKind.MOVED, "google_calendar-feed", "reassert")]
    assert world.event_start() == START.astimezone(UTC)
    assert world.scheduler.ledger.get_cursor("google_calendar", "primary") not in (None, token)
    # The feed's next read sees the SDK's own write back, and finds nothing to do.
    again, applied = follow_feed(world.scheduler, world.google)
    assert (again.calls, again.seen, applied) == (1, (world.event_id,), [])


def test_a_decline_read_from_the_feed_unenrols_and_promotes_everywhere(world: World) -> None:
    follow_feed(world.scheduler, world.google)
    world.simulator.respond("primary", world.event_id, "ana@example.org", "declined")
    read, applied = follow_feed(world.scheduler, world.google)
    assert read.calls == 1  # the event's attendees came with the feed: no roster read
    assert [(a.change.kind, a.change.email, a.outcome) for a in applied] == [
        (ChangeKind.LEARNER_LEFT, "ana@example.org", "unenrolled (the waitlist moves up)")]
    statuses = {e.person.email: e.status.value for e in world.scheduler.roster(SID)}
    assert statuses == {"ana@example.org": "cancelled", "ben@example.org": "confirmed", "cy@example.org": "confirmed"}
    zoom_ref = world.scheduler.ledger.get_ref(SID, "zoom")
    assert zoom_ref is not None
    approved = {m.email for m in world.served.adapters["zoom"].list_roster(zoom_ref) if m.status == "approved"}
    assert approved == {"ben@example.org", "cy@example.org"}
    assert "ana@example.org" not in {a["email"] for a in world.event()["attendees"]}


def test_an_expired_token_starts_a_full_sync_that_still_finds_the_change(world: World) -> None:
    follow_feed(world.scheduler, world.google)
    world.simulator.expire_sync_tokens()
    world.simulator.edit_event("primary", world.event_id, {"summary": "Onboarding (room B)"})
    read, applied = follow_feed(world.scheduler, world.google)
    assert read.full and read.calls == 2  # the 410, then the full sync
    assert [a.change.kind for a in applied] == [ChangeKind.EDITED]
    assert world.event()["summary"] == "Onboarding"
    expired = [e for e in world.scheduler.ledger.iter_audit() if e.action == "feed.cursor_expired"]
    assert len(expired) == 1 and "full sync" in expired[0].detail["reason"]


def test_a_deleted_event_comes_back_as_its_id_and_is_flagged(world: World) -> None:
    follow_feed(world.scheduler, world.google)
    ref = world.scheduler.ledger.get_ref(SID, "google_calendar")
    assert ref is not None
    world.google.cancel_session(ref)  # the instructor deletes the event
    read = read_feed(world.scheduler, world.google)
    assert [(c.kind, c.provider) for c in read.changes] == [(ChangeKind.DELETED, "google_calendar")]
    _, applied = follow_feed(world.scheduler, world.google)
    assert applied[0].outcome == "flagged for a person"


def test_the_simulator_refuses_what_google_refuses_beside_a_sync_token(world: World) -> None:
    from lms_connectors.errors import CursorExpired, InvalidRequest

    page = world.google.read_changes(None, START, START)
    path = world.google.events_path()
    for extra in ({"timeMin": START.isoformat()}, {"privateExtendedProperty": "lmsc_managed=1"},
                  {"orderBy": "updated"}, {"showDeleted": "false"}):
        with pytest.raises(InvalidRequest):
            world.google.transport.request_json("GET", path, params={"syncToken": page.cursor, **extra})
    with pytest.raises(InvalidRequest, match="Invalid sync token value"):
        world.google.read_changes("bm90LWEtdG9rZW4", START, START)
    world.simulator.expire_sync_tokens()
    with pytest.raises(CursorExpired, match="full sync is required"):
        world.google.read_changes(page.cursor, START, START)


@pytest.fixture
def pushed(world: World) -> Iterator[tuple[World, ChannelKeeper, str]]:
    world.simulator.push.allow_http = True  # Google posts to HTTPS only; the test serves plain loopback HTTP
    server = make_server("127.0.0.1", 0, None, handler_class=QuietHandler)  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{server.server_port}/google/push"
    keeper = ChannelKeeper(world.scheduler.ledger, world.google, url)
    server.set_app(load_example("google_calendar_push.py").wsgi_app(keeper, world.scheduler, world.google))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield world, keeper, url
    finally:
        server.shutdown()
        server.server_close()


def test_a_push_brings_a_move_back_and_forged_or_replayed_notifications_are_refused(
    pushed: tuple[World, ChannelKeeper, str],
) -> None:
    world, keeper, url = pushed
    follow_feed(world.scheduler, world.google)  # the feed's starting token
    channel = keeper.ensure()
    assert world.simulator.push.wait_delivered()
    opened = world.simulator.push.channels[channel.id]
    assert opened.delivered == [200]  # the "sync" message found the channel
    sent = time.perf_counter()
    world.move_in_calendar(3)
    assert world.simulator.push.wait_delivered()
    delay = time.perf_counter() - sent
    assert world.event_start() == START.astimezone(UTC)
    assert delay < 5  # end to end: Google's notification, the feed read, the decision, the event put back
    moved = [e for e in world.scheduler.ledger.iter_audit(SID) if e.action == "change.moved"]
    assert [e.detail["source"] for e in moved] == ["google_calendar-feed"]
    headers = {"X-Goog-Channel-ID": channel.id, "X-Goog-Channel-Token": channel.token,
               "X-Goog-Resource-ID": opened.resource_id, "X-Goog-Resource-State": "exists",
               "X-Goog-Message-Number": "2"}
    replayed = requests.post(url, headers=headers, timeout=10)
    assert replayed.status_code == 401 and "replayed" in replayed.json()["refused"]
    forged = requests.post(url, headers={**headers, "X-Goog-Channel-Token": "guess", "X-Goog-Message-Number": "99"},
                           timeout=10)
    assert forged.status_code == 401 and "does not match" in forged.json()["refused"]
    unsigned = {k: v for k, v in headers.items() if k != "X-Goog-Channel-Token"}
    assert requests.post(url, headers={**unsigned, "X-Goog-Message-Number": "99"}, timeout=10).status_code == 401
    unknown = requests.post(url, headers={**headers, "X-Goog-Channel-ID": "not-ours", "X-Goog-Message-Number": "99"},
                            timeout=10)
    assert unknown.status_code == 401 and "no open channel" in unknown.json()["refused"]


def test_a_channel_is_renewed_before_it_lapses_and_the_old_one_stopped(pushed: tuple[World, ChannelKeeper, str]) -> None:
    world, keeper, _url = pushed
    follow_feed(world.scheduler, world.google)
    first = keeper.ensure()
    assert keeper.ensure() == first  # a week left: kept
    keeper.renew_before = timedelta(days=8)  # now it is due
    second = keeper.ensure()
    assert second.id != first.id and second.expires_at > datetime.now(UTC) + timedelta(days=6)
    assert set(world.simulator.push.channels) == {second.id}  # the old channel was stopped at Google
    assert [c.id for c in keeper.channels()] == [second.id]
    world.simulator.edit_event("primary", world.event_id, {"summary": "Renamed"})
    assert world.simulator.push.wait_delivered()
    assert world.simulator.push.channels[second.id].delivered[-1] == 200
    assert world.event()["summary"] == "Onboarding"
    keeper.stop()
    assert world.simulator.push.channels == {} and keeper.channels() == []


def test_an_expired_channel_is_refused(pushed: tuple[World, ChannelKeeper, str]) -> None:
    world, keeper, _url = pushed
    channel = keeper.ensure()
    keeper.clock = lambda: channel.expires_at + timedelta(seconds=1)
    from lms_connectors.push import InvalidNotification

    with pytest.raises(InvalidNotification, match="expired"):
        keeper.verify(channel.id, channel.token, 50)


def test_the_asgi_app_answers_like_the_wsgi_one(pushed: tuple[World, ChannelKeeper, str]) -> None:
    import asyncio

    world, keeper, _url = pushed
    follow_feed(world.scheduler, world.google)
    channel = keeper.ensure()
    assert world.simulator.push.wait_delivered()
    app = load_example("google_calendar_push.py").asgi_app(keeper, world.scheduler, world.google)
    world.simulator.respond("primary", world.event_id, "ben@example.org", "declined")
    assert world.simulator.push.wait_delivered()  # the WSGI endpoint took that one: Ben is unenrolled
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"x-goog-channel-id", channel.id.encode()), (b"x-goog-channel-token", channel.token.encode()),
               (b"x-goog-resource-id", world.simulator.push.channels[channel.id].resource_id.encode()),
               (b"x-goog-resource-state", b"exists"), (b"x-goog-message-number", b"1000")]
    asyncio.run(app({"type": "http", "method": "POST", "path": "/google/push", "headers": headers}, receive, send))
    assert sent[0]["status"] == 200
    asyncio.run(app({"type": "http", "method": "POST", "path": "/google/push", "headers": headers}, receive, send))
    assert sent[2]["status"] == 401  # the same message number again
    statuses = {e.person.email: e.status.value for e in world.scheduler.roster(SID)}
    assert statuses["ben@example.org"] == "cancelled" and statuses["cy@example.org"] == "confirmed"
