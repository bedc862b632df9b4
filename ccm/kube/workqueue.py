"""Work queues with client-go semantics: Queue -> DelayingQueue -> RateLimitingQueue.

The invariants that make controllers correct live in :class:`Queue`:

* an item is queued at most once (``dirty`` holds every item waiting to be processed);
* an item is never handed to two workers at once (``processing``): an ``add`` while it is
  being processed only marks it dirty, and ``done`` puts it back in the queue.

Usage: ``item, shutdown = q.get()``; if ``shutdown`` stop; otherwise process and **always**
call ``q.done(item)``; on success call ``q.forget(item)`` (rate-limited queues), on failure
``q.add_rate_limited(item)``. ``len(q)`` is informational only.

Time comes from an injectable clock so tests assert exact delays without sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import weakref
from collections import deque
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ccm.kube.clock import REAL_CLOCK, Clock, subscribe
from ccm.kube.ratelimit import ItemExponentialFailureRateLimiter, RateLimiter

T = TypeVar("T", bound=Hashable)

# Upstream names, label `name` (k8s.io/component-base/metrics/prometheus/workqueue).
_DURATION_BUCKETS = tuple(1e-8 * 10**i for i in range(10))
DEPTH = Gauge("workqueue_depth", "Current depth of workqueue", ["name"])
ADDS = Counter("workqueue_adds_total", "Total number of adds handled by workqueue", ["name"])
QUEUE_DURATION = Histogram("workqueue_queue_duration_seconds",
                           "How long in seconds an item stays in workqueue before being requested.",
                           ["name"], buckets=_DURATION_BUCKETS)
WORK_DURATION = Histogram("workqueue_work_duration_seconds",
                          "How long in seconds processing an item from workqueue takes.",
                          ["name"], buckets=_DURATION_BUCKETS)
RETRIES = Counter("workqueue_retries_total", "Total number of retries handled by workqueue", ["name"])

class _Metrics:
    """One queue's labelled series, looked up once: ``labels()`` costs about 1 µs a call, and
    an add/get/done cycle made five of them (half the cycle's cost)."""

    def __init__(self, name: str) -> None:
        self.depth = DEPTH.labels(name)
        self.adds = ADDS.labels(name)
        self.queue_duration = QUEUE_DURATION.labels(name)
        self.work_duration = WORK_DURATION.labels(name)
        self.retries = RETRIES.labels(name)


_live_queues: weakref.WeakSet[Queue[Hashable]] = weakref.WeakSet()


class _InFlightCollector(Collector):
    """Gauges computed at scrape time from the items workers hold right now."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        unfinished = GaugeMetricFamily(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has done that is in progress and hasn't been observed by "
            "work_duration. Large values indicate stuck threads.", labels=["name"])
        longest = GaugeMetricFamily(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            labels=["name"])
        for queue in list(_live_queues):
            if not queue.name:
                continue
            total, oldest = queue.in_flight_seconds()
            unfinished.add_metric([queue.name], total)
            longest.add_metric([queue.name], oldest)
        yield unfinished
        yield longest


REGISTRY.register(_InFlightCollector())


class Queue(Generic[T]):
    """A FIFO of unique items with per-item exclusive processing (client-go ``workqueue.Type``)."""

    def __init__(self, name: str = "", clock: Clock | None = None) -> None:
        self.name = name
        self._clock = clock or REAL_CLOCK
        self._cond = threading.Condition()
        self._queue: deque[T] = deque()  # ready items, in order; each also in _dirty
        self._dirty: set[T] = set()  # items that need processing (queued or re-added while processing)
        self._processing: dict[T, float] = {}  # items held by a worker -> when it got them
        self._added_at: dict[T, float] = {}  # for queue_duration
        self._shutting_down = False
        self._metrics = _Metrics(name) if name else None
        if name:
            _live_queues.add(self)  # type: ignore[arg-type]
        subscribe(self._clock, self._wake)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _metric_added(self, item: T) -> None:
        if self._metrics is not None:
            self._metrics.adds.inc()
            self._metrics.depth.inc()
        self._added_at.setdefault(item, self._clock.now())

    def _enqueue_locked(self, item: T) -> None:
        if self._shutting_down or item in self._dirty:
            return
        self._metric_added(item)
        self._dirty.add(item)
        if item in self._processing:
            return  # requeued by done()
        self._queue.append(item)
        self._cond.notify()

    def add(self, item: T) -> None:
        with self._cond:
            self._enqueue_locked(item)

    def _promote_locked(self) -> float | None:
        """Move due delayed items into the queue; return when the next one is due (hook)."""
        return None

    def get(self, timeout: float | None = None) -> tuple[T | None, bool]:
        """Block for the next item: ``(item, False)``, ``(None, True)`` once shut down and
        drained, or ``(None, False)`` when ``timeout`` (real seconds) passes first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                next_ready = self._promote_locked()
                if self._queue:
                    break
                if self._shutting_down:
                    return None, True
                wait: float | None = None
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        return None, False
                if next_ready is not None:
                    until_ready = max(0.0, next_ready - self._clock.now())
                    wait = until_ready if wait is None else min(wait, until_ready)
                self._cond.wait(wait)
            item = self._queue.popleft()
            now = self._clock.now()
            if self._metrics is not None:
                self._metrics.depth.dec()
                added = self._added_at.pop(item, None)
                if added is not None:
                    self._metrics.queue_duration.observe(now - added)
            else:
                self._added_at.pop(item, None)
            self._processing[item] = now
            self._dirty.discard(item)
            return item, False

    def done(self, item: T) -> None:
        """Mark ``item`` processed; if it was added meanwhile it is queued again now."""
        with self._cond:
            started = self._processing.pop(item, None)
            if started is not None and self._metrics is not None:
                self._metrics.work_duration.observe(self._clock.now() - started)
            if item in self._dirty:
                self._queue.append(item)
                self._cond.notify()
            elif not self._processing:
                self._cond.notify_all()  # wake shut_down_with_drain

    def shut_down(self) -> None:
        """Stop accepting items; workers drain what is queued, then get ``(None, True)``."""
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()

    def shut_down_with_drain(self, timeout: float | None = None) -> bool:
        """Shut down and wait until every handed-out item is done; False on timeout."""
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: not (self._processing or self._queue), timeout)

    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down

    def in_flight_seconds(self) -> tuple[float, float]:
        """(total, longest) seconds that handed-out items have been processing."""
        with self._cond:
            now = self._clock.now()
            ages = [now - started for started in self._processing.values()]
        return (sum(ages), max(ages)) if ages else (0.0, 0.0)

    def __len__(self) -> int:
        with self._cond:
            self._promote_locked()
            return len(self._queue)


