"""Outlook's change feed (``calendarView/delta`` from a delta link the ledger keeps) and subscriptions as channels.

The feed: a first delta round over the session window answers every event in it and ends with an
``@odata.deltaLink``; each later round from that link answers only what changed, removals by id (``@removed``).
The window is fixed by the first round, so the cursor keeps it beside the link: when the ledger's live sessions
span a window the link does not cover, a new round starts. A link Graph no longer accepts (410) is
:class:`~lms_connectors.errors.CursorExpired`, and the core starts a new round.

Push: a change-notification subscription on the organizer's events (``POST /subscriptions``) is the channel; its
``clientState`` is the channel's secret, checked on every notification by
:class:`~lms_connectors.push.ChannelKeeper`; it is renewed by a new subscription before it lapses, and deleted
(``DELETE /subscriptions/{id}``) when replaced.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lms_connectors.errors import MalformedResponse
from lms_connectors.feeds import FeedItem, FeedPage
from lms_connectors.models import ProviderRef
from lms_connectors.push import PushChannel
from lms_connectors_microsoft_graph.mapping import PROVIDER, learner_attendees, roster_member

if TYPE_CHECKING:
    from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter

__all__ = ["close_channel", "open_channel", "read_changes"]


def read_changes(adapter: MicrosoftGraphAdapter, cursor: str | None, start: datetime, end: datetime) -> FeedPage:
    """A delta round from ``cursor`` (a new round over ``[start, end)`` when it is ``None`` or too narrow)."""
    link, low, high = _parse(cursor)
    if link is not None and low is not None and high is not None and low <= start and end <= high:
        page = adapter.ex_changes(start, end, delta_link=link)
        complete = False
    else:
        page = adapter.ex_changes(start, end)
        low, high, complete = start, end, True
    items = [
        FeedItem(ref=found.ref, session=found,
                 roster=tuple(roster_member(attendee) for attendee in learner_attendees(found.raw)))
        for found in page.changed
    ]
    items += [FeedItem(ref=ProviderRef(provider=PROVIDER, external_id=event_id), session=None)
              for event_id in page.removed]
    kept = json.dumps({"link": page.delta_link, "start": low.isoformat(), "end": high.isoformat()})
    return FeedPage(items=tuple(items), cursor=kept, complete=complete)


def _parse(cursor: str | None) -> tuple[str | None, datetime | None, datetime | None]:
    if cursor is None:
        return None, None, None
    try:
        kept = json.loads(cursor)
        return str(kept["link"]), datetime.fromisoformat(kept["start"]), datetime.fromisoformat(kept["end"])
    except (ValueError, KeyError, TypeError):
        return None, None, None  # a cursor of another form: a new round


def open_channel(adapter: MicrosoftGraphAdapter, address: str, token: str) -> PushChannel:
    """Subscribe to the organizer's events; notifications and lifecycle notices go to ``address``.

    :calls: ``POST /subscriptions`` (Graph first checks ``address`` with its validation handshake).
    """
    expires = datetime.now(UTC) + timedelta(minutes=adapter.config.subscription_minutes)
    resource = f"users/{adapter.config.organizer}/events"
    body: dict[str, Any] = {
        "changeType": "created,updated,deleted", "notificationUrl": address, "lifecycleNotificationUrl": address,
        "resource": resource, "expirationDateTime": expires.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
        "clientState": token,
    }
    answer = adapter.call("POST", "subscriptions", json=body, operation="subscriptions.create")
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
        raise MalformedResponse("POST /subscriptions answered without a subscription id", provider=PROVIDER)
    try:  # Graph writes seven fractional digits: the whole seconds are enough here
        granted = datetime.fromisoformat(str(answer.get("expirationDateTime"))[:19]).replace(tzinfo=UTC)
    except ValueError:
        raise MalformedResponse("POST /subscriptions answered an unreadable expirationDateTime",
                                provider=PROVIDER) from None
    return PushChannel(provider=PROVIDER, scope=adapter.config.organizer, id=answer["id"], resource_id=resource,
                       token=token, expires_at=granted)


def close_channel(adapter: MicrosoftGraphAdapter, channel: PushChannel) -> None:
    """Delete a subscription (Graph's 404 for one already gone is :class:`NotFound`).

    :calls: ``DELETE /subscriptions/{id}``
    """
    adapter.call("DELETE", f"subscriptions/{channel.id}", idempotent=True, operation="subscriptions.delete")
