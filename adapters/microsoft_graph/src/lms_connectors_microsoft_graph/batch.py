"""JSON batching (``POST $batch``): up to 20 requests in one call, each answered and throttled on its own.

Facts the loop follows: the batch answers 200 even when items inside are throttled; each item has its own
``status`` and ``Retry-After``; an item whose ``dependsOn`` failed answers 424; Microsoft's SDKs do not retry
items, so this loop does. Items for one mailbox are chained with ``dependsOn`` so that Outlook runs them one
after the other (its items for a mailbox otherwise run in parallel and count against the 4-concurrent limit).
A failed item breaks the chain after it (424): those items go again in the next round, without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lms_connectors.errors import ConnectorError, MalformedResponse, ProviderError, RateLimited
from lms_connectors.http.classify import parse_retry_after
from lms_connectors_microsoft_graph.answers import Batch
from lms_connectors_microsoft_graph.errors import classify_graph_response

__all__ = ["MAX_BATCH", "BatchAnswer", "BatchItem", "run_batch"]

MAX_BATCH = 20
"""Graph's limit of requests in one ``$batch``."""
PROVIDER = "microsoft_graph"


@dataclass(frozen=True)
class BatchItem:
    """One request of a batch.

    Attributes:
        id: Unique within the batch.
        method: HTTP method.
        url: Relative to the Graph version root, starting with ``/``.
        body: JSON body, if any (sent with ``Content-Type: application/json``, which Graph requires then).
    """

    id: str
    method: str
    url: str
    body: Any = None

    def wire(self, depends_on: str | None) -> dict[str, Any]:
        """The item as the batch body lists it."""
        request: dict[str, Any] = {"id": self.id, "method": self.method, "url": self.url}
        if self.body is not None:
            request["body"] = self.body
            request["headers"] = {"Content-Type": "application/json"}
        if depends_on is not None:
            request["dependsOn"] = [depends_on]
        return request


@dataclass(frozen=True)
class BatchAnswer:
    """One item's outcome.

    Attributes:
        status: The item's HTTP status.
        body: Its JSON body, if any.
        error: The error the item's answer classifies as (``None`` for a success).
    """

    status: int
    body: Any = None
    error: ConnectorError | None = field(default=None)


Call = Callable[..., Any]


def run_batch(
    call: Call,
    sleep: Callable[[float], None],
    items: Sequence[BatchItem],
    *,
    operation: str,
    max_rounds: int = 5,
) -> dict[str, BatchAnswer]:
    """Send ``items`` in batches of 20 and resend throttled and broken-chain items until each has an answer.

    Args:
        call: Sends one request (the adapter's ``call``: limiter, ``Prefer`` header, transport).
        sleep: Waits out the longest ``Retry-After`` of a round's throttled items.
        items: The requests, with unique ids.
        operation: Label of the ``$batch`` calls.
        max_rounds: Rounds after which an item still throttled keeps its throttling error.

    Returns:
        Each item's answer, by id.
    """
    answers: dict[str, BatchAnswer] = {}
    pending = list(items)
    rounds = 0
    while pending:
        rounds += 1
        chunk, pending = pending[:MAX_BATCH], pending[MAX_BATCH:]
        previous: str | None = None
        wire = []
        for item in chunk:
            wire.append(item.wire(previous))
            previous = item.id
        # Resending a batch of cancels or reads changes nothing more: the transport may retry it.
        answer = call("POST", "$batch", json={"requests": wire}, idempotent=True, operation=operation, shape=Batch)
        responses = answer.get("responses") if isinstance(answer, dict) else None
        if not isinstance(responses, list):
            raise MalformedResponse("$batch answered without 'responses'", provider=PROVIDER)
        by_id = {str(r.get("id")): r for r in responses if isinstance(r, dict)}
        again: list[BatchItem] = []
        wait = 0.0
        for item in chunk:
            outcome = _answer(by_id.get(item.id), item)
            retryable = outcome.status == 424 or isinstance(outcome.error, RateLimited)
            if retryable and rounds < max_rounds:
                again.append(item)
                if isinstance(outcome.error, RateLimited):
                    wait = max(wait, outcome.error.retry_after or 1.0)
            else:
                answers[item.id] = outcome
        if again:
            if wait:
                sleep(wait)
            pending = again + pending
    return answers


def _answer(response: Any, item: BatchItem) -> BatchAnswer:
    if not isinstance(response, dict) or not isinstance(response.get("status"), int):
        raise MalformedResponse(f"$batch answered nothing usable for item {item.id}", provider=PROVIDER)
    status = int(response["status"])
    body = response.get("body")
    raw_headers = response.get("headers")
    headers: dict[str, Any] = raw_headers if isinstance(raw_headers, dict) else {}
    retry_after = next((str(v) for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    error: ConnectorError | None = None
    if status >= 400:
        request_id = next((str(v) for k, v in headers.items() if str(k).lower() == "request-id"), None)
        excerpt = json.dumps(body, separators=(",", ":"))[:300] if body is not None else ""
        # The item's body is Graph's error shape: the same rows classify it as a whole answer.
        error = classify_graph_response.classify_body(body, status=status, body_excerpt=excerpt,
                                                      request_id=request_id)
        if error is None:
            error = ProviderError(f"batch item {item.id} answered HTTP {status}", provider=PROVIDER, status=status,
                                  body_excerpt=excerpt, request_id=request_id)
    if isinstance(error, RateLimited) and error.retry_after is None:
        error.retry_after = parse_retry_after(retry_after)
    return BatchAnswer(status=status, body=body, error=error)
