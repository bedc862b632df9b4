"""Rate limiter policies: exact delays, no clocks needed except for the token bucket."""

from __future__ import annotations

import pytest

from ccm.kube.clock import FakeClock
from ccm.kube.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)


def test_exponential_defaults_match_the_service_controller():
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("a") for _ in range(9)]
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert limiter.num_requeues("a") == 9
    assert limiter.when("b") == 5  # per item
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 5


def test_exponential_does_not_overflow():
    limiter = ItemExponentialFailureRateLimiter(0.001, 1000.0)
    for _ in range(2000):
        delay = limiter.when("x")
    assert delay == 1000.0


def test_bucket_allows_burst_then_spaces_at_qps():
    clock = FakeClock()
    limiter = BucketRateLimiter(qps=10.0, burst=3, clock=clock)
    assert [limiter.when(i) for i in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.when(3) == pytest.approx(0.1)
    assert limiter.when(4) == pytest.approx(0.2)
    clock.step(0.2)  # two tokens refilled, both already reserved
    assert limiter.when(5) == pytest.approx(0.1)
    clock.step(10.0)  # refills to the burst, not beyond
    assert [limiter.when(i) for i in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.when(9) > 0
    assert limiter.num_requeues(9) == 0


def test_bucket_rejects_nonsense():
    with pytest.raises(ValueError):
        BucketRateLimiter(qps=0, burst=1)


def test_max_of_takes_the_worst_and_forgets_everywhere():
    clock = FakeClock()
    limiter = MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.001, 1.0),
                               BucketRateLimiter(qps=1.0, burst=1, clock=clock))
    assert limiter.when("a") == 0.001  # bucket had a token
    assert limiter.when("a") == pytest.approx(1.0)  # bucket empty: 1 s beats 2 ms
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0


def test_default_controller_rate_limiter_starts_at_5ms():
    limiter = default_controller_rate_limiter(FakeClock())
    assert limiter.when("a") == 0.005
    assert limiter.when("a") == 0.01
