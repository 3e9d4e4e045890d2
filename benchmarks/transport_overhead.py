"""Transport overhead per call: the Google adapter's transport against plain ``requests`` and the Google peers.

One Google Calendar simulator is served on 127.0.0.1 and holds one event. Each client reads that event with
``events.get`` over a keep-alive connection and decodes its JSON:

* ``plain requests``: ``Session.get`` with the bearer header, ``raise_for_status()``, ``.json()``;
* ``lms-connectors``: the Google adapter's own transport (OAuth token, classifier, retry policy, counting,
  redaction) as ``adapter.transport.request_json``; the proactive limiter is off (it would pace the loop);
* ``google-api-python-client`` and ``gcsa``, when installed (``pip install -r benchmarks/requirements-peers.txt``):
  ``service.events().get(...).execute()`` and ``GoogleCalendar.get_event`` on a service built against the
  simulator.

Rounds are interleaved (a block of calls per client in turn, the order rotating every round), so a drift of the
machine's speed hits every client alike; each round's per-call time is divided by plain requests' in the same
round. Printed twice: per-call wall time, and the CPU time of the calling thread (the client's own work; the
simulator answers from another thread, so a loaded machine's waits and the server's work stay out of it); each
with the per-call min and median and the min and median of those ratios.

Run: ``python benchmarks/transport_overhead.py [--rounds 40] [--block 25]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from lms_connectors.models import Session, TimeSlot
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter
from lms_connectors_google_calendar.testing import GoogleCalendarHarness

Client = Callable[[], object]


def _peers(root: str, event_path: str, event_id: str, token: str) -> dict[str, Client]:
    """The peer clients that are installed, each reading the same event."""
    clients: dict[str, Client] = {}
    try:
        from google.oauth2.credentials import Credentials
        from googleapiclient import discovery
    except ImportError:
        print("google-api-python-client: not installed (pip install -r benchmarks/requirements-peers.txt)")
        return clients
    credentials = Credentials(token=token)  # type: ignore[no-untyped-call]
    service = discovery.build(
        "calendar", "v3", credentials=credentials, static_discovery=True, client_options={"api_endpoint": root}
    )
    clients["google-api-python-client"] = lambda: service.events().get(calendarId="primary", eventId=event_id).execute()
    try:
        from gcsa.google_calendar import GoogleCalendar
    except ImportError:
        print("gcsa: not installed (pip install -r benchmarks/requirements-peers.txt)")
        return clients
    calendar = GoogleCalendar(credentials=credentials)
    calendar.service = service  # gcsa's own service points at Google; this one at the simulator
    clients["gcsa"] = lambda: calendar.get_event(event_id)
    return clients


def main() -> int:
    """Print the overhead table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--block", type=int, default=25, help="calls per client per round")
    args = parser.parse_args()
    harness = GoogleCalendarHarness()
    with SandboxServer(harness.make_simulator()) as server:
        settings = {**harness.adapter_settings(server.url), "requests_per_second": None}
        adapter = GoogleCalendarAdapter.from_config(settings)
        start = datetime(2027, 5, 3, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
        session = Session(id="bench.overhead", title="Overhead",
                          slot=TimeSlot(start=start, end=start + timedelta(hours=1), timezone="Europe/Berlin"))
        ref = adapter.create_session(session, key="bench.overhead.g1", fresh=True)
        path = f"calendars/primary/events/{ref.external_id}"
        token = adapter.auth.token()
        url = f"{settings['base_url'].rstrip('/')}/{path}"
        plain = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}

        def plain_get() -> object:
            response = plain.get(url, headers=headers, timeout=(5.0, 30.0))
            response.raise_for_status()
            return response.json()

        clients: dict[str, Client] = {
            "plain requests": plain_get,
            "lms-connectors": lambda: adapter.transport.request_json("GET", path, operation="events.get"),
        }
        # The client's base URL: the simulator's Calendar API root (calendar/v3 included).
        clients.update(_peers(settings["base_url"].rstrip("/") + "/", path, ref.external_id, token))
        for client in clients.values():  # warm connections, caches and the peers' lazy set-up
            for _ in range(5):
                client()
        per_call: dict[str, list[float]] = {name: [] for name in clients}
        cpu_per_call: dict[str, list[float]] = {name: [] for name in clients}
        names = list(clients)
        for round_index in range(args.rounds):
            order = names[round_index % len(names):] + names[: round_index % len(names)]
            for name in order:
                client = clients[name]
                began, began_cpu = time.perf_counter(), time.thread_time()
                for _ in range(args.block):
                    client()
                cpu_per_call[name].append((time.thread_time() - began_cpu) / args.block)
                per_call[name].append((time.perf_counter() - began) / args.block)
        adapter.close()
        plain.close()
    print(f"loopback events.get + JSON decode, {args.rounds} interleaved rounds of {args.block} calls per client")
    _table("wall time per call (the simulator's share included)", per_call)
    _table("CPU of the calling thread per call (the client's own work: the simulator runs in another thread)",
           cpu_per_call)
    return 0


def _table(title: str, per_call: dict[str, list[float]]) -> None:
    base = per_call["plain requests"]
    print(f"\n{title}")
    header = f"{'client':<26}{'min us':>9}{'median us':>11}{'ratio min':>11}{'ratio median':>14}"
    print(header)
    print("-" * len(header))
    for name, times in per_call.items():
        ratios = [t / b for t, b in zip(times, base, strict=True)]
        print(f"{name:<26}{min(times) * 1e6:>9.0f}{statistics.median(times) * 1e6:>11.0f}"
              f"{min(ratios):>11.3f}{statistics.median(ratios):>14.3f}")


if __name__ == "__main__":
    sys.exit(main())
