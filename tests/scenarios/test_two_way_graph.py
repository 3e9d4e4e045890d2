"""Two-way sync with Microsoft Graph: the calendarView/delta feed (poll) and change-notification subscriptions.

The Graph simulator runs on 127.0.0.1: delta rounds from a delta link the ledger keeps, 410 for an expired link,
subscriptions with the validation handshake, ``clientState``, notifications after each change and lifecycle
notices, posted to the WSGI example served here by the test. The test plays the people: an instructor moving or
renaming the event in Outlook, a learner declining. Moodle is the other provider that follows.
"""

from __future__ import annotations

import json
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
from lms_connectors.feeds import follow_feed
from lms_connectors.models import Person, Session, TimeSlot
from lms_connectors.push import ChannelKeeper
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import SandboxedAdapters, sandboxed_adapters

NY = ZoneInfo("America/New_York")
START = datetime(2027, 3, 16, 9, 0, tzinfo=NY)
SID = "graph.onboarding"
LEARNERS = [Person(email=f"{n}@example.org", name=n) for n in ("ana", "ben", "cy")]


@dataclass
class World:
    served: SandboxedAdapters
    scheduler: Scheduler

    @property
    def graph(self) -> Any:
        return self.served.adapters["microsoft_graph"]

    @property
    def simulator(self) -> Any:
        return self.served.simulators["microsoft_graph"]

    def ref(self) -> Any:
        ref = self.scheduler.ledger.get_ref(SID, "microsoft_graph")
        assert ref is not None
        return ref

    def session(self) -> Session:
        session = self.scheduler.ledger.get_session(SID)
        assert session is not None
        return session

    def move_in_outlook(self, hours: int) -> None:
        later = START + timedelta(hours=hours)
        moved = self.session().rescheduled(TimeSlot(start=later, end=later + timedelta(hours=1),
                                                    timezone="America/New_York"))
        self.graph.reschedule_session(self.ref(), moved)  # another Graph client: the person's Outlook

    def start_in_outlook(self) -> datetime:
        return self.graph.get_session(self.ref()).start.astimezone(UTC)


@pytest.fixture
def world() -> Iterator[World]:
    with sandboxed_adapters(["microsoft_graph", "moodle"]) as served:
        scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
        scheduler.schedule(Session(
            id=SID, title="Onboarding", capacity=2, **served.harnesses["moodle"].session_extras(),
            slot=TimeSlot(start=START, end=START + timedelta(hours=1), timezone="America/New_York"),
        ))
        scheduler.enrol_many(SID, LEARNERS)  # ana and ben seated, cy waitlisted
        yield World(served, scheduler)


def test_the_delta_feed_keeps_its_link_in_the_ledger_and_reads_only_changes(world: World) -> None:
    first, applied = follow_feed(world.scheduler, world.graph)
    assert first.full and applied == [] and first.calls == 1
    kept = world.scheduler.ledger.get_cursor("microsoft_graph", world.graph.feed_scope)
    assert kept is not None and "deltatoken=" in json.loads(kept)["link"]
    world.move_in_outlook(2)
    read, applied = follow_feed(world.scheduler, world.graph)
    assert not read.full and read.calls == 1
    assert [(a.change.kind, a.change.source, a.decision.value) for a in applied] == [
        (ChangeKind.MOVED, "microsoft_graph-feed", "reassert")]
    assert world.start_in_outlook() == START.astimezone(UTC)
    assert world.scheduler.ledger.get_cursor("microsoft_graph", world.graph.feed_scope) != kept


def test_a_declined_attendee_leaves_and_the_waitlist_moves_up_in_moodle_too(world: World) -> None:
    follow_feed(world.scheduler, world.graph)
    world.simulator.respond(world.ref().external_id, "ana@example.org", "declined")
    _read, applied = follow_feed(world.scheduler, world.graph)
    assert [(a.change.kind, a.change.email, a.decision.value) for a in applied] == [
        (ChangeKind.LEARNER_LEFT, "ana@example.org", "accept")]
    statuses = {e.person.email: e.status.value for e in world.scheduler.roster(SID)}
    assert statuses == {"ana@example.org": "cancelled", "ben@example.org": "confirmed", "cy@example.org": "confirmed"}
    moodle_ref = world.scheduler.ledger.get_ref(SID, "moodle")
    assert moodle_ref is not None
    assert {m.email for m in world.served.adapters["moodle"].list_roster(moodle_ref)} == {
        "ben@example.org", "cy@example.org"}


def test_an_expired_delta_link_starts_a_new_round(world: World) -> None:
    follow_feed(world.scheduler, world.graph)
    world.simulator.expire_delta_tokens()
    world.graph.reschedule_session(world.ref(), world.session().model_copy(update={"title": "Onboarding (B)"}))
    read, applied = follow_feed(world.scheduler, world.graph)
    assert read.full and read.calls == 2  # the 410, then a new round
    assert [a.change.kind for a in applied] == [ChangeKind.EDITED]
    assert world.graph.get_session(world.ref()).title == "Onboarding"
    assert any(e.action == "feed.cursor_expired" for e in world.scheduler.ledger.iter_audit())


