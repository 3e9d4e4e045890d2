"""Receive Zoom webhooks: verify their signature, answer the URL validation challenge, parse the events.

Zoom signs each delivery: ``x-zm-signature`` is ``"v0=" + hex(HMAC-SHA256(secret_token, "v0:{ts}:{raw body}"))``
with ``ts`` the ``x-zm-request-timestamp`` header (Unix seconds). The check compares in constant time, and
refuses a timestamp too far from now (replayed deliveries). When an endpoint is registered, Zoom sends
``endpoint.url_validation`` with a ``plainToken`` and expects ``{"plainToken": ..., "encryptedToken":
hex(HMAC-SHA256(secret_token, plainToken))}`` back.

Framework-neutral: give it the headers and the *raw* body bytes (never a re-serialised JSON, whose bytes differ)::

    receiver = ZoomWebhookReceiver(secret_token)
    reply = receiver.handle(request.headers, request.body)   # raises InvalidWebhook when forged
    if isinstance(reply, UrlValidation):
        return json_response(reply.response())
    handle_event(reply)                                        # MeetingEvent | RegistrationEvent | OtherEvent
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from lms_connectors.changes import ReplayGuard
from lms_connectors.errors import AuthError

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "InvalidWebhook",
    "MeetingChangeEvent",
    "MeetingEvent",
    "OtherEvent",
    "RegistrantInfo",
    "RegistrationEvent",
    "UrlValidation",
    "ZoomWebhookReceiver",
    "parse_event",
    "sign",
    "url_validation_response",
]

DEFAULT_TOLERANCE_SECONDS = 300.0
SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"


class InvalidWebhook(AuthError):
    """A delivery whose signature or timestamp does not check out (forged, altered or replayed)."""


def sign(secret_token: str, timestamp: str, body: bytes) -> str:
    """The ``x-zm-signature`` value Zoom computes for a delivery."""
    message = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret_token.encode("utf-8"), message, hashlib.sha256).hexdigest()


def url_validation_response(secret_token: str, plain_token: str) -> dict[str, str]:
    """The answer to ``endpoint.url_validation``: the plain token and its hex HMAC-SHA256."""
    encrypted = hmac.new(secret_token.encode("utf-8"), plain_token.encode("utf-8"), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RegistrantInfo(_Event):
    """The registrant an event is about."""

    id: str | None = None
    email: str
    first_name: str | None = None
    last_name: str | None = None
    join_url: str | None = None
    status: str | None = None


class MeetingEvent(_Event):
    """``meeting.started`` or ``meeting.ended``.

    Attributes:
        event: The event name.
        event_ts: When Zoom emitted it (Unix milliseconds).
        account_id: The account.
        meeting_id: The meeting id (int64 kept as a string).
        uuid: The meeting instance's uuid.
        host_id: The host.
        topic: The topic.
        start_time: When it started (``meeting.started``) or was scheduled to.
        end_time: When it ended (``meeting.ended``).
        timezone: The meeting's zone.
    """

    event: Literal["meeting.started", "meeting.ended"]
    event_ts: int | None = None
    account_id: str | None = None
    meeting_id: str
    uuid: str | None = None
    host_id: str | None = None
    topic: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    timezone: str | None = None


class RegistrationEvent(_Event):
    """``meeting.registration_created|approved|cancelled|denied``."""

    event: Literal[
        "meeting.registration_created",
        "meeting.registration_approved",
        "meeting.registration_cancelled",
        "meeting.registration_denied",
    ]
    event_ts: int | None = None
    account_id: str | None = None
    meeting_id: str
    uuid: str | None = None
    host_id: str | None = None
    topic: str | None = None
    registrant: RegistrantInfo

    @property
    def action(self) -> str:
        """``created``, ``approved``, ``cancelled`` or ``denied``."""
        return self.event.rsplit("_", 1)[1]


class MeetingChangeEvent(_Event):
    """``meeting.updated`` or ``meeting.deleted``: someone changed or deleted the meeting outside the SDK.

    For ``meeting.updated`` Zoom sends the changed fields (with the id) in ``object`` and the previous values in
    ``old_object``; a field that did not change is absent.
    """

    event: Literal["meeting.updated", "meeting.deleted"]
    event_ts: int | None = None
    account_id: str | None = None
    meeting_id: str
    start_time: datetime | None = None
    duration: int | None = None
    timezone: str | None = None


class OtherEvent(_Event):
    """An event this module does not type; the raw payload is kept."""

    event: str
    event_ts: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class UrlValidation(_Event):
    """The ``endpoint.url_validation`` challenge; answer it with :meth:`response`."""

    plain_token: str
    encrypted_token: str

    def response(self) -> dict[str, str]:
        """The JSON body to answer with."""
        return {"plainToken": self.plain_token, "encryptedToken": self.encrypted_token}


ZoomEvent = MeetingEvent | MeetingChangeEvent | RegistrationEvent | OtherEvent


def parse_event(body: bytes | str | Mapping[str, Any]) -> ZoomEvent:
    """Parse a (verified) delivery into a typed event.

    Raises:
        InvalidWebhook: The body is not a Zoom event.
    """
    try:
        data = json.loads(body) if isinstance(body, bytes | str) else dict(body)
    except ValueError as exc:
        raise InvalidWebhook("the webhook body is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise InvalidWebhook("the webhook body has no event name")
    event: str = data["event"]
    raw_payload = data.get("payload")
    payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
    raw_object = payload.get("object")
    obj: dict[str, Any] = raw_object if isinstance(raw_object, dict) else {}
    common: dict[str, Any] = {
        "event": event,
        "event_ts": data.get("event_ts"),
        "account_id": payload.get("account_id"),
    }
    try:
        if event in ("meeting.started", "meeting.ended"):
            return MeetingEvent(
                **common,
                meeting_id=str(obj.get("id", "")),
                uuid=obj.get("uuid"),
                host_id=obj.get("host_id"),
                topic=obj.get("topic"),
                start_time=obj.get("start_time"),
                end_time=obj.get("end_time"),
                timezone=obj.get("timezone"),
            )
        if event in ("meeting.updated", "meeting.deleted"):
            return MeetingChangeEvent(
                **common,
                meeting_id=str(obj.get("id", "")),
                start_time=obj.get("start_time"),
                duration=obj.get("duration"),
                timezone=obj.get("timezone"),
            )
        if event.startswith("meeting.registration_"):
            return RegistrationEvent(
                **common,
                meeting_id=str(obj.get("id", "")),
                uuid=obj.get("uuid"),
                host_id=obj.get("host_id"),
                topic=obj.get("topic"),
                registrant=obj.get("registrant") or {},
            )
    except PydanticValidationError as exc:
        raise InvalidWebhook(
            f"the {event} event does not have the expected shape: {exc.error_count()} error(s)"
        ) from exc
    return OtherEvent(event=event, event_ts=data.get("event_ts"), payload=payload)


class ZoomWebhookReceiver:
    """Verify and parse Zoom deliveries for one webhook secret token.

    Args:
        secret_token: The app's webhook secret token.
        tolerance: Largest accepted distance, in seconds, between the delivery's timestamp and now.
        clock: Current Unix time (injected by tests).
        replay_guard: Remembers each accepted signature, so the same delivery sent again inside the tolerance
            is refused too (one guard per process; default: a new one).
    """

    def __init__(
        self,
        secret_token: str,
        *,
        tolerance: float = DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
        replay_guard: ReplayGuard | None = None,
    ) -> None:
        if not secret_token:
            raise ValueError("a webhook secret token is required")
        self._secret = secret_token
        self._tolerance = tolerance
        self._clock = clock
        self._replays = replay_guard or ReplayGuard(window=2 * tolerance, clock=clock)

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Check a delivery's signature and timestamp.

        Raises:
            InvalidWebhook: A header is missing, the timestamp is outside the tolerance, or the signature is wrong.
        """
        lowered = {name.lower(): value for name, value in headers.items()}
        signature = lowered.get(SIGNATURE_HEADER)
        timestamp = lowered.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise InvalidWebhook(f"the delivery lacks {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
        try:
            sent_at = float(timestamp)
        except ValueError as exc:
            raise InvalidWebhook(f"{TIMESTAMP_HEADER} is not a Unix time") from exc
        if abs(self._clock() - sent_at) > self._tolerance:
            raise InvalidWebhook(f"the delivery's timestamp is more than {self._tolerance:g}s from now (replayed?)")
        expected = sign(self._secret, timestamp, body)
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
            raise InvalidWebhook("the delivery's signature does not match (wrong secret, or altered body)")
        if not self._replays.first_time(signature):
            raise InvalidWebhook("the delivery was already received (replayed)")

    def handle(self, headers: Mapping[str, str], body: bytes) -> UrlValidation | ZoomEvent:
        """Verify a delivery, then return the URL validation challenge's answer or the typed event.

        Raises:
            InvalidWebhook: The delivery is forged, altered, replayed or not a Zoom event.
        """
        self.verify(headers, body)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise InvalidWebhook("the webhook body is not JSON") from exc
        if isinstance(data, dict) and data.get("event") == "endpoint.url_validation":
            plain = (data.get("payload") or {}).get("plainToken")
            if not isinstance(plain, str) or not plain:
                raise InvalidWebhook("endpoint.url_validation without a plainToken")
            answer = url_validation_response(self._secret, plain)
            return UrlValidation(plain_token=plain, encrypted_token=answer["encryptedToken"])
        return parse_event(data)
