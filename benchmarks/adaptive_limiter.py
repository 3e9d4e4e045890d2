"""Adaptive rate limiter: 1,000 sessions created on Google against a quota below, then above, the limiter's rate.

The Google Calendar simulator is served on 127.0.0.1 with a call limit of its own (``throttle(calls, seconds)``:
Google's answer over it is a 403 ``rateLimitExceeded`` without ``Retry-After``). The adapter's limiter runs at
10 calls a second with Google's default burst of 50; the quota is 10% below (9 a second) or 10% above (11 a
second), over windows of 1 s or of 60 s (Google counts per minute). Each of the 1,000 sessions is one
``events.insert``; a refused call is retried by the transport (backoff with jitter, seeded).

Time is the simulator's clock, frozen and moved only by the adapter's waits (the limiter's and the retries'), so
the figures are those of the waits, not of this machine's speed: "achieved" is accepted calls over the time
taken, as a share of the quota's rate; "refused" is refused calls over all calls sent. Each scenario runs with
the limiter fixed (``adaptive_rate=False``, the earlier behaviour) and adaptive.

Run: ``python benchmarks/adaptive_limiter.py [--sessions 1000]``.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.http.transport import CallEvent
from lms_connectors.models import Modality, Session, TimeSlot
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter
from lms_connectors_google_calendar.testing import GoogleCalendarHarness

LIMITER_RATE = 10.0
BURST = 50


def _session(index: int) -> Session:
    start = datetime(2027, 4, 5, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")) + timedelta(days=index // 8, hours=index % 8)
    return Session(
        id=f"bench.limiter.{index}",
        title=f"Limiter {index}",
        slot=TimeSlot(start=start, end=start + timedelta(minutes=45), timezone="Europe/Berlin"),
        modality=Modality.IN_PERSON,
    )


def run(sessions: int, quota_factor: float, window: float, *, adaptive: bool) -> dict[str, float]:
    """Create ``sessions`` sessions one after another; the quota is ``quota_factor`` times the limiter's rate."""
    random.seed(11)  # the retries' jitter
    harness = GoogleCalendarHarness()
    simulator = harness.make_simulator()
    simulator.clock.freeze(datetime(2027, 1, 4, 8, 0, tzinfo=UTC))
    allowed = round(LIMITER_RATE * quota_factor * window)
    simulator.throttle(allowed, window, path="/events")
    statuses: list[int | None] = []

    def seen(event: CallEvent) -> None:
        if event.operation == "events.insert":
            statuses.append(event.status)

    with SandboxServer(simulator) as server:
        settings = {
            **harness.adapter_settings(server.url),
            "requests_per_second": LIMITER_RATE,
            "burst": BURST,
            "adaptive_rate": adaptive,
            "max_attempts": 20,
            "total_timeout": 600.0,
        }
        clock = simulator.clock
        adapter = GoogleCalendarAdapter.from_config(settings, sleep=clock.advance, clock=clock.time, hooks=[seen])
        adapter.find_session("bench.limiter.warm-up")  # the token and the calendar look-up, outside the count
        statuses.clear()
        started = clock.time()
        for index in range(sessions):
            adapter.create_session(_session(index), key=f"bench.limiter.{index}", fresh=True)
        elapsed = clock.time() - started
        adapter.close()
    accepted = sum(1 for status in statuses if status is not None and status < 400)
    refused = len(statuses) - accepted
    quota_rate = allowed / window
    return {
        "calls": len(statuses),
        "refused": refused,
        "refused_pct": 100.0 * refused / len(statuses),
        "seconds": elapsed,
        "achieved_pct": 100.0 * accepted / elapsed / quota_rate,
        "limiter_pct": 100.0 * accepted / elapsed / LIMITER_RATE,
    }


def main() -> int:
    """Print the table: one row per quota, window and limiter."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    args = parser.parse_args()
    print(
        f"{args.sessions:,} Google creates, limiter {LIMITER_RATE:g}/s burst {BURST}, simulator quota per window "
        "(simulated time)"
    )
    header = (
        f"{'quota':>14} {'window':>7} {'limiter':>9} {'calls':>6} {'refused':>8} {'refused %':>9} "
        f"{'seconds':>8} {'% of quota':>10} {'% of limiter':>12}"
    )
    print(header)
    print("-" * len(header))
    for factor, label in ((0.9, "10% below"), (1.1, "10% above")):
        for window in (1.0, 60.0):
            for adaptive in (False, True):
                row = run(args.sessions, factor, window, adaptive=adaptive)
                quota = f"{LIMITER_RATE * factor:g}/s {label}"
                print(
                    f"{quota:>14} {window:>6g}s {'adaptive' if adaptive else 'fixed':>9} {row['calls']:>6.0f} "
                    f"{row['refused']:>8.0f} {row['refused_pct']:>9.2f} {row['seconds']:>8.1f} "
                    f"{min(row['achieved_pct'], 100.0):>10.1f} {row['limiter_pct']:>12.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
