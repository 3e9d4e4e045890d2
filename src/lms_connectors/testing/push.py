"""Posting a simulated provider's push notifications: in order, from a thread of their own, after the change.

A provider notifies a web address after a change, asynchronously: the receiver may call the provider back at once
(to read its change feed) while the provider goes on serving. :class:`NotificationPoster` does that for the
simulators: :meth:`~NotificationPoster.post` queues a notification and returns; one thread posts the queue in
order and records each answer's status; :meth:`~NotificationPoster.wait_delivered` lets a test wait for the
queue to drain (a notification whose handling causes another one keeps the queue busy until both are posted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from queue import Queue

import requests

__all__ = ["NotificationPoster", "Posted"]


@dataclass
class Posted:
    """One posted notification and the receiver's answer (status 0: it could not be reached)."""

    address: str
    status: int = -1
    body: str = ""


@dataclass
class _Letter:
    address: str
    headers: dict[str, str]
    body: bytes
    record: Posted
    after: Callable[[Posted], None] | None = None


@dataclass
class NotificationPoster:
    """Posts notifications in order from one background thread (started at the first post).

    Attributes:
        timeout: Seconds a receiver has to answer one notification.
        posted: Every notification posted so far, in order, with its answer.
    """

    timeout: float = 30.0
    posted: list[Posted] = field(default_factory=list)
    _queue: Queue[_Letter] = field(default_factory=Queue)
    _thread: threading.Thread | None = None
    _idle: threading.Condition = field(default_factory=threading.Condition)
    _pending: int = 0

    def post(
        self,
        address: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        after: Callable[[Posted], None] | None = None,
    ) -> Posted:
        """Queue one notification; ``after`` is called with its record once it was posted."""
        record = Posted(address)
        with self._idle:
            self._pending += 1
            self.posted.append(record)
        self._queue.put(_Letter(address, dict(headers or {}), body, record, after))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="simulated-push", daemon=True)
            self._thread.start()
        return record

    def wait_delivered(self, timeout: float = 5.0) -> bool:
        """Wait until every queued notification was posted; ``False`` on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            letter = self._queue.get()
            try:
                answer = requests.post(letter.address, data=letter.body, headers=letter.headers, timeout=self.timeout)
                letter.record.status, letter.record.body = answer.status_code, answer.text
            except requests.RequestException:
                letter.record.status = 0  # a provider retries later with backoff; the simulator only records it
            finally:
                if letter.after is not None:
                    letter.after(letter.record)
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
