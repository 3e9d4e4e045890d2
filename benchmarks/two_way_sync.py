"""Two-way sync: the calls a read of each provider's changes costs, and the delay of a push, end to end.

For each provider with a change feed, a term of N live sessions (3 learners each) is scheduled against its
simulator on 127.0.0.1, then:

* "poll": :func:`lms_connectors.changes.poll_changes` (one listing of the window, one roster read per session);
* "feed, nothing changed": :func:`lms_connectors.feeds.follow_feed` once the cursor is kept (Google's sync token,
  Graph's delta link) or a window read (Canvas, Moodle);
* "feed, one change": the same after a person moved one event at the provider (the reassert's own writes are not
  counted: only the read).

Then the push delay: a person moves the event; Google's channel notification (or Graph's change notification)
reaches the example receiver served here, which reads the feed, decides, and puts the event back. The delay is
from the person's write to the provider holding the ledger's slot again (median and worst of the runs).

    python benchmarks/two_way_sync.py [--sessions 10 50] [--pushes 10]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from zoneinfo import ZoneInfo

from lms_connectors.changes import poll_changes
from lms_connectors.feeds import follow_feed
from lms_connectors.models import Person, Session, TimeSlot
from lms_connectors.push import ChannelKeeper, ChannelOpener
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandboxed import SandboxedAdapters, sandboxed_adapters

NY = ZoneInfo("America/New_York")
START = datetime(2027, 3, 15, 9, 0, tzinfo=NY)
FEEDS = ("google_calendar", "microsoft_graph", "canvas", "moodle")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "webhooks"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _not_yet(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Replaced by the receiver once the keeper that needs the server's port exists."""
    start_response("503 Service Unavailable", [])
    return []


def _slot(day: int, hours: int = 0) -> TimeSlot:
    start = START + timedelta(days=day, hours=hours)
    return TimeSlot(start=start, end=start + timedelta(hours=2), timezone="America/New_York")


@contextlib.contextmanager
def _term(provider: str, sessions: int) -> Iterator[tuple[SandboxedAdapters, Scheduler]]:
    with sandboxed_adapters([provider]) as served:
        scheduler = Scheduler(list(served.adapters.values()), MemoryLedger())
        harness = served.harnesses[provider]
        extras = harness.session_extras() if hasattr(harness, "session_extras") else {}
        for index in range(sessions):
            sid = f"bench.{index:03d}"
            scheduler.schedule(Session(id=sid, title=f"Safety {index}", slot=_slot(index), capacity=3, **extras))
            scheduler.enrol_many(sid, [Person(email=f"p{index}.{n}@example.org", name=f"P {n}") for n in range(3)])
        yield served, scheduler


def _calls(sessions: int) -> None:
    print(f"\nCalls per read, {sessions} live sessions (3 learners each)")
    print(f"{'provider':<18}{'poll':>6}{'feed, nothing changed':>24}{'feed, one change':>19}")
    for provider in FEEDS:
        with _term(provider, sessions) as (served, scheduler):
            adapter = served.adapters[provider]
            before = adapter.call_count
            poll_changes(scheduler, adapter)
            polled = adapter.call_count - before
            follow_feed(scheduler, adapter)  # the first read keeps the cursor
            quiet, _ = follow_feed(scheduler, adapter)
            session, ref = scheduler.ledger.get_session("bench.001"), scheduler.ledger.get_ref("bench.001", provider)
            assert session is not None
            assert ref is not None
            adapter.reschedule_session(ref, session.rescheduled(_slot(1, hours=3)))
            changed, applied = follow_feed(scheduler, adapter)
            assert [a.change.kind.value for a in applied] == ["moved"], applied
            print(f"{provider:<18}{polled:>6}{quiet.calls:>24}{changed.calls:>19}")


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _push(provider: str, runs: int) -> list[float]:
    with _term(provider, 1) as (served, scheduler):
        adapter, simulator = served.adapters[provider], served.simulators[provider]
        if provider == "google_calendar":
            example, path, outbox = _load("google_calendar_push"), "/google/push", simulator.push
            server_class: type[WSGIServer] = WSGIServer
        else:
            example, path, outbox = _load("graph_wsgi"), "/graph/notify", simulator.subscriptions
            server_class = example.ThreadingWSGIServer
        outbox.allow_http = True  # the providers post to HTTPS only; this serves plain loopback HTTP
        server = make_server("127.0.0.1", 0, _not_yet, server_class=server_class, handler_class=_Quiet)
        assert isinstance(adapter, ChannelOpener)
        keeper = ChannelKeeper(scheduler.ledger, adapter, f"http://127.0.0.1:{server.server_port}{path}")
        server.set_app(example.wsgi_app(keeper, scheduler, adapter))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            follow_feed(scheduler, adapter)
            keeper.ensure()
            outbox.wait_delivered()
            delays = []
            for run in range(runs):
                session, ref = scheduler.ledger.get_session("bench.000"), scheduler.ledger.get_ref("bench.000", provider)
                assert session is not None
                assert ref is not None
                sent = time.perf_counter()
                adapter.reschedule_session(ref, session.rescheduled(_slot(0, hours=1 + run % 3)))
                while adapter.get_session(ref).start.astimezone(UTC) != session.slot.start_utc():
                    if time.perf_counter() - sent > 10:
                        raise RuntimeError(f"{provider}: the push did not put the event back within 10 s")
                    time.sleep(0.005)
                delays.append(time.perf_counter() - sent)
                outbox.wait_delivered()
            return delays
        finally:
            keeper.stop()
            server.shutdown()
            server.server_close()


def main() -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--pushes", type=int, default=10)
    args = parser.parse_args()
    for count in args.sessions:
        _calls(count)
    print(f"\nPush delay, person's write to the event put back ({args.pushes} runs, loopback)")
    print(f"{'provider':<18}{'median ms':>10}{'worst ms':>10}")
    for provider in ("google_calendar", "microsoft_graph"):
        delays = _push(provider, args.pushes)
        print(f"{provider:<18}{statistics.median(delays) * 1000:>10.0f}{max(delays) * 1000:>10.0f}")


if __name__ == "__main__":
    main()
