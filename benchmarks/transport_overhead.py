"""SDK transport overhead per call against plain ``requests``, on a loopback server.

Both clients send the same GET to the same JSON endpoint of a sandbox served on 127.0.0.1, over one keep-alive
``requests.Session`` each. The SDK path adds what every adapter call pays: rate limiter, auth header,
classification into the error tree, the tenacity retry loop, counting, hooks and redaction.

Prints the per-call medians and the median ratio over repeated runs. Run:

    python benchmarks/transport_overhead.py [--calls 400] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from lms_connectors.http.auth import StaticTokenAuth
from lms_connectors.http.ratelimit import RateLimiter
from lms_connectors.http.transport import HttpTransport
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, SandboxServer, Simulator


class EventsSimulator(Simulator):
    """Answers every request with a small calendar-event-like JSON body."""

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse(200, {"kind": "calendar#event", "id": "abc123", "status": "confirmed", "summary": "x"})


def _time_plain(url: str, calls: int) -> float:
    with requests.Session() as session:
        session.get(url, timeout=(5, 30)).json()  # warm the connection
        start = time.perf_counter()
        for _ in range(calls):
            response = session.get(url, timeout=(5, 30), headers={"Authorization": "Bearer bench-token"})
            response.raise_for_status()
            response.json()
        return (time.perf_counter() - start) / calls


def _time_sdk(base_url: str, calls: int) -> float:
    transport = HttpTransport(
        provider="bench",
        base_url=base_url,
        auth=StaticTokenAuth("bench-token"),
        rate_limiter=RateLimiter(rate=1_000_000, burst=1_000_000),
        hooks=[lambda event: None],
    )
    try:
        transport.request_json("GET", "/events/abc123")
        start = time.perf_counter()
        for _ in range(calls):
            transport.request_json("GET", "/events/abc123")
        return (time.perf_counter() - start) / calls
    finally:
        transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    plain: list[float] = []
    sdk: list[float] = []
    ratios: list[float] = []
    with SandboxServer(EventsSimulator()) as server:
        url = f"{server.url}/events/abc123"
        for _ in range(args.runs):
            p = _time_plain(url, args.calls)
            s = _time_sdk(server.url, args.calls)
            plain.append(p)
            sdk.append(s)
            ratios.append(s / p)
    print(f"loopback GET + JSON decode, {args.calls} calls x {args.runs} runs")
    print(f"{'client':<22}{'median per call':>18}")
    print(f"{'plain requests':<22}{statistics.median(plain) * 1e6:>15.0f} us")
    print(f"{'lms-connectors':<22}{statistics.median(sdk) * 1e6:>15.0f} us")
    print(f"median ratio sdk/plain: {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
    print(f"median overhead per call: {(statistics.median(sdk) - statistics.median(plain)) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
