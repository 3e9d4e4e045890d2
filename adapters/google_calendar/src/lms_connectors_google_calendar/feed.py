"""Google Calendar's change feed (incremental sync with sync tokens) and push channels (``events.watch``).

The feed (Calendar API guide "Synchronize resources efficiently"): a first, full ``events.list`` of the calendar
ends with a ``nextSyncToken``; each later ``events.list?syncToken=...`` answers only the events changed since, the
deleted ones included (with their id only), and a new token. A token Google no longer accepts answers ``410``
(``fullSyncRequired``): :class:`~lms_connectors.errors.CursorExpired`, and the core starts over with a full read.
``syncToken`` cannot be combined with ``timeMin``, ``timeMax`` or ``privateExtendedProperty``, so the feed reads
the whole calendar and keeps the events that carry the SDK's marker.

Push (guide "Push notifications"): ``events.watch`` opens a channel that posts to an HTTPS address with a token
of the SDK's choosing; ``channels.stop`` closes it. A notification says only that the calendar changed; its
receiver (:mod:`lms_connectors_google_calendar.push`) checks it and reads the feed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lms_connectors.errors import MalformedResponse
from lms_connectors.feeds import FeedItem, FeedPage
from lms_connectors.models import ProviderRef
from lms_connectors.push import PushChannel
from lms_connectors_google_calendar.answers import Channel, EventPage
from lms_connectors_google_calendar.mapping import (
    PROVIDER,
    event_is_ours,
    is_cancelled,
    learner_attendees,
    provider_ref,
    provider_session,
    roster_member,
)

if TYPE_CHECKING:
    from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter

__all__ = ["PAGE_SIZE", "close_channel", "open_channel", "read_changes"]

PAGE_SIZE = 2500
"""Events per page of the feed (Google's largest ``maxResults``): a full read of a large calendar in few calls."""


def read_changes(adapter: GoogleCalendarAdapter, cursor: str | None) -> FeedPage:
    """The SDK's events changed since the sync token ``cursor`` (``None``: every event, a full sync).

    :calls: ``GET calendars/{calendarId}/events`` with ``syncToken`` (or none), ``maxResults``, ``pageToken``:
    one call per page.

    Raises:
        CursorExpired: Google answered 410: the token is no longer valid.
        MalformedResponse: The last page carried no ``nextSyncToken``.
    """
    calendar_id = adapter.config.calendar_id
    params: dict[str, Any] = {"maxResults": PAGE_SIZE}
    if cursor is not None:
        params["syncToken"] = cursor
    items: list[FeedItem] = []
    page_token: str | None = None
    while True:
        page = adapter.transport.request_json(
            "GET",
            adapter.events_path(calendar_id),
            params={**params, "pageToken": page_token} if page_token else params,
            operation="events.list (sync)",
            shape=EventPage,
        )
        if not isinstance(page, dict):
            raise MalformedResponse("events.list answered without an object", provider=PROVIDER)
        items.extend(_item(event, calendar_id) for event in page.get("items") or () if _wanted(event))
        next_page = page.get("nextPageToken")
        if isinstance(next_page, str) and next_page:
            page_token = next_page
            continue
        token = page.get("nextSyncToken")
        if not isinstance(token, str) or not token:
            raise MalformedResponse("the last page of events.list carried no nextSyncToken", provider=PROVIDER)
        return FeedPage(items=tuple(items), cursor=token, complete=cursor is None)


def _wanted(event: Any) -> bool:
    # A deleted event may come back with its id only: it cannot show the marker, so it is kept (the core keeps
    # only ids the ledger knows).
    return isinstance(event, dict) and (is_cancelled(event) or event_is_ours(event))


def _item(event: dict[str, Any], calendar_id: str) -> FeedItem:
    if is_cancelled(event):
        ref = ProviderRef(provider=PROVIDER, external_id=str(event["id"]), extra={"calendar_id": calendar_id})
        return FeedItem(ref=ref, session=None)
    roster = tuple(roster_member(attendee) for attendee in learner_attendees(event))
    return FeedItem(ref=provider_ref(event, calendar_id), session=provider_session(event, calendar_id), roster=roster)


def open_channel(adapter: GoogleCalendarAdapter, address: str, channel_id: str, token: str) -> PushChannel:
    """Open a push channel on the calendar's events.

    :calls: ``POST calendars/{calendarId}/events/watch``

    Args:
        adapter: The adapter whose calendar is watched.
        address: The HTTPS address Google posts notifications to.
        channel_id: The channel's id (unique).
        token: The secret each notification carries back (``X-Goog-Channel-Token``).
    """
    body: dict[str, Any] = {"id": channel_id, "type": "web_hook", "address": address, "token": token}
    if adapter.config.channel_ttl_seconds is not None:
        body["params"] = {"ttl": str(adapter.config.channel_ttl_seconds)}
    answer = adapter.transport.request_json(
        "POST", f"{adapter.events_path()}/watch", json=body, operation="events.watch", shape=Channel
    )
    if not isinstance(answer, dict):
        raise MalformedResponse("events.watch answered without a channel", provider=PROVIDER)
    expiration = answer.get("expiration")
    if not isinstance(expiration, str) or not expiration.isdigit():
        raise MalformedResponse("events.watch answered a channel without an expiration", provider=PROVIDER)
    return PushChannel(
        provider=PROVIDER,
        scope=adapter.config.calendar_id,
        id=str(answer["id"]),
        resource_id=str(answer["resourceId"]),
        token=token,
        expires_at=datetime.fromtimestamp(int(expiration) / 1000, tz=UTC),
    )


def close_channel(adapter: GoogleCalendarAdapter, channel: PushChannel) -> None:
    """Stop a channel (Google's 404 for one already stopped or expired is :class:`NotFound`).

    :calls: ``POST channels/stop``
    """
    adapter.transport.request(
        "POST", "channels/stop", json={"id": channel.id, "resourceId": channel.resource_id},
        operation="channels.stop", idempotent=True,
    )
