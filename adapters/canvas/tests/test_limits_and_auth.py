"""Throttling (403 and 429, the adaptive limiter), the two kinds of 401, and doctor, against the simulator."""

from __future__ import annotations

import pytest

from lms_connectors.errors import AuthError, PermissionDenied
from lms_connectors.http.auth import RefreshTokenAuth
from lms_connectors_canvas.sandbox import THROTTLED_BODY, CanvasSimulator

from .conftest import AdapterFactory, make_session


@pytest.mark.parametrize("status", [403, 429])
def test_a_throttled_call_waits_for_the_bucket_to_drain_and_succeeds(
    make_adapter: AdapterFactory, simulator: CanvasSimulator, status: int
) -> None:
    simulator.throttle_status = status
    canvas = make_adapter()
    canvas.find_session("warm-up.canvas.g1")  # a token first, so the throttled call is the API's
    simulator.fill_bucket(simulator.high_water + 30)  # over the mark: the next call is refused
    ref = canvas.create_session(make_session("throttled"), key="throttled.canvas.g1", fresh=True)
    assert canvas.get_session(ref).title == "Forklift Safety"
    assert canvas.budget.pauses, "the throttling answer paused the adapter's limiter"
    assert sum(canvas.budget.pauses) >= 3.0, "long enough for 30 units to drain at 10 a second"


@pytest.mark.parametrize("status", [403, 429])
def test_a_throttle_limit_answers_as_the_bucket_does_and_is_waited_out(
    make_adapter: AdapterFactory, simulator: CanvasSimulator, status: int
) -> None:
    simulator.throttle_status = status
    answer = simulator.throttling_answer()  # also the contract kit's throttling fault
    assert (answer.status, answer.body) == (status, THROTTLED_BODY)
    assert answer.headers == {"Content-Type": "text/plain", "X-Rate-Limit-Remaining": "0.0"}
    canvas = make_adapter()
    canvas.find_session("warm-up.canvas.g1")
    simulator.throttle(calls=1, seconds=5)
    ref = canvas.create_session(make_session("limited"), key="limited.canvas.g1", fresh=True)
    assert canvas.get_session(ref).title == "Forklift Safety"
    assert canvas.budget.pauses, "Canvas's throttling answer paused the adapter's limiter"


def test_a_low_budget_slows_calls_down_before_canvas_refuses_any(
    make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    canvas = make_adapter()
    canvas.find_session("warm-up.canvas.g1")
    simulator.fill_bucket(simulator.high_water - 20)  # 20 units left: under the 50-unit low-water mark
    canvas.find_session("warm-up.canvas.g1")
    remaining = canvas.ex_remaining_budget()
    assert remaining is not None and remaining < 50
    assert canvas.budget.pauses and canvas.budget.pauses[-1] == pytest.approx((50 - remaining) / 10, abs=0.01)


def test_an_expired_token_is_refreshed_but_a_401_without_www_authenticate_is_not(
    make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    canvas = make_adapter()
    auth = canvas.auth
    assert isinstance(auth, RefreshTokenAuth)
    canvas.find_session("auth.canvas.g1")
    simulator.expire_tokens()
    canvas.find_session("auth.canvas.g1")
    assert auth.mints == 2, "one refresh after the 401 with WWW-Authenticate"

    learner_login = "amara.okafor@example.org"
    acting = make_adapter(as_user_id=f"sis_login_id:{learner_login}")
    with pytest.raises(PermissionDenied):
        acting.create_session(make_session("not-allowed"), key="not-allowed.canvas.g1", fresh=True)
    acting_auth = acting.auth
    assert isinstance(acting_auth, RefreshTokenAuth) and acting_auth.mints == 1, "no refresh for a permission 401"


def test_a_static_token_is_sent_as_is_and_a_refused_one_is_final(
    make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    simulator.access_tokens["7~service-token"] = simulator.service_user.id
    overrides = {"client_id": None, "client_secret": None, "refresh_token": None}
    canvas = make_adapter(access_token="7~service-token", **overrides)
    assert canvas.find_session("static.canvas.g1") is None
    refused = make_adapter(access_token="7~deleted-token", **overrides)
    with pytest.raises(AuthError):
        refused.find_session("static.canvas.g1")


def test_doctor_checks_token_course_and_permissions(make_adapter: AdapterFactory, simulator: CanvasSimulator) -> None:
    checks = {check.name: check for check in make_adapter().diagnose()}
    assert all(check.ok for check in checks.values()), checks
    assert "LMS Connectors Service" in checks["token"].detail
    assert "course 101" in checks["course"].detail
    simulator.granted.discard("manage_sis")
    checks = {check.name: check for check in make_adapter().diagnose()}
    assert not checks["permissions"].ok and "manage_sis" in checks["permissions"].detail
