from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from lms_connectors_zoom.webhooks import (
    InvalidWebhook,
    MeetingEvent,
    OtherEvent,
    RegistrationEvent,
    UrlValidation,
    ZoomWebhookReceiver,
    url_validation_response,
)

SECRET = "whsec-test-secret"
NOW = 1_790_000_000.0


def signed(body: bytes, timestamp: str = str(int(NOW)), secret: str = SECRET) -> dict[str, str]:
    # Computed here from the documented recipe, independently of the module under test.
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-zm-signature": f"v0={digest}", "x-zm-request-timestamp": timestamp}


def receiver(now: float = NOW) -> ZoomWebhookReceiver:
    return ZoomWebhookReceiver(SECRET, clock=lambda: now)


STARTED = json.dumps(
    {
        "event": "meeting.started",
        "event_ts": 1790000000123,
        "payload": {
            "account_id": "acc-1",
            "object": {
                "id": "85012345678",
                "uuid": "4444AAAiAAAAAiAiAiiAii==",
                "host_id": "host-1",
                "topic": "Safety induction",
                "type": 2,
                "start_time": "2031-03-20T14:00:02Z",
                "timezone": "America/New_York",
                "duration": 90,
            },
        },
    },
    separators=(",", ":"),
).encode()


def test_known_vector() -> None:
    # A fixed vector: HMAC-SHA256("secret", "v0:1700000000:{}") computed with hmac in this test.
    expected = hmac.new(b"secret", b"v0:1700000000:{}", hashlib.sha256).hexdigest()
    verifier = ZoomWebhookReceiver("secret", clock=lambda: 1_700_000_000.0)
    verifier.verify({"X-Zm-Signature": f"v0={expected}", "X-Zm-Request-Timestamp": "1700000000"}, b"{}")


def test_valid_delivery_is_parsed() -> None:
    event = receiver().handle(signed(STARTED), STARTED)
    assert isinstance(event, MeetingEvent)
    assert event.meeting_id == "85012345678"
    assert event.account_id == "acc-1"
    assert event.start_time is not None and event.start_time.isoformat() == "2031-03-20T14:00:02+00:00"


def test_altered_body_is_refused() -> None:
    headers = signed(STARTED)
    with pytest.raises(InvalidWebhook, match="signature"):
        receiver().verify(headers, STARTED.replace(b"Safety", b"Unsafe"))


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(InvalidWebhook, match="signature"):
        receiver().verify(signed(STARTED, secret="another"), STARTED)


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamp_outside_tolerance_is_refused(skew: int) -> None:
    with pytest.raises(InvalidWebhook, match="timestamp"):
        receiver(now=NOW + skew).verify(signed(STARTED), STARTED)


def test_timestamp_inside_tolerance_is_accepted() -> None:
    receiver(now=NOW + 299).verify(signed(STARTED), STARTED)
    ZoomWebhookReceiver(SECRET, tolerance=10, clock=lambda: NOW + 9).verify(signed(STARTED), STARTED)


def test_missing_headers_are_refused() -> None:
    with pytest.raises(InvalidWebhook):
        receiver().verify({}, STARTED)
    with pytest.raises(InvalidWebhook):
        receiver().verify({"x-zm-signature": "v0=00", "x-zm-request-timestamp": "yesterday"}, STARTED)


def test_url_validation_challenge() -> None:
    body = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
                       "event_ts": 1790000000000}).encode()
    reply = receiver().handle(signed(body), body)
    assert isinstance(reply, UrlValidation)
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert reply.response() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    assert url_validation_response(SECRET, "qgg8vlvZRS6UYooatFL8Aw")["encryptedToken"] == expected


def test_url_validation_is_signed_too() -> None:
    body = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": "abc"}}).encode()
    with pytest.raises(InvalidWebhook):
        receiver().handle(signed(body, secret="forged"), body)


@pytest.mark.parametrize("action", ["created", "approved", "cancelled", "denied"])
def test_registration_events(action: str) -> None:
    body = json.dumps(
        {
            "event": f"meeting.registration_{action}",
            "event_ts": 1790000000456,
            "payload": {
                "account_id": "acc-1",
                "object": {
                    "id": 85012345678,
                    "uuid": "u",
                    "host_id": "host-1",
                    "topic": "Safety induction",
                    "registrant": {"id": "r-1", "email": "learner1@example.com", "first_name": "Learner",
                                   "last_name": "One", "join_url": "https://zoom.us/w/85012345678?tk=x"},
                },
            },
        }
    ).encode()
    event = receiver().handle(signed(body), body)
    assert isinstance(event, RegistrationEvent)
    assert event.action == action
    assert event.meeting_id == "85012345678"  # int64 kept as a string
    assert event.registrant.email == "learner1@example.com"


def test_ended_and_other_events() -> None:
    ended = json.dumps({"event": "meeting.ended", "payload": {"object": {"id": 1, "end_time": "2031-03-20T15:31:00Z"}}})
    event = receiver().handle(signed(ended.encode()), ended.encode())
    assert isinstance(event, MeetingEvent) and event.end_time is not None
    other = json.dumps({"event": "recording.completed", "payload": {"object": {"id": 1}}}).encode()
    parsed = receiver().handle(signed(other), other)
    assert isinstance(parsed, OtherEvent) and parsed.payload["object"]["id"] == 1


def test_malformed_registration_event_is_refused() -> None:
    body = json.dumps({"event": "meeting.registration_created", "payload": {"object": {"id": 1}}}).encode()
    with pytest.raises(InvalidWebhook, match="shape"):
        receiver().handle(signed(body), body)
