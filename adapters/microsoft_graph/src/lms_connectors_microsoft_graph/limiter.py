"""At most N requests in flight per mailbox, across every adapter instance of the process.

Outlook serves at most 4 concurrent requests per application and mailbox; a fifth is refused with
``429 ApplicationThrottled`` ("Application is over its MailboxConcurrency limit."). Threads of one process
sharing an organizer mailbox (a scheduler's workers, several adapters built from one configuration) wait for a
slot here instead of being refused. Other processes of the same app count against the same limit: give each
a share (``mailbox_concurrency``), and the throttling answers that remain are retried by the transport.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import ClassVar

__all__ = ["MailboxLimiter"]


class MailboxLimiter:
    """Semaphores per ``(application, mailbox)``, shared process-wide.

    Args:
        application: The tenant and client id the requests are made as.
        limit: Requests in flight at once per mailbox.
    """

    _registry_lock: ClassVar[threading.Lock] = threading.Lock()
    _registry: ClassVar[dict[tuple[str, str], threading.BoundedSemaphore]] = {}

    def __init__(self, application: str, limit: int) -> None:
        if limit < 1:
            raise ValueError("a mailbox limiter lets at least one request through")
        self.application = application
        self.limit = limit

    def _semaphore(self, mailbox: str) -> threading.BoundedSemaphore:
        key = (self.application, mailbox.lower())
        with self._registry_lock:
            semaphore = self._registry.get(key)
            if semaphore is None:
                semaphore = self._registry[key] = threading.BoundedSemaphore(self.limit)
            return semaphore

    @contextlib.contextmanager
    def slot(self, mailbox: str) -> Iterator[None]:
        """Hold one of the mailbox's slots for the duration of the block."""
        semaphore = self._semaphore(mailbox)
        with semaphore:
            yield
