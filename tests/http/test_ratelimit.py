from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from lms_connectors.http import RateLimiter

if TYPE_CHECKING:
    from tests.http.conftest import FakeClock


def test_burst_goes_at_once_then_rate_applies(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(0.5)
    assert limiter.acquire() == pytest.approx(0.5)
    assert clock.sleeps == pytest.approx([0.5, 0.5])


def test_bucket_refills_while_idle_but_not_beyond_burst(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.acquire()
    clock.advance(100)
    assert [limiter.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 1.0])


def test_pause_until_holds_callers_and_is_never_shortened(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=100.0, burst=100, clock=clock, sleep=clock.sleep)
    limiter.pause_until(clock() + 30)
    limiter.pause_until(clock() + 10)  # an earlier instant does not shorten the pause
    assert limiter.acquire() == pytest.approx(30.0)
    assert limiter.acquire() == 0.0


def test_pause_for(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=100.0, burst=100, clock=clock, sleep=clock.sleep)
    limiter.pause_for(4)
    assert limiter.acquire() == pytest.approx(4.0)


def test_a_throttling_answer_cuts_the_rate_once_per_run_of_refusals_and_drops_the_burst(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=10.0, burst=5, clock=clock, sleep=clock.sleep, decrease=0.5, recovery_seconds=10)
    limiter.acquire()
    limiter.accepted()
    limiter.throttled()
    assert limiter.rate == pytest.approx(5.0)
    limiter.throttled()  # no call was accepted since: the same spent window answering again
    assert limiter.rate == pytest.approx(5.0)
    # The refused caller waited by its retry policy: it takes the next slot at once. The four saved tokens
    # are gone, so the call after it waits two intervals at the new rate.
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(0.4)
    limiter.accepted()
    limiter.throttled()
    assert limiter.rate == pytest.approx((5.0 + 0.5 * 0.4) * 0.5)  # 0.4 s of recovery (0.5/s), then cut
    assert limiter.throttles == 3


def test_the_rate_climbs_back_linearly_and_the_burst_returns_at_the_ceiling(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=10.0, burst=5, clock=clock, sleep=clock.sleep, decrease=0.8, recovery_seconds=20)
    limiter.throttled()
    assert limiter.rate == pytest.approx(8.0)
    clock.advance(10)
    limiter.acquire()
    assert limiter.rate == pytest.approx(9.0)  # half the cut made good in half the recovery time
    assert limiter.acquire() == pytest.approx(1 / 9.0)  # recovering: one at a time, no saved-up burst
    clock.advance(60)
    assert [limiter.acquire() for _ in range(5)] == pytest.approx([0.0] * 5)
    assert limiter.rate == 10.0  # never above the configured rate


def test_retry_after_holds_every_caller(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=100.0, burst=100, clock=clock, sleep=clock.sleep)
    limiter.throttled(retry_after=7.0)
    assert limiter.acquire() == 0.0  # the refused caller: its retry already waited the 7 s
    assert limiter.acquire() == pytest.approx(7.0)  # everyone else waits them out


def test_a_fixed_limiter_keeps_its_rate(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=10.0, burst=5, clock=clock, sleep=clock.sleep, adaptive=False)
    limiter.throttled()
    assert limiter.rate == 10.0


def test_threads_reserve_distinct_slots() -> None:
    # Real threads against a frozen clock: every caller must get its own slot, none two at the same time.
    frozen = 0.0
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    limiter = RateLimiter(rate=10.0, burst=1, clock=lambda: frozen, sleep=record)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_invalid_settings(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimiter(rate=rate, burst=burst)


def test_a_longer_pause_than_the_refused_callers_own_wait_still_holds_it(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=100.0, burst=100, clock=clock, sleep=clock.sleep)
    limiter.pause_for(3.0)  # an observer read that the provider's budget drains in 3 s
    limiter.throttled()  # no Retry-After: the refused caller's retry only backs off
    clock.advance(0.5)  # its backoff
    assert limiter.acquire() == pytest.approx(2.5)
