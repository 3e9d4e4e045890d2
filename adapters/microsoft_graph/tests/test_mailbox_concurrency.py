"""Outlook's 4 requests in flight per app and mailbox: the simulator refuses a fifth, the adapter never sends one.

The simulator holds each request in flight for a while (``latency``), so that eight threads overlap as they do
against Outlook. Sent straight through the transport, past the adapter's per-mailbox limiter, a fifth request is
refused with Outlook's ``429 ApplicationThrottled``; sent through the adapter, whose limiter lets four through at
a time, none is refused, and four were in flight at once (the limiter uses the whole allowance).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests

from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter
from lms_connectors_microsoft_graph.sandbox import GraphSimulator

ORGANIZER = "training-desk@contoso.example"
THREADS = 8


def _in_parallel(work: Callable[[], Any]) -> list[Any]:
    results: list[Any] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def run() -> None:
        start.wait()
        outcome = work()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_fifth_request_in_flight_to_one_mailbox_gets_outlooks_429(
    simulator: GraphSimulator, server: SandboxServer[GraphSimulator], adapter: MicrosoftGraphAdapter
) -> None:
    token = adapter.auth.token()
    simulator.latency = 1.0  # long enough for all eight to be in flight together, even on a loaded machine

    def read_calendar() -> requests.Response:
        return requests.get(f"{server.url}/v1.0/users/{ORGANIZER}/calendar", headers={"Authorization": f"Bearer {token}"},
                            timeout=30)

    answers = _in_parallel(read_calendar)
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused, "eight requests at once, four allowed: some must be refused"
    assert all(answer.status_code == 200 for answer in answers if answer not in refused)
    assert refused[0].json()["error"]["code"] == "ApplicationThrottled"
    assert refused[0].json()["error"]["message"] == "Application is over its MailboxConcurrency limit."
    assert refused[0].headers["Retry-After"] == "1"
    assert simulator.mailbox_concurrency.peak[ORGANIZER] == 4
    assert simulator.mailbox_concurrency.refused[ORGANIZER] == len(refused)
    simulator.latency = 0
    # Once they are answered, the mailbox takes requests again.
    assert read_calendar().status_code == 200


def test_other_mailboxes_and_the_token_endpoint_do_not_count(
    simulator: GraphSimulator, server: SandboxServer[GraphSimulator], adapter: MicrosoftGraphAdapter
) -> None:
    token = adapter.auth.token()
    simulator.latency = 0.2
    mailboxes = iter([ORGANIZER] * 4 + ["dana.swope@contoso.example"] * 4)
    lock = threading.Lock()

    def read() -> int:
        with lock:
            mailbox = next(mailboxes)
        return requests.get(f"{server.url}/v1.0/users/{mailbox}", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).status_code

    statuses = _in_parallel(read)
    assert 429 not in statuses  # four each: within both mailboxes' limits (the colleague's answers 403)
    assert simulator.mailbox_concurrency.refused == {}


def test_the_adapters_mailbox_limiter_keeps_it_within_outlooks_limit(
    simulator: GraphSimulator, make_adapter: Callable[..., MicrosoftGraphAdapter]
) -> None:
    adapter = make_adapter(mailbox_concurrency=4)
    adapter.find_session("warm-up")  # the token first, so that every thread below only reads
    simulator.latency = 1.0
    before = adapter.transport.counter.total

    found = _in_parallel(lambda: adapter.find_session("nothing-here"))

    assert found == [None] * THREADS
    assert simulator.mailbox_concurrency.refused == {}  # no 429 was ever answered
    assert simulator.mailbox_concurrency.peak[ORGANIZER] == 4  # the whole allowance, never more
    assert adapter.transport.counter.total - before == THREADS  # one request each, nothing retried
