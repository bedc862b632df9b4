"""Injectable clocks, so queues, informers and leader election can be tested without sleeping.

Times are monotonic seconds (``now``); ``wall`` is only for timestamps written to the API.
"""

from __future__ import annotations

import datetime
import threading
import time
import weakref
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def wall(self) -> datetime.datetime:
        """UTC wall-clock time, for timestamps written to the API."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Block until ``event`` is set (True) or ``seconds`` of this clock's time passed (False)."""
        ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


REAL_CLOCK = RealClock()


class FakeClock:
    """A clock that only moves when a test calls :meth:`step`.

    Components holding a condition variable subscribe with :meth:`on_step` so that a
    blocked ``get`` re-checks its deadlines when fake time moves.
    """

    _POLL = 0.005  # real seconds between re-checks of an Event inside wait()

    def __init__(self, start: float = 1000.0,
                 wall_start: datetime.datetime | None = None) -> None:
        self._now = start
        self._start = start
        self._wall_start = wall_start or datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        self._cond = threading.Condition()
        self._subscribers: list[weakref.WeakMethod[Callable[[], None]]] = []
        self._waiters = 0

    @property
    def waiters(self) -> int:
        """Threads blocked in :meth:`wait` (tests step only once the waiter is in place)."""
        with self._cond:
            return self._waiters

    def now(self) -> float:
        with self._cond:
            return self._now

    def wall(self) -> datetime.datetime:
        with self._cond:
            return self._wall_start + datetime.timedelta(seconds=self._now - self._start)

    def step(self, seconds: float) -> None:
        with self._cond:
            self._now += seconds
            self._cond.notify_all()
            subscribers = list(self._subscribers)
        for ref in subscribers:
            callback = ref()
            if callback is not None:
                callback()

    def on_step(self, callback: Callable[[], None]) -> None:
        """Call the bound method ``callback`` after every step (held weakly)."""
        with self._cond:
            self._subscribers = [r for r in self._subscribers if r() is not None]
            self._subscribers.append(weakref.WeakMethod(callback))  # type: ignore[arg-type]

    def wait(self, event: threading.Event, seconds: float) -> bool:
        with self._cond:
            target = self._now + seconds
            self._waiters += 1
            try:
                while not event.is_set() and self._now < target:
                    self._cond.wait(self._POLL)
            finally:
                self._waiters -= 1
        return event.is_set()


def subscribe(clock: Clock, callback: Callable[[], None]) -> None:
    """Ask a fake clock to wake ``callback`` when it steps; a real clock needs nothing."""
    on_step = getattr(clock, "on_step", None)
    if on_step is not None:
        on_step(callback)
