"""Change-notification subscriptions of the Microsoft Graph simulator (``/subscriptions``), as Graph documents them.

* ``POST /subscriptions`` with ``{changeType, notificationUrl, lifecycleNotificationUrl, resource, expirationDateTime,
  clientState}`` first validates each URL: Graph posts ``?validationToken=...`` to it and the endpoint must answer
  200 with the token as ``text/plain`` within 10 seconds; otherwise ``400 ValidationError`` "Subscription validation
  request failed. Notification endpoint must respond with 200 OK to validation request." Then it answers 201 with
  the subscription (its ``id``, ``expirationDateTime``, ``clientState``...). Outlook event subscriptions live at most
  10,080 minutes (seven days); a later expiry, or one in the past, is ``400 InvalidRequest``. An address that is
  not HTTPS is refused unless :attr:`Subscriptions.allow_http` is set (tests serve plain loopback HTTP).
* ``PATCH /subscriptions/{id}`` with a new ``expirationDateTime`` renews it; ``DELETE`` removes it (204); an
  unknown id is ``404 ResourceNotFound``.
* After each change to an event of the watched mailbox, a notification is posted to ``notificationUrl``:
  ``{"value": [{subscriptionId, subscriptionExpirationDateTime, changeType, resource, resourceData: {@odata.type,
  @odata.id, @odata.etag, id}, clientState, tenantId}]}`` (``created``, ``updated`` or ``deleted``, when the
  subscription asked for that type). An expired subscription sends nothing more.
* Lifecycle notifications (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``) go to
  ``lifecycleNotificationUrl``: :meth:`Subscriptions.lifecycle` sends one (``subscriptionRemoved`` also removes it).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from lms_connectors.testing.push import NotificationPoster
from lms_connectors.testing.refusal import Refusal

__all__ = ["MAX_MINUTES", "Subscription", "Subscriptions"]

MAX_MINUTES = 10_080
"""The longest an Outlook event subscription may live (seven days)."""

_CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
_LIFECYCLE = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


@dataclass
class Subscription:
    """One subscription."""

    id: str
    resource: str
    mailbox: str
    change_types: frozenset[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime

    def answer(self) -> dict[str, Any]:
        """The subscription as Graph answers it."""
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id, "resource": self.resource, "applicationId": "00000000-0000-0000-0000-00000000sim",
            "changeType": ",".join(sorted(self.change_types)), "clientState": self.client_state,
            "notificationUrl": self.notification_url, "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": _iso(self.expires), "latestSupportedTlsVersion": "v1_2",
            "notificationContentType": "application/json",
        }


class Subscriptions:
    """The simulator's subscriptions and the poster of their notifications.

    Args:
        now: The simulator's clock (UTC).
        tenant_id: Put in every notification.

    Attributes:
        allow_http: Accept ``http://`` notification URLs (Graph requires HTTPS).
    """

    def __init__(self, now: Callable[[], datetime], tenant_id: str) -> None:
        self.now = now
        self.tenant_id = tenant_id
        self.allow_http = False
        self.subscriptions: dict[str, Subscription] = {}
        self.poster = NotificationPoster()

    def create(self, body: Mapping[str, Any], mailbox_of: Callable[[str], str]) -> Subscription:
        """Validate and store a subscription (the caller holds the simulator's lock).

        Args:
            body: The request body.
            mailbox_of: The mailbox a resource path names (refuses another mailbox as Graph does).

        Raises:
            Refusal: Graph's 400 for a bad field or a failed validation handshake.
        """
        kinds = {kind.strip() for kind in str(body.get("changeType") or "").split(",") if kind.strip()}
        if not kinds or not kinds <= _CHANGE_TYPES:
            raise Refusal(400, f"Invalid changeType: '{body.get('changeType')}'.", "InvalidRequest")
        resource = str(body.get("resource") or "")
        parts = resource.strip("/").split("/")
        if len(parts) != 3 or parts[0].lower() != "users" or parts[2].lower() != "events":
            raise Refusal(400, f"Resource '{resource}' is not supported.", "InvalidRequest")
        mailbox = mailbox_of(parts[1])
        expires = self._expiry(body.get("expirationDateTime"))
        state = body.get("clientState")
        if state is not None and (not isinstance(state, str) or len(state) > 128):
            raise Refusal(400, "clientState must be a string of at most 128 characters.", "InvalidRequest")
        urls = [str(body.get("notificationUrl") or "")]
        lifecycle = body.get("lifecycleNotificationUrl")
        if lifecycle is not None:
            urls.append(str(lifecycle))
        for url in urls:
            self._validate(url)
        subscription = Subscription(
            id=str(uuid.uuid4()), resource=resource, mailbox=mailbox, change_types=frozenset(kinds),
            notification_url=urls[0], lifecycle_url=str(lifecycle) if lifecycle is not None else None,
            client_state=state, expires=expires,
        )
        self.subscriptions[subscription.id] = subscription
        return subscription

    def renew(self, subscription_id: str, body: Mapping[str, Any]) -> Subscription:
        """Set a new expiry (``PATCH``)."""
        subscription = self._existing(subscription_id)
        subscription.expires = self._expiry(body.get("expirationDateTime"))
        return subscription

    def delete(self, subscription_id: str) -> None:
        """Remove one (``DELETE``)."""
        self._existing(subscription_id)
        del self.subscriptions[subscription_id]

    def changed(self, mailbox: str, event_id: str, change_type: str, etag: str | None) -> None:
        """Notify the live subscriptions on ``mailbox`` that asked for ``change_type`` (the caller holds the lock)."""
        now = self.now()
        for subscription in list(self.subscriptions.values()):
            if subscription.mailbox != mailbox or subscription.expires <= now:
                continue
            if change_type not in subscription.change_types:
                continue
            item = {
                "subscriptionId": subscription.id, "subscriptionExpirationDateTime": _iso(subscription.expires),
                "changeType": change_type, "resource": f"Users/{mailbox}/Events/{event_id}",
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event",
                                 "@odata.id": f"Users/{mailbox}/Events/{event_id}",
                                 "@odata.etag": f'W/"{etag or ""}"', "id": event_id},
                "clientState": subscription.client_state, "tenantId": self.tenant_id,
            }
            self._post(subscription.notification_url, {"value": [item]})

    def lifecycle(self, subscription_id: str, event: str) -> None:
        """Send a lifecycle notification (``subscriptionRemoved`` also removes the subscription)."""
        if event not in _LIFECYCLE:
            raise ValueError(f"unknown lifecycle event {event!r}")
        subscription = self._existing(subscription_id)
        if subscription.lifecycle_url is None:
            raise ValueError(f"subscription {subscription_id} has no lifecycleNotificationUrl")
        item = {"subscriptionId": subscription.id, "subscriptionExpirationDateTime": _iso(subscription.expires),
                "tenantId": self.tenant_id, "clientState": subscription.client_state, "lifecycleEvent": event}
        if event == "subscriptionRemoved":
            del self.subscriptions[subscription_id]
        self._post(subscription.lifecycle_url, {"value": [item]})

    def wait_delivered(self, timeout: float = 5.0) -> bool:
        """Wait until every notification was posted (for tests)."""
        return self.poster.wait_delivered(timeout)

    def _post(self, url: str, payload: dict[str, Any]) -> None:
        self.poster.post(url, headers={"Content-Type": "application/json"}, body=json.dumps(payload).encode())

    def _existing(self, subscription_id: str) -> Subscription:
        found = self.subscriptions.get(subscription_id)
        if found is None:
            raise Refusal(404, f"The object was not found: subscription '{subscription_id}'.", "ResourceNotFound")
        return found

    def _expiry(self, raw: object) -> datetime:
        try:
            expires = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise Refusal(400, "expirationDateTime is not a valid date and time.", "InvalidRequest") from None
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        now = self.now()
        if expires <= now:
            raise Refusal(400, "Subscription expiration can only be in the future.", "InvalidRequest")
        if expires > now + timedelta(minutes=MAX_MINUTES):
            raise Refusal(400, f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.",
                          "InvalidRequest")
        return expires

    def _validate(self, url: str) -> None:
        """Graph's validation handshake: the endpoint must echo the token as text/plain within 10 seconds."""
        if not url.startswith("https://") and not (self.allow_http and url.startswith("http://")):
            raise Refusal(400, f"Subscription validation request failed. The URL '{url}' must be HTTPS.",
                          "ValidationError")
        token = secrets.token_urlsafe(24)
        try:
            answer = requests.post(url, params={"validationToken": token}, timeout=10)
        except requests.RequestException:
            answer = None
        plain = answer is not None and answer.headers.get("content-type", "").startswith("text/plain")
        if answer is None or answer.status_code != 200 or not plain or answer.text != token:
            raise Refusal(400, "Subscription validation request failed. Notification endpoint must respond with "
                          "200 OK to validation request.", "ValidationError")