@pytest.fixture
def subscribed(world: World) -> Iterator[tuple[World, ChannelKeeper, str]]:
    world.simulator.subscriptions.allow_http = True  # Graph posts to HTTPS only; the test serves loopback HTTP
    example = load_example("graph_wsgi.py")
    server = make_server("127.0.0.1", 0, None, handler_class=QuietHandler,  # type: ignore[arg-type]
                         server_class=example.ThreadingWSGIServer)
    url = f"http://127.0.0.1:{server.server_port}/graph/notify"
    keeper = ChannelKeeper(world.scheduler.ledger, world.graph, url)
    server.set_app(example.wsgi_app(keeper, world.scheduler, world.graph))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        follow_feed(world.scheduler, world.graph)  # the feed's starting link
        yield world, keeper, url
    finally:
        server.shutdown()
        server.server_close()


def test_a_notification_brings_a_move_back_and_forged_or_replayed_ones_are_refused(
    subscribed: tuple[World, ChannelKeeper, str],
) -> None:
    world, keeper, url = subscribed
    subscription = keeper.ensure()  # Graph's validation handshake reached the example and was answered
    assert set(world.simulator.subscriptions.subscriptions) == {subscription.id}
    sent = time.perf_counter()
    world.move_in_outlook(3)
    assert world.simulator.subscriptions.wait_delivered()
    delay = time.perf_counter() - sent
    assert world.start_in_outlook() == START.astimezone(UTC)
    assert delay < 5  # end to end: the notification, the delta read, the decision, the event put back
    answers = world.simulator.subscriptions.poster.posted
    assert answers and all(p.status == 202 for p in answers)
    first = json.loads(answers[0].body)
    assert first["decided"][0]["kind"] == "moved"
    item = {"subscriptionId": subscription.id, "clientState": subscription.token, "changeType": "updated",
            "resource": "Users/x/Events/y", "resourceData": {"id": world.ref().external_id, "@odata.etag": 'W/"1"'}}
    assert requests.post(url, json={"value": [item]}, timeout=10).status_code == 202
    replayed = requests.post(url, json={"value": [item]}, timeout=10)
    assert replayed.status_code == 401 and "replayed" in replayed.json()["refused"]
    forged = requests.post(url, json={"value": [{**item, "clientState": "guess"}]}, timeout=10)
    assert forged.status_code == 401 and "does not match" in forged.json()["refused"]
    unsigned = requests.post(url, json={"value": [{k: v for k, v in item.items() if k != "clientState"}]}, timeout=10)
    assert unsigned.status_code == 401
    assert requests.post(url, data=b"not json", timeout=10).status_code == 401


def test_lifecycle_notices_renew_or_recreate_the_subscription_and_a_missed_one_reads_the_feed(
    subscribed: tuple[World, ChannelKeeper, str],
) -> None:
    world, keeper, _url = subscribed
    first = keeper.ensure()
    subscriptions = world.simulator.subscriptions
    with world.simulator.lock:
        subscriptions.lifecycle(first.id, "reauthorizationRequired")
    assert subscriptions.wait_delivered()
    (second,) = keeper.channels()
    assert second.id != first.id and set(subscriptions.subscriptions) == {second.id}
    with world.simulator.lock:
        subscriptions.lifecycle(second.id, "subscriptionRemoved")
    assert subscriptions.wait_delivered()
    (third,) = keeper.channels()
    assert third.id not in (first.id, second.id) and set(subscriptions.subscriptions) == {third.id}
    world.simulator.respond(world.ref().external_id, "ben@example.org", "declined")
    assert subscriptions.wait_delivered()  # the change notification: Ben leaves, Cy takes his seat
    with world.simulator.lock:
        subscriptions.lifecycle(third.id, "missed")
    assert subscriptions.wait_delivered()
    assert all(p.status == 202 for p in subscriptions.poster.posted)
    statuses = {e.person.email: e.status.value for e in world.scheduler.roster(SID)}
    assert statuses["ben@example.org"] == "cancelled" and statuses["cy@example.org"] == "confirmed"


def test_a_subscription_is_renewed_before_it_lapses_and_graph_refuses_one_beyond_a_week(
    subscribed: tuple[World, ChannelKeeper, str],
) -> None:
    world, keeper, _url = subscribed
    first = keeper.ensure()
    assert keeper.ensure() == first
    keeper.renew_before = timedelta(days=3)  # the default asks for 4,230 minutes: now it is due
    second = keeper.ensure()
    assert second.id != first.id and set(world.simulator.subscriptions.subscriptions) == {second.id}
    from lms_connectors.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="10080 minutes"):
        world.graph.call("POST", "subscriptions", json={
            "changeType": "updated", "notificationUrl": _url, "resource": f"users/{world.graph.feed_scope}/events",
            "expirationDateTime": (datetime.now(UTC) + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "clientState": "x"})
    keeper.stop()
    assert world.simulator.subscriptions.subscriptions == {} and keeper.channels() == []
