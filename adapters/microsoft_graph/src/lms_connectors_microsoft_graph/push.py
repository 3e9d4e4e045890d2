"""Receive Microsoft Graph change notifications: the validation handshake, checked notifications, lifecycle notices.

Graph first checks the endpoint: it posts ``?validationToken=...`` and expects the token back as ``text/plain``
within 10 seconds (:func:`validation_answer`). Then each change to the organizer's events is posted as JSON
``{"value": [{subscriptionId, clientState, changeType, resource, resourceData, ...}]}``, and lifecycle notices as
``{"value": [{subscriptionId, clientState, lifecycleEvent}]}``. A notification names what changed but the SDK
reads the change from the delta feed (:func:`lms_connectors.feeds.follow_feed`), once per delivery.

Every item is checked: a subscription the keeper opened and has not replaced, its ``clientState`` (in constant
time), not expired; and the same item delivered again is refused (a :class:`~lms_connectors.changes.ReplayGuard`
over each item's digest: the ``@odata.etag`` of a changed event differs from one change to the next). Lifecycle
notices act on the subscription: ``reauthorizationRequired`` and ``subscriptionRemoved`` replace it,
``missed`` reads the feed (some notifications were lost).

Framework-neutral::

    token = validation_answer(query)            # answer 200 text/plain with it when not None
    notes, applied = handle_notifications(body, keeper=keeper, scheduler=scheduler, adapter=graph, replays=guard)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lms_connectors.changes import AppliedChange, ChangePolicy, ReplayGuard
from lms_connectors.feeds import follow_feed
from lms_connectors.push import ChannelKeeper, InvalidNotification, PushChannel
from lms_connectors.scheduler import Scheduler
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter

__all__ = ["LIFECYCLE_EVENTS", "GraphNotification", "handle_notifications", "receive_notifications",
           "validation_answer"]

LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


@dataclass(frozen=True)
class GraphNotification:
    """One checked item of a delivery.

    Attributes:
        channel: The subscription it came through.
        change_type: ``created``, ``updated`` or ``deleted`` (``None`` for a lifecycle notice).
        lifecycle: The lifecycle event (``None`` for a change).
        event_id: The event that changed, when Graph named it.
    """

    channel: PushChannel
    change_type: str | None
    lifecycle: str | None
    event_id: str | None


def validation_answer(query: Mapping[str, str]) -> str | None:
    """The token to echo (as ``text/plain``, status 200) when the request is Graph's validation handshake."""
    token = query.get("validationToken")
    return token if isinstance(token, str) and token else None


def receive_notifications(body: bytes, keeper: ChannelKeeper, replays: ReplayGuard) -> list[GraphNotification]:
    """Check every item of a delivery.

    Raises:
        InvalidNotification: The body is not Graph's shape, or an item is forged, expired or replayed (the
            whole delivery is refused: nothing of it is acted on).
    """
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidNotification("the notification body is not JSON") from None
    items = data.get("value") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
        raise InvalidNotification("the notification body has no items")
    checked: list[GraphNotification] = []
    for item in items:
        channel = keeper.verify(_text(item, "subscriptionId"), _text(item, "clientState"), None)
        digest = hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()
        if not replays.first_time(digest):
            raise InvalidNotification(f"a notification of subscription {channel.id!r} was already received (replayed)")
        lifecycle = _text(item, "lifecycleEvent")
        if lifecycle is not None and lifecycle not in LIFECYCLE_EVENTS:
            raise InvalidNotification(f"unknown lifecycleEvent {lifecycle!r}")
        data_item = item.get("resourceData")
        event_id = data_item.get("id") if isinstance(data_item, dict) else None
        checked.append(GraphNotification(channel, _text(item, "changeType"), lifecycle,
                                         event_id if isinstance(event_id, str) else None))
    return checked


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if isinstance(value, str) and value else None


def handle_notifications(
    body: bytes,
    *,
    keeper: ChannelKeeper,
    scheduler: Scheduler,
    adapter: MicrosoftGraphAdapter,
    replays: ReplayGuard,
    policy: ChangePolicy | None = None,
) -> tuple[list[GraphNotification], list[AppliedChange]]:
    """Check a delivery, act on its lifecycle notices, then read the delta feed once if anything changed.

    Raises:
        InvalidNotification: The delivery does not check out; nothing is read.
        ConnectorError: The feed could not be read, or a subscription could not be replaced (Graph delivers
            again when the answer is not 2xx).
    """
    notes = receive_notifications(body, keeper, replays)
    if any(note.lifecycle in ("reauthorizationRequired", "subscriptionRemoved") for note in notes):
        keeper.ensure(renew=True)
    applied: list[AppliedChange] = []
    if any(note.change_type is not None or note.lifecycle == "missed" for note in notes):
        _read, applied = follow_feed(scheduler, adapter, policy)
    return notes, applied
