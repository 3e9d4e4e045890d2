"""Push notification channels of the Google Calendar simulator (``events.watch``, ``channels.stop``).

As Google does (Calendar API guide "Push notifications"):

* ``POST calendars/{calendarId}/events/watch`` with ``{id, type: "web_hook", address, token, params: {ttl}}``
  opens a channel and answers ``{kind: "api#channel", id, resourceId, resourceUri, token, expiration}`` (the
  expiration in Unix milliseconds, as a string; the default time to live is one week). A channel id already in
  use answers ``400 channelIdNotUnique``; an address that is not HTTPS answers ``400 push.webhookUrlNotHttps``
  unless :attr:`PushChannels.allow_http` is set (tests serve their receiver on plain loopback HTTP);
* a ``sync`` message is sent as soon as the channel is open, then an ``exists`` message after each change to
  the calendar's events, numbered from 1 per channel (``X-Goog-Message-Number``); a notification has no body,
  only the ``X-Goog-Channel-ID``, ``X-Goog-Channel-Token`` (when one was given), ``X-Goog-Channel-Expiration``
  (an HTTP date), ``X-Goog-Resource-ID``, ``X-Goog-Resource-URI`` and ``X-Goog-Resource-State`` headers;
* an expired channel sends nothing more; ``POST channels/stop`` with ``{id, resourceId}`` closes one (``404``
  for a channel it does not know).

Notifications are posted by the kit's :class:`~lms_connectors.testing.push.NotificationPoster`, after the change
that caused them, in order: the receiver may call the API back at once without waiting for the simulator.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from lms_connectors.testing.push import NotificationPoster
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.simclock import SimClock

__all__ = ["DEFAULT_TTL_SECONDS", "PushChannels", "WatchChannel"]

DEFAULT_TTL_SECONDS = 604_800
"""A channel's time to live when ``params.ttl`` is not given (one week)."""


@dataclass
class WatchChannel:
    """One open channel."""

    id: str
    resource_id: str
    resource_uri: str
    calendar: str
    address: str
    token: str | None
    expires: datetime
    messages: int = 0
    delivered: list[int] = field(default_factory=list)
    """Status codes the receiver answered, in order (for tests)."""

    def answer(self) -> dict[str, Any]:
        """The channel as ``events.watch`` answers it."""
        body: dict[str, Any] = {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "expiration": str(int(self.expires.timestamp() * 1000)),
        }
        if self.token is not None:
            body["token"] = self.token
        return body


class PushChannels:
    """The simulator's channels and the thread that posts their notifications.

    Args:
        clock: The simulator's clock (channels expire by it).
        api_root: The Calendar API's root URL, for ``resourceUri``.

    Attributes:
        allow_http: Accept ``http://`` addresses (Google requires HTTPS).
    """

    def __init__(self, clock: SimClock, api_root: str = "https://www.googleapis.com/calendar/v3") -> None:
        self.clock = clock
        self.api_root = api_root
        self.allow_http = False
        self.channels: dict[str, WatchChannel] = {}
        self.poster = NotificationPoster()

    def open(self, calendar: str, body: dict[str, Any]) -> WatchChannel:
        """Open a channel on ``calendar`` from an ``events.watch`` body (the caller holds the simulator's lock).

        Raises:
            Refusal: Google's 400 for a missing or reused id, a wrong type, or an address that is not HTTPS.
        """
        channel_id, kind, address = body.get("id"), body.get("type"), body.get("address")
        if not isinstance(channel_id, str) or not channel_id:
            raise Refusal(400, "Required parameter: id", "required")
        if kind not in ("web_hook", "webhook"):
            raise Refusal(400, f"Invalid value for: type: {kind}", "invalid")
        if not isinstance(address, str) or not address:
            raise Refusal(400, "Required parameter: address", "required")
        if not address.startswith("https://") and not (self.allow_http and address.startswith("http://")):
            raise Refusal(400, f"WebHook callback must be HTTPS: {address}", "push.webhookUrlNotHttps", domain="push")
        if channel_id in self.channels:
            raise Refusal(400, f"Channel id {channel_id} not unique", "channelIdNotUnique")
        params = body.get("params") if isinstance(body.get("params"), dict) else {}
        ttl_text = str((params or {}).get("ttl", DEFAULT_TTL_SECONDS))
        if not ttl_text.isdigit():
            raise Refusal(400, f"Invalid value for: params.ttl: {ttl_text}", "invalid")
        token = body.get("token")
        resource_id = hashlib.sha256(f"{calendar}/events".encode()).hexdigest()[:27]
        channel = WatchChannel(
            id=channel_id,
            resource_id=resource_id,
            resource_uri=f"{self.api_root}/calendars/{calendar}/events?alt=json",
            calendar=calendar,
            address=address,
            token=token if isinstance(token, str) else None,
            expires=self.clock.now() + timedelta(seconds=int(ttl_text)),
        )
        self.channels[channel_id] = channel
        self._send(channel, "sync")
        return channel

    def stop(self, body: dict[str, Any]) -> None:
        """Close the channel ``body`` names (``id`` and ``resourceId``).

        Raises:
            Refusal: 404 when no open channel has that id and resource id.
        """
        channel = self.channels.get(str(body.get("id")))
        if channel is None or channel.resource_id != body.get("resourceId"):
            raise Refusal(404, f"Channel '{body.get('id')}' not found for project 'sandbox'", "notFound")
        del self.channels[channel.id]

    def changed(self, calendar: str) -> None:
        """Tell every live channel on ``calendar`` that its events changed (the caller holds the lock)."""
        now = self.clock.now()
        for channel in list(self.channels.values()):
            if channel.calendar == calendar and channel.expires > now:
                self._send(channel, "exists")

    def wait_delivered(self, timeout: float = 5.0) -> bool:
        """Wait until every notification sent so far was posted (for tests); ``False`` on timeout."""
        return self.poster.wait_delivered(timeout)

    def _send(self, channel: WatchChannel, state: str) -> None:
        channel.messages += 1
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": format_datetime(channel.expires.astimezone(UTC), usegmt=True),
            "X-Goog-Message-Number": str(channel.messages),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-State": state,
            "X-Goog-Resource-URI": channel.resource_uri,
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        self.poster.post(channel.address, headers=headers, after=lambda posted: channel.delivered.append(posted.status))
