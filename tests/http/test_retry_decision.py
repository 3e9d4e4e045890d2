from __future__ import annotations

import http.client

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from lms_connectors.errors import (
    AuthError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    ResponseLost,
    TransientError,
)
from lms_connectors.http import GatewayErrorPage, failed_before_sending, should_retry


def refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


def refused_as_cause() -> requests.ConnectionError:
    try:
        try:
            raise ConnectionRefusedError(111, "refused")
        except ConnectionRefusedError as inner:
            raise requests.ConnectionError("could not connect") from inner
    except requests.ConnectionError as outer:
        return outer


def dropped() -> requests.ConnectionError:
    return requests.ConnectionError(ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed")))


# (error, retried when idempotent, retried when not idempotent)
CASES = [
    ("429", RateLimited("throttled", status=429), True, True),
    ("403-throttle", RateLimited("throttled", status=403), True, True),
    ("503", TransientError("unavailable", status=503), True, False),
    ("500", TransientError("error", status=500), True, False),
    ("502", TransientError("bad gateway", status=502), True, False),
    ("504-html", GatewayErrorPage("gateway", status=504), True, False),
    ("503-html", GatewayErrorPage("gateway", status=503), True, False),
    ("response-lost", ResponseLost("lost"), False, False),
    ("401", AuthError("no", status=401), False, False),
    ("404", NotFound("no", status=404), False, False),
    ("400", InvalidRequest("no", status=400), False, False),
    ("malformed-200", MalformedResponse("html", status=200), False, False),
    ("connect-timeout", requests.exceptions.ConnectTimeout("t"), True, True),
    ("refused", refused(), True, True),
    ("refused-as-cause", refused_as_cause(), True, True),
    ("read-timeout", requests.exceptions.ReadTimeout("t"), True, False),
    ("dropped", dropped(), True, False),
    ("bug", ValueError("programming error"), False, False),
    ("invalid-url", requests.exceptions.InvalidURL("x"), False, False),
]


@pytest.mark.parametrize(("error", "idempotent_retry", "post_retry"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_should_retry(error: BaseException, idempotent_retry: bool, post_retry: bool) -> None:
    assert should_retry(error, idempotent=True) is idempotent_retry
    assert should_retry(error, idempotent=False) is post_retry


def test_failed_before_sending() -> None:
    assert failed_before_sending(requests.exceptions.ConnectTimeout())
    assert failed_before_sending(refused())
    assert failed_before_sending(refused_as_cause())
    assert not failed_before_sending(requests.exceptions.ReadTimeout())
    assert not failed_before_sending(dropped())
    assert not failed_before_sending(ValueError())
