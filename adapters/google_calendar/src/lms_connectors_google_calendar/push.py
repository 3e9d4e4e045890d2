"""Receive Google Calendar push notifications: check each one, then read the change feed.

Google posts an empty body with headers to the channel's address (guide "Push notifications"):
``X-Goog-Channel-ID``, ``X-Goog-Channel-Token`` (the secret given to ``events.watch``), ``X-Goog-Message-Number``,
``X-Goog-Resource-ID``, ``X-Goog-Resource-State`` (``sync`` when the channel opens, ``exists`` or ``not_exists``
after a change) and ``X-Goog-Channel-Expiration``. Nothing says what changed: the calendar's change feed is read
from the ledger's sync token (:func:`lms_connectors.feeds.follow_feed`).

Framework-neutral: give :func:`handle_notification` the request's headers::

    keeper = ChannelKeeper(ledger, adapter, "https://example.org/google/push")
    keeper.ensure()                                  # at start, then regularly: renews before expiry
    notification, applied = handle_notification(request.headers, keeper=keeper, scheduler=scheduler,
                                                 adapter=adapter)   # raises InvalidNotification when forged

A notification on an unknown or closed channel, without the channel's token or with another, on an expired
channel, for another resource, or whose message number is not above the last one accepted (a replay) is refused
with :class:`~lms_connectors.push.InvalidNotification`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lms_connectors.changes import AppliedChange, ChangePolicy
from lms_connectors.feeds import follow_feed
from lms_connectors.push import ChannelKeeper, InvalidNotification, PushChannel
from lms_connectors.scheduler import Scheduler
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter

__all__ = ["RESOURCE_STATES", "ChannelNotification", "handle_notification", "receive_notification"]

RESOURCE_STATES = frozenset({"sync", "exists", "not_exists"})
"""The ``X-Goog-Resource-State`` values of a calendar's events channel."""


@dataclass(frozen=True)
class ChannelNotification:
    """A checked notification.

    Attributes:
        channel: The channel it came through.
        state: ``sync`` (the channel is open), ``exists`` or ``not_exists`` (something changed).
        message: Its message number.
    """

    channel: PushChannel
    state: str
    message: int

    @property
    def changed(self) -> bool:
        """Whether it reports a change (``sync`` only confirms the channel)."""
        return self.state != "sync"


def receive_notification(headers: Mapping[str, str], keeper: ChannelKeeper) -> ChannelNotification:
    """Check a notification's headers against the channels ``keeper`` opened.

    Raises:
        InvalidNotification: It is forged, replayed, expired, for another resource, or not Google's shape.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    number = lowered.get("x-goog-message-number", "")
    if not number.isdigit():
        raise InvalidNotification("the notification has no X-Goog-Message-Number")
    state = lowered.get("x-goog-resource-state", "")
    if state not in RESOURCE_STATES:
        raise InvalidNotification(f"unknown X-Goog-Resource-State {state!r}")
    channel = keeper.verify(lowered.get("x-goog-channel-id"), lowered.get("x-goog-channel-token"), int(number))
    resource = lowered.get("x-goog-resource-id")
    if channel.resource_id and resource != channel.resource_id:  # empty until events.watch has answered
        raise InvalidNotification(f"channel {channel.id!r} does not watch resource {resource!r}")
    return ChannelNotification(channel=channel, state=state, message=int(number))


def handle_notification(
    headers: Mapping[str, str],
    *,
    keeper: ChannelKeeper,
    scheduler: Scheduler,
    adapter: GoogleCalendarAdapter,
    policy: ChangePolicy | None = None,
) -> tuple[ChannelNotification, list[AppliedChange]]:
    """Check a notification, then, when it reports a change, read the feed and decide what changed.

    Returns:
        The notification and what was decided (nothing for a ``sync`` message).

    Raises:
        InvalidNotification: The notification does not check out; nothing is read.
        ConnectorError: The feed could not be read (Google retries a notification that was not answered 2xx).
    """
    notification = receive_notification(headers, keeper)
    if not notification.changed:
        return notification, []
    _read, applied = follow_feed(scheduler, adapter, policy)
    return notification, applied
