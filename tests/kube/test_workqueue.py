"""Workqueue semantics (client-go queue_test / delaying_queue_test / rate_limiting_queue_test)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from ccm.kube.clock import FakeClock
from ccm.kube.ratelimit import ItemExponentialFailureRateLimiter
from ccm.kube.workqueue import DelayingQueue, Queue, RateLimitingQueue
from tests.util import wait_for


def sample(name: str, queue: str) -> float:
    value = REGISTRY.get_sample_value(name, {"name": queue})
    return 0.0 if value is None else value


def test_dedupes_while_queued_and_keeps_order():
    q: Queue[str] = Queue()
    for item in ["a", "b", "a", "c", "b"]:
        q.add(item)
    assert len(q) == 3
    assert [q.get(0)[0] for _ in range(3)] == ["a", "b", "c"]
    assert q.get(0) == (None, False)


def test_add_during_processing_is_requeued_after_done_not_handed_out_twice():
    q: Queue[str] = Queue()
    q.add("a")
    item, _ = q.get(0)
    assert item == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0  # held by a worker: a second worker must not get it
    assert q.get(0) == (None, False)
    q.done("a")
    assert len(q) == 1
    assert q.get(0) == ("a", False)
    q.done("a")
    assert len(q) == 0


def test_done_without_readd_does_not_requeue():
    q: Queue[str] = Queue()
    q.add("a")
    q.get(0)
    q.done("a")
    assert len(q) == 0


def test_shutdown_drains_then_reports_shutdown_and_ignores_adds():
    q: Queue[str] = Queue()
    q.add("a")
    q.shut_down()
    q.add("b")
    assert q.shutting_down()
    assert q.get(0) == ("a", False)
    assert q.get(0) == (None, True)
    assert q.get() == (None, True)  # does not block


def test_shutdown_wakes_blocked_workers():
    q: Queue[str] = Queue()
    results: list[tuple[object, bool]] = []
    workers = [threading.Thread(target=lambda: results.append(q.get())) for _ in range(3)]
    for w in workers:
        w.start()
    q.shut_down()
    for w in workers:
        w.join(5)
    assert results == [(None, True)] * 3


def test_blocked_get_wakes_on_add():
    q: Queue[str] = Queue()
    got: list[object] = []
    worker = threading.Thread(target=lambda: got.append(q.get(5.0)))
    worker.start()
    q.add("x")
    worker.join(5)
    assert got == [("x", False)]


def test_concurrent_workers_never_share_a_key():
    q: Queue[int] = Queue()
    active: set[int] = set()
    lock = threading.Lock()
    violations: list[int] = []
    processed: list[int] = []

    def worker() -> None:
        while True:
            item, shutdown = q.get()
            if shutdown:
                return
            assert item is not None
            with lock:
                if item in active:
                    violations.append(item)
                active.add(item)
            q.add(item % 3 if item >= 3 else item)  # re-add keys while they are held
            with lock:
                active.discard(item)
                processed.append(item)
            q.done(item)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(200):
        q.add(i % 10)
    wait_for(lambda: len(processed) >= 200, timeout=10)
    q.shut_down()
    for t in threads:
        t.join(5)
    assert violations == []


def test_shut_down_with_drain_waits_for_processing():
    q: Queue[str] = Queue()
    q.add("a")
    q.get(0)
    assert q.shut_down_with_drain(timeout=0.01) is False
    q.done("a")
    assert q.shut_down_with_drain(timeout=1) is True


def test_add_after_waits_for_the_fake_clock():
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 5.0)
    assert len(q) == 0 and q.waiting() == 1
    clock.step(4.999)
    assert len(q) == 0
    clock.step(0.001)
    assert len(q) == 1
    assert q.get(0) == ("a", False)


def test_add_after_keeps_the_earliest_time_and_orders_by_readiness():
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 10.0)
    q.add_after("a", 3.0)  # earlier wins
    q.add_after("a", 20.0)  # later is ignored
    q.add_after("b", 1.0)
    assert q.waiting() == 2
    clock.step(3.0)
    assert [q.get(0)[0], q.get(0)[0]] == ["b", "a"]
    clock.step(100.0)
    assert len(q) == 0  # the superseded 10 s and 20 s entries did not come back


def test_add_after_nonpositive_adds_now_and_dedupes():
    q: DelayingQueue[str] = DelayingQueue(clock=FakeClock())
    q.add("a")
    q.add_after("a", 0)
    q.add_after("b", -1)
    assert len(q) == 2


def test_blocked_get_wakes_when_fake_clock_passes_the_delay():
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    got: list[object] = []
    worker = threading.Thread(target=lambda: got.append(q.get(10.0)))
    worker.start()
    q.add_after("a", 60.0)
    clock.step(60.0)
    worker.join(5)
    assert got == [("a", False)]


def test_rate_limited_requeues_exact_exponential_delays():
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue("rl-test", clock=clock)
    expected = [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
    for n, delay in enumerate(expected):
        q.add_rate_limited("svc")
        assert q.num_requeues("svc") == n + 1
        clock.step(delay - 0.001)
        assert len(q) == 0, f"requeue {n} came back before {delay}s"
        clock.step(0.001)
        assert q.get(0) == ("svc", False)
        q.done("svc")
    q.forget("svc")
    assert q.num_requeues("svc") == 0
    q.add_rate_limited("svc")
    clock.step(5.0)
    assert len(q) == 1


def test_custom_rate_limiter_is_used():
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        rate_limiter=ItemExponentialFailureRateLimiter(0.001, 0.002), clock=clock)
    q.add_rate_limited("a")
    clock.step(0.001)
    assert len(q) == 1


def test_metrics_use_upstream_names_and_the_queue_name():
    clock = FakeClock()
    name = "metrics-test"
    q: RateLimitingQueue[str] = RateLimitingQueue(name, clock=clock)
    q.add("a")
    q.add("b")
    assert sample("workqueue_depth", name) == 2
    assert sample("workqueue_adds_total", name) == 2
    clock.step(2.0)
    q.get(0)
    assert sample("workqueue_depth", name) == 1
    assert sample("workqueue_queue_duration_seconds_count", name) == 1
    assert sample("workqueue_queue_duration_seconds_sum", name) == pytest.approx(2.0)
    clock.step(3.0)
    assert sample("workqueue_unfinished_work_seconds", name) == pytest.approx(3.0)
    assert sample("workqueue_longest_running_processor_seconds", name) == pytest.approx(3.0)
    q.done("a")
    assert sample("workqueue_work_duration_seconds_sum", name) == pytest.approx(3.0)
    assert sample("workqueue_unfinished_work_seconds", name) == 0
    q.add_rate_limited("a")
    assert sample("workqueue_retries_total", name) == 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "get", "done", "after", "step"]),
                          st.integers(0, 4)), max_size=60))
def test_invariants_hold_for_any_sequence(ops):
    """Never two holders of one key; nothing added is lost; nothing runs twice for one add."""
    clock = FakeClock()
    q: DelayingQueue[int] = DelayingQueue(clock=clock)
    held: set[int] = set()
    owed: set[int] = set()  # added (or due) and not yet handed out since
    for op, n in ops:
        if op == "add":
            q.add(n)
            owed.add(n)
        elif op == "after":
            q.add_after(n, float(n + 1))
        elif op == "step":
            clock.step(float(n))
        elif op == "get":
            item, shutdown = q.get(0)
            assert not shutdown
            if item is not None:
                assert item not in held, f"{item} handed out twice"
                held.add(item)
                owed.discard(item)
        elif op == "done" and n in held:
            held.discard(n)
            q.done(n)
    for item in held:
        q.done(item)
    clock.step(100.0)
    drained: list[int] = []
    while (got := q.get(0))[0] is not None:
        assert got[0] is not None
        drained.append(got[0])
    assert len(drained) == len(set(drained))  # deduped
    assert owed <= set(drained)  # every direct add not yet handed out is still there