class DelayingQueue(Queue[T]):
    """A Queue whose items can be added after a delay (client-go ``DelayingInterface``)."""

    def __init__(self, name: str = "", clock: Clock | None = None) -> None:
        super().__init__(name, clock)
        self._waiting: list[tuple[float, int, T]] = []  # heap of (ready_at, seq, item)
        self._ready_at: dict[T, float] = {}  # earliest ready time per waiting item
        self._seq = itertools.count()

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` once ``delay`` seconds passed; an earlier pending time wins."""
        with self._cond:
            if self._shutting_down:
                return
            if self._metrics is not None:
                self._metrics.retries.inc()
            if delay <= 0:
                self._enqueue_locked(item)
                return
            ready_at = self._clock.now() + delay
            current = self._ready_at.get(item)
            if current is not None and current <= ready_at:
                return
            self._ready_at[item] = ready_at
            heapq.heappush(self._waiting, (ready_at, next(self._seq), item))
            self._cond.notify_all()

    def _promote_locked(self) -> float | None:
        waiting = self._waiting
        if not waiting:
            return None
        now = self._clock.now()
        while waiting and waiting[0][0] <= now:
            ready_at, _, item = heapq.heappop(waiting)
            if self._ready_at.get(item) != ready_at:
                continue  # superseded by an earlier add_after
            del self._ready_at[item]
            self._enqueue_locked(item)
        return waiting[0][0] if waiting else None

    def waiting(self) -> int:
        """Items waiting for their delay to pass (for tests and debugging)."""
        with self._cond:
            return len(self._ready_at)


class RateLimitingQueue(DelayingQueue[T]):
    """A DelayingQueue whose retry delays come from a :class:`RateLimiter`.

    The default limiter is the service controller's: per item 5 s, 10 s, 20 s ... 300 s.
    """

    def __init__(self, name: str = "", rate_limiter: RateLimiter | None = None,
                 clock: Clock | None = None) -> None:
        super().__init__(name, clock)
        self.rate_limiter: RateLimiter = rate_limiter or ItemExponentialFailureRateLimiter(5.0, 300.0)

    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the limiter's delay; counts as one more failure."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Clear the item's failure history (call after it succeeded)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
